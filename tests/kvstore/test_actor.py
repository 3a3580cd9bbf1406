"""The KvStore actor against a driver whose batches the test releases one by one."""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import pytest
import trio
import trio.testing

from tensortrio.actors.kvstore import KvStoreActor, ReadOp, TaskOp, WriteOp
from tensortrio.drivers.kvstore.driver import BatchOperation, BatchOutcome, KvStoreDriver, ReadGroup
from tensortrio.drivers.kvstore.generation import TimestampedStorageGeneration
from tensortrio.drivers.kvstore.memory import MemoryDriverSpec
from tensortrio.drivers.kvstore.operations import ReadRequest, WriteRequest
from tensortrio.drivers.kvstore.read_result import ReadResult
from tensortrio.errors import ActorClosedError
from tensortrio.runtime import Future

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from tensortrio.drivers.kvstore.key_range import KeyRange


@attrs.define(eq=False)
class GatedDriver(KvStoreDriver):
    """Executes each batch against a dict once the test opens its gate."""

    inline: ClassVar[bool] = False
    limit: int = 2
    batches: list[list[BatchOperation]] = attrs.field(factory=list)
    gates: list[trio.Event] = attrs.field(factory=list)
    data: dict[bytes, bytes] = attrs.field(factory=dict)
    version: int = 0

    @property
    def spec(self) -> MemoryDriverSpec:
        return MemoryDriverSpec()

    @property
    def concurrency(self) -> int:
        return self.limit

    async def run_batch(self, operations: Sequence[BatchOperation]) -> list[BatchOutcome]:
        gate = trio.Event()
        self.batches.append(list(operations))
        self.gates.append(gate)
        await gate.wait()
        outcomes: list[BatchOutcome] = []
        for op in operations:
            if isinstance(op, ReadRequest | ReadGroup):
                value = self.data.get(op.key)
                state = "missing" if value is None else "value"
                result = ReadResult(state, value or b"", TimestampedStorageGeneration())
                outcomes.append([result] * len(op.requests) if isinstance(op, ReadGroup) else result)
            else:
                assert op.value is not None
                self.data[op.key] = op.value
                self.version += 1
                outcomes.append(TimestampedStorageGeneration(b"\x00%d" % self.version, 0.0))
        return outcomes

    async def list_keys(self, range_: KeyRange) -> list[bytes]:
        return sorted(k for k in self.data if range_.contains(k))

    async def delete_range(self, range_: KeyRange) -> None:
        for key in [k for k in self.data if range_.contains(k)]:
            del self.data[key]


@pytest.fixture
async def actor() -> AsyncIterator[KvStoreActor]:
    actor = KvStoreActor(driver=GatedDriver(), name="test kvstore", mailbox_size=8)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(actor.serve)
        yield actor
        for gate in actor.driver.gates:  # type: ignore[attr-defined]
            gate.set()
        await actor.aclose()


def read(actor: KvStoreActor, key: bytes) -> Future[ReadResult]:
    future: Future[ReadResult] = Future._pending()
    actor.submit(ReadOp(ReadRequest(key), future))
    return future


def write(actor: KvStoreActor, key: bytes, value: bytes) -> Future[TimestampedStorageGeneration]:
    future: Future[TimestampedStorageGeneration] = Future._pending()
    actor.submit(WriteOp(WriteRequest(key, value), future))
    return future


def driver(actor: KvStoreActor) -> GatedDriver:
    assert isinstance(actor.driver, GatedDriver)
    return actor.driver


async def release(actor: KvStoreActor, index: int) -> None:
    driver(actor).gates[index].set()
    await trio.testing.wait_all_tasks_blocked()


def keys(batch: list[BatchOperation]) -> list[bytes]:
    return [op.key for op in batch]


async def test_write_batches_are_bounded_by_the_concurrency(actor: KvStoreActor) -> None:
    futures = [write(actor, b"k%d" % i, b"v") for i in range(10)]
    await trio.testing.wait_all_tasks_blocked()
    # Two batches in flight (the limit), the queue split evenly between them.
    assert [len(b) for b in driver(actor).batches] == [5, 5]
    assert actor.statistics().in_flight == 2
    await release(actor, 0)
    await release(actor, 1)
    assert all(f.done() for f in futures)
    stats = actor.statistics()
    assert (stats.writes, stats.io_writes, stats.batches, stats.in_flight) == (10, 10, 2, 0)


async def test_arrivals_while_all_slots_are_busy_form_bigger_batches(actor: KvStoreActor) -> None:
    write(actor, b"a", b"1")
    write(actor, b"b", b"1")
    await trio.testing.wait_all_tasks_blocked()
    assert [len(b) for b in driver(actor).batches] == [1, 1]
    for i in range(6):
        write(actor, b"c%d" % i, b"1")
    await trio.testing.wait_all_tasks_blocked()
    assert actor.statistics().queued == 6
    await release(actor, 0)
    # One slot freed: everything waiting goes in one batch (up to WRITE_BATCH).
    assert [len(b) for b in driver(actor).batches] == [1, 1, 6]


