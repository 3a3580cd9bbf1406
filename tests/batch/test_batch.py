"""ts.Batch: reads wait for the submit, then start together and coalesce per key."""

from __future__ import annotations

import asyncio
import gc

import numpy as np
import pytest

import tensortrio as ts


async def _open(context: ts.Context | None = None) -> ts.TensorStore:
    store = await ts.open(
        {"driver": "zarr", "kvstore": {"driver": "memory"}},
        context=context,
        create=True,
        dtype=ts.int32,
        shape=[8, 8],
        chunk_layout=ts.ChunkLayout(chunk_shape=[4, 4]),
    )
    await store.write(np.arange(64, dtype=np.int32).reshape(8, 8))
    return store


def _io_reads(store: ts.TensorStore) -> int:
    assert store.kvstore is not None
    return store.kvstore.statistics().io_reads


async def test_batched_reads_wait_for_submit_and_read_each_chunk_once() -> None:
    store = await _open()
    expected = np.arange(64, dtype=np.int32).reshape(8, 8)
    regions = [(slice(0, 2), slice(0, 8)), (slice(1, 3), slice(2, 6)), (slice(0, 4), slice(3))]
    before = _io_reads(store)
    batch = ts.Batch()
    futures = [store[r].read(batch=batch) for r in regions for _ in range(3)]
    assert not any(f.done() for f in futures)
    assert _io_reads(store) == before
    batch.submit()
    assert batch.submitted
    for future, region in zip(futures, [r for r in regions for _ in range(3)], strict=True):
        np.testing.assert_array_equal(await future, expected[region])
    # Nine reads over chunks (0, 0) and (0, 1): two kvstore reads.
    assert _io_reads(store) - before == 2


async def test_without_a_batch_the_same_reads_each_read_their_chunks() -> None:
    store = await _open()
    before = _io_reads(store)
    for _ in range(3):
        await store[0:2, 0:8].read()
    assert _io_reads(store) - before == 6


async def test_kvstore_reads_of_one_key_coalesce() -> None:
    kv = await ts.KvStore.open({"driver": "memory"})
    await kv.write("a", b"abcdef")
    await kv.write("b", b"xyz")
    before = kv.statistics().io_reads
    with ts.Batch() as batch:
        futures = [kv.read("a", batch=batch) for _ in range(10)]
        futures.append(kv.read("a", batch=batch, byte_range=slice(2, 4)))
        futures.append(kv.read("b", batch=batch))
        assert not any(f.done() for f in futures)
    values = [(await f).value for f in futures]
    assert values == [b"abcdef"] * 10 + [b"cd", b"xyz"]
    assert kv.statistics().io_reads - before == 2


async def test_open_and_resolve_in_a_batch() -> None:
    context = ts.Context()
    store = await _open(context)
    batch = ts.Batch()
    opened = ts.open({"driver": "zarr", "kvstore": {"driver": "memory"}}, context=context, batch=batch)
    resolved = store.resolve(batch=batch)
    assert not opened.done()
    assert not resolved.done()
    batch.submit()
    assert (await opened).shape == (8, 8)
    assert (await resolved).shape == (8, 8)


@pytest.mark.parametrize("lib", ["tensortrio", "tensorstore"])
def test_reads_are_refused_by_a_submitted_batch_and_writes_and_opens_proceed(lib: str) -> None:
    module = pytest.importorskip(lib)
    spec = {"driver": "zarr", "kvstore": "memory://"}
    store = module.open(spec, create=True, dtype=module.int32, shape=[4]).result()
    kv = module.KvStore.open("memory://").result()
    batch = module.Batch()
    batch.submit()
    batch.submit()  # no effect
    for read in (lambda: store.read(batch=batch), lambda: kv.read("a", batch=batch)):
        with pytest.raises(ValueError, match=r"^batch was already submitted$"):
            read()
    with pytest.raises(ValueError, match=r"^batch was already submitted$"):
        store.resolve(batch=batch)
    store[1:2].write(module.array(np.array([5], np.int32)), batch=batch).result()
    assert store.read().result().tolist() == [0, 5, 0, 0]
    assert module.open(spec, batch=batch, create=True, dtype=module.int32, shape=[1]).result().shape == (1,)


@pytest.mark.parametrize("lib", ["tensortrio", "tensorstore"])
def test_a_batch_is_for_writes_copying_from_a_tensorstore(lib: str) -> None:
    module = pytest.importorskip(lib)
    store = module.array(np.zeros(3, np.int32))
    with pytest.raises(
        ValueError,
        match=r"^Invalid batch: batch can only be specified when copying from a TensorStore source$",
    ):
        store.write(np.ones(3, np.int32), batch=module.Batch())
    store.write(module.array(np.ones(3, np.int32)), batch=module.Batch()).result()
    assert store.read().result().tolist() == [1, 1, 1]


async def test_async_with_submits_on_exit_in_trio() -> None:
    store = await _open()
    async with ts.Batch() as batch:
        future = store[1, 1].read(batch=batch)
    assert (await future) == 9


def test_async_with_submits_on_exit_in_asyncio() -> None:
    async def main() -> int:
        store = await _open()
        async with ts.Batch() as batch:
            future = store[1, 2].read(batch=batch)
        return int(await future)

    assert asyncio.run(main()) == 10


async def test_with_submits_on_exit_even_on_error() -> None:
    store = await _open()
    futures: list[ts.Future[np.ndarray]] = []

    def fail_inside_batch() -> None:
        with ts.Batch() as batch:
            futures.append(store[2, 2].read(batch=batch))
            raise KeyError("x")

    with pytest.raises(KeyError):
        fail_inside_batch()
    assert (await futures[0]) == 18


async def test_garbage_collected_batch_is_submitted() -> None:
    store = await _open()
    batch = ts.Batch()
    future = store[3, 3].read(batch=batch)
    del batch
    gc.collect()
    assert (await future) == 27


async def test_bad_batch_argument() -> None:
    store = await _open()
    with pytest.raises(TypeError, match=r"^TensorStore\.read: batch must be a ts\.Batch or None, got int$"):
        store.read(batch=3)
    with pytest.raises(TypeError, match=r"^TensorStore\.write: batch must be a ts\.Batch or None"):
        store.write(1, batch="b")
    assert repr(ts.Batch()).startswith("<tensortrio.Batch object at 0x")


async def test_inner_chunks_of_a_shard_read_in_a_batch_share_kvstore_reads() -> None:
    store = await ts.open(
        {"driver": "zarr3", "kvstore": {"driver": "memory"}},
        create=True,
        dtype=ts.uint8,
        shape=[64, 64],
        chunk_layout=ts.ChunkLayout(read_chunk_shape=[8, 8], write_chunk_shape=[64, 64]),
    )
    data = np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)
    await store.write(data)
    boxes = [(slice(y, y + 8), slice(x, x + 8)) for y in range(0, 64, 8) for x in range(0, 64, 8)]
    before = _io_reads(store)
    for box in boxes:
        np.testing.assert_array_equal(await store[box].read(), data[box])
    one_by_one = _io_reads(store) - before
    assert one_by_one >= len(boxes)
    before = _io_reads(store)
    async with ts.Batch() as batch:
        futures = [store[box].read(batch=batch) for box in boxes]
    for box, future in zip(boxes, futures, strict=True):
        np.testing.assert_array_equal(await future, data[box])
    # One shard: its index and its inner chunks' byte ranges, merged (or the shard at once).
    assert _io_reads(store) - before <= 4
