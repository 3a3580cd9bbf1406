"""Worker lanes: a few worker threads that run queued jobs back to back.

``trio.to_thread.run_sync`` per job costs the trio thread a task, a thread
hand-off and a wake-up for every job. Under load (codec threads busy on
every core) each of those Python steps is many times slower than on an idle
machine, and the trio thread's time holding the GIL is time the workers
wait for it: measured on W1's file writes, every millisecond the runtime
thread spends costs about a millisecond of wall time. A lane is one worker
thread hop that takes the next queued job as soon as it finishes one, so a
stream of jobs pays one hop per lane, not one per job; each outcome goes
back to the trio thread as a ``run_sync_soon`` callback, without a task.

Lanes start on demand (at most ``limit``, each under ``limiter`` while it
runs) and end as soon as the queue is empty: an idle store holds no thread
and no token. A caller that wants its lanes to keep going queues its next
jobs before the running ones end (the kvstore actor keeps a batch queued
per lane while writes wait).
"""

from __future__ import annotations

import collections
import threading
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
import trio

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["LanesStatistics", "WorkerLanes"]

T = TypeVar("T")


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
    nursery's ``start_soon``) that lives as long as its lane; the nursery
    must outlive every submitted job. Jobs are never abandoned: a lane
    finishes the queue even if its task is cancelled.
    """

    limit: int
    spawn: Callable[[Callable[[], Awaitable[object]]], object]
    limiter: trio.CapacityLimiter | None = None
    _token: trio.lowlevel.TrioToken = attrs.field(
        init=False, factory=trio.lowlevel.current_trio_token
    )
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)
    _queue: collections.deque[tuple[Callable[[], T], Callable[[T | Exception], object]]] = (
        attrs.field(init=False, factory=collections.deque)
    )
    _alive: int = attrs.field(init=False, default=0)
    _running: int = attrs.field(init=False, default=0)
    _jobs_run: int = attrs.field(init=False, default=0)
    _lanes_started: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"WorkerLanes: limit must be at least 1, got {self.limit}")

    def submit(self, job: Callable[[], T], done: Callable[[T | Exception], object]) -> None:
        """Queue ``job``; ``done(result or exception)`` is called on the trio thread when it ends.

        ``done`` must not raise. A lane is started if the ones alive are all
        busy and fewer than ``limit`` are.
        """
        with self._lock:
            self._queue.append((job, done))
            # Lanes alive but between jobs will take it; start one only if none is.
            start = self._alive < self.limit and self._alive - self._running < len(self._queue)
            if start:
                self._alive += 1
        if start:
            self._lanes_started += 1
            try:
                self.spawn(self._lane)
            except BaseException:
                with self._lock:
                    self._alive -= 1
                    try:
                        self._queue.remove((job, done))
                    except ValueError:
                        return  # a lane alive took it: ``done`` will be called
                raise

    async def _lane(self) -> None:
        # Shielded: a lane started in a cancelled nursery (a store closing)
        # still runs the jobs queued for it, whose callers wait for ``done``.
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(self._work, limiter=self.limiter)

    def _work(self) -> None:  # worker thread
        token, lock, queue = self._token, self._lock, self._queue
        while True:
            with lock:
                if not queue:
                    # Decided under the lock that ``submit`` takes: a job queued
                    # from now on sees one lane fewer and starts its own.
                    self._alive -= 1
                    return
                job, done = queue.popleft()
                self._running += 1
            try:
                outcome: Any = job()
            except Exception as exc:
                outcome = exc
            with lock:
                self._running -= 1
                self._jobs_run += 1
            token.run_sync_soon(done, outcome)

    def statistics(self) -> LanesStatistics:
        """A snapshot of the lanes' state and totals."""
        with self._lock:
            return LanesStatistics(
                lanes=self._alive,
                running=self._running,
                queued=len(self._queue),
                jobs_run=self._jobs_run,
                lanes_started=self._lanes_started,
            )
