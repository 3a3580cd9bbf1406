"""The chunk cache through the runtime, as ts.TensorStore uses it (raw codec, memory and file)."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import trio

import tensortrio as ts
from tensortrio.actors.cache_pool import CachePool
from tensortrio.actors.chunk_cache import ChunkCache
from tensortrio.drivers.chunked_io import delete_chunks, read_chunked, write_chunked
from tensortrio.drivers.raw_chunk_codec import RawChunkCodec
from tensortrio.errors import DataLossError, NotFoundError
from tensortrio.index import IndexTransform
from tensortrio.runtime import get_runtime

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


async def read(cache: ChunkCache, transform: IndexTransform, bound: float | None = None) -> Any:
    staleness = time.time() if bound is None else bound

    async def op() -> Any:
        return await read_chunked(cache, transform, staleness_bound=staleness)

    return await get_runtime().submit(op)


def domain(*shape: int) -> IndexTransform:
    return IndexTransform(input_shape=list(shape))


async def test_reading_missing_chunks_gives_the_fill_value(
    kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    cache = cache_factory(kvstore, fill_value=7)
    out = await read(cache, domain(10, 12))
    assert out.dtype == np.int32
    assert np.array_equal(out, np.full((10, 12), 7, np.int32))
    assert cache.statistics().reads == 9
    assert await kvstore.list() == []


async def test_partial_and_full_writes_round_trip(
    kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    cache = cache_factory(kvstore)
    model = np.zeros((10, 12), np.int32)
    t = domain(10, 12)
    rng = np.random.default_rng(0)
    for k in range(12):
        i0, j0 = rng.integers(0, 9), rng.integers(0, 11)
        i1, j1 = rng.integers(i0 + 1, 11), rng.integers(j0 + 1, 13)
        src = np.full((i1 - i0, j1 - j0), k + 1, np.int32)
        await write_chunked(cache, t[i0:i1, j0:j1], src)
        model[i0:i1, j0:j1] = k + 1
        assert np.array_equal(await read(cache, t), model)
    whole = np.arange(120, dtype=np.int32).reshape(10, 12)
    futures = write_chunked(cache, t, whole)
    await futures.copy
    await futures
    assert np.array_equal(await read(cache, t), whole)
    assert np.array_equal(await read(cache, t[3:9, 2:11]), whole[3:9, 2:11])
    assert cache.statistics().bytes_held == 0


async def test_transposed_and_strided_views(
    memory_kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    cache = cache_factory(memory_kvstore)
    t = domain(10, 12)
    model = np.zeros((10, 12), np.int32)
    src = np.arange(120, dtype=np.int32).reshape(12, 10)
    await write_chunked(cache, t.T, src)
    model[...] = src.T
    strided = np.array([[-1, -2, -3], [-4, -5, -6]], np.int32)
    await write_chunked(cache, t[1::5, 2::4], strided)
    model[1::5, 2::4] = strided
    assert np.array_equal(await read(cache, t), model)
    assert np.array_equal(await read(cache, t.T), model.T)
    assert np.array_equal(await read(cache, t[::3, 1::2]), model[::3, 1::2])


async def test_a_full_overwrite_issues_no_read(
    kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    cache = cache_factory(kvstore, (4, 5))
    await write_chunked(cache, domain(8, 10), np.ones((8, 10), np.int32))
    stats = cache.statistics()
    assert (stats.reads, stats.writebacks) == (0, 4)
    await write_chunked(cache, domain(8, 10)[4:8, 5:10], np.full((4, 5), 3, np.int32))
    assert cache.statistics().reads == 0
    # A partial write of an uncached chunk must read it first.
    await write_chunked(cache, domain(8, 10)[0:1, 0:1], np.full((1, 1), 9, np.int32))
    assert cache.statistics().reads == 1
    expected = np.ones((8, 10), np.int32)
    expected[4:8, 5:10] = 3
    expected[0, 0] = 9
    assert np.array_equal(await read(cache, domain(8, 10)), expected)


async def test_concurrent_unaligned_writes_into_one_chunk_coalesce(
    memory_kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    cache = cache_factory(memory_kvstore, (64, 64))
    t = domain(64, 64)
    positions = np.random.default_rng(1).permutation(64 * 64)[:1000]
    futures = []
    for k, p in enumerate(positions):
        i, j = divmod(int(p), 64)
        futures.append(
            write_chunked(cache, t[i : i + 1, j : j + 1], np.full((1, 1), k + 1, np.int32))
        )
    for f in futures:
        await f
    stats = cache.statistics()
    assert stats.writebacks <= 50, stats
    assert stats.coalesced_writes >= 900, stats
    expected = np.zeros(64 * 64, np.int32)
    expected[positions] = np.arange(1, 1001, dtype=np.int32)
    assert np.array_equal(await read(cache, t), expected.reshape(64, 64))


async def test_recheck_cached_data_with_an_outside_writer(
    kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    cache = cache_factory(kvstore, (4, 5), limit=1 << 20)
    t = domain(4, 5)
    await write_chunked(cache, t, np.ones((4, 5), np.int32))
    assert np.array_equal(await read(cache, t, -math.inf), np.ones((4, 5), np.int32))
    reads = cache.statistics().reads
    # Another process replaces the chunk behind the cache's back.
    await kvstore.write("0.0", np.full((4, 5), 2, np.int32).tobytes())
    # recheck_cached_data=False: the cached chunk is used, no kvstore read.
    assert np.array_equal(await read(cache, t, -math.inf), np.ones((4, 5), np.int32))
    assert cache.statistics().reads == reads
    assert cache.statistics().hits >= 2
    # recheck_cached_data=True: revalidated (if_not_equal) and the new data seen.
    assert np.array_equal(await read(cache, t, time.time()), np.full((4, 5), 2, np.int32))
    assert cache.statistics().reads == reads + 1
    # Unchanged since: revalidation confirms the cached chunk.
    assert np.array_equal(await read(cache, t, time.time()), np.full((4, 5), 2, np.int32))


async def test_eviction_keeps_bytes_held_under_the_limit(
    memory_kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    chunk_bytes = 4 * 5 * 4
    limit = 3 * chunk_bytes + 3 * 256
    cache = cache_factory(memory_kvstore, (4, 5), limit=limit)
    t = domain(16, 20)
    data = np.arange(320, dtype=np.int32).reshape(16, 20)
    await write_chunked(cache, t, data)
    assert cache.pool.bytes_held <= limit
    for rows in range(0, 16, 4):
        assert np.array_equal(
            await read(cache, t[rows : rows + 4], -math.inf), data[rows : rows + 4]
        )
        assert cache.pool.bytes_held <= limit
        assert cache.statistics().bytes_held <= limit
    stats = cache.statistics()
    assert stats.evictions > 0
    assert 0 < stats.entries <= 3
    # The most recently read chunks stay cached: no kvstore read for them.
    reads = stats.reads
    assert np.array_equal(await read(cache, t[12:16, 15:20], -math.inf), data[12:16, 15:20])
    assert cache.statistics().reads == reads


async def test_default_limit_retains_nothing(
    memory_kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    cache = cache_factory(memory_kvstore, (4, 5))
    t = domain(16, 20)
    await write_chunked(cache, t[1:15, 1:19], np.ones((14, 18), np.int32))
    await read(cache, t)
    stats = cache.statistics()
    assert (stats.entries, stats.bytes_held, cache.pool.bytes_held) == (0, 0, 0)


async def test_chunks_equal_to_the_fill_value_are_deleted(
    kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    cache = cache_factory(kvstore, (4, 5), fill_value=3)
    t = domain(4, 10)
    await write_chunked(cache, t, np.ones((4, 10), np.int32))
    assert await kvstore.list() == [b"0.0", b"0.1"]
    await write_chunked(cache, t[:, 0:5], np.full((4, 5), 3, np.int32))
    await write_chunked(cache, t[:, 5:10], np.full((4, 5), 3, np.int32))
    assert await kvstore.list() == []
    # A partial write that makes the chunk all fill deletes it too (conditionally).
    await write_chunked(cache, t[:, 0:5], np.ones((4, 5), np.int32))
    await write_chunked(cache, t[0:2, 0:5], np.full((2, 5), 3, np.int32))
    await write_chunked(cache, t[2:4, 0:5], np.full((2, 5), 3, np.int32))
    assert await kvstore.list() == []
    assert np.array_equal(await read(cache, t), np.full((4, 10), 3, np.int32))


async def test_store_data_equal_to_fill_value(
    kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    cache = cache_factory(kvstore, (4, 5), store_data_equal_to_fill_value=True)
    await write_chunked(cache, domain(4, 5), np.zeros((4, 5), np.int32))
    assert await kvstore.list() == [b"0.0"]
    assert (await kvstore.read("0.0")).value == bytes(80)


async def test_fill_missing_data_reads_false_names_the_key(
    kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    cache = cache_factory(kvstore, (4, 5), fill_missing_data_reads=False)
    t = domain(8, 5)
    await write_chunked(cache, t[0:4], np.ones((4, 5), np.int32))
    assert np.array_equal(await read(cache, t[0:4]), np.ones((4, 5), np.int32))
    with pytest.raises(
        NotFoundError,
        match=r"^chunk cache: chunk \[1, 0\] stored at '1\.0' is missing "
        r"\(fill_missing_data_reads is false\)$",
    ):
        await read(cache, t)
    assert cache.statistics().bytes_held == 0


async def test_a_corrupt_chunk_is_data_loss_naming_the_key(
    kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    cache = cache_factory(kvstore, (4, 5))
    await kvstore.write("0.1", b"not a chunk")
    with pytest.raises(
        DataLossError,
        match=r"^chunk cache: cannot decode chunk '0\.1': raw chunk has 11 bytes, expected 80$",
    ):
        await read(cache, domain(4, 10))
    # A partial write over it fails on commit with the same error, and leaves it as it was.
    with pytest.raises(DataLossError, match=r"^chunk cache: cannot decode chunk '0\.1'"):
        await write_chunked(cache, domain(4, 10)[0:1, 6:7], np.ones((1, 1), np.int32))
    assert (await kvstore.read("0.1")).value == b"not a chunk"
    # A full overwrite replaces it without reading it.
    await write_chunked(cache, domain(4, 10)[:, 5:10], np.ones((4, 5), np.int32))
    assert np.array_equal(await read(cache, domain(4, 10)[:, 5:10]), np.ones((4, 5), np.int32))


async def test_source_shape_and_dtype_are_checked(
    memory_kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    cache = cache_factory(memory_kvstore, (4, 5))
    futures = write_chunked(cache, domain(4, 5), np.ones((4, 4), np.int32))
    with pytest.raises(
        ts.InvalidArgumentError,
        match=r"^chunk cache: source shape \[4, 4\] does not match the write domain shape \[4, 5\]$",
    ):
        await futures.copy
    with pytest.raises(ts.InvalidArgumentError):
        await futures
    with pytest.raises(
        ts.InvalidArgumentError, match=r"^chunk cache: source dtype int64 does not match int32$"
    ):
        await write_chunked(cache, domain(4, 5), np.ones((4, 5), np.int64))


async def test_large_chunks_use_worker_threads(
    kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    cache = cache_factory(kvstore, (256, 512), np.float32)
    t = domain(512, 1024)
    data = np.random.default_rng(2).random((512, 1024), dtype=np.float32)
    await write_chunked(cache, t, data)
    await write_chunked(cache, t[100:300, 200:900], data[100:300, 200:900] * 2)
    expected = data.copy()
    expected[100:300, 200:900] *= 2
    assert np.array_equal(await read(cache, t), expected)
    assert np.array_equal(await read(cache, t.T), expected.T)


async def test_writebacks_encode_chunks_of_a_mebibyte_and_more_on_the_cache_lanes(
    kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    cache = cache_factory(kvstore, (512, 512), np.float32)  # 1 MiB chunks
    t = domain(1024, 1536)
    data = np.random.default_rng(3).random((1024, 1536), dtype=np.float32)
    await write_chunked(cache, t, data)
    await write_chunked(cache, t[:, 512:], data[:, 512:] + 1)
    expected = data.copy()
    expected[:, 512:] += 1
    assert np.array_equal(await read(cache, t), expected)
    lanes = cache.statistics().encode_lanes
    assert lanes is not None
    assert (lanes.jobs_run, lanes.running, lanes.queued) == (6 + 4, 0, 0)
    assert 1 <= lanes.lanes_started <= lanes.jobs_run


async def test_nan_fill_value_chunks_are_deleted(
    memory_kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    cache = cache_factory(memory_kvstore, (4, 5), np.float32, fill_value=np.nan)
    t = domain(4, 10)
    out = await read(cache, t)
    assert np.isnan(out).all()
    await write_chunked(cache, t, np.full((4, 10), np.nan, np.float32))
    assert await memory_kvstore.list() == []
    await write_chunked(cache, t[1:2, 6:7], np.full((1, 1), 2.5, np.float32))
    assert await memory_kvstore.list() == [b"0.1"]
    out = await read(cache, t)
    assert out[1, 6] == 2.5
    assert np.isnan(np.delete(out.reshape(-1), 16)).all()


async def test_delete_chunks_keeps_the_cache_coherent(
    memory_kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    cache = cache_factory(memory_kvstore, (4, 5), limit=1 << 20)
    t = domain(8, 5)
    await write_chunked(cache, t, np.ones((8, 5), np.int32))
    assert np.array_equal(await read(cache, t, -math.inf), np.ones((8, 5), np.int32))

    async def delete() -> None:
        await delete_chunks(cache, [(1, 0)])

    await get_runtime().submit(delete)
    assert await memory_kvstore.list() == [b"0.0"]
    # Even without revalidation the cache knows the chunk is gone.
    expected = np.ones((8, 5), np.int32)
    expected[4:] = 0
    assert np.array_equal(await read(cache, t, -math.inf), expected)
    assert cache.statistics().reads == 0


@pytest.mark.parametrize("seed", range(4))
async def test_concurrent_disjoint_writes_match_a_numpy_model(
    seed: int, memory_kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(8, 40)), int(rng.integers(8, 40)))
    chunks = (int(rng.integers(1, 9)), int(rng.integers(1, 9)))
    limit = int(rng.choice([0, 1 << 20]))
    cache = cache_factory(memory_kvstore, chunks, limit=limit, fill_value=-1)
    t = domain(*shape)
    model = np.full(shape, -1, np.int32)
    # Disjoint boxes (one per row band), issued together without waiting in between.
    futures = []
    row = 0
    while row < shape[0]:
        height = int(rng.integers(1, 4))
        lo = int(rng.integers(0, shape[1] - 1))
        hi = int(rng.integers(lo + 1, shape[1] + 1))
        src = rng.integers(0, 1000, (min(height, shape[0] - row), hi - lo)).astype(np.int32)
        view = t[row : row + src.shape[0], lo:hi]
        if rng.random() < 0.3:
            view, src = view.T, np.ascontiguousarray(src.T)
            model[row : row + src.shape[1], lo:hi] = src.T
        else:
            model[row : row + src.shape[0], lo:hi] = src
        futures.append(write_chunked(cache, view, src))
        row += height
    for f in futures:
        await f
    assert np.array_equal(await read(cache, t), model)
    assert np.array_equal(await read(cache, t, -math.inf), model)


async def test_file_chunks_are_read_decoded_and_copied_by_worker_jobs(
    tmp_path: Path, cache_factory: Callable[..., ChunkCache]
) -> None:
    kvstore = await ts.KvStore.open({"driver": "file", "path": f"{tmp_path}/"})
    cache = cache_factory(kvstore, (4, 5), limit=1 << 20)
    data = np.arange(8 * 10, dtype=np.int32).reshape(8, 10)
    await write_chunked(cache, domain(8, 10), data)
    cache.pool.shrink()
    fresh = cache_factory(kvstore, (4, 5), limit=1 << 20)  # nothing cached yet
    before = kvstore.statistics()
    out = await read(fresh, domain(8, 10)[1:7, ::-1])
    assert np.array_equal(out, data[1:7, ::-1])
    after = kvstore.statistics()
    assert after.reads - before.reads == 4
    assert after.batches == before.batches  # none through the KvStore actor's own batches
    assert fresh.statistics().misses == 4
    # The pool keeps what the jobs decoded: read again, nothing is read.
    assert np.array_equal(await read(fresh, domain(8, 10), -math.inf), data)
    assert kvstore.statistics().reads == after.reads
    assert fresh.statistics().hits == 4


def test_read_jobs_hold_the_file_io_concurrency_limit(
    tmp_path: Path, worker_read_overlap: Any
) -> None:
    # Two data-copy threads (the chunks, 128 KiB each, are split over both),
    # but one file I/O slot: the jobs' reads never overlap.
    context = ts.Context({"file_io_concurrency": {"limit": 1}, "data_copy_concurrency": {"limit": 2}})
    spec = {
        "driver": "zarr",
        "kvstore": {"driver": "file", "path": f"{tmp_path}/"},
        "metadata": {"shape": [512, 512], "chunks": [256, 256], "dtype": "<u2", "compressor": None},
    }
    store = ts.open(spec, create=True, context=context).result()
    data = np.arange(512 * 512, dtype=np.uint16).reshape(512, 512)
    store.write(data).result()
    assert np.array_equal(store.read().result(), data)
    assert worker_read_overlap.peak == 1


async def test_chunks_for_a_store_that_drops_written_values_are_encoded_transient(
    kvstore: ts.KvStore,
) -> None:
    calls: list[str] = []

    class Codec(RawChunkCodec):
        def encode(self, chunk: np.ndarray) -> bytes:
            calls.append("encode")
            return super().encode(chunk)

        def encode_transient(self, chunk: np.ndarray) -> bytes:
            calls.append("encode_transient")
            return super().encode(chunk)

    cache = ChunkCache(kvstore, Codec((4, 5), np.int32), CachePool(0), trio.CapacityLimiter(2))
    whole = np.arange(40, dtype=np.int32).reshape(8, 5)
    await write_chunked(cache, domain(8, 5), whole)
    assert np.array_equal(await read(cache, domain(8, 5)), whole)
    # The memory store keeps the written object as the stored value; files drop it.
    expected = "encode" if kvstore.keeps_written_values else "encode_transient"
    assert calls == [expected, expected]
