"""ts.open: open modes, their errors, concurrent creators, metadata caching and revalidation."""

from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest
import trio

import tensortrio as ts
from tensortrio.errors import (
    AlreadyExistsError,
    DataLossError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)

MEMORY = {"driver": "zarr", "kvstore": "memory://a/"}


async def test_open_missing_names_create() -> None:
    with pytest.raises(
        NotFoundError,
        match=r'^zarr: Metadata at "a/\.zarray" does not exist; specify create=True to create it$',
    ):
        await ts.open(MEMORY)


async def test_create_then_open_reads_stored_metadata() -> None:
    context = ts.Context()
    created = await ts.open(MEMORY, context=context, create=True, dtype=ts.int16, shape=[4, 5])
    await created.write(np.arange(20, dtype=np.int16).reshape(4, 5))
    opened = await ts.open(MEMORY, context=context)
    assert opened.dtype == ts.int16
    assert opened.domain == created.domain
    np.testing.assert_array_equal(await opened.read(), np.arange(20).reshape(4, 5))


async def test_create_existing_names_open_flag() -> None:
    context = ts.Context()
    await ts.open(MEMORY, context=context, create=True, dtype=ts.int32, shape=[4])
    with pytest.raises(
        AlreadyExistsError,
        match=r'^zarr: Error writing "a/\.zarray": metadata already exists; specify open=True '
        r"to open the existing array, or delete_existing=True to replace it$",
    ):
        await ts.open(MEMORY, context=context, create=True, dtype=ts.int32, shape=[4])


@pytest.mark.parametrize("driver", ["zarr", "zarr3", "n5"])
@pytest.mark.parametrize("lib", ["tensortrio", "tensorstore"])
def test_create_existing_is_already_exists_even_without_what_new_metadata_needs(
    tmp_path: object, driver: str, lib: str
) -> None:
    module = pytest.importorskip(lib)
    spec = {"driver": driver, "kvstore": {"driver": "file", "path": str(tmp_path)}}
    module.open(spec, create=True, dtype=module.int32, shape=[4]).result()
    for kwargs in ({}, {"dtype": module.int32}):
        with pytest.raises(ValueError, match=r"ALREADY_EXISTS|metadata already exists"):
            module.open(spec, create=True, **kwargs).result()
    module.open(spec, create=True, open=True).result()


async def test_open_or_create_validates_existing() -> None:
    context = ts.Context()
    await ts.open(MEMORY, context=context, create=True, dtype=ts.int32, shape=[4, 5])
    same = await ts.open(
        MEMORY, context=context, open=True, create=True, dtype=ts.int32, shape=[4, 5]
    )
    assert same.shape == (4, 5)
    with pytest.raises(
        FailedPreconditionError,
        match=r"^dtype from metadata \(int32\) does not match dtype in schema \(int16\)$",
    ):
        await ts.open(MEMORY, context=context, open=True, create=True, dtype=ts.int16)
    with pytest.raises(
        FailedPreconditionError, match=r"^Rank is 2, but schema specifies rank of 3$"
    ):
        await ts.open(MEMORY, context=context, rank=3)


async def test_delete_existing_replaces_array() -> None:
    context = ts.Context()
    old = await ts.open(MEMORY, context=context, create=True, dtype=ts.int32, shape=[8])
    await old.write(7)
    new = await ts.open(
        MEMORY, context=context, create=True, delete_existing=True, dtype=ts.uint8, shape=[3]
    )
    assert new.dtype == ts.uint8
    assert await new.kvstore.list() == [b".zarray"]
    np.testing.assert_array_equal(await new.read(), np.zeros(3, np.uint8))


@pytest.mark.parametrize(
    ("driver", "members", "message"),
    [
        ("zarr", {"metadata": {"chunks": [2], "dtype": "<i4"}}, "domain must be specified"),
        ("n5", {"metadata": {"dimensions": [4], "blockSize": [2]}}, "dtype must be specified"),
        ("zarr3", {"metadata": {"shape": [4], "data_type": "int32", "attributes": {"k": float("inf")}}},
         '"attributes.k" is inf'),
    ],
)
async def test_delete_existing_leaves_the_array_when_new_metadata_cannot_be_made(
    driver: str, members: dict[str, object], message: str
) -> None:
    context = ts.Context()
    spec = {"driver": driver, "kvstore": "memory://a/"}
    old = await ts.open(spec, context=context, create=True, dtype=ts.int32, shape=[4])
    await old.write(np.arange(4, dtype=np.int32))
    keys = await old.kvstore.list()
    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        await ts.open({**spec, **members}, context=context, create=True, delete_existing=True)
    assert await old.kvstore.list() == keys
    reopened = await ts.open(spec, context=context)
    np.testing.assert_array_equal(await reopened.read(), np.arange(4))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"delete_existing": True}, "`delete_existing` without `create`"),
        ({"delete_existing": True, "create": True, "open": True}, "`delete_existing` with `open`"),
        ({"assume_metadata": True, "create": True}, "`assume_metadata` without `open`"),
        ({"assume_cached_metadata": True, "create": True}, "`assume_cached_metadata` without `open`"),
    ],
)
async def test_invalid_open_modes(flags: dict[str, bool], message: str) -> None:
    with pytest.raises(
        InvalidArgumentError, match=f"^Cannot specify an open mode of {re.escape(message)}$"
    ):
        await ts.open(MEMORY, dtype=ts.int32, shape=[4], **flags)


