"""CachePool accounting and eviction order; batched worker-thread jobs."""

from __future__ import annotations

import threading
from typing import Any

import attrs
import numpy as np
import pytest
import trio

from tensortrio.actors.cache_pool import CachePool
from tensortrio.actors.chunk_entry import _held_nbytes
from tensortrio.actors.worker_batch import PARALLEL_JOB_BYTES, STREAM_BYTES, run_jobs, run_map
from tensortrio.runtime import WorkerLanes


@attrs.define(eq=False)
class Entry:
    nbytes: int
    pinned: bool = False
    evicted: bool = False

    def held_bytes(self) -> int:
        return 0 if self.evicted else self.nbytes

    def evictable(self) -> bool:
        return not self.pinned

    def evict(self) -> None:
        self.evicted = True


def test_the_pool_evicts_least_recently_used_idle_entries_down_to_the_limit() -> None:
    pool = CachePool(250)
    a, b, c, d = Entry(100), Entry(100, pinned=True), Entry(100), Entry(100)
    for entry in (a, b, c, d):
        pool.update(entry)
    assert pool.bytes_held == 400
    pool.update(a)  # a is now the most recently used
    assert pool.shrink() == 2
    assert (a.evicted, b.evicted, c.evicted, d.evicted) == (False, False, True, True)
    assert pool.statistics().bytes_held == 200
    assert pool.statistics().evictions == 2
    assert pool.statistics().entries == 2


def test_pinned_entries_are_never_evicted_even_over_the_limit() -> None:
    pool = CachePool(0)
    pinned = Entry(100, pinned=True)
    pool.update(pinned)
    assert pool.shrink() == 0
    assert pool.bytes_held == 100
    pinned.pinned = False
    assert pool.shrink() == 1
    assert pool.bytes_held == 0


@pytest.mark.parametrize("inline_bytes", [0, 10**9])
async def test_jobs_keep_their_order_and_errors(inline_bytes: int) -> None:
    def job(i: int) -> int:
        if i == 3:
            raise ValueError("job 3 failed")
        return i * i

    jobs = [lambda i=i: job(i) for i in range(10)]
    out = await run_jobs(
        jobs, [1 << 20] * 10, limiter=trio.CapacityLimiter(3), inline_bytes=inline_bytes
    )
    assert [o for i, o in enumerate(out) if i != 3] == [i * i for i in range(10) if i != 3]
    assert isinstance(out[3], ValueError)
    mapped = await run_map(
        lambda x: -x, list(range(7)), [1 << 20] * 7, limiter=None, inline_bytes=inline_bytes
    )
    assert mapped == [-x for x in range(7)]


@pytest.mark.parametrize(
    ("cost", "inline_bytes", "tokens"),
    [(STREAM_BYTES, 0, 2), (STREAM_BYTES, 0, 1), (STREAM_BYTES, 10**12, 2), (1024, 0, 2)],
    ids=["streamed", "streamed-one-token", "inline", "batched"],
)
async def test_on_result_sees_every_outcome_once_before_run_jobs_returns(
    cost: int, inline_bytes: int, tokens: int
) -> None:
    def job(i: int) -> int:
        if i == 2:
            raise ValueError("job 2 failed")
        return i + 100

    seen: dict[int, object] = {}

    def on_result(index: int, outcome: object) -> None:
        assert index not in seen
        seen[index] = outcome

    out = await run_jobs(
        [lambda i=i: job(i) for i in range(9)],
        [cost] * 9,
        limiter=trio.CapacityLimiter(tokens),
        inline_bytes=inline_bytes,
        on_result=on_result,
    )
    assert sorted(seen) == list(range(9))
    assert [seen[i] for i in range(9)] == out
    assert [o for i, o in enumerate(out) if i != 2] == [i + 100 for i in range(9) if i != 2]
    assert isinstance(out[2], ValueError)


async def test_streamed_jobs_given_lanes_run_there_each_outcome_seen_once(
    nursery: trio.Nursery,
) -> None:
    limiter = trio.CapacityLimiter(2)
    lanes: WorkerLanes[object] = WorkerLanes(2, nursery.start_soon, limiter)
    seen: dict[int, object] = {}

    def job(i: int) -> int:
        if i == 2:
            raise ValueError("job 2 failed")
        return i + 100

    def on_result(index: int, outcome: object) -> None:
        assert index not in seen
        seen[index] = outcome

    for _ in range(2):  # the second call's jobs follow on the same lanes' queue
        seen.clear()
        out = await run_jobs(
            [lambda i=i: job(i) for i in range(9)],
            [STREAM_BYTES] * 9,
            limiter=limiter,
            inline_bytes=0,
            on_result=on_result,
            lanes=lanes,
        )
        assert [seen[i] for i in range(9)] == out
        assert [o for i, o in enumerate(out) if i != 2] == [i + 100 for i in range(9) if i != 2]
        assert isinstance(out[2], ValueError)
    assert lanes.statistics().jobs_run == 18


