"""The KvStore actor: one per opened kvstore, the only path from callers to its driver.

Callers on any thread hand it operations through :meth:`KvStoreActor.submit`,
which appends to a thread-safe intake and wakes the actor at most once per
burst (one ``run_sync_soon``, not one per operation). The actor then works on
everything that arrived at once:

- reads of the same key that are waiting together are *coalesced*: one I/O
  answers all of them (their byte ranges are read in one go);
- small operations are *batched*: one worker-thread hop executes a whole
  batch, so a 4 KiB value does not pay a ~100 µs hop of its own; drivers
  whose operations are plain memory work (``memory``) run batches inline;
- at most ``driver.concurrency`` batches are in flight (the context's
  ``file_io_concurrency`` for ``file``); while all are busy, arrivals queue
  and the next batches grow, which is what makes batching adapt to load;
- writes to one key are applied in the order they were submitted: a write
  waits while an earlier write of the same key is in flight elsewhere.

A write that has started is never abandoned: worker threads are not
cancelled, and the operation's future is settled when it ends.
"""

from __future__ import annotations

import collections
import contextlib
import math
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
import trio

from ..drivers.kvstore.driver import ReadGroup
from ..errors import ActorClosedError
from .actor import Actor, ActorStatistics

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ..drivers.kvstore.driver import BatchOutcome, KvStoreDriver
    from ..drivers.kvstore.generation import TimestampedStorageGeneration
    from ..drivers.kvstore.operations import ReadRequest, WriteRequest
    from ..drivers.kvstore.read_result import ReadResult
    from ..runtime import Future, Promise

__all__ = [
    "BatchDone",
    "Drain",
    "KvStoreActor",
    "KvStoreStatistics",
    "ReadOp",
    "TaskOp",
    "WriteOp",
]

#: Most operations one batch (one thread hop) carries.
MAX_BATCH = 128
#: How far past a full batch the queue is scanned for more reads of its keys.
ABSORB_SCAN = 256


@attrs.frozen
class Drain:
    """Operations are waiting in the intake."""


@attrs.frozen
class BatchDone:
    """A batch finished; ``keys`` are the keys its writes held."""

    keys: tuple[bytes, ...]


@attrs.frozen
class ReadOp:
    """A read submitted to the actor, with the promise its result goes to."""

    request: ReadRequest
    promise: Promise[ReadResult]
    future: Future[ReadResult]


@attrs.frozen
class WriteOp:
    """A write or delete submitted to the actor."""

    request: WriteRequest
    promise: Promise[TimestampedStorageGeneration]
    future: Future[TimestampedStorageGeneration]


@attrs.frozen
class TaskOp:
    """A list, delete_range or atomic commit: ``run()`` against the driver in a task of its own."""

    kind: str
    run: Callable[[], Awaitable[Any]]
    promise: Promise[Any]
    future: Future[Any]


