"""Sharded writes: one writeback per shard, untouched inner chunks carried over, nothing lost."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import trio
import trio.testing

import tensortrio as ts
from tensortrio.actors.cache_pool import CachePool
from tensortrio.actors.shard_cache import ShardCache
from tensortrio.drivers.chunked_io import write_chunked_async
from tensortrio.drivers.zarr3.codecs.sharding import split_shard
from tensortrio.errors import DataLossError
from tensortrio.index import IndexTransform

from .conftest import Gate, GatedKvStore, cache_of, pattern, sharded_spec

if TYPE_CHECKING:
    from pathlib import Path

MEMORY = {"driver": "memory"}


def opened(spec: dict[str, Any]) -> Any:
    return ts.open(spec, create=True, context=ts.Context()).result()


def test_partial_write_encodes_only_the_touched_inner_chunks() -> None:
    store = opened(sharded_spec(MEMORY))
    data = pattern((64, 64))
    store.write(data).result()
    cache, kv = cache_of(store), store.kvstore
    before = split_shard(cache_of(store)._io.layout, kv.read("c/0/0").result().value)
    s0 = cache.shard_statistics()
    # Part of inner chunk (1, 2) and all of inner chunk (3, 3) of shard (0, 0).
    store[9:11, 17:20].write(np.full((2, 3), 5, np.uint16)).result()
    data[9:11, 17:20] = 5
    s1 = cache.shard_statistics()
    assert s1.inner_encoded - s0.inner_encoded == 1
    assert s1.inner_carried - s0.inner_carried == 15
    assert s1.shard_reads - s0.shard_reads == 1
    store[24:32, 24:32].write(np.full((8, 8), 6, np.uint16)).result()
    data[24:32, 24:32] = 6
    s2 = cache.shard_statistics()
    assert s2.inner_encoded - s1.inner_encoded == 1
    assert s2.inner_carried - s1.inner_carried == 15
    assert np.array_equal(store.read().result(), data)
    # The untouched inner chunks are stored byte for byte as before.
    after = split_shard(cache._io.layout, kv.read("c/0/0").result().value)
    for cell in range(16):
        if cell not in (6, 15):
            assert bytes(after[cell]) == bytes(before[cell])  # type: ignore[arg-type]


def test_whole_shard_write_issues_no_read() -> None:
    store = opened(sharded_spec(MEMORY))
    store.write(pattern((64, 64))).result()
    kv = store.kvstore
    reads = kv.statistics().reads
    data = pattern((32, 32), seed=3)
    store[32:64, 0:32].write(data).result()
    assert kv.statistics().reads == reads
    assert cache_of(store).shard_statistics().shard_reads == 0
    assert np.array_equal(store[32:64, 0:32].read().result(), data)


def test_inner_chunks_written_back_to_fill_are_dropped_and_an_all_fill_shard_deleted() -> None:
    store = opened(sharded_spec(MEMORY))
    store[0:8, 0:16].write(np.ones((8, 16), np.uint16)).result()
    kv = store.kvstore
    assert len(split_shard(cache_of(store)._io.layout, kv.read("c/0/0").result().value)) == 16
    store[0:8, 0:8].write(np.zeros((8, 8), np.uint16)).result()
    chunks = split_shard(cache_of(store)._io.layout, kv.read("c/0/0").result().value)
    assert [i for i, c in enumerate(chunks) if c is not None] == [1]
    store[0:8, 8:16].write(np.zeros((8, 8), np.uint16)).result()
    assert kv.read("c/0/0").result().state == "missing"


async def test_concurrent_partial_writes_from_tasks_coalesce_and_lose_nothing() -> None:
    store = await ts.open(sharded_spec(MEMORY), create=True, context=ts.Context())
    expected = np.zeros((64, 64), np.uint16)
    taken = np.zeros((64, 64), np.bool_)
    rng = np.random.default_rng(5)
    boxes: list[tuple[int, int, int, int, int]] = []
    while len(boxes) < 60:
        y, x = (int(v) for v in rng.integers(0, 60, size=2))
        h, w = (int(v) for v in rng.integers(1, 5, size=2))
        if taken[y : y + h, x : x + w].any():
            continue  # concurrent writes are unordered: keep them disjoint
        taken[y : y + h, x : x + w] = True
        value = int(rng.integers(1, 1000))
        boxes.append((y, x, h, w, value))
        expected[y : y + h, x : x + w] = value
    futures = [
        store[y : y + h, x : x + w].write(np.full((h, w), v, np.uint16)) for y, x, h, w, v in boxes
    ]
    for future in futures:
        await future
    assert np.array_equal(await store.read(), expected)
    stats = cache_of(store).statistics()
    assert stats.writebacks < len(boxes)  # writes to one shard went out together


async def test_generation_mismatch_rereads_and_reapplies(nursery: trio.Nursery) -> None:
    store = await ts.open(sharded_spec(MEMORY), create=True, context=ts.Context())
    base = pattern((64, 64))
    await store.write(base)
    gate = Gate()
    kv = GatedKvStore(store.kvstore, before_write=gate)
    cache = ShardCache(kv, cache_of(store).codec, CachePool(0), trio.CapacityLimiter(2))
    cache.start(nursery)
    t = IndexTransform(input_shape=[64, 64])
    async with trio.open_nursery() as ops:
        ops.start_soon(write_chunked_async, cache, t[0:4, 0:4], np.full((4, 4), 1, np.uint16))
        await gate.reached.wait()
        # Between the writeback's read and its write, another writer changes another inner chunk.
        kv.before_write = None
        await store[8:16, 8:16].write(np.full((8, 8), 2, np.uint16))
        gate.open.set()
    stats = cache.statistics()
    assert stats.write_retries == 1
    assert cache.shard_statistics().shard_reads == 2
    expected = base.copy()
    expected[0:4, 0:4] = 1
    expected[8:16, 8:16] = 2
    assert np.array_equal(await store.read(), expected)


async def test_corrupt_stored_inner_chunk_fails_the_write_and_keeps_the_shard() -> None:
    spec = sharded_spec(MEMORY, inner_codecs=["bytes", {"name": "crc32c"}])
    store = await ts.open(spec, create=True, context=ts.Context())
    await store.write(pattern((64, 64)))
    kv = store.kvstore
    value = bytearray((await kv.read("c/0/0")).value)
    value[0] ^= 0xFF  # inner chunk (0, 0)'s first byte
    await kv.write("c/0/0", bytes(value))
    with pytest.raises(DataLossError, match=r"^zarr3( \S+)?: .*cannot decode shard 'c/0/0': inner chunk \[0, 0\]: crc32c"):
        await store[0:2, 0:2].write(np.ones((2, 2), np.uint16))
    assert (await kv.read("c/0/0")).value == bytes(value)
    # A write that does not touch the corrupt chunk carries its bytes over unchanged.
    await store[8:10, 8:10].write(np.ones((2, 2), np.uint16))
    chunks = split_shard(cache_of(store)._io.layout, (await kv.read("c/0/0")).value)
    assert bytes(chunks[0]) == bytes(value[: len(chunks[0])])  # type: ignore[arg-type]


CHILD = """
import sys
import numpy as np
import tensortrio as ts
sys.path.insert(0, sys.argv[3])
from conftest import sharded_spec
path, worker = sys.argv[1], int(sys.argv[2])
spec = sharded_spec({"driver": "file", "path": path})
store = ts.open(spec, context=ts.Context()).result()
expected = (np.arange(64 * 64).reshape(64, 64) % 997 + 1).astype(np.uint16)
# Worker w owns every inner chunk (i, j) with (i + j) % 4 == w, and writes each
# in two halves, one write at a time: the workers collide on every shard.
for i in range(8):
    for j in range(8):
        if (i + j) % 4 != worker:
            continue
        for lo, hi in ((0, 3), (3, 8)):
            rows = slice(i * 8 + lo, i * 8 + hi)
            cols = slice(j * 8, j * 8 + 8)
            store[rows, cols].write(expected[rows, cols]).result()
