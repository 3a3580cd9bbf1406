"""Runtime.submit / start_service and awaiting operations from every kind of caller."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing

import tensortrio as ts
from tensortrio.runtime import get_runtime, in_runtime_thread, run_async
from tensortrio.runtime._future import _CALLBACK_THREADS

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

WAIT = 30.0  # generous bound on cross-thread waits: a hang fails the test instead of stalling


async def double(x: int) -> int:
    await trio.lowlevel.checkpoint()
    return 2 * x


async def fail(message: str) -> None:
    await trio.lowlevel.checkpoint()
    raise KeyError(message)


def test_submit_from_plain_thread() -> None:
    runtime = get_runtime()
    assert get_runtime() is runtime
    future = runtime.submit(double, 21)
    assert isinstance(future, ts.Future)
    assert future.result(timeout=WAIT) == 42
    assert run_async(double, 4) == 8
    assert not runtime.in_runtime_thread()


def test_operation_runs_on_runtime_thread() -> None:
    async def where() -> tuple[bool, str]:
        return in_runtime_thread(), threading.current_thread().name

    assert run_async(where) == (True, "tensortrio-runtime")


def test_error_lands_on_future() -> None:
    future = get_runtime().submit(fail, "missing")
    with pytest.raises(KeyError, match=r"^'missing'$"):
        future.result(timeout=WAIT)
    assert isinstance(future.exception(), KeyError)


def test_result_from_32_threads() -> None:
    results: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(32)

    def worker(i: int) -> None:
        barrier.wait(WAIT)
        value = get_runtime().submit(double, i).result(timeout=WAIT)
        with lock:
            results.append(value)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert sorted(results) == [2 * i for i in range(32)]


def test_many_threads_wait_on_one_future() -> None:
    gate_promise, gate = ts.Promise[None].new()

    async def op() -> int:
        await gate
        return 5

    future = get_runtime().submit(op)
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(future.result(timeout=WAIT)))
        for _ in range(32)
    ]
    for thread in threads:
        thread.start()
    gate_promise.set_result(None)
    for thread in threads:
        thread.join(WAIT)
    assert results == [5] * 32


async def test_await_from_trio() -> None:
    assert await get_runtime().submit(double, 5) == 10
    with pytest.raises(KeyError, match=r"^'k'$"):
        await get_runtime().submit(fail, "k")


def test_await_from_asyncio() -> None:
    async def main() -> int:
        value = await get_runtime().submit(double, 6)
        with pytest.raises(KeyError, match=r"^'k'$"):
            await get_runtime().submit(fail, "k")
        return value

    assert asyncio.run(main()) == 12


async def test_result_inside_running_trio() -> None:
    # Blocking the caller's loop is rude but must not deadlock: the work runs elsewhere.
    assert get_runtime().submit(double, 7).result(timeout=WAIT) == 14


def test_result_inside_running_asyncio() -> None:
    async def main() -> int:
        return get_runtime().submit(double, 8).result(timeout=WAIT)

    assert asyncio.run(main()) == 16


def test_runtime_code_awaits_futures_and_submits() -> None:
    async def outer() -> int:
        inner = get_runtime().submit(double, 10)  # submit from the runtime thread itself
        promise, other = ts.Promise[int].new()
        threading.Thread(target=promise.set_result, args=(1,)).start()
        return await inner + await other

    assert run_async(outer) == 21


def test_result_on_runtime_thread_raises_instead_of_deadlocking() -> None:
    async def blocks() -> None:
        _promise, pending = ts.Promise[int].new()
        pending.result()

    with pytest.raises(
        RuntimeError,
        match=r"^Future.result\(\) called on the tensortrio runtime thread for a future that is not done; blocking here would deadlock",
    ):
        run_async(blocks)

    async def done_is_fine() -> int:
        return ts.Future(3).result()

    assert run_async(done_is_fine) == 3


def _cancellable_op() -> tuple[Callable[[], Awaitable[None]], ts.Future[None], ts.Future[None]]:
    """An operation that waits forever, with futures saying it started and saw Cancelled."""
    started_promise, started = ts.Promise[None].new()
    cancelled_promise, cancelled = ts.Promise[None].new()

    async def op() -> None:
        started_promise.set_result(None)
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            cancelled_promise.set_result(None)
            raise

    return op, started, cancelled


def test_future_cancel_cancels_operation_scope() -> None:
    op, started, cancelled = _cancellable_op()
    future = get_runtime().submit(op)
    started.result(timeout=WAIT)
    assert future.cancel() is True
    cancelled.result(timeout=WAIT)
    assert future.cancelled()
    with pytest.raises(asyncio.CancelledError):
        future.result()


def test_cancel_before_start_never_runs() -> None:
    ran: list[bool] = []

    async def op() -> None:
        ran.append(True)

    async def submit_and_cancel() -> bool:
        # On the runtime thread the op task cannot start before we yield.
        future = get_runtime().submit(op)
        future.cancel()
        await trio.testing.wait_all_tasks_blocked()
        return future.cancelled()

    assert run_async(submit_and_cancel) is True
    assert ran == []


async def test_cancelling_trio_awaiter_cancels_operation() -> None:
    op, started, cancelled = _cancellable_op()
    future = get_runtime().submit(op)

    async def awaiter() -> None:
        await future

    async with trio.open_nursery() as nursery:
        nursery.start_soon(awaiter)
        await started
        nursery.cancel_scope.cancel()
    with trio.fail_after(WAIT):
        await cancelled
    assert future.cancelled()


def test_cancelling_asyncio_awaiter_cancels_operation() -> None:
    op, started, cancelled = _cancellable_op()

    async def main() -> ts.Future[None]:
        future = get_runtime().submit(op)
        await started
        entered = asyncio.Event()

        async def awaiter() -> None:
            entered.set()
            await future  # suspends here before main() resumes

        task = asyncio.create_task(awaiter())
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(_as_asyncio(cancelled), WAIT)
        return future

    assert asyncio.run(main()).cancelled()


async def _as_asyncio(future: ts.Future[Any]) -> Any:
    return await future


def test_operation_awaiting_a_cancelled_future_is_cancelled() -> None:
    promise, inner = ts.Promise[int].new()

    async def op() -> int:
        return await inner

    outer = get_runtime().submit(op)
    inner.cancel()
    with pytest.raises(asyncio.CancelledError):
        outer.result(timeout=WAIT)
    assert outer.cancelled()
    del promise


def test_operation_error_group_lands_on_future() -> None:
    async def grouped() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(fail, "a")
            nursery.start_soon(trio.sleep_forever)

    error = get_runtime().submit(grouped).exception(timeout=WAIT)
    assert isinstance(error, ExceptionGroup)
    assert error.split(KeyError)[0] is not None


def test_start_service_from_thread_and_runtime() -> None:
    ready_promise, ready = ts.Promise[str].new()
    stop = trio.Event()

    async def service(tag: str) -> None:
        ready_promise.set_result(tag)
        await stop.wait()

    get_runtime().start_service(service, "outside", name="test-service")
    assert ready.result(timeout=WAIT) == "outside"

    async def from_runtime() -> None:
        second_promise, second = ts.Promise[None].new()

        async def other() -> None:
            second_promise.set_result(None)

        get_runtime().start_service(other)
        nursery = get_runtime().service_nursery
        assert isinstance(nursery, trio.Nursery)
        await second
        stop.set()

    run_async(from_runtime)


class _SignalOnRecord(logging.Handler):
    """Resolve a promise when the runtime logs something."""

    def __init__(self, promise: ts.Promise[str]) -> None:
        super().__init__()
        self.promise = promise

    def emit(self, record: logging.LogRecord) -> None:
        self.promise.set_result(record.getMessage())


def test_service_failure_is_logged_and_contained() -> None:
    logged_promise, logged = ts.Promise[str].new()

    async def broken() -> None:
        await trio.lowlevel.checkpoint()
        raise ValueError("actor bug")

    handler = _SignalOnRecord(logged_promise)
    logger = logging.getLogger("tensortrio.runtime")
    logger.addHandler(handler)
    try:
        runtime = get_runtime()
        runtime.start_service(broken, name="broken-actor")
        assert logged.result(timeout=WAIT) == "tensortrio service 'broken-actor' failed"
    finally:
        logger.removeHandler(handler)
    # The runtime and its other tasks carry on.
    assert get_runtime() is runtime
    assert run_async(double, 1) == 2


def test_callback_calling_sys_exit_in_a_callback_thread_is_contained() -> None:
    logged_promise, logged = ts.Promise[str].new()
    handler = _SignalOnRecord(logged_promise)
    logger = logging.getLogger("tensortrio.runtime")
    logger.addHandler(handler)
    try:
        gate_promise, gate = ts.Promise[None].new()

        async def op() -> None:
            await gate

        future = get_runtime().submit(op)
        future.add_done_callback(lambda f: sys.exit(3))  # runs in a callback thread
        gate_promise.set_result(None)
        assert logged.result(timeout=WAIT).startswith("Exception in done callback")
    finally:
        logger.removeHandler(handler)
    assert run_async(double, 2) == 4


def test_operation_callbacks_run_in_a_callback_thread_and_may_block() -> None:
    """A done callback of an operation runs off the runtime thread, as tensorstore's do: it may
    call tensortrio synchronously, and a slow one stalls no other operation."""
    store = ts.open(
        {"driver": "zarr", "kvstore": {"driver": "memory"}}, dtype=ts.uint8, shape=[4], create=True
    ).result()
    seen_promise, seen = ts.Promise[tuple[str, list[int]]].new()
    release = threading.Event()
    gate_promise, gate = ts.Promise[None].new()

    async def op() -> None:
        await gate

    future = get_runtime().submit(op)
    future.add_done_callback(
        lambda f: seen_promise.set_result(
            (threading.current_thread().name, store.read().result().tolist())
        )
    )
    future.add_done_callback(lambda f: release.wait(WAIT))  # blocks its callback thread
    gate_promise.set_result(None)
    name, values = seen.result(timeout=WAIT)
    assert name.startswith("tensortrio-callback")
    assert values == [0, 0, 0, 0]
    # The runtime is free while the second callback blocks.
    store[1].write(7).result(timeout=WAIT)
    assert store.read().result(timeout=WAIT).tolist() == [0, 7, 0, 0]
    release.set()


async def test_awaiting_an_operation_returns_after_its_callbacks_ran() -> None:
    """As in tensorstore, whose waiters are callbacks registered after the user's."""
    gate_promise, gate = ts.Promise[None].new()
    order: list[str] = []

    async def op() -> None:
        await gate

    future = get_runtime().submit(op)

    def slow_callback(f: ts.Future[None]) -> None:
        time.sleep(0.05)  # the awaiter would run meanwhile if it were woken first
        order.append("callback")

    future.add_done_callback(slow_callback)

    async def awaiter() -> None:
        await future
        order.append("awaiter")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(awaiter)
        await trio.testing.wait_all_tasks_blocked()
        gate_promise.set_result(None)
    assert order == ["callback", "awaiter"]


