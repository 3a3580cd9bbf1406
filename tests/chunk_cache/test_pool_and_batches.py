"""CachePool accounting and eviction order; batched worker-thread jobs."""

from __future__ import annotations

import attrs
import pytest
import trio

from tensortrio.actors.cache_pool import CachePool
from tensortrio.actors.worker_batch import run_jobs, run_map


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
