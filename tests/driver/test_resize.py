"""TensorStore.resize: metadata rewritten conditionally, chunks outside a shrunk domain deleted."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import trio

import tensortrio as ts
from tensortrio.errors import FailedPreconditionError, InvalidArgumentError


async def _store(
    shape: list[int], chunks: list[int] | None = None, context: ts.Context | None = None
) -> ts.TensorStore:
    spec: dict[str, object] = {"driver": "zarr", "kvstore": "memory://"}
    if chunks is not None:
        spec["metadata"] = {"chunks": chunks}
    return await ts.open(spec, context=context, create=True, dtype=ts.uint32, shape=shape)


async def test_documentation_example() -> None:
    dataset = await _store([3, 3])
    await dataset.write(np.arange(9, dtype=np.uint32).reshape((3, 3)))
    dataset = await dataset.resize(exclusive_max=(3, 2))
    np.testing.assert_array_equal(
        await dataset.read(), np.array([[0, 1], [3, 4], [6, 7]], dtype=np.uint32)
    )
    assert dataset.spec().to_json()["metadata"]["shape"] == [3, 2]


async def test_shrink_deletes_chunks_outside_unless_metadata_only() -> None:
    store = await _store([6, 6], chunks=[2, 2])
    await store.write(1)
    assert len(await store.kvstore.list()) == 1 + 9
    kept = await store.resize(exclusive_max=[6, 4], resize_metadata_only=True)
    assert len(await kept.kvstore.list()) == 1 + 9
    shrunk = await kept.resize(exclusive_max=[3, 4])
    # Chunk rows 0 and 1 (row 1 partially inside) stay; of chunk row 2 only the chunk
    # outside the old domain (kept by the metadata-only resize) is left.
    keys = sorted(await shrunk.kvstore.list())
    assert keys == [b".zarray", b"0.0", b"0.1", b"0.2", b"1.0", b"1.1", b"1.2", b"2.2"]
    grown = await shrunk.resize(exclusive_max=[6, 6])
    expected = np.zeros((6, 6), np.uint32)
    expected[:4, :] = 1  # data left in partial and metadata-only chunks reappears
    expected[4:, 4:] = 1
    np.testing.assert_array_equal(await grown.read(), expected)


async def test_expand_and_shrink_only() -> None:
    store = await _store([4, 5])
    with pytest.raises(
        FailedPreconditionError,
        match=r"^Resize operation would shrink output dimension 0 from \[0, 4\) to \[0, 2\) but "
        r"`expand_only` was specified$",
    ):
        await store.resize(exclusive_max=[2, None], expand_only=True)
    with pytest.raises(
        FailedPreconditionError,
        match=r"^Resize operation would expand output dimension 1 from \[0, 5\) to \[0, 8\) but "
        r"`shrink_only` was specified$",
    ):
        await store.resize(exclusive_max=[None, 8], shrink_only=True)
    grown = await store.resize(exclusive_max=[None, 8], expand_only=True)
    assert grown.shape == (4, 8)


async def test_resize_argument_errors() -> None:
    context = ts.Context()
    store = await _store([4, 5], context=context)
    with pytest.raises(InvalidArgumentError, match=r"^inclusive_min and exclusive_max must have rank 2$"):
        store.resize(exclusive_max=[2])
    with pytest.raises(
        InvalidArgumentError,
        match=r"^Invalid resize request for input dimension 0: Cannot change explicit lower bound$",
    ):
        await store.resize(inclusive_min=[1, None])
    with pytest.raises(
        FailedPreconditionError,
        match=r"^Resize operation would also affect output dimension 0 over the interval \[0, 1\) "
        r"but `resize_tied_bounds` was not specified$",
    ):
        await store[1:].resize(exclusive_max=[2, None])
    reader = await ts.open(store.spec(), context=context, read=True)
    with pytest.raises(ValueError, match=r"^Resize requires write access\.$"):
        await reader.resize(exclusive_max=[8, 8])


async def test_concurrent_resizes_all_apply_in_some_order() -> None:
    store = await _store([1, 1])

    async def grow(dim: int, size: int) -> None:
        bounds: list[int | None] = [None, None]
        bounds[dim] = size
        await store.resize(exclusive_max=bounds, expand_only=True)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(grow, 0, 10)
        nursery.start_soon(grow, 1, 20)
    # Each resize rewrote the metadata conditionally; the loser re-read and re-applied.
    assert (await store.read()).shape == (10, 20)
    assert store.spec().to_json()["metadata"]["shape"] == [10, 20]


def _zarr_6x8(lib: str) -> Any:
    """A [6, 8] int16 zarr array on a memory store, made by ``lib`` (tensortrio or tensorstore)."""
    module = pytest.importorskip(lib)
    return module.open(
        {"driver": "zarr", "kvstore": {"driver": "memory"}},
        create=True,
        dtype=module.int16,
        shape=[6, 8],
    ).result()


@pytest.mark.parametrize("lib", ["tensortrio", "tensorstore"])
def test_a_bad_bound_is_refused_before_anything_changes(lib: str) -> None:
    store = _zarr_6x8(lib)
    store.write(np.ones((6, 8), np.int16)).result()
    for bad in (1.5, "3", 2**63):
        with pytest.raises(TypeError):
            store.resize(exclusive_max=[bad, None])
    assert store.resolve().result().shape == (6, 8)
    assert store.read().result().sum() == 48
    resized = store.resize(exclusive_max=np.array([3, 8])).result()
    assert resized.shape == (3, 8)
    assert all(type(v) is int for v in resized.shape)
    json.dumps(resized.domain.to_json())


@pytest.mark.parametrize("lib", ["tensortrio", "tensorstore"])
def test_resizing_nothing_returns_any_view_unchanged(lib: str) -> None:
    store = _zarr_6x8(lib)
    for view in (store[1:3], store[1], store.oindex[[0, 2]], store[::2, 1:7:3]):
        assert view.resize().result().domain == view.domain
    assert store.resolve().result().shape == (6, 8)


@pytest.mark.parametrize("lib", ["tensortrio", "tensorstore"])
def test_stores_specs_and_transforms_are_not_iterable(lib: str) -> None:
    module = pytest.importorskip(lib)
    store = module.open(
        {"driver": "zarr", "kvstore": {"driver": "memory"}}, create=True, dtype=module.int16, shape=[6]
    ).result()
    for value in (store, store.spec(), module.IndexTransform(input_rank=1)):
        with pytest.raises(TypeError, match="is not iterable"):
            iter(value)
    with pytest.raises(TypeError):
        3 in store  # noqa: B015 - the membership test itself must refuse


@pytest.mark.parametrize("library", ["tensortrio", "tensorstore"])
def test_a_handle_made_before_a_resize_writes_the_new_bounds(library: str) -> None:
    # The source is aligned to the resolved domain, not the handle's stale one.
    lib: Any = pytest.importorskip(library)
    spec = {"driver": "zarr", "kvstore": {"driver": "memory"}, "metadata": {"shape": [2, 3], "chunks": [2, 2], "dtype": "<i4"}}
    store = lib.open(spec, create=True).result()
    store.resize(exclusive_max=[3, 4]).result()
    store.write(np.int32(7)).result()
    assert store.read().result().tolist() == [[7] * 4] * 3
    store.write(np.full((3, 4), 5, np.int32)).result()
    assert store.read().result().tolist() == [[5] * 4] * 3
    with pytest.raises(ValueError, match="Error aligning dimensions"):
        store.write(np.zeros((5, 5), np.int32)).result()


@pytest.mark.parametrize("library", ["tensortrio", "tensorstore"])
@pytest.mark.parametrize("in_transaction", [False, True], ids=["direct", "transaction"])
def test_a_stale_handle_resized_returns_the_stored_extent_of_other_dimensions(
    library: str, in_transaction: bool, tmp_path: Any
) -> None:
    # Another process's handle grew dimension 1; growing dimension 0 through this one keeps that.
    lib: Any = pytest.importorskip(library)
    spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": str(tmp_path)}}
    stale = lib.open(spec, create=True, dtype="int32", shape=[4, 4]).result()
    other = lib.open(spec, context=lib.Context()).result()
    assert other.resize(exclusive_max=[None, 8]).result().shape == (4, 8)
    txn = lib.Transaction() if in_transaction else None
    handle = stale if txn is None else stale.with_transaction(txn)
    grown = handle.resize(exclusive_max=[6, None]).result()
    assert grown.shape == (6, 8)
    grown[5, 7] = 1
    if txn is not None:
        txn.commit_sync()
    again = lib.open(spec, context=lib.Context()).result()
    assert again.shape == (6, 8)
    assert again[5, 7].read().result() == 1


@pytest.mark.parametrize("library", ["tensortrio", "tensorstore"])
def test_a_stale_view_reaching_outside_the_array_is_refused_before_anything_changes(
    library: str, tmp_path: Any
) -> None:
    lib: Any = pytest.importorskip(library)
    spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": str(tmp_path)}}
    shrinker = lib.open(spec, create=True, dtype="int32", shape=[4, 6]).result()
    stale = lib.open(spec, context=lib.Context()).result()
    shrinker.resize(exclusive_max=[None, 2]).result()
    with pytest.raises(
        ValueError,
        match=r"Resize operation would also affect output dimension 1 over the out-of-bounds interval \[2, 6\)",
    ):
        stale[:, 0:6].resize(exclusive_max=[8, None]).result()
    assert lib.open(spec, context=lib.Context()).result().shape == (4, 2)