async def test_reads_go_in_one_large_batch(actor: KvStoreActor) -> None:
    futures = [read(actor, b"k%d" % i) for i in range(10)]
    await trio.testing.wait_all_tasks_blocked()
    assert [len(b) for b in driver(actor).batches] == [10]
    await release(actor, 0)
    assert [f.result().state for f in futures] == ["missing"] * 10


async def test_reads_waiting_together_share_one_io(actor: KvStoreActor) -> None:
    first = read(actor, b"k")
    await trio.testing.wait_all_tasks_blocked()
    # While that read is in flight, three more reads of the key queue up...
    later = [read(actor, b"k") for _ in range(3)]
    await trio.testing.wait_all_tasks_blocked()
    assert len(driver(actor).batches) == 1
    await release(actor, 0)
    # ...and are answered by one I/O that started after they were submitted.
    (group,) = driver(actor).batches[1]
    assert isinstance(group, ReadGroup)
    assert len(group.requests) == 3
    driver(actor).data[b"k"] = b"new"
    await release(actor, 1)
    assert first.result().state == "missing"
    assert [f.result().value for f in later] == [b"new"] * 3
    stats = actor.statistics()
    assert (stats.reads, stats.io_reads, stats.coalesced_reads) == (4, 2, 2)


async def test_a_read_alone_goes_to_the_driver_as_its_request(actor: KvStoreActor) -> None:
    driver(actor).data[b"k"] = b"v"
    write(actor, b"a", b"1")
    write(actor, b"b", b"1")
    await trio.testing.wait_all_tasks_blocked()
    alone = read(actor, b"k")
    pair = [read(actor, b"j"), read(actor, b"j")]
    left = [read(actor, b"i"), read(actor, b"i")]
    assert left[0].cancel()
    await release(actor, 0)
    # No group for a read alone, nor for the one read of a group still wanted.
    batch = driver(actor).batches[2]
    assert [type(op).__name__ for op in batch] == ["ReadRequest", "ReadGroup", "ReadRequest"]
    assert actor.statistics().queued == 0
    await release(actor, 2)
    assert alone.result().value == b"v"
    assert [f.result().state for f in pair] == ["missing"] * 2
    assert left[1].result().state == "missing"
    assert left[0].cancelled()


async def test_writes_to_a_key_apply_in_submission_order(actor: KvStoreActor) -> None:
    write(actor, b"k", b"1")
    await trio.testing.wait_all_tasks_blocked()
    second = write(actor, b"k", b"2")
    other = write(actor, b"j", b"1")
    await trio.testing.wait_all_tasks_blocked()
    # The second write of k waits for the first; the write of j does not.
    assert [keys(b) for b in driver(actor).batches] == [[b"k"], [b"j"]]
    await release(actor, 1)
    assert other.done()
    assert not second.done()
    await release(actor, 0)
    assert [keys(b) for b in driver(actor).batches] == [[b"k"], [b"j"], [b"k"]]
    await release(actor, 2)
    assert driver(actor).data[b"k"] == b"2"


async def test_cancelled_operations_are_dropped(actor: KvStoreActor) -> None:
    write(actor, b"a", b"1")
    write(actor, b"b", b"1")
    await trio.testing.wait_all_tasks_blocked()
    dropped = write(actor, b"c", b"1")
    kept = write(actor, b"d", b"1")
    dropped_read = read(actor, b"c")
    assert dropped.cancel()
    assert dropped_read.cancel()
    await trio.testing.wait_all_tasks_blocked()
    await release(actor, 0)
    assert [keys(b) for b in driver(actor).batches][2] == [b"d"]
    assert actor.statistics().cancelled == 2
    await release(actor, 2)
    assert kept.done()


async def test_tasks_run_beside_batches(actor: KvStoreActor) -> None:
    future: Future[Any] = Future._pending()
    driver(actor).data[b"x"] = b"1"

    async def run() -> list[bytes]:
        return [b"listed"]

    actor.submit(TaskOp("list", run, future))
    assert await future == [b"listed"]
    assert actor.statistics().lists == 1


async def test_closing_fails_what_waits_and_finishes_what_started() -> None:
    actor = KvStoreActor(driver=GatedDriver(limit=1), name="closing", mailbox_size=8)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(actor.serve)
        started = write(actor, b"k", b"1")
        await trio.testing.wait_all_tasks_blocked()
        waiting = write(actor, b"k", b"2")
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(actor.aclose)
        await trio.testing.wait_all_tasks_blocked()
        driver(actor).gates[0].set()
    assert started.result().generation == b"\x001"
    with pytest.raises(ActorClosedError, match=r"^actor 'closing' is closed$"):
        waiting.result()
    late = write(actor, b"k", b"3")
    with pytest.raises(ActorClosedError):
        await late