async def test_streamed_results_arrive_while_other_jobs_still_run() -> None:
    # Job 1 waits until the runtime thread has seen job 0's result: only a
    # streamed run_jobs (not one that returns all results at the end) lets it finish.
    first_seen = threading.Event()

    def job(i: int) -> int:
        if i == 1:
            assert first_seen.wait(timeout=30)
        return i

    def on_result(index: int, outcome: object) -> None:
        if index == 0:
            first_seen.set()

    out = await run_jobs(
        [lambda i=i: job(i) for i in range(2)],
        [STREAM_BYTES] * 2,
        limiter=trio.CapacityLimiter(1),
        inline_bytes=0,
        on_result=on_result,
    )
    assert out == [0, 1]


@pytest.mark.parametrize("on_lanes", [False, True], ids=["hops", "lanes"])
async def test_an_on_result_error_is_raised_after_every_job_ran(
    nursery: trio.Nursery, on_lanes: bool
) -> None:
    lanes: WorkerLanes[object] | None = WorkerLanes(2, nursery.start_soon) if on_lanes else None
    ran: list[int] = []

    def on_result(index: int, outcome: object) -> None:
        if index == 1:
            raise KeyError("bad callback")

    with pytest.raises(KeyError, match=r"^'bad callback'$"):
        await run_jobs(
            [lambda i=i: ran.append(i) for i in range(4)],
            [STREAM_BYTES] * 4,
            limiter=trio.CapacityLimiter(2),
            inline_bytes=0,
            on_result=on_result,
            lanes=lanes,
        )
    assert sorted(ran) == [0, 1, 2, 3]


@pytest.mark.parametrize("on_result", [None, lambda i, o: None], ids=["batched", "streamed"])
async def test_jobs_doing_io_hold_an_io_token_per_hop_and_never_run_inline(
    on_result: Any,
) -> None:
    # Three data tokens, one I/O token: the hops run one at a time, all off this thread.
    runtime_thread = threading.get_ident()
    io_limiter = trio.CapacityLimiter(1)
    running = peak = 0
    lock = threading.Lock()
    threads: set[int] = set()

    def job(i: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            threads.add(threading.get_ident())
        try:
            assert trio.from_thread.run_sync(lambda: io_limiter.borrowed_tokens) == 1
            return i
        finally:
            with lock:
                running -= 1

    out = await run_jobs(
        [lambda i=i: job(i) for i in range(6)],
        [STREAM_BYTES] * 6,
        limiter=trio.CapacityLimiter(3),
        inline_bytes=10**12,  # would run inline without an I/O limiter
        on_result=on_result,
        io_limiter=io_limiter,
    )
    assert out == list(range(6))
    assert peak == 1
    assert runtime_thread not in threads
    assert io_limiter.borrowed_tokens == 0


async def test_small_jobs_share_one_hop_and_large_ones_split_over_the_tokens() -> None:
    limiter = trio.CapacityLimiter(2)
    small = [1024] * 40
    out = await run_jobs([threading.get_ident] * 40, small, limiter=limiter, inline_bytes=0)
    assert len(set(out)) == 1  # on two threads their Python would only fight for the GIL
    both_started = threading.Barrier(2, timeout=10)

    def large() -> int:
        both_started.wait()  # returns only if the other half runs at the same time
        return threading.get_ident()

    out = await run_jobs([large, large], [PARALLEL_JOB_BYTES] * 2, limiter=limiter, inline_bytes=0)
    assert len(set(out)) == 2


def test_text_chunks_count_their_strings() -> None:
    # The cache pool's limit bounds memory only if a chunk of text counts its strings,
    # not just the 8-byte references NumPy's nbytes gives.
    long_text = np.full(1000, "x" * 10_000, dtype=object)
    assert _held_nbytes(long_text) >= 1000 * 10_000
    assert _held_nbytes(long_text[::7]) >= long_text[::7].size * 10_000
    numbers = np.zeros(1000, np.int64)
    assert _held_nbytes(numbers) == numbers.nbytes
    assert _held_nbytes(np.empty(0, object)) == 0