def test_callbacks_blocking_on_a_future_with_callbacks_do_not_deadlock() -> None:
    """Every callback thread blocked on B, and B has a callback (queued for those threads):
    B's waiters in callback threads wake at once, before B's callbacks run."""
    gate_a_promise, gate_a = ts.Promise[None].new()
    gate_b_promise, gate_b = ts.Promise[None].new()

    async def wait_a() -> None:
        await gate_a

    async def wait_b() -> None:
        await gate_b

    b = get_runtime().submit(wait_b)
    b.add_done_callback(lambda f: None)
    started = threading.Semaphore(0)
    finished: list[None] = []
    all_finished = threading.Event()

    def blocking(f: ts.Future[None]) -> None:
        started.release()
        finished.append(b.result())
        if len(finished) == _CALLBACK_THREADS:
            all_finished.set()

    for future in [get_runtime().submit(wait_a) for _ in range(_CALLBACK_THREADS)]:
        future.add_done_callback(blocking)
    gate_a_promise.set_result(None)
    for _ in range(_CALLBACK_THREADS):
        assert started.acquire(timeout=WAIT)
    gate_b_promise.set_result(None)
    assert all_finished.wait(WAIT)
    b.result(timeout=WAIT)


def test_service_nursery_only_on_runtime_thread() -> None:
    with pytest.raises(
        RuntimeError, match=r"^Runtime.service_nursery is only valid on the runtime thread$"
    ):
        get_runtime().service_nursery
    assert isinstance(get_runtime().trio_token, trio.lowlevel.TrioToken)


