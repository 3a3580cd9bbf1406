"""Run many small CPU jobs (codec work, copies) with few worker-thread hops.

A thread hop costs about 100 µs, more than decoding or copying a small chunk,
so jobs are batched: work totalling less than ``inline_bytes`` runs inline on
the calling (runtime) thread; more is split into at most as many batches as
the limiter has tokens, balanced by bytes, each batch one hop under the
``data_copy_concurrency`` limiter (small jobs, under ``PARALLEL_JOB_BYTES``
on average, all in one batch). A caller that takes results as they come
(``on_result``) gets jobs of at least ``STREAM_BYTES`` each (encoding an 8 MiB
chunk takes milliseconds) one per hop instead, so it sees each result as soon
as it is ready: a chunk's kvstore write starts while the other chunks are
still being encoded. Given ``lanes`` (writebacks: a cache's
:class:`~tensortrio.runtime.WorkerLanes`), those jobs join the lanes' queue
instead, so one call's jobs follow the previous call's on threads already
running, with no hop between them.
"""

from __future__ import annotations

import collections
import functools
from typing import TYPE_CHECKING, Any, Final, TypeVar, TypeVarTuple

import trio

from ..runtime import call_in_worker_thread

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..runtime import WorkerLanes

__all__ = ["PARALLEL_JOB_BYTES", "STREAM_BYTES", "JobOutcome", "run_jobs", "run_map"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

#: A job's result, or the exception it raised.
JobOutcome = Any

#: Jobs at least this costly each take their own hop (its ~100 µs is then noise).
STREAM_BYTES: Final = 1 << 20
#: Jobs smaller than this on average all run in one hop: their Python (which
#: holds the GIL), not their copies, is most of their time, and splitting them
#: over threads only makes the threads fight for the GIL (measured: 4,096
#: 8 KiB chunk reads took 1.4x as long on two threads as on one).
PARALLEL_JOB_BYTES: Final = 64 << 10


def _run_all(jobs: Sequence[Callable[[], object]]) -> list[object]:
    out: list[object] = []
    for job in jobs:
        try:
            out.append(job())
        except Exception as exc:
            out.append(exc)
    return out


async def run_jobs(
    jobs: Sequence[Callable[[], object]],
    costs: Sequence[int],
    *,
    limiter: trio.CapacityLimiter | None,
    inline_bytes: float,
    on_result: Callable[[int, object], None] | None = None,
    io_limiter: trio.CapacityLimiter | None = None,
    lanes: WorkerLanes[object] | None = None,
) -> list[object]:
    """Run ``jobs``; return each one's result or the exception it raised, in order.

    ``costs`` are the bytes each job touches (for the inline decision and balancing).
    ``on_result(index, outcome)`` is called on the calling thread as each
    job's outcome arrives (in completion order, large jobs one by one),
    before ``run_jobs`` returns; it must not raise.
    ``io_limiter``: the jobs also do blocking I/O bounded by this limiter
    (``file_io_concurrency``): each hop holds one of its tokens, taken
    before the ``limiter`` token, and nothing runs inline.
    ``lanes``: where large jobs taken as they come run (under the lanes'
    own limiter). Jobs queued there run to the end and ``on_result`` is
    called for each even if the caller is cancelled: for shielded callers.
    """
    total = sum(costs)
    if not jobs or (io_limiter is None and total < inline_bytes):
        return _notify(_run_all(jobs), on_result)
    tokens = 1 if limiter is None else max(1, int(limiter.total_tokens))
    parts = min(tokens, len(jobs)) if total >= PARALLEL_JOB_BYTES * len(jobs) else 1
    if on_result is not None and len(jobs) > 1 and min(costs) >= STREAM_BYTES:
        if lanes is not None and io_limiter is None:
            return await _on_lanes(jobs, lanes, on_result)
        return await _stream(jobs, parts, limiter, io_limiter, on_result)
    if parts == 1:
        return _notify(
            await _hop(_run_all, jobs, limiter=limiter, io_limiter=io_limiter), on_result
        )
    # Contiguous groups of about equal bytes keep results in order cheaply.
    share = total / parts
    groups: list[list[int]] = [[]]
    acc = 0.0
    for index, cost in enumerate(costs):
        if groups[-1] and acc + cost / 2 > share * len(groups) and len(groups) < parts:
            groups.append([])
        groups[-1].append(index)
        acc += cost
    results: list[object] = [None] * len(jobs)

    async def run_group(indices: list[int]) -> None:
        outcomes = await _hop(
            _run_all, [jobs[i] for i in indices], limiter=limiter, io_limiter=io_limiter
        )
        for i, outcome in zip(indices, outcomes, strict=True):
            results[i] = outcome
            if on_result is not None:
                on_result(i, outcome)

    async with trio.open_nursery() as nursery:
        for group in groups:
            nursery.start_soon(run_group, group)
    return results


async def _hop(
    fn: Callable[[*Ts], T],
    *args: *Ts,
    limiter: trio.CapacityLimiter | None,
    io_limiter: trio.CapacityLimiter | None,
) -> T:
    """``fn(*args)`` in a worker thread, holding a token of ``io_limiter`` (if any) and of ``limiter``.

    Always in that order, so hops holding both never deadlock each other.
    """
    if io_limiter is None:
        return await call_in_worker_thread(fn, *args, limiter=limiter)
    async with io_limiter:
        return await call_in_worker_thread(fn, *args, limiter=limiter)


async def _stream(
    jobs: Sequence[Callable[[], object]],
    parts: int,
    limiter: trio.CapacityLimiter | None,
    io_limiter: trio.CapacityLimiter | None,
    on_result: Callable[[int, object], None],
) -> list[object]:
    """``run_jobs`` for large jobs: ``parts`` hops take the next job as each finishes one.

    Each result is posted back to the runtime thread without waiting for it,
    so a worker thread never idles for a round trip between jobs.
    """
    token = trio.lowlevel.current_trio_token()
    queue = collections.deque(range(len(jobs)))
    delivery = _Delivery(len(jobs), on_result)
    deliver = delivery.deliver

    def work() -> None:  # worker thread
        while True:
            try:
                index = queue.popleft()
            except IndexError:
                return
            try:
                outcome = jobs[index]()
            except Exception as exc:
                outcome = exc
            token.run_sync_soon(deliver, index, outcome)
            trio.from_thread.check_cancelled()

    async with trio.open_nursery() as nursery:
        for _ in range(parts):
            nursery.start_soon(
                functools.partial(_hop, work, limiter=limiter, io_limiter=io_limiter)
            )
    return await delivery.wait()


async def _on_lanes(
    jobs: Sequence[Callable[[], object]],
    lanes: WorkerLanes[object],
    on_result: Callable[[int, object], None],
) -> list[object]:
    """``run_jobs`` of large jobs on ``lanes``: each result is handled as it arrives."""
    delivery = _Delivery(len(jobs), on_result)
    for index, job in enumerate(jobs):
        lanes.submit(job, functools.partial(delivery.deliver, index))
    return await delivery.wait()


class _Delivery:
    """Collects streamed outcomes on the runtime thread, each handed to ``on_result`` as it comes."""

    def __init__(self, count: int, on_result: Callable[[int, object], None]) -> None:
        self.results: list[object] = [None] * count
        self._left = count
        self._on_result = on_result
        self._all_delivered = trio.Event()
        self._errors: list[BaseException] = []

    def deliver(self, index: int, outcome: object) -> None:  # runtime thread, a callback
        self.results[index] = outcome
        try:
            self._on_result(index, outcome)
        except BaseException as exc:  # never into trio's entry queue
            self._errors.append(exc)
        self._left -= 1
        if not self._left:
            self._all_delivered.set()

    async def wait(self) -> list[object]:
        """The outcomes, once all are delivered; the first ``on_result`` error is raised then."""
        await self._all_delivered.wait()
        if self._errors:
            raise self._errors[0]
        return self.results


def _notify(outcomes: list[object], on_result: Callable[[int, object], None] | None) -> list[object]:
    if on_result is not None:
        for index, outcome in enumerate(outcomes):
            on_result(index, outcome)
    return outcomes


def _map_all(fn: Callable[[Any], object], items: Sequence[Any]) -> list[object]:
    out: list[object] = []
    for item in items:
        try:
            out.append(fn(item))
        except Exception as exc:
            out.append(exc)
    return out


async def run_map(
    fn: Callable[[Any], object],
    items: Sequence[Any],
    costs: Sequence[int],
    *,
    limiter: trio.CapacityLimiter | None,
    inline_bytes: float,
) -> list[object]:
    """``run_jobs`` for one function over many items (no closure per item on the hot path)."""
    if not items or sum(costs) < inline_bytes:
        return _map_all(fn, items)
    return await run_jobs(
        [functools.partial(fn, item) for item in items],
        costs,
        limiter=limiter,
        inline_bytes=inline_bytes,
    )