Op: TypeAlias = ReadOp | WriteOp | TaskOp


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
    """Batches executed: worker-thread hops for ``file``, inline runs for ``memory``."""
    coalesced_reads: int
    """Reads answered by another read's I/O."""
    cancelled: int
    """Operations dropped before they started because their future was cancelled."""
    queued: int
    in_flight: int


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
    _intake: collections.deque[Op] = attrs.field(init=False, factory=collections.deque)
    _wake_pending: bool = attrs.field(init=False, default=False)
    _queued: collections.deque[ReadOp | WriteOp] = attrs.field(
        init=False, factory=collections.deque
    )
    _busy: dict[bytes, int] = attrs.field(init=False, factory=dict)
    _in_flight: int = attrs.field(init=False, default=0)
    _nursery: trio.Nursery | None = attrs.field(init=False, default=None)
    _counts: collections.Counter[str] = attrs.field(init=False, factory=collections.Counter)

    # --- lifetime

    async def serve(self) -> None:
        """Run the actor and the tasks executing its batches, until it is closed."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                await self.run()
        finally:
            self._fail_waiting(ActorClosedError(f"actor {self.name!r} is closed"))

    def _fail_waiting(self, error: Exception) -> None:
        for queue in (self._intake, self._queued):
            while queue:
                queue.popleft().promise.set_exception(error)

    # --- intake (any thread)

    def submit(self, op: Op) -> None:
        """Hand ``op`` to the actor; thread-safe, never blocks.

        Its promise is settled when the operation ends (with ActorClosedError
        if the actor is closed first).
        """
        self._intake.append(op)
        if not self._wake_pending:
            self._wake_pending = True
            try:
                self._token.run_sync_soon(self._wake)
            except trio.RunFinishedError:
                self._fail_waiting(ActorClosedError(f"actor {self.name!r}: the runtime stopped"))

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
        if isinstance(message, BatchDone):
            self._in_flight -= 1
            for key in message.keys:
                remaining = self._busy[key] - 1
                if remaining:
                    self._busy[key] = remaining
                else:
                    del self._busy[key]
        self._take_intake()
        self._dispatch()
        return None

    def _take_intake(self) -> None:
        intake, queued, counts = self._intake, self._queued, self._counts
        while intake:
            op = intake.popleft()
            if isinstance(op, ReadOp):
                counts["reads"] += 1
                queued.append(op)
            elif isinstance(op, WriteOp):
                counts["writes"] += 1
                queued.append(op)
            else:
                counts[op.kind] += 1
                assert self._nursery is not None
                self._nursery.start_soon(self._run_task, op)

    def _dispatch(self) -> None:
        if self.driver.inline:
            while self._queued:
                operations, ops, _ = self._form_batch(MAX_BATCH)
                try:
                    outcomes = self.driver.run_batch_now(operations)
                except Exception as exc:
                    outcomes = [exc] * len(ops)
                self._complete(ops, outcomes)
            return
        assert self._nursery is not None
        limit = self.driver.concurrency
        while self._queued and self._in_flight < limit:
            free = limit - self._in_flight
            size = max(1, min(MAX_BATCH, math.ceil(len(self._queued) / free)))
            operations, ops, keys = self._form_batch(size)
            if not operations:
                break  # everything queued waits behind writes in flight
            for key in keys:
                self._busy[key] = self._busy.get(key, 0) + 1
            self._in_flight += 1
            self._nursery.start_soon(self._run_batch, operations, ops, keys)

    def _form_batch(
        self, size: int
    ) -> tuple[list[ReadGroup | WriteRequest], list[list[ReadOp] | WriteOp], tuple[bytes, ...]]:
        """Take up to ``size`` operations off the queue, coalescing reads of one key."""
        queued, busy, counts = self._queued, self._busy, self._counts
        operations: list[ReadGroup | WriteRequest] = []
        ops: list[list[ReadOp] | WriteOp] = []
        groups: dict[bytes, list[ReadOp]] = {}
        write_keys: set[bytes] = set()
        blocked: set[bytes] = set()
        held: list[ReadOp | WriteOp] = []
        scanned = 0
        # Past ``size`` groups, keep scanning a little to absorb more reads of
        # keys already in the batch: they cost no extra I/O there.
        while queued and scanned < size + ABSORB_SCAN:
            op = queued.popleft()
            scanned += 1
            if op.future.done():
                counts["cancelled"] += 1
                continue
            full = len(operations) >= size
            if isinstance(op, ReadOp):
                key = op.request.key
                group = groups.get(key)
                if group is not None:
                    group.append(op)
                    counts["coalesced_reads"] += 1
                elif full:
                    held.append(op)
                else:
                    groups[key] = group = [op]
                    operations.append(ReadGroup(key, ()))  # requests filled in below
                    ops.append(group)
                continue
            key = op.request.key
            if full or key in busy or key in blocked:
                # Keep this key's writes in submission order behind the one in flight.
                blocked.add(key)
                held.append(op)
                continue
            write_keys.add(key)
            operations.append(op.request)
            ops.append(op)
        queued.extendleft(reversed(held))
        for index, member in enumerate(ops):
            if isinstance(member, list):
                operations[index] = ReadGroup(
                    member[0].request.key, tuple(r.request for r in member)
                )
                counts["io_reads"] += 1
            else:
                counts["io_writes"] += 1
        if operations:
            counts["batches"] += 1
        return operations, ops, tuple(write_keys)

    def _complete(self, ops: list[list[ReadOp] | WriteOp], outcomes: list[BatchOutcome]) -> None:
        for member, outcome in zip(ops, outcomes, strict=True):
            if isinstance(member, list):
                if isinstance(outcome, Exception):
                    for read in member:
                        read.promise.set_exception(outcome)
                    continue
                assert isinstance(outcome, list)
                for read, result in zip(member, outcome, strict=True):
                    if isinstance(result, Exception):
                        read.promise.set_exception(result)
                    else:
                        read.promise.set_result(result)
            elif isinstance(outcome, Exception):
                member.promise.set_exception(outcome)
            else:
                assert not isinstance(outcome, list)
                member.promise.set_result(outcome)

    async def _run_batch(
        self,
        operations: list[ReadGroup | WriteRequest],
        ops: list[list[ReadOp] | WriteOp],
        keys: tuple[bytes, ...],
    ) -> None:
        try:
            outcomes = await self.driver.run_batch(operations)
        except Exception as exc:
            outcomes = [exc] * len(ops)
        except BaseException:
            self._fail_ops(ops, ActorClosedError(f"actor {self.name!r} was cancelled"))
            raise
        self._complete(ops, outcomes)
        with contextlib.suppress(ActorClosedError):
            await self.send(BatchDone(keys))

    def _fail_ops(self, ops: list[list[ReadOp] | WriteOp], error: Exception) -> None:
        for member in ops:
            for op in member if isinstance(member, list) else [member]:
                op.promise.set_exception(error)

    async def _run_task(self, op: TaskOp) -> None:
        if op.future.done():
            self._counts["cancelled"] += 1
            return
        try:
            result = await op.run()
        except Exception as exc:
            op.promise.set_exception(exc)
        except BaseException:
            op.promise.set_exception(ActorClosedError(f"actor {self.name!r} was cancelled"))
            raise
        else:
            op.promise.set_result(result)

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
            queued=len(self._queued) + len(self._intake),
            in_flight=self._in_flight,
        )
