"""Worker lanes: a few worker threads that run queued jobs back to back.

``trio.to_thread.run_sync`` per job costs the trio thread a task, a thread
hand-off and a wake-up for every job. Under load (codec threads busy on
every core) each of those Python steps is many times slower than on an idle
machine, and the trio thread's time holding the GIL is time the workers
wait for it: measured on W1's file writes, every millisecond the runtime
thread spends costs about a millisecond of wall time. A lane is one worker
thread that takes the next queued job as soon as it finishes one, so a
stream of jobs pays one thread start per lane, not a hop per job; each
outcome goes back to the trio thread as a ``run_sync_soon`` callback,
without a task.

Lanes start on demand (at most ``limit``, each holding a ``limiter`` token
while it runs) and end as soon as the queue is empty: an idle store holds no
thread and no token. A lane is a thread, not a task: starting one takes the
token at once when one is free and starts the thread (``start_thread_soon``),
which costs the trio thread a fraction of a ``to_thread`` call (W1's file
writes start a lane for almost every chunk, when fsyncs outpace encoding). Only a
lane that must wait for a token has a task, until it gets one. The lanes'
lifetime is still scoped by the nursery that ``spawn`` starts tasks in: one
task, the keeper, waits there, shielded from cancellation while any lane
lives, so the nursery cannot close before every job has run and every
outcome was delivered. Lanes starting and ending only switch that shield on
and off; the keeper stays, cancellable, until it finds the lanes idle for
:data:`KEEPER_IDLE` seconds (or :meth:`WorkerLanes.close` ends it), so that
lanes restarting a few milliseconds apart do not pay for a task each time.

A caller that wants its lanes to keep going queues its next jobs before the
running ones end (the kvstore actor keeps a batch queued per lane while
writes wait).

Lanes of long jobs that release the GIL (codec work: ``courier=True``) that
go on to another job do not hand their last outcome to the trio thread
themselves, but through a *courier*, a short-lived thread that calls
``run_sync_soon`` for them. ``run_sync_soon`` writes to trio's wake-up
socket, a system call that releases the GIL; the trio thread wakes, takes
the GIL and handles the outcome (for a chunk: its kvstore write), so the
lane waited for the GIL after every job, a fraction of a millisecond each
time, while its core idled. Handing the outcome over instead is a lock
release that keeps the GIL: the lane goes straight on into its next job, and
the courier and the trio thread run while the lane's codec work has released
it (measured on W1's file blosc writes: the two encode lanes lost 27-75 ms
per write in ``run_sync_soon``; writes 2-4% faster over 30 paired runs). The
courier carries every outcome posted while it runs, in order, and ends when
none is left; a lane's end, posted after its outcomes, goes the same way, so
that the nursery is still held open until the last outcome is delivered.
For short jobs the courier's thread hand-off costs more than it saves (the
kvstore's batches of small writes in W3 were 4% slower through one).
"""

from __future__ import annotations

import collections
import functools
import threading
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

import attrs
import trio

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import outcome

__all__ = ["KEEPER_IDLE", "LanesStatistics", "WorkerLanes"]

T = TypeVar("T")

KEEPER_IDLE: Final = 0.05
"""Seconds of idle lanes after which the task keeping the nursery open ends (at most twice that).

W1's file writes end and restart their kvstore lanes about 16 times per
write, a few milliseconds apart; a task started and ended for each of those
was about a fifth of the runtime thread's work.
"""

#: A job's ``done`` callback and the job's outcome, waiting to be delivered.
_Delivery = tuple["Callable[[Any], object]", Any]
#: A call for the trio thread, waiting for the courier: a function and its arguments.
_Post = tuple["Callable[..., object]", tuple[Any, ...]]


@attrs.frozen
class LanesStatistics:
    """What :class:`WorkerLanes` is doing: lanes alive, jobs running and queued, totals."""

    lanes: int
    running: int
    queued: int
    jobs_run: int
    lanes_started: int


