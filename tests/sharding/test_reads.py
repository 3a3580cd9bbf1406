"""Sharded reads: the index once, then only the byte ranges of the inner chunks needed, merged."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import trio
import trio.testing

import tensortrio as ts
from tensortrio.actors.cache_pool import CachePool
from tensortrio.actors.shard_cache import ShardCache
from tensortrio.drivers.chunked_io import read_chunked
from tensortrio.errors import DataLossError
from tensortrio.index import IndexTransform

from .conftest import Gate, GatedKvStore, cache_of, pattern, sharded_spec

if TYPE_CHECKING:
    from pathlib import Path

MEMORY = {"driver": "memory"}


def written(spec: dict[str, Any], data: np.ndarray, context: Any = None) -> Any:
    store = ts.open(spec, create=True, context=context or ts.Context()).result()
    store.write(data).result()
    return store


def deltas(store: Any, action: Any) -> tuple[int, dict[str, int]]:
    """kvstore reads and shard statistics deltas of ``action()``."""
    kv, cache = store.kvstore, cache_of(store)
    reads, before = kv.statistics().reads, cache.shard_statistics()
    action()
    after = cache.shard_statistics()
    names = ("index_reads", "range_reads", "shard_reads", "inner_decoded")
    return kv.statistics().reads - reads, {n: getattr(after, n) - getattr(before, n) for n in names}


def test_one_inner_chunk_reads_the_index_and_one_range() -> None:
    data = pattern((64, 64))
    store = written(sharded_spec(MEMORY), data)
    out: list[np.ndarray] = []
    reads, stats = deltas(store, lambda: out.append(store[8:16, 16:24].read().result()))
    assert np.array_equal(out[0], data[8:16, 16:24])
    assert reads == 2
    assert stats == {"index_reads": 1, "range_reads": 1, "shard_reads": 0, "inner_decoded": 1}


def test_part_of_an_inner_chunk_reads_only_that_chunk() -> None:
    data = pattern((64, 64))
    store = written(sharded_spec(MEMORY), data)
    out: list[np.ndarray] = []
    reads, stats = deltas(store, lambda: out.append(store[33:35, 50].read().result()))
    assert np.array_equal(out[0], data[33:35, 50])
    assert reads == 2
    assert stats["inner_decoded"] == 1


def test_adjacent_inner_chunks_merge_into_one_range_per_row() -> None:
    data = pattern((64, 64))
    store = written(sharded_spec(MEMORY), data)
    out: list[np.ndarray] = []
    # Inner rows 1-2, columns 0-2 of shard (0, 0): each row's 3 chunks are adjacent in storage,
    # the rows are 1 chunk (128 bytes) apart, within the merging gap: one range read.
    reads, stats = deltas(store, lambda: out.append(store[8:24, 0:24].read().result()))
    assert np.array_equal(out[0], data[8:24, 0:24])
    assert stats == {"index_reads": 1, "range_reads": 1, "shard_reads": 0, "inner_decoded": 6}
    assert reads == 2


def test_far_apart_inner_chunks_are_separate_ranges() -> None:
    # [256, 256] shards of [16, 16] uint16 chunks (512 bytes): rows of 16 chunks are 8 KiB
    # apart, so chunks in rows 0 and 15 are ~120 KiB apart: two range reads.
    data = pattern((256, 256))
    spec = sharded_spec(MEMORY, shape=(256, 256), shard=(256, 256), inner=(16, 16))
    store = written(spec, data)
    out: list[np.ndarray] = []
    reads, stats = deltas(store, lambda: out.append(store[0:256:240, 0:16].read().result()))
    assert np.array_equal(out[0], data[0:256:240, 0:16])
    assert stats == {"index_reads": 1, "range_reads": 2, "shard_reads": 0, "inner_decoded": 2}
    assert reads == 3


def test_a_whole_shard_is_one_read_without_an_index_read() -> None:
    data = pattern((64, 64))
    store = written(sharded_spec(MEMORY), data)
    out: list[np.ndarray] = []
    reads, stats = deltas(store, lambda: out.append(store.read().result()))
    assert np.array_equal(out[0], data)
    assert reads == 4
    assert stats["index_reads"] == 0
    assert stats["range_reads"] == 0
    assert stats["shard_reads"] == 4


def test_missing_shard_and_missing_inner_chunks_read_as_fill() -> None:
    spec = sharded_spec(MEMORY, fill_value=7)
    store = ts.open(spec, create=True, context=ts.Context()).result()
    store[0:8, 0:8].write(np.ones((8, 8), np.uint16)).result()
    out: list[np.ndarray] = []
    reads, stats = deltas(store, lambda: out.append(store[4:12, 4:12].read().result()))
    expected = np.full((8, 8), 7, np.uint16)
    expected[:4, :4] = 1
    assert np.array_equal(out[0], expected)
    assert stats["range_reads"] == 1  # the stored chunk only; the others are not stored
    assert reads == 2
    assert np.array_equal(store[40:48, 40:48].read().result(), np.full((8, 8), 7, np.uint16))


def test_index_is_cached_and_revalidated_by_generation(tmp_path: Path) -> None:
    kvstore = {"driver": "file", "path": f"{tmp_path}/a/"}
    data = pattern((64, 64))
    writer = written(sharded_spec(kvstore), data)
    reader = ts.open(
        sharded_spec(kvstore),
        context=ts.Context({"cache_pool": {"total_bytes_limit": 1 << 24}}),
    ).result()
    out: list[np.ndarray] = []
    reads, stats = deltas(reader, lambda: out.append(reader[0:8, 0:8].read().result()))
    assert reads == 2
    assert stats["index_reads"] == 1
    # Again: the index read is conditional on the cached generation (no data), no range read.
    reads, stats = deltas(reader, lambda: out.append(reader[0:8, 0:8].read().result()))
    assert reads == 1
    assert stats == {"index_reads": 1, "range_reads": 0, "shard_reads": 0, "inner_decoded": 0}
    # Another inner chunk of the same shard: revalidation plus its range only.
    reads, stats = deltas(reader, lambda: out.append(reader[0:8, 8:16].read().result()))
    assert reads == 2
    assert stats["range_reads"] == 1
    assert np.array_equal(out[-1], data[0:8, 8:16])
    # Someone else rewrites the shard: the revalidation sees it and the new bytes are read.
    writer[0:8, 0:8].write(np.full((8, 8), 999, np.uint16)).result()
    reads, stats = deltas(reader, lambda: out.append(reader[0:8, 0:8].read().result()))
    assert np.array_equal(out[-1], np.full((8, 8), 999, np.uint16))
    assert stats["range_reads"] == 1
    assert reads == 2


def test_index_is_not_reread_without_recheck(tmp_path: Path) -> None:
    kvstore = {"driver": "file", "path": f"{tmp_path}/a/"}
    data = pattern((64, 64))
    written(sharded_spec(kvstore), data)
    spec = {**sharded_spec(kvstore), "recheck_cached_data": False}
    reader = ts.open(spec, context=ts.Context({"cache_pool": {"total_bytes_limit": 1 << 24}})).result()
    reader[0:8, 0:8].read().result()
    reads, stats = deltas(reader, lambda: reader[0:8, 0:8].read().result())
    assert reads == 0
    reads, stats = deltas(reader, lambda: reader[8:16, 0:8].read().result())
    assert reads == 1
    assert stats["range_reads"] == 1


async def test_concurrent_reads_of_one_shard_coalesce_into_one_range_read(
    nursery: trio.Nursery,
) -> None:
    data = pattern((64, 64))
    store = written(sharded_spec(MEMORY), data)
    gate = Gate()
    kv = GatedKvStore(store.kvstore, before_read=gate)
    cache = ShardCache(kv, cache_of(store).codec, CachePool(0), trio.CapacityLimiter(2))
    cache.start(nursery)
    t = IndexTransform(input_shape=[64, 64])
    results: dict[int, np.ndarray] = {}

    async def read(j: int) -> None:
        results[j] = await read_chunked(cache, t[0:8, j * 8 : (j + 1) * 8], staleness_bound=time.time())

    async with trio.open_nursery() as ops:
        ops.start_soon(read, 0)
        await gate.reached.wait()
        for j in (1, 2, 3):
            ops.start_soon(read, j)
        await trio.testing.wait_all_tasks_blocked()
        kv.before_read = None
        gate.open.set()
    for j in range(4):
        assert np.array_equal(results[j], data[0:8, j * 8 : (j + 1) * 8])
    stats = cache.shard_statistics()
    assert stats.index_reads == 1
    assert stats.range_reads == 2  # chunk 0, then chunks 1-3 (adjacent) in one read
    assert len(kv.reads) == 3
    assert kv.reads[2][1] == slice(128, 512)  # three 128-byte chunks after the first


def test_corrupt_index_is_data_loss_naming_the_shard() -> None:
    data = pattern((64, 64))
    store = written(sharded_spec(MEMORY), data)
    kv = store.kvstore
    value = bytearray(kv.read("c/0/0").result().value)
    value[-1] ^= 0xFF  # the index checksum
    kv.write("c/0/0", bytes(value)).result()
    with pytest.raises(DataLossError, match=r"^zarr3( \S+)?: .*cannot decode shard 'c/0/0': crc32c: checksum mismatch"):
        store[0:8, 0:8].read().result()


def test_shard_shorter_than_its_index_is_data_loss() -> None:
    store = written(sharded_spec(MEMORY), pattern((64, 64)))
    store.kvstore.write("c/0/1", b"short").result()
    with pytest.raises(DataLossError, match=r"^zarr3( \S+)?: .*cannot decode shard 'c/0/1'"):
        store[0:8, 32:40].read().result()


def test_strided_and_index_array_reads_decode_only_what_they_touch() -> None:
    data = pattern((64, 64))
    store = written(sharded_spec(MEMORY), data)
    out: list[np.ndarray] = []
    _, stats = deltas(store, lambda: out.append(store[3:31:9, 5].read().result()))
    assert np.array_equal(out[0], data[3:31:9, 5])
    assert stats["inner_decoded"] == 4  # rows 3, 12, 21 and 30 lie in inner rows 0, 1, 2 and 3
    _, stats = deltas(store, lambda: out.append(store.oindex[[1, 50], [2, 60]].read().result()))
    assert np.array_equal(out[-1], data[np.ix_([1, 50], [2, 60])])
    assert stats["inner_decoded"] == 4  # one inner chunk in each of the four shards
    _, stats = deltas(store, lambda: out.append(store.vindex[[1, 9], [2, 3]].read().result()))
    assert np.array_equal(out[-1], data[[1, 9], [2, 3]])
    assert stats["inner_decoded"] == 2


def test_whole_blosc_shard_with_a_corrupt_inner_chunk_is_data_loss_naming_it() -> None:
    spec = sharded_spec(MEMORY, inner_codecs=["bytes", {"name": "blosc"}])
    store = written(spec, pattern((64, 64)))
    kv = store.kvstore
    value = bytearray(kv.read("c/0/0").result().value)
    value[12] ^= 0xFF  # inner chunk (0, 0)'s header: compressed size
    kv.write("c/0/0", bytes(value)).result()
    with pytest.raises(DataLossError, match=r"^zarr3( \S+)?: .*'c/0/0': inner chunk \[0, 0\]: blosc: corrupt header"):
        store[0:32, 0:32].read().result()
    assert np.array_equal(store[32:64, 32:64].read().result(), pattern((64, 64))[32:64, 32:64])
