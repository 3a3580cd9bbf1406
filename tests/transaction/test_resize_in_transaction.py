"""TensorStore.resize through a transaction: the new metadata is staged, and written at commit."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import tensortrio as ts
from tensortrio.errors import FailedPreconditionError, UnimplementedError

if TYPE_CHECKING:
    from pathlib import Path


def _spec(tmp_path: Path) -> dict[str, Any]:
    return {"driver": "zarr", "kvstore": {"driver": "file", "path": str(tmp_path) + "/"}}


async def _open(tmp_path: Path, **kwargs: Any) -> ts.TensorStore:
    store = await ts.open(
        _spec(tmp_path),
        create=True,
        dtype=ts.uint8,
        shape=[4],
        chunk_layout=ts.ChunkLayout(chunk_shape=[2]),
        **kwargs,
    )
    await store.write([1, 2, 3, 4])
    return store


def _stored_shape(tmp_path: Path) -> list[int]:
    shape: list[int] = json.loads((tmp_path / ".zarray").read_text())["shape"]
    return shape


async def test_an_append_in_a_transaction_is_seen_in_it_and_stored_at_commit(tmp_path: Path) -> None:
    context = ts.Context()
    store = await _open(tmp_path, context=context)
    txn = ts.Transaction()
    view = store.with_transaction(txn)
    grown = await view.resize(exclusive_max=[6])
    assert grown.domain == ts.IndexDomain(shape=[6], implicit_upper_bounds=[True])
    assert grown.transaction is txn
    # As in tensorstore: the earlier view keeps its domain, and its implicit
    # bound resolves against the transaction's metadata.
    assert view.domain == ts.IndexDomain(shape=[4], implicit_upper_bounds=[True])
    np.testing.assert_array_equal(await view.read(), [1, 2, 3, 4, 0, 0])
    await grown[4:6].write([5, 6])
    np.testing.assert_array_equal(await grown.read(), [1, 2, 3, 4, 5, 6])
    # Nothing outside the transaction changed, nothing was stored.
    assert _stored_shape(tmp_path) == [4]
    np.testing.assert_array_equal(await store.read(), [1, 2, 3, 4])
    assert (await ts.open(_spec(tmp_path), context=context, transaction=txn)).shape == (6,)
    assert (await ts.open(_spec(tmp_path), context=context)).shape == (4,)
    await txn.commit_async()
    assert _stored_shape(tmp_path) == [6]
    # Stores open in the context (recheck_cached_metadata="open") see it at once.
    np.testing.assert_array_equal(await store.read(), [1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(await (await ts.open(_spec(tmp_path))).read(), [1, 2, 3, 4, 5, 6])


async def test_resizes_in_one_transaction_amend_each_other(tmp_path: Path) -> None:
    store = await _open(tmp_path)
    txn = ts.Transaction()
    grown = await (await store.with_transaction(txn).resize(exclusive_max=[8])).resize(
        exclusive_max=[6], resize_metadata_only=True
    )
    assert grown.shape == (6,)
    await txn.commit_async()
    assert _stored_shape(tmp_path) == [6]
    # A later resize outside the transaction starts from what the commit stored.
    assert (await store.resize(exclusive_max=[10])).shape == (10,)
    assert _stored_shape(tmp_path) == [10]


async def test_the_commit_fails_if_the_metadata_changed_outside_meanwhile(tmp_path: Path) -> None:
    store = await _open(tmp_path)
    txn = ts.Transaction()
    grown = await store.with_transaction(txn).resize(exclusive_max=[6])
    await grown[4:6].write(9)
    other = await ts.open(_spec(tmp_path))  # another context: it knows nothing of the transaction
    await other.resize(exclusive_max=[5])
    with pytest.raises(
        FailedPreconditionError,
        match=r'^Error writing ".*/\.zarray": it changed outside the transaction before the commit',
    ):
        await txn.commit_async()
    assert _stored_shape(tmp_path) == [5]
    assert not (tmp_path / "2").exists()  # the chunk written in the transaction was not either


async def test_an_abort_leaves_the_metadata_as_it_was(tmp_path: Path) -> None:
    store = await _open(tmp_path)
    txn = ts.Transaction()
    await store.with_transaction(txn).resize(exclusive_max=[6])
    txn.abort()
    assert _stored_shape(tmp_path) == [4]
    assert (await store.with_transaction(ts.Transaction()).resolve()).shape == (4,)


async def test_an_array_created_in_the_transaction_can_be_resized_in_it(tmp_path: Path) -> None:
    txn = ts.Transaction()
    store = await ts.open(
        _spec(tmp_path), create=True, dtype=ts.uint8, shape=[2], transaction=txn
    )
    grown = await store.resize(exclusive_max=[3])
    await grown[2].write(7)
    assert not (tmp_path / ".zarray").exists()
    await txn.commit_async()
    assert _stored_shape(tmp_path) == [3]
    np.testing.assert_array_equal(await (await ts.open(_spec(tmp_path))).read(), [0, 0, 7])


async def test_shrinking_through_a_transaction_keeps_chunks_or_is_refused(tmp_path: Path) -> None:
    store = await _open(tmp_path)
    txn = ts.Transaction()
    view = store.with_transaction(txn)
    with pytest.raises(
        UnimplementedError,
        match=r"^zarr: shrinking an array through a transaction \(which deletes the chunks outside "
        r"the new bounds\) is not supported; pass resize_metadata_only=True",
    ):
        await view.resize(exclusive_max=[2])
    with pytest.raises(FailedPreconditionError, match=r"but `expand_only` was specified$"):
        await view.resize(exclusive_max=[2], expand_only=True)
    assert (await view.resize(exclusive_max=[2], resize_metadata_only=True)).shape == (2,)
    await txn.commit_async()
    assert _stored_shape(tmp_path) == [2]
    assert (tmp_path / "1").exists()  # metadata only: the chunk outside stays


async def test_a_resize_registers_with_the_transaction_like_a_write() -> None:
    store = await ts.open(
        {"driver": "zarr", "kvstore": {"driver": "memory"}}, create=True, dtype=ts.uint8, shape=[4]
    )
    txn = ts.Transaction()
    view = store.with_transaction(txn)
    resizing = view.resize(exclusive_max=[6])
    await txn.commit_async()  # waits for the resize, which started before it
    assert (await resizing).shape == (6,)
    assert store.shape == (4,)
    assert (await store.resolve()).shape == (6,)
    with pytest.raises(ValueError, match=r"^Transaction not open \(commit already started\)$"):
        await view.resize(exclusive_max=[8])
