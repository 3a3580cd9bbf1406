"""Running callbacks on the loop they belong to: foreign asyncio loops, foreign trio runs, worker threads."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from typing import TYPE_CHECKING, Any

import pytest
import sniffio
import trio
import trio.testing

import tensortrio as ts
from tensortrio.runtime import get_runtime, run_async
from tensortrio.runtime._dispatch import (
    AsyncioLoop,
    TrioRun,
    call_in_worker_thread,
    call_on_loop,
    capture_callback_loop,
    run_in_worker_thread,
    run_on_loop,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

WAIT = 30.0


@pytest.fixture
def asyncio_thread() -> Iterator[tuple[asyncio.AbstractEventLoop, threading.Thread]]:
    """An asyncio loop running forever in its own thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="asyncio-loop")
    thread.start()
    started, running = ts.Promise[None].new()
    loop.call_soon_threadsafe(started.set_result, None)
    running.result(timeout=WAIT)
    yield loop, thread
    if not loop.is_closed():
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT)
        loop.close()
    thread.join(WAIT)


@pytest.fixture
def trio_thread() -> Iterator[tuple[trio.lowlevel.TrioToken, threading.Event]]:
    """A trio run in its own thread, running until the yielded event is set."""
    token_promise, token_future = ts.Promise[trio.lowlevel.TrioToken].new()
    stop = threading.Event()

    async def main() -> None:
        token_promise.set_result(trio.lowlevel.current_trio_token())
        await trio.to_thread.run_sync(stop.wait)

    thread = threading.Thread(target=trio.run, args=(main,), name="trio-run")
    thread.start()
    yield token_future.result(timeout=WAIT), stop
    stop.set()
    thread.join(WAIT)


async def where(value: int) -> tuple[str, int]:
    return threading.current_thread().name, value


def sync_where(value: int) -> tuple[str, int]:
    return threading.current_thread().name, value


async def raises() -> None:
    raise KeyError("from the loop")


def test_capture_outside_any_loop() -> None:
    assert capture_callback_loop() is None


def test_capture_given_loop() -> None:
    loop = asyncio.new_event_loop()
    try:
        assert capture_callback_loop(loop) == AsyncioLoop(loop)
    finally:
        loop.close()


def test_capture_running_asyncio_loop() -> None:
    async def main() -> None:
        assert capture_callback_loop() == AsyncioLoop(asyncio.get_running_loop())

    asyncio.run(main())


async def test_capture_running_trio_run() -> None:
    assert capture_callback_loop() == TrioRun(trio.lowlevel.current_trio_token())


def test_capture_on_runtime_thread_is_none() -> None:
    async def capture() -> object:
        return capture_callback_loop()

    assert run_async(capture) is None


def test_call_on_asyncio_loop_thread(
    asyncio_thread: tuple[asyncio.AbstractEventLoop, threading.Thread],
) -> None:
    loop, _ = asyncio_thread
    target = AsyncioLoop(loop)
    assert run_async(call_on_loop, target, where, 1) == ("asyncio-loop", 1)
    assert run_async(call_on_loop, target, sync_where, 2) == ("asyncio-loop", 2)
    assert run_on_loop(target, where, 3).result(timeout=WAIT) == ("asyncio-loop", 3)
    with pytest.raises(KeyError, match=r"^'from the loop'$"):
        run_async(call_on_loop, target, raises)


def test_call_on_trio_run_thread(
    trio_thread: tuple[trio.lowlevel.TrioToken, threading.Event],
) -> None:
    token, _ = trio_thread
    target = TrioRun(token)
    assert run_async(call_on_loop, target, where, 1) == ("trio-run", 1)
    assert run_async(call_on_loop, target, sync_where, 2) == ("trio-run", 2)
    assert run_on_loop(target, where, 3).result(timeout=WAIT) == ("trio-run", 3)
    with pytest.raises(KeyError, match=r"^'from the loop'$"):
        run_async(call_on_loop, target, raises)


async def test_call_back_into_the_awaiting_trio_run() -> None:
    # The awaiting run is free while it awaits, so the callback can run in it.
    me = threading.current_thread().name
    target = capture_callback_loop()
    assert target is not None
    assert await run_on_loop(target, where, 4) == (me, 4)