async def test_concurrent_creators_exactly_one_wins() -> None:
    context = ts.Context()
    outcomes: list[object] = []

    async def create(dtype: object) -> None:
        try:
            outcomes.append(
                await ts.open(MEMORY, context=context, create=True, dtype=dtype, shape=[4])
            )
        except AlreadyExistsError as exc:
            outcomes.append(exc)

    async with trio.open_nursery() as nursery:
        for dtype in (ts.int8, ts.int16, ts.int32, ts.int64):
            nursery.start_soon(create, dtype)
    winners = [o for o in outcomes if isinstance(o, ts.TensorStore)]
    assert len(winners) == 1
    stored = await ts.open(MEMORY, context=context)
    assert stored.dtype == winners[0].dtype


async def test_concurrent_open_or_create_all_agree() -> None:
    context = ts.Context()
    stores = []

    async def open_or_create() -> None:
        stores.append(
            await ts.open(
                MEMORY, context=context, open=True, create=True, dtype=ts.int32, shape=[6]
            )
        )

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(open_or_create)
    assert len(stores) == 5
    assert {s.spec().to_json()["metadata"]["shape"][0] for s in stores} == {6}


async def test_create_requires_dtype_and_domain() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r'^zarr: Cannot create using specified "metadata" and schema: "dtype" must be specified$',
    ):
        await ts.open(MEMORY, create=True, shape=[4])
    with pytest.raises(
        InvalidArgumentError,
        match=r'^zarr: Cannot create using specified "metadata" and schema: domain must be specified$',
    ):
        await ts.open(MEMORY, create=True, dtype=ts.int32)


async def test_corrupt_metadata_names_key() -> None:
    context = ts.Context()
    kv = await ts.KvStore.open("memory://c/", context=context)
    await kv.write(".zarray", b"not json")
    with pytest.raises(DataLossError, match=r'^Error reading "c/\.zarray": Invalid JSON$'):
        await ts.open({"driver": "zarr", "kvstore": "memory://c/"}, context=context)


async def test_missing_kvstore_and_driver_errors() -> None:
    with pytest.raises(InvalidArgumentError, match=r'^zarr: "kvstore" must be specified$'):
        await ts.open({"driver": "zarr"}, create=True, dtype=ts.int32, shape=[3])
    with pytest.raises(ValueError, match=r'"driver"'):
        ts.open({"kvstore": "memory://"})
    with pytest.raises(ValueError, match=r'"zzz" is not a registered TensorStore driver'):
        ts.open({"driver": "zzz", "kvstore": "memory://"})


def test_transaction_and_batch_rejected_clearly() -> None:
    with pytest.raises(
        TypeError, match=r"^ts\.open: transaction must be a ts\.Transaction or None, got object$"
    ):
        ts.open(MEMORY, transaction=object())
    with pytest.raises(TypeError, match=r"^ts\.open: batch must be a ts\.Batch or None, got object$"):
        ts.open(MEMORY, batch=object())


async def test_read_write_modes() -> None:
    context = ts.Context()
    await ts.open(MEMORY, context=context, create=True, dtype=ts.int32, shape=[4])
    both = await ts.open(MEMORY, context=context)
    reader = await ts.open(MEMORY, context=context, read=True)
    writer = await ts.open(MEMORY, context=context, write=True)
    assert (both.mode, reader.mode, writer.mode) == ("rw", "r", "w")
    assert (reader.readable, reader.writable, writer.readable, writer.writable) == (
        True, False, False, True,
    )
    with pytest.raises(ValueError, match=r"^Destination does not support writing\.$"):
        await reader.write(1)
    with pytest.raises(ValueError, match=r"^Source does not support reading\.$"):
        await writer.read()
    await writer.write(5)
    np.testing.assert_array_equal(await reader.read(), [5, 5, 5, 5])


def test_open_from_asyncio_and_threads() -> None:
    async def main() -> np.ndarray:
        store = await ts.open(MEMORY, create=True, dtype=ts.float64, shape=[3])
        await store.write([0.5, 1.5, 2.5])
        return await store.read()

    np.testing.assert_array_equal(asyncio.run(main()), [0.5, 1.5, 2.5])
    store = ts.open(MEMORY, create=True, dtype=ts.float64, shape=[3]).result()
    store[1] = 4.0
    np.testing.assert_array_equal(np.asarray(store), [0.0, 4.0, 0.0])