async def test_cancelling_the_actor_still_reports_started_writes() -> None:
    actor = KvStoreActor(driver=GatedDriver(limit=1), name="cancelled", mailbox_size=8)
    scope = trio.CancelScope()

    async def serve() -> None:
        with scope:
            await actor.serve()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        started = write(actor, b"k", b"1")
        await trio.testing.wait_all_tasks_blocked()
        scope.cancel()
        await trio.testing.wait_all_tasks_blocked()
        # The write batch is shielded: it still waits for its gate.
        assert not started.done()
        driver(actor).gates[0].set()
    assert started.result().generation == b"\x001"
    assert driver(actor).data[b"k"] == b"1"


@attrs.define(eq=False)
class ThreadedGatedDriver(KvStoreDriver):
    """A ``threaded`` driver: each batch blocks its worker thread until the test opens its gate."""

    threaded: ClassVar[bool] = True
    limiter: trio.CapacityLimiter = attrs.field(factory=lambda: trio.CapacityLimiter(2))
    batches: list[list[bytes]] = attrs.field(factory=list)
    gates: list[threading.Event] = attrs.field(factory=lambda: [threading.Event() for _ in range(8)])
    threads: set[int] = attrs.field(factory=set)

    @property
    def spec(self) -> MemoryDriverSpec:
        return MemoryDriverSpec()

    @property
    def concurrency(self) -> int:
        return 2

    @property
    def io_limiter(self) -> trio.CapacityLimiter:
        return self.limiter

    def run_batch_blocking(self, operations: Sequence[BatchOperation]) -> list[BatchOutcome]:
        index = len(self.batches)
        self.batches.append([op.key for op in operations])
        self.threads.add(threading.get_ident())
        assert self.gates[index].wait(30)
        return [TimestampedStorageGeneration(b"\x00%d" % index, 0.0) for _ in operations]

    async def list_keys(self, range_: KeyRange) -> list[bytes]:
        return []

    async def delete_range(self, range_: KeyRange) -> None:
        return None


@contextlib.asynccontextmanager
async def serving(driver: ThreadedGatedDriver) -> AsyncIterator[KvStoreActor]:
    """A KvStore actor on ``driver``, its ``serve`` started (not yet running) in a nursery."""
    actor = KvStoreActor(driver=driver, name="threaded kvstore", mailbox_size=8)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(actor.serve)
            yield actor
            await actor.aclose()
    finally:
        for gate in driver.gates:  # a failed test must not leave lane threads waiting
            gate.set()


async def test_a_threaded_driver_runs_batches_on_lanes_with_one_queued_per_lane() -> None:
    # Two write slots (a lane each, one more batch queued for each) and a
    # lane for reads, all three with a token of the I/O limiter.
    driver = ThreadedGatedDriver(limiter=trio.CapacityLimiter(3))
    async with serving(driver) as actor:
        futures = [write(actor, b"k%d" % i, b"v") for i in range(8)]
        while len(driver.batches) < 3:
            await trio.sleep(0.001)  # the lanes' threads start
        stats = actor.statistics()
        assert stats.in_flight == 4  # four batches of two formed at once
        assert stats.lanes is not None
        assert (stats.lanes.lanes, stats.lanes.running, stats.lanes.queued) == (3, 3, 1)
        for gate in driver.gates:
            gate.set()
        stamps = [await future for future in futures]
        assert all(stamp.generation for stamp in stamps)
        assert [len(batch) for batch in driver.batches] == [2, 2, 2, 2]
        assert sorted(k for batch in driver.batches for k in batch) == sorted(
            b"k%d" % i for i in range(8)
        )
        stats = actor.statistics()
        assert (stats.writes, stats.io_writes, stats.batches) == (8, 8, 4)
        assert stats.lanes is not None
        assert stats.lanes.lanes_started == 3  # the queued batch followed on a running lane


async def test_a_write_on_the_actors_thread_starts_its_batch_without_a_message() -> None:
    driver = ThreadedGatedDriver(limiter=trio.CapacityLimiter(3))
    async with serving(driver) as actor:
        await trio.testing.wait_all_tasks_blocked()
        handled = actor.statistics().messages_handled
        futures = []
        for i in range(5):
            futures.append(write(actor, b"k%d" % i, b"v"))
            # Formed and handed to a lane within the call (two slots, one
            # more queued for each); the fifth waits for a slot.
            stats = actor.statistics()
            assert (stats.in_flight, stats.queued) == (min(i + 1, 4), max(0, i - 3))
        assert actor.statistics().messages_handled == handled
        for gate in driver.gates:
            gate.set()
        stamps = [await future for future in futures]
        assert all(stamp.generation for stamp in stamps)
        # The fifth followed when a batch ended (a callback, not a message either).
        assert [len(batch) for batch in driver.batches] == [1, 1, 1, 1, 1]
        assert actor.statistics().messages_handled == handled