async def _ticks(n: int) -> int:
    for _ in range(n):
        await trio.lowlevel.checkpoint()
    return n


async def test_racing_cancellations_and_completions_from_trio() -> None:
    # Awaiters cancelled at every point relative to completion: each outcome must be
    # a value or a cancellation, and the awaiting run must never be rescheduled twice.
    futures = [get_runtime().submit(_ticks, i % 7) for i in range(300)]
    outcomes: list[str] = []

    async def await_one(i: int, future: ts.Future[int]) -> None:
        with trio.move_on_after(0 if i % 3 == 0 else 30) as scope:
            for _ in range(i % 5):
                await trio.lowlevel.checkpoint()
            try:
                assert await future == i % 7
                outcomes.append("value")
            except asyncio.CancelledError:
                outcomes.append("cancelled")
        if scope.cancelled_caught:
            outcomes.append("timed out")

    async with trio.open_nursery() as nursery:
        for i, future in enumerate(futures):
            nursery.start_soon(await_one, i, future)
    assert len(outcomes) == 300
    assert outcomes.count("value") >= 100
    # An awaiter whose deadline fires at a checkpoint before `await future` never
    # awaited that future, so its operation completes on its own a moment later.
    # Every operation must still settle, promptly, as a value or a cancellation.
    for i, future in enumerate(futures):
        with trio.fail_after(WAIT):
            try:
                assert await future == i % 7
            except asyncio.CancelledError:
                assert future.cancelled()