def test_call_back_into_the_awaiting_asyncio_loop() -> None:
    async def main() -> tuple[str, int]:
        target = capture_callback_loop()
        assert target is not None
        return await run_on_loop(target, where, 5)

    assert asyncio.run(main()) == (threading.current_thread().name, 5)


def _watched_coroutine() -> tuple[Any, ts.Future[None], ts.Future[str]]:
    """A coroutine function waiting forever, with futures saying it started and how it ended."""
    started_promise, started = ts.Promise[None].new()
    ended_promise, ended = ts.Promise[str].new()

    async def forever() -> None:
        started_promise.set_result(None)
        try:
            if sniffio.current_async_library() == "trio":
                await trio.sleep_forever()
            else:
                await asyncio.Event().wait()
        except BaseException as exc:
            ended_promise.set_result(type(exc).__name__)
            raise

    return forever, started, ended


def test_cancel_cancels_asyncio_task(
    asyncio_thread: tuple[asyncio.AbstractEventLoop, threading.Thread],
) -> None:
    loop, _ = asyncio_thread
    forever, started, ended = _watched_coroutine()
    future = run_on_loop(AsyncioLoop(loop), forever)
    started.result(timeout=WAIT)
    assert future.cancel()
    assert ended.result(timeout=WAIT) == "CancelledError"


def test_cancel_cancels_trio_task(
    trio_thread: tuple[trio.lowlevel.TrioToken, threading.Event],
) -> None:
    token, _ = trio_thread
    forever, started, ended = _watched_coroutine()
    future = run_on_loop(TrioRun(token), forever)
    started.result(timeout=WAIT)
    assert future.cancel()
    assert ended.result(timeout=WAIT) == "Cancelled"


def test_closed_loop_fails_at_once() -> None:
    loop = asyncio.new_event_loop()
    loop.close()
    with pytest.raises(
        RuntimeError, match=r"^cannot run where on asyncio loop 0x[0-9a-f]+: the loop is closed$"
    ):
        run_async(call_on_loop, AsyncioLoop(loop), where, 1)


def test_loop_not_running_fails_at_once() -> None:
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(
            RuntimeError,
            match=r"^cannot run where on asyncio loop 0x[0-9a-f]+: the loop is not running$",
        ):
            run_async(call_on_loop, AsyncioLoop(loop), where, 1)
    finally:
        loop.close()


def test_finished_trio_run_fails_at_once() -> None:
    async def token() -> trio.lowlevel.TrioToken:
        return trio.lowlevel.current_trio_token()

    finished = trio.run(token)
    with pytest.raises(
        RuntimeError, match=r"^cannot run where in trio run 0x[0-9a-f]+: the run has finished$"
    ):
        run_async(call_on_loop, TrioRun(finished), where, 1)