async def test_assume_metadata_writes_no_metadata_and_cannot_resize() -> None:
    context = ts.Context()
    store = await ts.open(
        MEMORY, context=context, open=True, create=True, assume_metadata=True,
        dtype=ts.uint16, shape=[4],
    )
    await store.write([1, 2, 3, 4])
    assert await store.kvstore.list() == [b"0"]
    with pytest.raises(
        FailedPreconditionError,
        match=r"^zarr: resize is not supported by a store opened with assume_metadata=True",
    ):
        await store.resize(exclusive_max=[8])


async def test_metadata_cache_shared_in_context(tmp_path: object) -> None:
    # Two stores in one context share the cached metadata: a resize through
    # one is seen by the other's implicit bounds (as TensorStore).
    context = ts.Context()
    a = await ts.open(MEMORY, context=context, create=True, dtype=ts.int32, shape=[4])
    b = await ts.open(MEMORY, context=context)
    await b.resize(exclusive_max=[6])
    assert (await a.read()).shape == (6,)


async def test_recheck_cached_metadata(tmp_path: object) -> None:
    spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": f"{tmp_path}/arr/"}}
    await ts.open(spec, create=True, dtype=ts.int32, shape=[4])
    # Different contexts: nothing is shared but the files.
    rechecking = await ts.open(spec, context=ts.Context(), recheck_cached_metadata=True)
    at_open = await ts.open(spec, context=ts.Context())
    resizer = await ts.open(spec, context=ts.Context())
    await resizer.resize(exclusive_max=[7])
    assert (await rechecking.read()).shape == (7,)
    assert (await at_open.read()).shape == (4,)
    # A fresh open revalidates ("open" is the default bound).
    assert (await (await ts.open(spec, context=ts.Context())).read()).shape == (7,)


async def test_url_spec_and_opened_kvstore() -> None:
    store = await ts.open("memory://x/|zarr2:", create=True, dtype=ts.int8, shape=[3])
    assert store.url == "memory://x/|zarr2:"
    assert store.kvstore is not None
    assert store.kvstore.path == "x/"
    # An opened KvStore is used as it is: its memory store holds the array.
    kv = await ts.KvStore.open("memory://k/")
    on_kv = await ts.open({"driver": "zarr"}, kvstore=kv, create=True, dtype=ts.int8, shape=[2])
    await on_kv.write([1, 2])
    assert await kv.list() == [b".zarray", b"0"]
    assert on_kv.url == "memory://k/|zarr2:"


async def test_path_member_joins_kvstore_path() -> None:
    store = await ts.open(
        {"driver": "zarr", "kvstore": "memory://a/", "path": "b"},
        create=True, dtype=ts.int8, shape=[3],
    )
    assert store.kvstore is not None
    assert store.kvstore.path == "a/b/"


def test_bad_argument_types() -> None:
    with pytest.raises(TypeError, match=r"^ts\.open: context must be a ts\.Context, got dict$"):
        ts.open(MEMORY, context={})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^ts\.open: read must be a bool or None, got 1$"):
        ts.open(MEMORY, read=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^Invalid create: expected a bool, got 'yes'$"):
        ts.open(MEMORY, create="yes", dtype=ts.int32, shape=[4])  # type: ignore[arg-type]
    for shape in ([1.5], [[1]], 5):
        with pytest.raises(TypeError, match=r"^shape must be a sequence of integers, got "):
            ts.open(MEMORY, create=True, dtype=ts.int32, shape=shape)  # type: ignore[arg-type]


async def test_chunk_cache_shared_in_context_and_after_resize() -> None:
    context = ts.Context()
    a = await ts.open(MEMORY, context=context, create=True, dtype=ts.int32, shape=[4])
    b = await ts.open(MEMORY, context=context)
    assert a._driver.cache is b._driver.cache  # type: ignore[attr-defined]
    resized = await b.resize(exclusive_max=[9])
    c = await ts.open(MEMORY, context=context)
    assert c._driver.cache is resized._driver.cache  # type: ignore[attr-defined]
    other = await ts.open(MEMORY, context=ts.Context(), create=True, dtype=ts.int32, shape=[4])
    assert other._driver.cache is not a._driver.cache  # type: ignore[attr-defined]


async def test_incompatible_metadata_change_detected(tmp_path: object) -> None:
    spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": f"{tmp_path}/arr/"}}
    await ts.open(spec, create=True, dtype=ts.int32, shape=[4])
    watching = await ts.open(spec, context=ts.Context(), recheck_cached_metadata=True)
    await ts.open(spec, context=ts.Context(), create=True, delete_existing=True, dtype=ts.int8, shape=[4])
    with pytest.raises(
        FailedPreconditionError,
        match=r'^Metadata at ".*/arr/\.zarray" changed incompatibly since the array was opened '
        r"\(chunking, data type or codec\); open it again$",
    ):
        await watching.read()
