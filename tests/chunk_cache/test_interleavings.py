"""Interleavings forced with a gated kvstore: the cache runs in the test's own trio run."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import pytest
import trio
import trio.testing

import tensortrio as ts
from tensortrio.drivers.chunked_io import read_chunked, write_chunked_async
from tensortrio.index import IndexTransform
from tensortrio.runtime import Promise, get_runtime

if TYPE_CHECKING:
    from collections.abc import Callable

    from tensortrio.actors.chunk_cache import ChunkCache


def domain(*shape: int) -> IndexTransform:
    return IndexTransform(input_shape=list(shape))


class Gate:
    """Holds every kvstore write at the gate until opened; ``reached`` is set by the first."""

    def __init__(self) -> None:
        self.reached = trio.Event()
        self.open = trio.Event()
        self.waiting = 0

    async def __call__(self, key: str) -> None:
        self.waiting += 1
        self.reached.set()
        await self.open.wait()


def ones(*shape: int, value: int = 1) -> Any:
    return np.full(shape, value, np.int32)


async def test_generation_mismatch_rereads_and_reapplies(
    kvstore: ts.KvStore,
    cache_factory: Callable[..., ChunkCache],
    gated: Any,
    nursery: trio.Nursery,
) -> None:
    gate = Gate()
    kv = gated(kvstore, before_write=gate)
    cache = cache_factory(kv, (4, 5))
    cache.start(nursery)
    t = domain(4, 5)
    async with trio.open_nursery() as ops:
        ops.start_soon(write_chunked_async, cache, t[0:1, :], ones(1, 5))
        await gate.reached.wait()
        # Between the writeback's read (missing) and its write, another writer stores the chunk.
        kv.before_write = None
        await kvstore.write("0.0", ones(4, 5, value=5).tobytes())
        gate.open.set()
    stats = cache.statistics()
    assert stats.write_retries == 1
    assert stats.reads == 2
    expected = ones(4, 5, value=5)
    expected[0] = 1
    stored = np.frombuffer((await kvstore.read("0.0")).value, np.int32).reshape(4, 5)
    assert np.array_equal(stored, expected)
    assert kv.writes[0][1] == b"\x02"


async def test_writes_during_a_writeback_coalesce_into_the_next(
    memory_kvstore: ts.KvStore,
    cache_factory: Callable[..., ChunkCache],
    gated: Any,
    nursery: trio.Nursery,
) -> None:
    gate = Gate()
    kv = gated(memory_kvstore, before_write=gate)
    cache = cache_factory(kv, (4, 5))
    cache.start(nursery)
    t = domain(4, 5)
    async with trio.open_nursery() as ops:
        ops.start_soon(write_chunked_async, cache, t[0:1, 0:1], ones(1, 1, value=100))
        await gate.reached.wait()
        for k in range(1, 20):
            i, j = divmod(k, 5)
            ops.start_soon(write_chunked_async, cache, t[i : i + 1, j : j + 1], ones(1, 1, value=k))
        await trio.testing.wait_all_tasks_blocked()
        assert gate.waiting == 1  # one writeback in flight, the rest pending behind it
        assert cache.statistics().coalesced_writes == 18
        gate.open.set()
    stats = cache.statistics()
    assert (stats.writebacks, stats.writeback_tasks, stats.reads) == (2, 1, 1)
    expected = np.arange(20, dtype=np.int32).reshape(4, 5)
    expected[0, 0] = 100
    out = await read_chunked(cache, t, staleness_bound=math.inf)
    assert np.array_equal(out, expected)


async def test_a_read_waits_for_the_writeback_in_flight(
    memory_kvstore: ts.KvStore,
    cache_factory: Callable[..., ChunkCache],
    gated: Any,
    nursery: trio.Nursery,
) -> None:
    gate = Gate()
    kv = gated(memory_kvstore, before_write=gate)
    cache = cache_factory(kv, (4, 5))
    cache.start(nursery)
    t = domain(4, 5)
    results: list[Any] = []

    async def read_now() -> None:
        results.append(await read_chunked(cache, t, staleness_bound=time.time()))

    nursery.start_soon(write_chunked_async, cache, t[1:2, 1:3], ones(1, 2, value=4))
    await gate.reached.wait()
    reads = len(kv.reads)
    async with trio.open_nursery() as ops:
        ops.start_soon(read_now)
        await trio.testing.wait_all_tasks_blocked()
        assert len(kv.reads) == reads  # no second I/O while the writeback is in flight
        gate.open.set()
    expected = np.zeros((4, 5), np.int32)
    expected[1, 1:3] = 4
    assert np.array_equal(results[0], expected)
    assert len(kv.reads) == reads


async def test_cancelling_the_writer_does_not_tear_the_commit(
    kvstore: ts.KvStore,
    cache_factory: Callable[..., ChunkCache],
    gated: Any,
    nursery: trio.Nursery,
) -> None:
    gate = Gate()
    kv = gated(kvstore, before_write=gate)
    cache = cache_factory(kv, (4, 5))
    cache.start(nursery)
    t = domain(4, 10)
    with trio.CancelScope() as scope:
        nursery.start_soon(trio.sleep_forever)  # keep the test nursery busy meanwhile
        async with trio.open_nursery() as ops:
            ops.start_soon(write_chunked_async, cache, t, ones(4, 10, value=3))
            await gate.reached.wait()
            scope.cancel()
    assert scope.cancelled_caught
    gate.open.set()
    for cell in [(0, 0), (0, 1)]:
        await cache.entry(cell).wait_idle()
    assert await kvstore.list() == [b"0.0", b"0.1"]
    for key in ["0.0", "0.1"]:
        assert (await kvstore.read(key)).value == ones(4, 5, value=3).tobytes()
    nursery.cancel_scope.cancel()


async def test_a_kvstore_failure_surfaces_on_commit(
    memory_kvstore: ts.KvStore,
    cache_factory: Callable[..., ChunkCache],
    gated: Any,
    nursery: trio.Nursery,
) -> None:
    kv = gated(memory_kvstore, fail_writes=OSError("disk full"))
    cache = cache_factory(kv, (4, 5))
    cache.start(nursery)
    t = domain(4, 5)
    with pytest.raises(OSError, match=r"^disk full$"):
        await write_chunked_async(cache, t[0:2], ones(2, 5))
    assert cache.statistics().bytes_held == 0
    kv.fail_writes = None
    await write_chunked_async(cache, t[2:4], ones(2, 5, value=2))
    expected = np.zeros((4, 5), np.int32)
    expected[2:4] = 2
    assert np.array_equal(await read_chunked(cache, t, staleness_bound=-math.inf), expected)


# (8, 5): each chunk's part of the source is contiguous; (4, 10): strided rows.
@pytest.mark.parametrize("shape", [(8, 5), (4, 10)])
@pytest.mark.parametrize("limit", [0, 1 << 20])
async def test_full_overwrites_encode_from_the_source_before_copy_resolves(
    memory_kvstore: ts.KvStore,
    cache_factory: Callable[..., ChunkCache],
    gated: Any,
    nursery: trio.Nursery,
    shape: tuple[int, int],
    limit: int,
) -> None:
    gate = Gate()
    kv = gated(memory_kvstore, before_write=gate)
    cache = cache_factory(kv, (4, 5), limit=limit)
    cache.start(nursery)
    t = domain(*shape)
    source = np.arange(40, dtype=np.int32).reshape(shape)
    copied, copy_future = Promise.new()
    async with trio.open_nursery() as ops:
        ops.start_soon(write_chunked_async, cache, t, source, copied)
        await copy_future  # resolves while the kvstore writes are still held
        assert gate.waiting >= 1
        source[...] = -1  # the caller may reuse its array now
        gate.open.set()
    expected = np.arange(40, dtype=np.int32).reshape(shape)
    # With a pool that keeps chunks, a copy (never the caller's array) was
    # cached; without one, the stored bytes are read back.
    assert np.array_equal(await read_chunked(cache, t, staleness_bound=-math.inf), expected)
    assert cache.statistics().reads == (0 if limit else 2)


async def test_a_write_coalescing_onto_a_borrowed_source_copies_it_first(
    memory_kvstore: ts.KvStore,
    cache_factory: Callable[..., ChunkCache],
    gated: Any,
    nursery: trio.Nursery,
) -> None:
    gate = Gate()
    kv = gated(memory_kvstore, before_write=gate)
    cache = cache_factory(kv, (4, 5))
    cache.start(nursery)
    t = domain(4, 5)
    full = np.arange(20, dtype=np.int32).reshape(4, 5)
    copied, copy_future = Promise.new()
    async with trio.open_nursery() as ops:
        ops.start_soon(write_chunked_async, cache, t[0:1, 0:1], ones(1, 1, value=-7))
        await gate.reached.wait()
        # Pending behind the writeback in flight: held as a view of ``full``.
        ops.start_soon(write_chunked_async, cache, t, full, copied)
        await trio.testing.wait_all_tasks_blocked()
        assert not copy_future.done()
        ops.start_soon(write_chunked_async, cache, t[3:4, 4:5], ones(1, 1, value=99))
        await copy_future  # the partial write copied the view before writing into it
        full[...] = -1
        gate.open.set()
    expected = np.arange(20, dtype=np.int32).reshape(4, 5)
    expected[3, 4] = 99
    assert np.array_equal(await read_chunked(cache, t, staleness_bound=math.inf), expected)
    assert cache.statistics().writebacks == 2


async def test_writers_fail_cleanly_when_no_writeback_can_start(
    memory_kvstore: ts.KvStore, cache_factory: Callable[..., ChunkCache]
) -> None:
    cache = cache_factory(memory_kvstore, (4, 5))
    async with trio.open_nursery() as closed:
        pass
    cache.start(closed)  # as when the runtime is stopping
    with pytest.raises(RuntimeError, match=r"^Nursery is closed to new arrivals$"):
        await write_chunked_async(cache, domain(4, 5), ones(4, 5))
    stats = cache.statistics()
    assert (stats.entries, stats.bytes_held) == (0, 0)


async def test_a_reader_is_not_starved_by_a_stream_of_writers(
    memory_kvstore: ts.KvStore,
    cache_factory: Callable[..., ChunkCache],
    gated: Any,
    nursery: trio.Nursery,
) -> None:
    gates = [trio.Event(), trio.Event()]
    held = trio.Event()

    async def before_write(key: str) -> None:
        gate = gates.pop(0)
        held.set()
        await gate.wait()

    first, second = gates
    kv = gated(memory_kvstore, before_write=before_write)
    cache = cache_factory(kv, (4, 5))
    cache.start(nursery)
    t = domain(4, 5)
    nursery.start_soon(write_chunked_async, cache, t[0:1, 0:1], ones(1, 1, value=1))
    await held.wait()
    results: list[Any] = []

    async def read_now() -> None:
        results.append(await read_chunked(cache, t, staleness_bound=time.time()))

    async with trio.open_nursery() as ops:
        ops.start_soon(read_now)
        await trio.testing.wait_all_tasks_blocked()
        # Another writer arrives: the entry stays busy with a second round.
        nursery.start_soon(write_chunked_async, cache, t[1:2, 1:2], ones(1, 1, value=2))
        await trio.testing.wait_all_tasks_blocked()
        first.set()  # round one is stored; round two stays held
    expected = np.zeros((4, 5), np.int32)
    expected[0, 0] = 1
    assert np.array_equal(results[0], expected)
    second.set()


async def test_a_write_stages_more_as_soon_as_any_window_is_written_back(
    memory_kvstore: ts.KvStore,
    cache_factory: Callable[..., ChunkCache],
    gated: Any,
    nursery: trio.Nursery,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Room for two windows of one chunk each. The first window's writeback is
    # held: the fourth window is staged (and written) once the second and the
    # third are written back, without waiting for the first.
    held = trio.Event()
    last_issued = trio.Event()

    async def hold_first(key: str) -> None:
        if key == "0.3":
            last_issued.set()
        if key == "0.0":
            await held.wait()

    kv = gated(memory_kvstore, before_write=hold_first)
    cache = cache_factory(kv, (4, 5))
    monkeypatch.setattr(type(cache), "work_budget_bytes", lambda self: 2 * self.chunk_nbytes)
    cache.start(nursery)
    t = domain(4, 20)
    source = np.arange(80, dtype=np.int32).reshape(4, 20)
    async with trio.open_nursery() as ops:
        ops.start_soon(write_chunked_async, cache, t, source)
        try:
            with trio.fail_after(10):
                await last_issued.wait()
        finally:
            held.set()  # a failure must not leave the shielded writeback hanging
    assert np.array_equal(await read_chunked(cache, t, staleness_bound=math.inf), source)


@attrs.define
class OvertakenKvStore:
    """A memory kvstore where another writer stores ``outside`` just before our first write.

    Used on the runtime thread, where memory writes are applied at once
    (``write_owned_nowait``) and settled without a future.
    """

    store: ts.KvStore
    outside: bytes
    overtaken: bool = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def write_owned_nowait(
        self, key: str, value: bytes | memoryview | None, *, if_equal: bytes = b""
    ) -> Any:
        if not self.overtaken:
            self.overtaken = True
            self.store.write_owned_nowait(key, self.outside)
        return self.store.write_owned_nowait(key, value, if_equal=if_equal)


def test_a_write_applied_at_once_rereads_and_reapplies_on_a_mismatch(
    cache_factory: Callable[..., ChunkCache],
) -> None:
    memory_kvstore = ts.KvStore.open({"driver": "memory"}).result()
    kv = OvertakenKvStore(memory_kvstore, ones(4, 5, value=5).tobytes())
    cache = cache_factory(kv, (4, 5))

    async def on_runtime() -> None:
        async with trio.open_nursery() as nursery:
            cache.start(nursery)
            await write_chunked_async(cache, domain(4, 5)[0:1, :], ones(1, 5))
            nursery.cancel_scope.cancel()

    get_runtime().submit(on_runtime).result(timeout=30)
    stats = cache.statistics()
    assert (stats.write_retries, stats.reads, stats.writebacks) == (1, 2, 2)
    expected = ones(4, 5, value=5)
    expected[0] = 1
    stored = np.frombuffer(memory_kvstore.read("0.0").result().value, np.int32).reshape(4, 5)
    assert np.array_equal(stored, expected)


async def test_a_read_rechecks_chunks_a_writeback_forgot_while_it_waited(
    memory_kvstore: ts.KvStore,
    cache_factory: Callable[..., ChunkCache],
    gated: Any,
    nursery: trio.Nursery,
) -> None:
    # With a zero pool limit, a writeback that encoded a writer's array cannot keep
    # it and forgets the chunk. A read that found the chunk fresh, then waited
    # for another chunk's writeback, must look again, never take "unknown" as
    # missing (it returned the fill value for data written long before).
    kv = gated(memory_kvstore)
    cache = cache_factory(kv, (4, 5), limit=0)
    cache.start(nursery)
    t = domain(4, 10)
    await write_chunked_async(cache, t, ones(4, 10, value=1))
    second_chunk = Gate()

    async def hold_second_chunk(key: str) -> None:
        if key == "0.1":
            await second_chunk(key)

    kv.before_write = hold_second_chunk
    results: list[Any] = []

    async def read_now() -> None:
        results.append(await read_chunked(cache, t, staleness_bound=time.time()))

    async with trio.open_nursery() as ops:
        try:
            ops.start_soon(write_chunked_async, cache, t[:, 5:10], ones(4, 5, value=2))
            await second_chunk.reached.wait()
            ops.start_soon(read_now)
            first = cache.entry((0, 0))
            # Its read runs in the runtime's trio run, which this one cannot see blocked.
            while not first.fresh(-math.inf) or first.busy:
                await trio.sleep(0.001)
            await trio.testing.wait_all_tasks_blocked()  # chunk 0.0 read, waiting for 0.1
            await write_chunked_async(cache, t[:, 0:5], ones(4, 5, value=3))
            assert not first.known  # forgotten: the pool keeps nothing
        finally:
            second_chunk.open.set()  # a failure must not leave the writeback held
    [out] = results
    assert out[:, 0:5].tolist() in (ones(4, 5, value=1).tolist(), ones(4, 5, value=3).tolist())
    assert out[:, 5:10].tolist() == ones(4, 5, value=2).tolist()
