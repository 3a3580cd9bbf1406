"""The KvStore actor: one per opened kvstore, the path from callers to its driver.

(Except for the whole-value reads that decoding jobs run themselves on file
stores, under the same ``file_io_concurrency`` bound: :class:`WorkerReads`.)

Callers on any thread hand it operations through :meth:`KvStoreActor.submit`,
which appends to a thread-safe intake and wakes the actor at most once per
burst (one ``run_sync_soon``, not one per operation). The actor then works on
everything that arrived at once (a write submitted on the actor's own
thread to a ``threaded`` driver does that work itself, without waking the
actor's task):

- reads of the same key that are waiting together are *coalesced*: one I/O
  answers all of them (their byte ranges are read in one go);
- small operations are *batched*: one worker thread executes a whole
  batch, so a 4 KiB value does not pay a ~100 µs hop of its own; drivers
  whose operations are plain memory work (``memory``) answer everything
  that arrived in one go, inline. ``threaded`` drivers (``file``) run
  batches on :class:`~tensortrio.runtime.WorkerLanes`: a lane takes the
  next queued batch as it ends one, and a batch's end is one callback here,
  not a task, a hop and a message;
- concurrency is bounded: at most ``driver.concurrency`` write batches (the
  context's ``file_io_concurrency`` for ``file``) and a quarter as many read
  batches run at once (on lanes, one more write batch per lane waits
  queued); while all are busy, arrivals queue and the next batches grow,
  which is what makes batching adapt to load. Reads get fewer
  threads because reading cached files is Python CPU work that parallel
  threads only fight over (the GIL), while writes mostly wait in ``fsync``;
- writes to one key are applied in the order they were submitted: a write
  waits while an earlier write of the same key is in flight elsewhere.

A write that has started is never abandoned: worker threads are not
cancelled, and the operation's future is settled when it ends.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import math
import os
import threading
import time
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
import trio

from ..drivers.kvstore.byte_range import FULL
from ..drivers.kvstore.driver import ReadGroup
from ..drivers.kvstore.generation import TimestampedStorageGeneration
from ..drivers.kvstore.key_range import as_key
from ..drivers.kvstore.operations import ReadRequest
from ..drivers.kvstore.read_result import ReadResult
from ..errors import ActorClosedError, CancelledError
from ..runtime import LanesStatistics, WorkerLanes
from .actor import Actor, ActorStatistics

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from ..drivers.kvstore.driver import BatchOperation, BatchOutcome, KvStoreDriver
    from ..drivers.kvstore.operations import WriteRequest
    from ..runtime import Future

__all__ = [
    "BatchDone",
    "Drain",
    "KvStoreActor",
    "KvStoreStatistics",
    "ReadOp",
    "TaskOp",
    "WorkerReads",
    "WriteOp",
]

_fork_epoch = 0


def _after_fork_in_child() -> None:
    global _fork_epoch
    _fork_epoch += 1


# A forked child has no runtime thread: actors of the parent cannot serve it.
os.register_at_fork(after_in_child=_after_fork_in_child)

#: Most read groups (keys) one read batch (one thread hop) carries.
READ_BATCH = 512
#: Most writes one write batch carries.
WRITE_BATCH = 128
#: Writes held back behind in-flight writes of their keys before a batch stops scanning.
_MAX_HELD = 1024
#: A write batch closes once its values add up to this many bytes: large values
#: are I/O-bound, so they go to as many threads as the driver allows rather
#: than queue behind each other in one (a hop is cheap next to 1 MiB of I/O).
WRITE_BATCH_BYTES = 1 << 20


@attrs.frozen
class Drain:
    """Operations are waiting in the intake."""


@attrs.frozen
class BatchDone:
    """A batch finished; ``keys`` are the keys its writes held (none for a read batch)."""

    writes: bool
    keys: tuple[bytes, ...]


@attrs.frozen
class ReadOp:
    """A read submitted to the actor, with the future its result goes to.

    Operations carry the pending future itself, settled by the actor (no
    ``Promise``: one object less per operation, and no finaliser).
    """

    request: ReadRequest
    future: Future[ReadResult]


@attrs.frozen
class WriteOp:
    """A write or delete submitted to the actor."""

    request: WriteRequest
    future: Future[TimestampedStorageGeneration]


@attrs.frozen
class TaskOp:
    """A list, delete_range or atomic commit: ``run()`` against the driver in a task of its own."""

    kind: str
    run: Callable[[], Awaitable[Any]]
    future: Future[Any]


@attrs.frozen
class WorkerReads:
    """Whole-value reads that a worker thread runs itself, for jobs that read a value and decode it.

    A chunk cache reading chunks (or whole shards) from their files to
    decode them would otherwise pay two hops per read: the actor's read
    batch, then the decoding job. Only ``worker_reads`` drivers (file) offer this, from
    :meth:`KvStore.worker_reads <tensortrio.KvStore.worker_reads>`. The
    caller holds ``io_limiter`` while reading (the bound on the store's
    concurrent I/O, as a batch does), reads only keys no write of its own
    is in flight for, and reports what it read with :meth:`count`.
    """

    actor: KvStoreActor
    prefix: bytes
    """The handle's path: keys are relative to it."""
    io_limiter: trio.CapacityLimiter

    def read(self, key: str | bytes, if_not_equal: bytes = b"") -> ReadResult | Exception:
        """Read ``key``'s whole value on this (worker) thread; the error is returned, not raised."""
        driver = self.actor.driver
        raw = as_key(key)
        try:
            driver.validate_key(self.prefix, raw)
        except Exception as exc:
            return exc
        now = time.time()
        return driver.read_now(ReadRequest(self.prefix + raw, FULL, if_not_equal, b"", now), now)

    def count(self, reads: int) -> None:
        """Add ``reads`` done through :meth:`read` to the actor's statistics (runtime thread)."""
        self.actor.count_reads(reads)


