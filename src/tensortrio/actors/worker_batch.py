"""Run many small CPU jobs (codec work, copies) with few worker-thread hops.

A thread hop costs about 100 µs, more than decoding or copying a small chunk,
so jobs are batched: work totalling less than ``inline_bytes`` runs inline on
the calling (runtime) thread; more is split into at most as many batches as
the limiter has tokens, balanced by bytes, each batch one hop under the
``data_copy_concurrency`` limiter.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from ..runtime import call_in_worker_thread

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["JobOutcome", "run_jobs", "run_map"]

T = TypeVar("T")

#: A job's result, or the exception it raised.
JobOutcome = Any


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
) -> list[object]:
    """Run ``jobs``; return each one's result or the exception it raised, in order.

    ``costs`` are the bytes each job touches (for the inline decision and balancing).
    """
    total = sum(costs)
    if total < inline_bytes or not jobs:
        return _run_all(jobs)
    tokens = 1 if limiter is None else max(1, int(limiter.total_tokens))
    parts = min(tokens, len(jobs))
    if parts == 1:
        return await call_in_worker_thread(_run_all, jobs, limiter=limiter)
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
        outcomes = await call_in_worker_thread(
            _run_all, [jobs[i] for i in indices], limiter=limiter
        )
        for i, outcome in zip(indices, outcomes, strict=True):
            results[i] = outcome

    async with trio.open_nursery() as nursery:
        for group in groups:
            nursery.start_soon(run_group, group)
    return results


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