def test_racing_cancellations_and_completions_from_threads() -> None:
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        try:
            for i in range(200):
                future = get_runtime().submit(_ticks, (seed + i) % 4)
                if (seed + i) % 3 == 0:
                    future.cancel()
                try:
                    assert future.result(timeout=WAIT) == (seed + i) % 4
                except asyncio.CancelledError:
                    assert future.cancelled()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert errors == []


def test_racing_cancellations_and_completions_from_asyncio() -> None:
    async def main() -> list[str]:
        futures.extend(get_runtime().submit(_ticks, i % 7) for i in range(300))

        async def await_one(i: int, future: ts.Future[int]) -> str:
            for _ in range(i % 5):
                await asyncio.sleep(0)
            try:
                if i % 3 == 0:
                    await asyncio.wait_for(_as_asyncio(future), 0)
                else:
                    assert await future == i % 7
            except (TimeoutError, asyncio.CancelledError):
                return "cancelled"
            return "value"

        return await asyncio.gather(*(await_one(i, f) for i, f in enumerate(futures)))

    futures: list[ts.Future[int]] = []
    outcomes = asyncio.run(main())
    assert len(outcomes) == 300
    assert outcomes.count("value") >= 200
    # wait_for(..., 0) may cancel its wrapper task before that task ever ran, so
    # the future was never awaited nor cancelled: its operation completes on its
    # own. Every operation must still settle, promptly, as a value or a cancellation.
    for i, future in enumerate(futures):
        try:
            assert future.result(timeout=WAIT) == i % 7
        except asyncio.CancelledError:
            assert future.cancelled()