"""


def test_processes_writing_inner_chunks_of_the_same_shards_lose_nothing(tmp_path: Path) -> None:
    import subprocess
    import sys
    from pathlib import Path as _Path

    path = f"{tmp_path}/a/"
    ts.open(sharded_spec({"driver": "file", "path": path}), create=True, context=ts.Context()).result()
    here = str(_Path(__file__).parent)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, path, str(w), here],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for w in range(4)
    ]
    for child in children:
        _, err = child.communicate(timeout=100)
        assert child.returncode == 0, err.decode()
    store = ts.open(sharded_spec({"driver": "file", "path": path}), context=ts.Context()).result()
    expected = (np.arange(64 * 64).reshape(64, 64) % 997 + 1).astype(np.uint16)
    assert np.array_equal(store.read().result(), expected)


def test_large_partial_writes_prepared_in_threads_still_encode_only_touched_chunks() -> None:
    # [512, 512] uint16 shards (512 KiB): partial parts this large are prepared in worker
    # threads without their selections, so the writeback finds the touched chunks in the mask.
    spec = sharded_spec(MEMORY, shape=(1024, 1024), shard=(512, 512), inner=(64, 64))
    store = opened(spec)
    data = pattern((1024, 1024))
    store.write(data).result()
    cache = cache_of(store)
    before = cache.shard_statistics()
    # ~1.9 MiB in four parts of ~0.5 MiB: prepared in worker threads.
    part = pattern((1000, 960), seed=9)
    store[0:1000, 0:960].write(part).result()
    data[0:1000, 0:960] = part
    after = cache.shard_statistics()
    # Top left: whole shard (64); bottom left: every inner chunk touched (64); the right
    # shards: 7 of 8 inner columns (56 each), the eighth carried over (8 each).
    assert after.inner_encoded - before.inner_encoded == 64 + 64 + 56 + 56
    assert after.inner_carried - before.inner_carried == 8 + 8
    assert np.array_equal(store.read().result(), data)


def test_whole_shards_taken_as_strided_views_of_the_source() -> None:
    # Every shard of a full write is a non-contiguous view of the source: encoded from it.
    store = opened(sharded_spec(MEMORY))
    data = pattern((64, 64))
    source = data.copy()
    futures = store.write(source)
    futures.copy.result()
    source[...] = 0  # once copied, the source is ours again
    futures.commit.result()
    assert np.array_equal(store.read().result(), data)
    transposed = pattern((64, 64), seed=2)
    store.T.write(transposed).result()
    assert np.array_equal(store.read().result(), transposed.T)
    assert store.kvstore.statistics().reads == 2 * 4  # the two full reads only