@attrs.define(eq=False)
class WorkerLanes(Generic[T]):
    """Run blocking jobs on at most ``limit`` worker threads, queued jobs back to back.

    Create and use it on the trio thread. ``spawn`` starts a task (a
    nursery's ``start_soon``); the nursery must outlive every submitted job,
    and does: it holds a task while any lane lives (and briefly after, see
    :meth:`close`). Jobs are never abandoned: the lanes finish the queue even
    if that nursery is cancelled.
    """

    limit: int
    spawn: Callable[[Callable[[], Awaitable[object]]], object]
    limiter: trio.CapacityLimiter | None = None
    courier: bool = False
    """Whether outcomes go to the trio thread through a courier (see the module docstring)."""
    _token: trio.lowlevel.TrioToken = attrs.field(
        init=False, factory=trio.lowlevel.current_trio_token
    )
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)
    _queue: collections.deque[tuple[Callable[[], T], Callable[[T | Exception], object]]] = (
        attrs.field(init=False, factory=collections.deque)
    )
    # Under ``_lock`` (the lanes' threads read and change them):
    _alive: int = attrs.field(init=False, default=0)
    """Lanes that will take queued jobs (a lane that found the queue empty is not)."""
    _running: int = attrs.field(init=False, default=0)
    _jobs_run: int = attrs.field(init=False, default=0)
    _outbox: collections.deque[_Post] = attrs.field(init=False, factory=collections.deque)
    """Calls for the trio thread that the courier has yet to make, in order."""
    _courier: bool = attrs.field(init=False, default=False)
    """Whether a courier thread is running (it empties ``_outbox`` before it ends)."""
    # Trio thread only:
    _open: int = attrs.field(init=False, default=0)
    """Lanes started whose end (last outcome delivered, token released) is not yet handled."""
    _keeper: bool = attrs.field(init=False, default=False)
    """Whether the task keeping the nursery open is alive (or starting)."""
    _keeper_scope: trio.CancelScope | None = attrs.field(init=False, default=None)
    """Its cancel scope, shielded while any lane lives (None until it runs)."""
    _busy_periods: int = attrs.field(init=False, default=0)
    _closed: bool = attrs.field(init=False, default=False)
    _lanes_started: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"WorkerLanes: limit must be at least 1, got {self.limit}")

    def submit(self, job: Callable[[], T], done: Callable[[T | Exception], object]) -> None:
        """Queue ``job``; ``done(result or exception)`` is called on the trio thread when it ends.

        ``done`` must not raise. A lane is started if the ones alive are all
        busy and fewer than ``limit`` are.

        Raises:
            Exception: what ``spawn`` raised (the nursery is closed); ``job``
                is then not queued.
        """
        with self._lock:
            self._queue.append((job, done))
            # Lanes alive but between jobs will take it; start one only if none is.
            start = self._alive < self.limit and self._alive - self._running < len(self._queue)
            if start:
                self._alive += 1
        if not start:
            return
        if not self._keeper:
            try:
                self.spawn(self._keep_open)
            except BaseException:
                with self._lock:
                    self._alive -= 1
                    self._queue.remove((job, done))  # no lane lives to have taken it
                raise
            self._keeper = True
        if not self._open:
            self._busy_periods += 1
            if self._keeper_scope is not None:
                self._keeper_scope.shield = True
        self._open += 1
        self._lanes_started += 1
        borrower = object()
        if self.limiter is not None:
            try:
                self.limiter.acquire_on_behalf_of_nowait(borrower)
            except trio.WouldBlock:
                # The nursery is open (it holds the keeper): this cannot fail.
                self.spawn(functools.partial(self._start_when_free, borrower))
                return
        self._start_lane(borrower)

    async def _start_when_free(self, borrower: object) -> None:
        assert self.limiter is not None
        # Shielded: the jobs queued for this lane run even if the nursery is cancelled.
        with trio.CancelScope(shield=True):
            await self.limiter.acquire_on_behalf_of(borrower)
        self._start_lane(borrower)

    def _start_lane(self, borrower: object) -> None:
        # Unnamed: trio names a thread for a named job by two ``pthread_setname_np``
        # calls (set, then reset), each a ctypes call that gives up the GIL; a lane
        # starts per chunk on W1's file writes, and those calls cost 1-2% of them.
        trio.lowlevel.start_thread_soon(functools.partial(self._work, borrower), _unwrap)

    def _work(self, borrower: object) -> None:  # worker thread
        lock, queue = self._lock, self._queue
        last: _Delivery | None = None
        try:
            while True:
                with lock:
                    if not queue:
                        # Decided under the lock that ``submit`` takes: a job queued
                        # from now on sees one lane fewer and starts its own.
                        self._alive -= 1
                        return
                    job, done = queue.popleft()
                    self._running += 1
                if last is not None:
                    if self.courier:
                        self._post(last[0], (last[1],))
                    else:
                        self._token.run_sync_soon(last[0], last[1])
                try:
                    result: Any = job()
                except Exception as exc:
                    result = exc
                with lock:
                    self._running -= 1
                    self._jobs_run += 1
                # Delivered once the next job is taken, or with the lane's end:
                # the last job of a lane costs the trio thread one callback, not two.
                last = (done, result)
        finally:
            self._post_end(borrower, last)

    def _post(self, fn: Callable[..., object], args: tuple[Any, ...]) -> None:
        """Have the courier call ``fn(*args)`` on the trio thread (worker thread)."""
        with self._lock:
            self._outbox.append((fn, args))
            if self._courier:
                return
            self._courier = True
        try:
            trio.lowlevel.start_thread_soon(self._carry, _unwrap)  # unnamed, as lanes
        except Exception:
            # No thread to be had: carry the calls from this one, as before couriers.
            self._carry()

    def _post_end(self, borrower: object, last: _Delivery | None) -> None:
        """Post this lane's end, after any of its outcomes the courier still carries (worker thread)."""
        with self._lock:
            # With no courier running, nothing waits to be carried: call directly,
            # as this thread has nothing left to do while the trio thread runs.
            direct = not self._courier
        if direct:
            self._token.run_sync_soon(self._lane_ended, borrower, last)
        else:
            self._post(self._lane_ended, (borrower, last))

    def _carry(self) -> None:  # the courier thread
        token, lock, outbox = self._token, self._lock, self._outbox
        while True:
            with lock:
                if not outbox:
                    self._courier = False
                    return
                fn, args = outbox.popleft()
            token.run_sync_soon(fn, *args)

    def _lane_ended(self, borrower: object, last: _Delivery | None) -> None:
        try:
            if last is not None:
                last[0](last[1])
        finally:
            if self.limiter is not None:
                self.limiter.release_on_behalf_of(borrower)
            self._open -= 1
            scope = self._keeper_scope
            if not self._open and scope is not None:
                scope.shield = False  # a cancelled nursery may end the keeper now
                if self._closed:
                    scope.cancel()

    async def _keep_open(self) -> None:
        """Hold the nursery open: shielded while lanes live, cancellable while they idle."""
        # The scope is entered before this task's first checkpoint: lanes that
        # started before it ran are covered even in a cancelled nursery.
        with trio.CancelScope(shield=self._open > 0) as scope:
            if self._closed and not self._open:
                scope.cancel()
            self._keeper_scope = scope
            try:
                seen = -1
                while self._open or seen != self._busy_periods:
                    seen = self._busy_periods
                    await trio.sleep(KEEPER_IDLE)
            finally:
                self._keeper_scope = None
                self._keeper = False
                if self._open:
                    # Lanes started after this task's cancellation was already
                    # delivered: a new keeper, shielded from its start, stays for them.
                    self._keeper = True
                    self.spawn(self._keep_open)

    def close(self) -> None:
        """Let the nursery close as soon as no lane lives (trio thread).

        The task keeping it open then ends at once instead of idling; lanes
        still start on later submits (and a new keeper with them).
        """
        self._closed = True
        scope = self._keeper_scope
        if scope is not None and not self._open:
            scope.cancel()

    def statistics(self) -> LanesStatistics:
        """A snapshot of the lanes' state and totals (trio thread)."""
        with self._lock:
            return LanesStatistics(
                lanes=self._open,
                running=self._running,
                queued=len(self._queue),
                jobs_run=self._jobs_run,
                lanes_started=self._lanes_started,
            )


def _unwrap(result: outcome.Outcome[None]) -> None:
    # ``_work`` handles every job's error; anything else is a bug, printed by trio.
    result.unwrap()
