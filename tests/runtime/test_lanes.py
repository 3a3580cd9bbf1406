"""WorkerLanes: queued blocking jobs run back to back on a few worker threads."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest
import trio
import trio.testing

from tensortrio.runtime import LanesStatistics, WorkerLanes
from tensortrio.runtime._lanes import KEEPER_IDLE

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

WAIT = 30.0  # seconds a worker thread waits for the test before giving up


class Outcomes:
    """Collects ``done`` callbacks; ``wait(n)`` until ``n`` have arrived."""

    def __init__(self) -> None:
        self.items: list[tuple[str, object]] = []
        self.threads: list[int] = []
        self._changed = trio.Event()

    def done(self, name: str) -> Callable[[object], None]:
        def record(outcome: object) -> None:
            self.items.append((name, outcome))
            self.threads.append(threading.get_ident())
            self._changed.set()
            self._changed = trio.Event()

        return record

    async def wait(self, n: int) -> None:
        while len(self.items) < n:
            await self._changed.wait()


def gated(value: object, gate: threading.Event, started: threading.Event | None = None) -> Callable[[], object]:
    def job() -> object:
        if started is not None:
            started.set()
        assert gate.wait(WAIT)
        return value

    return job


async def test_jobs_run_in_worker_threads_and_outcomes_come_back_on_the_trio_thread(
    nursery: trio.Nursery,
) -> None:
    lanes: WorkerLanes[object] = WorkerLanes(2, nursery.start_soon)
    outcomes = Outcomes()
    ran_in: list[int] = []

    def job(n: int) -> int:
        ran_in.append(threading.get_ident())
        return n * n

    for n in range(5):
        lanes.submit(lambda n=n: job(n), outcomes.done(f"job {n}"))
    await outcomes.wait(5)
    assert sorted(outcomes.items) == [(f"job {n}", n * n) for n in range(5)]
    trio_thread = threading.get_ident()
    assert trio_thread not in ran_in
    assert set(outcomes.threads) == {trio_thread}


async def test_an_exception_is_the_outcome_and_later_jobs_still_run(nursery: trio.Nursery) -> None:
    lanes: WorkerLanes[object] = WorkerLanes(1, nursery.start_soon)
    outcomes = Outcomes()

    def fails() -> object:
        raise KeyError("chunk 0.0")

    lanes.submit(fails, outcomes.done("fails"))
    lanes.submit(lambda: "fine", outcomes.done("fine"))
    await outcomes.wait(2)
    (first, error), second = outcomes.items
    assert first == "fails"
    assert isinstance(error, KeyError)
    assert error.args == ("chunk 0.0",)
    assert second == ("fine", "fine")


async def test_at_most_limit_lanes_run_and_queued_jobs_follow_on_them(nursery: trio.Nursery) -> None:
    lanes: WorkerLanes[object] = WorkerLanes(2, nursery.start_soon)
    outcomes = Outcomes()
    gate = threading.Event()
    started = [threading.Event() for _ in range(2)]
    lanes.submit(gated("a", gate, started[0]), outcomes.done("a"))
    lanes.submit(gated("b", gate, started[1]), outcomes.done("b"))
    for name in "cde":
        lanes.submit(gated(name, gate), outcomes.done(name))
    for event in started:
        await trio.to_thread.run_sync(event.wait, WAIT)
    assert lanes.statistics() == LanesStatistics(
        lanes=2, running=2, queued=3, jobs_run=0, lanes_started=2
    )
    gate.set()
    await outcomes.wait(5)
    assert sorted(name for name, _ in outcomes.items) == list("abcde")
    await trio.testing.wait_all_tasks_blocked()
    while lanes.statistics().lanes:  # the lanes' threads are ending
        await trio.sleep(0.001)
    assert lanes.statistics() == LanesStatistics(
        lanes=0, running=0, queued=0, jobs_run=5, lanes_started=2
    )


async def test_a_lane_ends_when_the_queue_is_empty_and_the_next_job_starts_one(
    nursery: trio.Nursery,
) -> None:
    limiter = trio.CapacityLimiter(1)
    lanes: WorkerLanes[object] = WorkerLanes(1, nursery.start_soon, limiter)
    outcomes = Outcomes()
    lanes.submit(lambda: 1, outcomes.done("first"))
    await outcomes.wait(1)
    while lanes.statistics().lanes:
        await trio.sleep(0.001)
    assert limiter.borrowed_tokens == 0  # an idle lane holds no token
    lanes.submit(lambda: 2, outcomes.done("second"))
    await outcomes.wait(2)
    assert outcomes.items == [("first", 1), ("second", 2)]
    assert lanes.statistics().lanes_started == 2


async def test_lanes_are_threads_and_one_task_keeps_the_nursery_open_while_any_lives(
    nursery: trio.Nursery,
) -> None:
    spawned: list[object] = []

    def spawn(async_fn: Callable[[], Awaitable[object]]) -> None:
        spawned.append(async_fn)
        nursery.start_soon(async_fn)

    lanes: WorkerLanes[object] = WorkerLanes(2, spawn, trio.CapacityLimiter(2))
    outcomes = Outcomes()
    gate = threading.Event()
    started = threading.Event()
    lanes.submit(gated("long", gate, started), outcomes.done("long"))
    await trio.to_thread.run_sync(started.wait, WAIT)
    for n in range(3):  # each starts (and ends) a second lane while the first runs
        lanes.submit(lambda n=n: n, outcomes.done(f"quick {n}"))
        await outcomes.wait(n + 1)
    assert lanes.statistics().lanes_started == 4
    assert len(spawned) == 1
    assert len(nursery.child_tasks) == 1
    gate.set()
    await outcomes.wait(4)
    await trio.testing.wait_all_tasks_blocked()
    # The last lane ended: its outcome was delivered and its token released.
    assert lanes.statistics() == LanesStatistics(
        lanes=0, running=0, queued=0, jobs_run=4, lanes_started=4
    )
    assert lanes.limiter is not None
    assert lanes.limiter.borrowed_tokens == 0
    # The task stays a while, idle: lanes starting again soon need no new one.
    assert len(nursery.child_tasks) == 1
    lanes.submit(lambda: "again", outcomes.done("again"))
    await outcomes.wait(5)
    assert len(spawned) == 1
    lanes.close()
    await trio.testing.wait_all_tasks_blocked()
    assert not nursery.child_tasks


async def test_the_idle_keeper_leaves_the_nursery_after_a_while() -> None:
    outcomes = Outcomes()
    with trio.fail_after(10 * KEEPER_IDLE + WAIT):
        async with trio.open_nursery() as nursery:
            lanes: WorkerLanes[object] = WorkerLanes(1, nursery.start_soon)
            lanes.submit(lambda: 1, outcomes.done("job"))
            await outcomes.wait(1)
            started = trio.current_time()
        # Not closed: the nursery waited for the keeper's idle time, no longer.
        assert trio.current_time() - started >= KEEPER_IDLE * 0.9
    assert outcomes.items == [("job", 1)]


async def test_lanes_hold_their_limiter_while_they_run(nursery: trio.Nursery) -> None:
    limiter = trio.CapacityLimiter(1)
    lanes: WorkerLanes[object] = WorkerLanes(3, nursery.start_soon, limiter)
    outcomes = Outcomes()
    gate = threading.Event()
    started = threading.Event()
    lanes.submit(gated("a", gate, started), outcomes.done("a"))
    lanes.submit(gated("b", gate), outcomes.done("b"))
    await trio.to_thread.run_sync(started.wait, WAIT)
    await trio.testing.wait_all_tasks_blocked()
    # Two lanes were started; the second waits for the one token.
    assert limiter.borrowed_tokens == 1
    assert lanes.statistics().running == 1
    gate.set()
    await outcomes.wait(2)


async def test_a_job_outlives_a_cancelled_lane_task() -> None:
    outcomes = Outcomes()
    gate = threading.Event()
    started = threading.Event()
    async with trio.open_nursery() as nursery:
        lanes: WorkerLanes[object] = WorkerLanes(1, nursery.start_soon)
        lanes.submit(gated("kept", gate, started), outcomes.done("kept"))
        await trio.to_thread.run_sync(started.wait, WAIT)
        nursery.cancel_scope.cancel()
        gate.set()
    # The nursery waited for the lane, which finished its job and reported it.
    await outcomes.wait(1)
    assert outcomes.items == [("kept", "kept")]


async def test_a_lane_started_in_a_cancelled_nursery_still_runs_its_jobs() -> None:
    outcomes = Outcomes()
    async with trio.open_nursery() as nursery:
        nursery.cancel_scope.cancel()
        lanes: WorkerLanes[object] = WorkerLanes(1, nursery.start_soon, trio.CapacityLimiter(1))
        lanes.submit(lambda: "ran", outcomes.done("job"))
    await outcomes.wait(1)
    assert outcomes.items == [("job", "ran")]


async def test_limit_must_be_positive(nursery: trio.Nursery) -> None:
    with pytest.raises(ValueError, match=r"^WorkerLanes: limit must be at least 1, got 0$"):
        WorkerLanes(0, nursery.start_soon)


class RecordingToken:
    """A TrioToken stand-in that notes which thread asked for each ``run_sync_soon``."""

    def __init__(self, token: trio.lowlevel.TrioToken) -> None:
        self.token = token
        self.calls: list[tuple[int, str]] = []

    def run_sync_soon(self, fn: Callable[..., object], *args: object) -> None:
        self.calls.append((threading.get_ident(), getattr(fn, "__name__", "")))
        self.token.run_sync_soon(fn, *args)


def recorded(lanes: WorkerLanes[object]) -> RecordingToken:
    token = RecordingToken(trio.lowlevel.current_trio_token())
    lanes._token = token  # type: ignore[assignment]
    return token


@pytest.mark.parametrize("courier", [False, True])
async def test_a_courier_wakes_the_trio_thread_so_that_the_lane_goes_straight_on(
    nursery: trio.Nursery, courier: bool
) -> None:
    limiter = trio.CapacityLimiter(1)
    lanes: WorkerLanes[object] = WorkerLanes(1, nursery.start_soon, limiter, courier=courier)
    token = recorded(lanes)
    outcomes = Outcomes()
    gate = threading.Event()
    lane_threads: set[int] = set()

    def job(n: int) -> int:
        lane_threads.add(threading.get_ident())
        assert gate.wait(WAIT)
        return n

    for n in range(5):
        lanes.submit(lambda n=n: job(n), outcomes.done(f"job {n}"))
    gate.set()
    await outcomes.wait(5)
    # One lane: outcomes in the order of the jobs, all on the trio thread.
    assert outcomes.items == [(f"job {n}", n) for n in range(5)]
    assert set(outcomes.threads) == {threading.get_ident()}
    while lanes.statistics().lanes:
        await trio.sleep(0.001)
    assert limiter.borrowed_tokens == 0
    (lane_thread,) = lane_threads
    from_lane = [name for thread, name in token.calls if thread == lane_thread]
    if courier:
        # The lane woke the trio thread at most once: for its own end, when
        # no courier was still carrying its outcomes.
        assert from_lane in ([], ["_lane_ended"])
        assert len(token.calls) == 5  # four outcomes, then the end with the fifth
    else:
        assert len(from_lane) == 5
    lanes.close()
    await trio.testing.wait_all_tasks_blocked()
    assert not nursery.child_tasks


async def test_without_a_thread_for_the_courier_the_lane_carries_its_outcomes(
    nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_thread_soon = trio.lowlevel.start_thread_soon

    def no_courier(fn: Callable[[], object], deliver: Callable[[object], object], name: str | None = None) -> None:
        if getattr(fn, "__name__", None) == "_carry":  # the courier's loop
            raise RuntimeError("can't start new thread")
        start_thread_soon(fn, deliver, name=name)

    monkeypatch.setattr(trio.lowlevel, "start_thread_soon", no_courier)
    lanes: WorkerLanes[object] = WorkerLanes(1, nursery.start_soon, courier=True)
    outcomes = Outcomes()
    for n in range(3):
        lanes.submit(lambda n=n: n, outcomes.done(f"job {n}"))
    await outcomes.wait(3)
    assert outcomes.items == [(f"job {n}", n) for n in range(3)]