Op: TypeAlias = ReadOp | WriteOp | TaskOp
#: What one operation of a batch answers: a read alone, the reads of one key, or a write.
_Member: TypeAlias = "ReadOp | list[ReadOp] | WriteOp"


def _bad_outcome(outcome: object) -> Exception:
    return TypeError(f"kvstore driver returned {outcome!r} for an operation of the other kind")


@attrs.frozen
class KvStoreStatistics(ActorStatistics):
    """Counters of a KvStore actor (``reads`` etc. count requests; ``io_*`` count I/O done)."""

    reads: int
    writes: int
    """Writes and deletes submitted."""
    lists: int
    delete_ranges: int
    atomic_commits: int
    io_reads: int
    """Key reads performed: coalesced reads count once."""
    io_writes: int
    batches: int
    """Batches executed: on worker lanes for ``file``, inline runs for ``memory``."""
    coalesced_reads: int
    """Reads answered by another read's I/O."""
    cancelled: int
    """Operations dropped before they started because their future was cancelled."""
    queued: int
    in_flight: int
    lanes: LanesStatistics | None = None
    """The worker lanes running a ``threaded`` driver's batches (None for others)."""


@attrs.define(eq=False)
class KvStoreActor(Actor["Drain | BatchDone"]):
    """Owns one opened driver; see the module docstring for what it does with requests.

    Create it on the runtime thread, run it with :meth:`serve` (in a nursery,
    or the runtime's service nursery), submit operations from anywhere.
    """

    driver: KvStoreDriver = attrs.field(kw_only=True)
    _token: trio.lowlevel.TrioToken = attrs.field(
        init=False, factory=trio.lowlevel.current_trio_token
    )
    _epoch: int = attrs.field(init=False, factory=lambda: _fork_epoch)
    _thread: int = attrs.field(init=False, factory=threading.get_ident)
    """The thread running the actor's trio run (where it is created)."""
    _intake: collections.deque[Op] = attrs.field(init=False, factory=collections.deque)
    _wake_pending: bool = attrs.field(init=False, default=False)
    _dispatching: bool = attrs.field(init=False, default=False)
    """Taking the intake now: an operation submitted meanwhile (by a settled future's waker) waits for the next drain."""
    _read_queue: collections.deque[bytes] = attrs.field(init=False, factory=collections.deque)
    """Keys with reads waiting for a batch, in the order of each key's first read."""
    _reads: dict[bytes, ReadOp | list[ReadOp]] = attrs.field(init=False, factory=dict)
    """The queued reads of each key: the read alone, or a group once another joins it.

    A read alone stays itself all the way to the driver (no list, group or
    list of outcomes): thousands of reads pending at once are otherwise
    thousands of container objects for the garbage collector to traverse.
    """
    _write_queue: collections.deque[WriteOp] = attrs.field(init=False, factory=collections.deque)
    _busy: dict[bytes, int] = attrs.field(init=False, factory=dict)
    """Keys with writes in flight, and how many batches hold them."""
    _read_batches: int = attrs.field(init=False, default=0)
    _write_batches: int = attrs.field(init=False, default=0)
    _read_batch_limit: int = attrs.field(init=False, default=1)
    _write_batch_limit: int = attrs.field(init=False, default=1)
    """Batches that may be in flight at once (set from the driver's concurrency when serving)."""
    _nursery: trio.Nursery | None = attrs.field(init=False, default=None)
    _lanes: WorkerLanes[list[BatchOutcome]] | None = attrs.field(init=False, default=None)
    """Where a ``threaded`` driver's batches run (while the actor serves)."""
    _counts: collections.Counter[str] = attrs.field(init=False, factory=collections.Counter)

    def __attrs_post_init__(self) -> None:
        # The wake protocol drops a Drain it cannot deliver, trusting that a
        # full mailbox holds a message whose handling drains the intake. With
        # no buffer, "cannot deliver" also means "not parked in receive right
        # now" (not started yet, or between two messages), and the wake is lost.
        if self.mailbox_size < 1:
            raise ValueError(
                f"KvStoreActor {self.name!r}: mailbox_size must be at least 1, got "
                f"{self.mailbox_size} (a wake that finds the actor between messages "
                "must be able to wait in the mailbox)"
            )

    # --- lifetime

    async def serve(self) -> None:
        """Run the actor and the tasks executing its batches, until it is closed."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                concurrency = self.driver.concurrency
                # Reads of cached files are CPU work in Python: parallel worker
                # threads only contend for the GIL (measured: context-switch
                # storms), so reads go in few, large batches. Writes wait on
                # fsync with the GIL released and gain from every allowed thread.
                self._read_batch_limit = (
                    concurrency if self.driver.remote else max(1, concurrency // 4)
                )
                self._write_batch_limit = concurrency
                if self.driver.threaded:
                    self._lanes = WorkerLanes(
                        concurrency + self._read_batch_limit,  # writes and reads
                        nursery.start_soon,
                        self.driver.io_limiter,
                    )
                    # A second write batch per lane waits queued: a lane that
                    # ends a batch takes the next at once instead of ending (and
                    # a new lane starting once this thread has formed the next).
                    self._write_batch_limit = 2 * concurrency
                await self.run()
                if self._lanes is not None:
                    self._lanes.close()  # the nursery closes once the last batch ends
        finally:
            self._fail_waiting(ActorClosedError(f"actor {self.name!r} is closed"))
            with trio.CancelScope(shield=True):
                await self.driver.aclose()  # its connections, once no batch can use them

    def _fail_waiting(self, error: Exception) -> None:
        while self._intake:
            self._intake.popleft().future._set_exception(error)
        for waiting in self._reads.values():
            for op in waiting if isinstance(waiting, list) else [waiting]:
                op.future._set_exception(error)
        self._read_queue.clear()
        self._reads.clear()
        while self._write_queue:
            self._write_queue.popleft().future._set_exception(error)

    def in_this_process(self) -> bool:
        """False in a process forked after the actor was created (it cannot run here)."""
        return self._epoch == _fork_epoch

    # --- intake (any thread)

    def submit(self, op: Op) -> None:
        """Hand ``op`` to the actor; thread-safe, never blocks.

        Its future is settled when the operation ends (with ActorClosedError
        if the actor is closed first).
        """
        if self._epoch != _fork_epoch:
            op.future._set_exception(
                ActorClosedError(
                    f"actor {self.name!r} belongs to the process this one was forked from: "
                    "open the kvstore again in this process"
                )
            )
            return
        self._intake.append(op)
        if (
            type(op) is WriteOp
            and self._lanes is not None
            and not self._dispatching
            and threading.get_ident() == self._thread
            and not self.closed
        ):
            # On the actor's thread, a threaded store's write goes into a batch
            # handed to a lane right here, as handling a Drain would: waking
            # the actor's task for it costs a task step per write (per chunk,
            # on W1's file writes). Reads still wait for the drain, where
            # the reads of one key submitted together are coalesced.
            try:
                self._take_and_dispatch()
            except Exception as exc:  # the lanes' nursery is closing: fail, never raise to a caller
                self._fail_waiting(exc)
            return
        if self._wake_pending:
            return
        self._wake_pending = True
        # On the actor's own thread (the chunk cache, ...) a message wakes it
        # directly, without waking the trio run through its socket (~20 µs and a
        # scheduler pass). The flag stays set until the actor handles a message
        # (which drains the intake), so a burst of submits sends one Drain.
        if threading.get_ident() == self._thread and not self.closed:
            try:
                self.send_nowait(Drain())
            except trio.WouldBlock:
                pass  # not waiting for mail (not started, or busy): wake it the usual way
            else:
                return
        try:
            self._token.run_sync_soon(self._wake)
        except trio.RunFinishedError:
            self._fail_waiting(ActorClosedError(f"actor {self.name!r}: the runtime stopped"))

    def read_many_nowait(
        self, requests: Sequence[ReadRequest | Exception]
    ) -> list[ReadResult | Exception]:
        """Answer ``requests`` at once, without messages (an ``inline`` driver; the actor's thread).

        Only when nothing is waiting in the intake, so that the reads are
        ordered after every operation submitted before them, as submitted
        reads are. Each request's result or error, in order; an exception
        in place of a request (a key that was invalid) is passed through.

        Raises:
            trio.WouldBlock: the reads must be submitted instead.
        """
        self._start_now("reads", sum(not isinstance(r, Exception) for r in requests))
        now = time.time()
        read = self.driver.read_now
        return [r if isinstance(r, Exception) else read(r, now) for r in requests]

    def write_nowait(self, request: WriteRequest) -> TimestampedStorageGeneration:
        """Apply ``request`` at once, without a message (an ``inline`` driver; the actor's thread).

        As :meth:`read_many_nowait`: only when nothing is waiting in the intake.

        Raises:
            trio.WouldBlock: the write must be submitted instead.
            Exception: the write's own error.
        """
        self._start_now("writes")
        return self.driver.write_now(request, time.time())

    def _start_now(self, kind: str, count: int = 1) -> None:
        """Count ``count`` operations of ``kind`` (``"reads"``, ``"writes"``) about to run at once.

        Raises:
            trio.WouldBlock: it may not run at once, here, in order: submit it.
        """
        if (
            not self.driver.inline
            or self._intake
            or self.closed
            or self._epoch != _fork_epoch
            or threading.get_ident() != self._thread
        ):
            raise trio.WouldBlock
        counts = self._counts
        if count:
            counts[kind] += count
            counts["io_" + kind] += count
            counts["batches"] += 1

    def count_reads(self, reads: int) -> None:
        """Count ``reads`` that ran outside the actor (:class:`WorkerReads`); runtime thread."""
        self._counts["reads"] += reads
        self._counts["io_reads"] += reads

    def _wake(self) -> None:
        # Clear the flag before draining: a submit racing with us then either
        # lands before the drain or schedules another wake.
        self._wake_pending = False
        if self.closed:
            self._fail_waiting(ActorClosedError(f"actor {self.name!r} is closed"))
            return
        # A full mailbox holds messages whose handling drains the intake too.
        with contextlib.suppress(trio.WouldBlock):
            self.send_nowait(Drain())

    # --- message handling (runtime thread)

    async def handle(self, message: Drain | BatchDone) -> object:
        # Everything in the intake is taken below: a submit from now on wakes us again.
        self._wake_pending = False
        if isinstance(message, BatchDone):
            self._batch_done(message.writes, message.keys)
        if self.driver.inline:
            self._run_intake_inline()
        else:
            self._take_and_dispatch()
        return None

    def _take_and_dispatch(self) -> None:
        """Queue everything in the intake and start the batches the limits allow."""
        self._dispatching = True
        try:
            self._take_intake()
            self._dispatch()
        finally:
            self._dispatching = False

    def _batch_done(self, writes: bool, keys: tuple[bytes, ...]) -> None:
        """A batch ended: free its slot and the keys its writes held."""
        if writes:
            self._write_batches -= 1
            for key in keys:
                remaining = self._busy[key] - 1
                if remaining:
                    self._busy[key] = remaining
                else:
                    del self._busy[key]
        else:
            self._read_batches -= 1

    def _start_task(self, op: TaskOp) -> None:
        self._counts[op.kind] += 1
        assert self._nursery is not None
        self._nursery.start_soon(self._run_task, op)

    def _run_intake_inline(self) -> None:
        """Execute everything in the intake now, in order (inline drivers).

        Each operation is answered directly: for memory work, building batch
        structures would cost more than the operations. A key read again in
        the same drain counts as coalesced (no new lookup is "I/O" here).
        """
        intake, driver, counts = self._intake, self.driver, self._counts
        now = time.time()
        seen: set[bytes] = set()
        reads = writes = cancelled = 0
        while intake:
            op = intake.popleft()
            if isinstance(op, TaskOp):
                self._start_task(op)
                continue
            if op.future.done():
                cancelled += 1
                continue
            if isinstance(op, ReadOp):
                reads += 1
                seen.add(op.request.key)
                result = driver.read_now(op.request, now)
                if isinstance(result, Exception):
                    op.future._set_exception(result)
                else:
                    op.future._set_result(result)
                continue
            writes += 1
            try:
                stamp = driver.write_now(op.request, now)
            except Exception as exc:
                op.future._set_exception(exc)
            else:
                op.future._set_result(stamp)
        if reads or writes:
            counts["batches"] += 1
        counts["reads"] += reads
        counts["io_reads"] += len(seen)
        counts["coalesced_reads"] += reads - len(seen)
        counts["writes"] += writes
        counts["io_writes"] += writes
        counts["cancelled"] += cancelled

    def _take_intake(self) -> None:
        intake, reads, counts = self._intake, self._reads, self._counts
        while intake:
            op = intake.popleft()
            if isinstance(op, ReadOp):
                counts["reads"] += 1
                key = op.request.key
                waiting = reads.get(key)
                if waiting is None:
                    reads[key] = op
                    self._read_queue.append(key)
                else:
                    if isinstance(waiting, list):
                        waiting.append(op)
                    else:
                        reads[key] = [waiting, op]
                    counts["coalesced_reads"] += 1
            elif isinstance(op, WriteOp):
                counts["writes"] += 1
                self._write_queue.append(op)
            else:
                self._start_task(op)

    def _dispatch(self) -> None:
        assert self._nursery is not None
        read_limit, write_limit = self._read_batch_limit, self._write_batch_limit
        while self._read_queue and self._read_batches < read_limit:
            operations, ops = self._form_read_batch(READ_BATCH)
            if not operations:
                continue
            self._read_batches += 1
            self._start_batch(operations, ops, False, ())
        while self._write_queue and self._write_batches < write_limit:
            free = write_limit - self._write_batches
            size = max(1, min(WRITE_BATCH, math.ceil(len(self._write_queue) / free)))
            operations, ops, keys = self._form_write_batch(size)
            if not operations:
                break  # everything queued waits behind writes in flight
            for key in keys:
                self._busy[key] = self._busy.get(key, 0) + 1
            self._write_batches += 1
            self._start_batch(operations, ops, True, keys)

    def _start_batch(
        self,
        operations: list[BatchOperation],
        ops: list[_Member],
        writes: bool,
        keys: tuple[bytes, ...],
    ) -> None:
        lanes = self._lanes
        if lanes is None:
            assert self._nursery is not None
            self._nursery.start_soon(self._run_batch, operations, ops, writes, keys)
            return
        try:
            lanes.submit(
                functools.partial(self.driver.run_batch_blocking, operations),
                functools.partial(self._lane_done, ops, writes, keys),
            )
        except BaseException:
            self._fail_ops(ops, ActorClosedError(f"actor {self.name!r} is closing"))
            self._batch_done(writes, keys)
            raise

    def _form_read_batch(self, size: int) -> tuple[list[BatchOperation], list[_Member]]:
        """Take the reads of up to ``size`` keys off the queue, dropping cancelled reads."""
        queue, reads, counts = self._read_queue, self._reads, self._counts
        operations: list[BatchOperation] = []
        ops: list[_Member] = []
        while queue and len(operations) < size:
            key = queue.popleft()
            waiting = reads.pop(key)
            if not isinstance(waiting, list):
                if waiting.future.done():
                    counts["cancelled"] += 1
                    continue
                operations.append(waiting.request)
                ops.append(waiting)
                continue
            live = [op for op in waiting if not op.future.done()]
            if len(live) < len(waiting):
                counts["cancelled"] += len(waiting) - len(live)
                if not live:
                    continue
            if len(live) == 1:
                operations.append(live[0].request)
                ops.append(live[0])
            else:
                operations.append(ReadGroup(key, tuple(op.request for op in live)))
                ops.append(live)
        if operations:
            counts["io_reads"] += len(operations)
            counts["batches"] += 1
        return operations, ops

    def _form_write_batch(
        self, size: int
    ) -> tuple[list[BatchOperation], list[_Member], tuple[bytes, ...]]:
        """Take up to ``size`` writes off the queue, in order.

        A write whose key has a write in flight in another batch stays queued
        (with every later write of that key) so that writes apply in order.
        """
        queue, busy, counts = self._write_queue, self._busy, self._counts
        operations: list[BatchOperation] = []
        ops: list[_Member] = []
        write_keys: set[bytes] = set()
        blocked: set[bytes] = set()
        held: list[WriteOp] = []
        nbytes = 0
        while (
            queue
            and len(operations) < size
            and len(held) <= _MAX_HELD
            and nbytes < WRITE_BATCH_BYTES
        ):
            op = queue.popleft()
            if op.future.done():
                counts["cancelled"] += 1
                continue
            key = op.request.key
            if key in busy or key in blocked:
                blocked.add(key)
                held.append(op)
                continue
            write_keys.add(key)
            operations.append(op.request)
            ops.append(op)
            value = op.request.value
            if value is not None:
                nbytes += value.nbytes if type(value) is memoryview else len(value)
        if held:
            queue.extendleft(reversed(held))
        if operations:
            counts["io_writes"] += len(operations)
            counts["batches"] += 1
        return operations, ops, tuple(write_keys)

    def _complete(self, ops: list[_Member], outcomes: list[BatchOutcome]) -> None:
        for member, outcome in zip(ops, outcomes, strict=True):
            if type(member) is ReadOp:
                if type(outcome) is ReadResult:
                    member.future._set_result(outcome)
                elif isinstance(outcome, Exception):
                    member.future._set_exception(outcome)
                else:
                    member.future._set_exception(_bad_outcome(outcome))
                continue
            if type(member) is list:
                if type(outcome) is list:
                    for read, result in zip(member, outcome, strict=True):
                        if isinstance(result, Exception):
                            read.future._set_exception(result)
                        else:
                            read.future._set_result(result)
                    continue
                error = outcome if isinstance(outcome, Exception) else _bad_outcome(outcome)
                for read in member:
                    read.future._set_exception(error)
            elif isinstance(member, WriteOp):
                if isinstance(outcome, Exception):
                    member.future._set_exception(outcome)
                elif type(outcome) is TimestampedStorageGeneration:
                    member.future._set_result(outcome)
                else:
                    member.future._set_exception(_bad_outcome(outcome))

    async def _run_batch(
        self,
        operations: list[BatchOperation],
        ops: list[_Member],
        writes: bool,
        keys: tuple[bytes, ...],
    ) -> None:
        try:
            # A write batch that started is finished and reported, even if the
            # actor is being cancelled: its futures must say what happened.
            with trio.CancelScope(shield=writes):
                if not writes and self.driver.remote:
                    outcomes = await self._run_reads_cancellably(operations, ops)
                else:
                    outcomes = await self.driver.run_batch(operations)
        except Exception as exc:
            outcomes = [exc] * len(ops)
        except BaseException:
            self._fail_ops(ops, ActorClosedError(f"actor {self.name!r} was cancelled"))
            raise
        self._complete(ops, outcomes)
        with contextlib.suppress(ActorClosedError):
            await self.send(BatchDone(writes, keys))

    async def _run_reads_cancellably(
        self, operations: list[BatchOperation], ops: list[_Member]
    ) -> list[BatchOutcome]:
        """Each read of a batch in a task of its own, cancelled once every future waiting for it is."""
        cancelled = CancelledError("kvstore read was cancelled")
        outcomes: list[BatchOutcome] = [cancelled] * len(ops)

        async def run(index: int) -> None:
            member = ops[index]
            with trio.CancelScope() as scope:
                self._cancel_when_abandoned(scope, member if type(member) is list else [member])
                outcomes[index] = (await self.driver.run_batch([operations[index]]))[0]

        if len(ops) == 1:
            await run(0)  # a read alone (sequential reads): no nursery, no task
            return outcomes
        async with trio.open_nursery() as nursery:
            for index in range(len(ops)):
                nursery.start_soon(run, index)
        return outcomes

    def _cancel_when_abandoned(self, scope: trio.CancelScope, ops: Sequence[_Member]) -> None:
        """Cancel ``scope`` once the future of every op in ``ops`` is done (cancelled)."""
        futures = [op.future for op in ops if not isinstance(op, list)]

        def check() -> None:
            if all(future.done() for future in futures):
                scope.cancel()

        def cancel() -> None:
            # Future.cancel runs this on the caller's thread.
            if threading.get_ident() == self._thread:
                check()
            else:
                with contextlib.suppress(trio.RunFinishedError):
                    self._token.run_sync_soon(check)

        pending = 0
        for future in futures:
            pending += future._set_canceller(cancel)
        if pending < len(futures):
            check()  # one was cancelled already (between the batch's forming and now)

    def _lane_done(
        self,
        ops: list[_Member],
        writes: bool,
        keys: tuple[bytes, ...],
        outcomes: list[BatchOutcome] | Exception,
    ) -> None:
        """A batch run in a lane ended (a callback on the runtime thread): settle it, go on.

        What ``_run_batch`` and the ``BatchDone`` message do for a batch in a
        task of its own, without a task or a message.
        """
        try:
            if isinstance(outcomes, Exception):
                outcomes = [outcomes] * len(ops)
            self._complete(ops, outcomes)
            self._batch_done(writes, keys)
            if self.closed:
                self._fail_waiting(ActorClosedError(f"actor {self.name!r} is closed"))
            else:
                self._take_and_dispatch()
        except Exception as exc:  # never into trio's entry queue (it would crash the run)
            self._fail_ops(ops, exc)
            self._fail_waiting(exc)

    def _fail_ops(self, ops: list[_Member], error: Exception) -> None:
        for member in ops:
            for op in member if isinstance(member, list) else [member]:
                op.future._set_exception(error)

    async def _run_task(self, op: TaskOp) -> None:
        if op.future.done():
            self._counts["cancelled"] += 1
            return
        try:
            result = await op.run()
        except Exception as exc:
            op.future._set_exception(exc)
        except BaseException:
            op.future._set_exception(ActorClosedError(f"actor {self.name!r} was cancelled"))
            raise
        else:
            op.future._set_result(result)

    # --- statistics

    def statistics(self) -> KvStoreStatistics:
        """Counts of requests, I/O performed and batches issued, plus the actor's own."""
        base = super().statistics()
        counts = self._counts
        return KvStoreStatistics(
            **attrs.asdict(base, recurse=False),
            reads=counts["reads"],
            writes=counts["writes"],
            lists=counts["list"],
            delete_ranges=counts["delete_range"],
            atomic_commits=counts["commit_atomic"],
            io_reads=counts["io_reads"],
            io_writes=counts["io_writes"],
            batches=counts["batches"],
            coalesced_reads=counts["coalesced_reads"],
            cancelled=counts["cancelled"],
            queued=sum(len(g) if type(g) is list else 1 for g in self._reads.values())
            + len(self._write_queue)
            + len(self._intake),
            in_flight=self._read_batches + self._write_batches,
            lanes=None if self._lanes is None else self._lanes.statistics(),
        )
