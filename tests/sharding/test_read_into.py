"""Whole shards read with nothing cached decode straight into the reader's array."""

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
from tensortrio.drivers.zarr3.shard_io import ShardIO
from tensortrio.errors import DataLossError
from tensortrio.index import IndexTransform

from .conftest import Gate, GatedKvStore, cache_of, pattern, sharded_spec

if TYPE_CHECKING:
    from pathlib import Path

MEMORY = {"driver": "memory"}
CODECS = {
    "raw": None,
    "blosc": ["bytes", {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5}}],
    "gzip": ["bytes", {"name": "gzip", "configuration": {"level": 1}}],
}


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per whole-shard decode: whether it went straight into a reader's array."""
    calls: list[bool] = []
    original = ShardIO.decode_all

    def spy(self: ShardIO, shard: Any, index: Any = None, out: Any = None) -> Any:
        calls.append(out is not None)
        return original(self, shard, index, out)

    monkeypatch.setattr(ShardIO, "decode_all", spy)
    return calls


@pytest.fixture(params=["memory", "file"])
def kvstore(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Where arrays are stored: memory, or files (whose shards worker jobs read and decode at once)."""
    if request.param == "memory":
        return MEMORY
    return {"driver": "file", "path": f"{tmp_path}/array/"}


def written(
    data: np.ndarray, context: Any = None, kvstore: dict[str, Any] = MEMORY, **options: Any
) -> Any:
    spec = sharded_spec(kvstore, **options)
    context = context or ts.Context()
    store = ts.open(spec, create=True, context=context, recheck_cached_data=False).result()
    store.write(data).result()
    return store


@pytest.mark.parametrize("codecs", CODECS.values(), ids=CODECS.keys())
def test_whole_shards_decode_into_the_result_and_partial_ones_are_copied(
    decodes: list[bool], codecs: Any, kvstore: dict[str, Any]
) -> None:
    data = pattern((64, 64))
    store = written(data, kvstore=kvstore, inner_codecs=codecs)
    np.testing.assert_array_equal(store.read().result(), data)
    assert decodes == [True] * 4
    decodes.clear()
    # [16:64, 8:40] covers no shard whole. [16:64] covers shards (1, 0) and (1, 1)
    # whole (rows 16-47 of its result) and half of the two above them (decoded
    # into their entries, then copied).
    np.testing.assert_array_equal(store[16:64, 8:40].read().result(), data[16:64, 8:40])
    np.testing.assert_array_equal(store[16:64].read().result(), data[16:64])
    assert decodes == [True, True]
    assert cache_of(store).pool.statistics().entries == 0  # nothing decoded was kept


def test_reads_in_another_element_order_copy_from_the_decoded_shard(decodes: list[bool]) -> None:
    data = pattern((64, 64))
    store = written(data)
    np.testing.assert_array_equal(store.T.read().result(), data.T)
    np.testing.assert_array_equal(store[::-1, 32:].read().result(), data[::-1, 32:])
    rows = np.arange(64)
    np.testing.assert_array_equal(store.oindex[rows, 32:].read().result(), data[:, 32:])
    # Translated: the same order, so the whole shards still decode into the result.
    moved = store[ts.d[:].translate_by[5]]
    np.testing.assert_array_equal(moved[5:69, 37:69].read().result(), data[:, 32:])
    assert decodes.count(True) == 2  # only the translated read, shards (0, 1) and (1, 1)
    assert decodes[-2:] == [True, True]


def test_a_cache_pool_that_keeps_chunks_gets_the_decoded_shards(decodes: list[bool]) -> None:
    data = pattern((64, 64))
    context = ts.Context({"cache_pool": {"total_bytes_limit": 1 << 20}})
    store = written(data, context=context)
    kv = store.kvstore
    np.testing.assert_array_equal(store.read().result(), data)
    assert decodes == [False] * 4
    assert cache_of(store).shard_statistics().inner_decoded == 4 * 16  # every inner chunk
    reads = kv.statistics().reads
    np.testing.assert_array_equal(store.read().result(), data)
    assert kv.statistics().reads == reads  # served from the cached, decoded shards


@pytest.mark.parametrize("codecs", CODECS.values(), ids=CODECS.keys())
def test_missing_shards_and_chunks_read_as_fill_and_corrupt_ones_fail(
    codecs: Any, kvstore: dict[str, Any]
) -> None:
    store = written(
        np.full((64, 64), 7, np.uint16), kvstore=kvstore, inner_codecs=codecs, fill_value=7
    )
    store[0:32, 0:32].write(np.uint16(3)).result()  # the other shards: not stored
    store[0:8, 0:8].write(np.uint16(7)).result()  # an inner chunk of the fill value: not stored
    expected = np.full((64, 64), 7, np.uint16)
    expected[8:32, 0:32] = expected[0:8, 8:32] = 3
    np.testing.assert_array_equal(store.read().result(), expected)
    strict_kvstore = {**kvstore, "path": kvstore["path"] + "strict/"} if "path" in kvstore else MEMORY
    strict = ts.open(
        {**sharded_spec(strict_kvstore, inner_codecs=codecs), "fill_missing_data_reads": False},
        context=ts.Context(),
        create=True,
    ).result()
    with pytest.raises(ValueError, match=r"^zarr3( \S+)?: .*'c/\d/\d' is missing \(fill_missing_data_reads is false\)$"):
        strict.read().result()
    store.kvstore.write("c/0/0", b"\x00" * 100).result()
    with pytest.raises(DataLossError, match=r"^zarr3( \S+)?: .*cannot decode shard 'c/0/0'"):
        store.read().result()
    # Nothing of the corrupt shard was kept: once repaired, it reads as written.
    store[0:32, 0:32].write(np.uint16(5)).result()
    expected[0:32, 0:32] = 5
    np.testing.assert_array_equal(store.read().result(), expected)


def test_concurrent_whole_reads_each_get_every_shard(decodes: list[bool]) -> None:
    # Reads of more than a few shards each run on their own: a reader finding a
    # shard busy with another's direct decode waits, then decodes it for itself.
    data = pattern((96, 96))
    store = written(data, shape=(96, 96), inner_codecs=CODECS["blosc"])
    futures = [store.read() for _ in range(8)]
    for future in futures:
        np.testing.assert_array_equal(future.result(), data)
    assert decodes.count(True) >= 9


async def test_whole_and_partial_shards_of_one_read_load_together(nursery: trio.Nursery) -> None:
    # Rows 24-63: shards (1, 0) and (1, 1) whole (decoded into the result), a
    # quarter of the two above them (their index, then ranges): all four reads
    # are issued before any of them is answered.
    data = pattern((64, 64))
    store = written(data)
    gate = Gate()
    kv = GatedKvStore(store.kvstore, before_read=gate)
    cache = ShardCache(kv, cache_of(store).codec, CachePool(0), trio.CapacityLimiter(2))
    cache.start(nursery)
    out: list[np.ndarray] = []

    async def read() -> None:
        transform = IndexTransform(input_shape=[64, 64])[24:64]
        out.append(await read_chunked(cache, transform, staleness_bound=time.time()))

    async with trio.open_nursery() as ops:
        ops.start_soon(read)
        await trio.testing.wait_all_tasks_blocked()
        assert sorted(kv.reads, key=str) == [
            ("c/0/0", slice(-260, None)),
            ("c/0/1", slice(-260, None)),
            ("c/1/0", None),
            ("c/1/1", None),
        ]
        kv.before_read = None
        gate.open.set()
    np.testing.assert_array_equal(out[0], data[24:64])
    stats = cache.shard_statistics()
    assert stats.shard_reads == 2
    assert stats.index_reads == 2


def test_file_shards_are_read_and_decoded_by_one_worker_job_each(
    decodes: list[bool], tmp_path: Path
) -> None:
    data = pattern((64, 64))
    store = written(data, kvstore={"driver": "file", "path": f"{tmp_path}/"})
    kv = store.kvstore
    before = kv.statistics()
    np.testing.assert_array_equal(store.read().result(), data)
    after = kv.statistics()
    assert decodes == [True] * 4
    assert after.reads - before.reads == 4  # the jobs' reads count as the store's reads
    assert after.io_reads - before.io_reads == 4
    assert after.batches == before.batches  # ... but none went through the store's own batches
    stats = cache_of(store).shard_statistics()
    assert (stats.shard_reads, stats.index_reads, stats.range_reads) == (4, 0, 0)


def test_worker_jobs_hold_the_file_io_concurrency_limit(
    tmp_path: Path, worker_read_overlap: Any
) -> None:
    # Two data-copy threads (the shards, 128 KiB each, are split over both),
    # but one file I/O slot: the reads never overlap.
    context = ts.Context({"file_io_concurrency": {"limit": 1}, "data_copy_concurrency": {"limit": 2}})
    data = pattern((512, 512))
    kvstore = {"driver": "file", "path": f"{tmp_path}/"}
    options = {"shape": (512, 512), "shard": (256, 256), "inner": (64, 64)}
    store = written(data, context=context, kvstore=kvstore, **options)
    np.testing.assert_array_equal(store.read().result(), data)
    assert worker_read_overlap.peak == 1


async def test_a_known_unchanged_shard_is_revalidated_then_loaded(
    nursery: trio.Nursery, tmp_path: Path, decodes: list[bool]
) -> None:
    # An entry that knows shard (0, 0)'s index but is stale: its job reads
    # conditionally, learns it unchanged, and the read loads it from its index.
    data = pattern((64, 64))
    store = written(data, kvstore={"driver": "file", "path": f"{tmp_path}/"})
    kv = store.kvstore
    cache = ShardCache(kv, cache_of(store).codec, CachePool(0), trio.CapacityLimiter(2))
    cache.start(nursery)
    stored = await kv.read("c/0/0")
    stale = ts.KvStore.TimestampedStorageGeneration(stored.stamp.generation, 0.0)
    cache.entry((0, 0)).set_index(ShardIO(cache_of(store)._io.layout).shard_index(stored.value), stale)
    out = await read_chunked(cache, IndexTransform(input_shape=[64, 64]), staleness_bound=time.time())
    np.testing.assert_array_equal(out, data)
    assert decodes == [True] * 3  # the other three shards, straight from their jobs
    stats = cache.shard_statistics()
    assert (stats.shard_reads, stats.index_reads) == (4, 0)
    assert stats.range_reads >= 1  # shard (0, 0), from the index it had revalidated