def test_loop_closed_while_waiting_fails(
    asyncio_thread: tuple[asyncio.AbstractEventLoop, threading.Thread],
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop, thread = asyncio_thread
    forever, started, _ended = _watched_coroutine()
    future = run_on_loop(AsyncioLoop(loop), forever)
    started.result(timeout=WAIT)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(WAIT)
    loop.close()  # the pending task is dropped with its loop
    with pytest.raises(
        RuntimeError,
        match=r"^cannot run _watched_coroutine.<locals>.forever on asyncio loop 0x[0-9a-f]+: the loop was closed before the call completed$",
    ):
        future.result(timeout=WAIT)
    with caplog.at_level(logging.CRITICAL, logger="asyncio"):
        # asyncio reports the abandoned task when it is collected; collect it here, quietly.
        del forever, future
        gc.collect()


def test_trio_run_finishing_while_waiting_fails(
    trio_thread: tuple[trio.lowlevel.TrioToken, threading.Event],
) -> None:
    token, stop = trio_thread
    forever, started, ended = _watched_coroutine()
    future = run_on_loop(TrioRun(token), forever)
    started.result(timeout=WAIT)
    stop.set()  # the foreign run ends, cancelling its system tasks (ours included)
    with pytest.raises(
        RuntimeError,
        match=r"^cannot run _watched_coroutine.<locals>.forever in trio run 0x[0-9a-f]+: the run finished first$",
    ):
        future.result(timeout=WAIT)
    assert ended.result(timeout=WAIT) == "Cancelled"


def test_worker_thread_under_limiter() -> None:
    release = threading.Event()
    limiter = trio.CapacityLimiter(1)

    def blocking(i: int) -> tuple[int, bool]:
        release.wait(WAIT)
        return i, threading.current_thread().name != "tensortrio-runtime"

    async def op() -> list[tuple[int, bool]]:
        results: list[tuple[int, bool]] = []

        async def one(i: int) -> None:
            results.append(await call_in_worker_thread(blocking, i, limiter=limiter))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(one, 0)
            nursery.start_soon(one, 1)
            await trio.testing.wait_all_tasks_blocked()
            stats = limiter.statistics()
            assert (stats.borrowed_tokens, stats.tasks_waiting) == (1, 1)
            release.set()
        return sorted(results)

    assert run_async(op) == [(0, True), (1, True)]
    assert run_in_worker_thread(sync_where, 7, limiter=limiter).result(timeout=WAIT)[1] == 7


def test_worker_thread_sees_cancellation() -> None:
    started_promise, started = ts.Promise[None].new()
    release = threading.Event()

    def cooperative() -> None:
        started_promise.set_result(None)
        release.wait(WAIT)
        trio.from_thread.check_cancelled()

    future = get_runtime().submit(call_in_worker_thread, cooperative)
    started.result(timeout=WAIT)
    future.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        future.result(timeout=WAIT)


def test_worker_thread_abandoned_on_cancel() -> None:
    started_promise, started = ts.Promise[None].new()
    left_promise, left = ts.Promise[bool].new()
    release = threading.Event()

    def stuck() -> None:
        started_promise.set_result(None)
        release.wait(WAIT)

    async def op() -> None:
        try:
            await call_in_worker_thread(stuck, abandon_on_cancel=True)
        except trio.Cancelled:
            left_promise.set_result(release.is_set())
            raise

    future = get_runtime().submit(op)
    started.result(timeout=WAIT)
    assert future.cancel()
    # The operation stopped waiting while the thread was still stuck.
    assert left.result(timeout=WAIT) is False
    release.set()


async def _get_value() -> int:
    if sniffio.current_async_library() == "trio":
        await trio.lowlevel.checkpoint()
    else:
        await asyncio.sleep(0)
    return 42


def test_future_from_coroutine_on_running_asyncio_loop() -> None:
    async def main() -> tuple[bool, int, int]:
        future = ts.Future(_get_value())
        first_done = future.done()
        return first_done, await future, future.result()

    assert asyncio.run(main()) == (False, 42, 42)


async def test_future_from_coroutine_in_trio() -> None:
    future = ts.Future(_get_value())
    assert not future.done()
    assert await future == 42


def test_future_from_coroutine_on_given_loop(
    asyncio_thread: tuple[asyncio.AbstractEventLoop, threading.Thread],
) -> None:
    loop, _ = asyncio_thread
    assert ts.Future(_get_value(), loop=loop).result(timeout=WAIT) == 42


def test_future_from_coroutine_without_loop() -> None:
    with pytest.raises(
        ValueError, match=r"^no event loop specified and thread does not have a default event loop$"
    ):
        ts.Future(_get_value())


def test_blocking_on_own_loop_raises_instead_of_deadlocking() -> None:
    async def main() -> int:
        future = ts.Future(_get_value())
        with pytest.raises(
            RuntimeError,
            match=r"^Future.result\(\) called in the thread running asyncio loop 0x[0-9a-f]+ for a future that waits for a callback on that same loop; blocking here would deadlock",
        ):
            future.result()
        return await future

    assert asyncio.run(main()) == 42


async def test_blocking_on_own_trio_run_raises_instead_of_deadlocking() -> None:
    future = ts.Future(_get_value())
    with pytest.raises(
        RuntimeError,
        match=r"^Future.exception\(\) called in the thread running trio run 0x[0-9a-f]+ ",
    ):
        future.exception()
    assert await future == 42


def test_call_on_loop_rejects_non_loops() -> None:
    with pytest.raises(
        TypeError,
        match=r"^call_on_loop: 'callback_loop' must be an AsyncioLoop or TrioRun, got None$",
    ):
        run_async(call_on_loop, None, where, 1)  # type: ignore[arg-type]
