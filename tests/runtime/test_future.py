"""Future, Promise and WriteFutures semantics, checked against tensorstore's."""

from __future__ import annotations

import asyncio
import logging
import pickle
import threading
import time
from typing import Any

import pytest
import trio

import tensortrio as ts
from tensortrio.errors import AbortedError
from tensortrio.runtime import wait_done


def test_promise_result() -> None:
    promise, future = ts.Promise.new()
    assert not future.done()
    assert not future.cancelled()
    promise.set_result(5)
    assert future.done()
    assert future.result() == 5
    assert future.exception() is None
    promise.set_result(6)  # the first result wins, as in tensorstore
    assert future.result() == 5


def test_promise_exception() -> None:
    promise, future = ts.Promise[int].new()
    promise.set_exception(KeyError("x"))
    with pytest.raises(KeyError, match=r"^'x'$"):
        future.result()
    error = future.exception()
    assert isinstance(error, KeyError)
    assert future.cancel() is False


def test_promise_exception_class_and_bad_value() -> None:
    promise, future = ts.Promise.new()
    with pytest.raises(
        TypeError, match=r"^Promise.set_exception\(\): 'exception' must be an exception, got 5$"
    ):
        promise.set_exception(5)  # type: ignore[arg-type]
    assert not future.done()
    promise.set_exception(ValueError)
    assert isinstance(future.exception(), ValueError)


def test_promise_cannot_be_constructed_directly() -> None:
    with pytest.raises(TypeError, match=r"^cannot create 'tensortrio.Promise' instances"):
        ts.Promise()


def test_dropped_promise_fails_its_future() -> None:
    promise, future = ts.Promise.new()
    del promise
    with pytest.raises(AbortedError, match=r"^Promise was destroyed without setting a result$"):
        future.result(timeout=10)


def test_cancel() -> None:
    _promise, future = ts.Promise.new()
    assert future.cancel() is True
    assert future.cancelled()
    assert future.done()
    with pytest.raises(asyncio.CancelledError):
        future.result()
    with pytest.raises(asyncio.CancelledError):
        future.exception()
    assert future.cancel() is False
    _promise.set_result(1)  # ignored after cancellation
    assert future.cancelled()


def test_timeout_and_deadline() -> None:
    promise, future = ts.Promise.new()
    with pytest.raises(TimeoutError):
        future.result(timeout=0.01)
    with pytest.raises(TimeoutError):
        future.result(timeout=-1)
    with pytest.raises(TimeoutError):
        future.result(deadline=time.time() + 0.01)
    with pytest.raises(TimeoutError):
        future.result(timeout=100, deadline=time.time() - 1)
    with pytest.raises(TimeoutError):
        future.exception(timeout=0)
    promise.set_result(1)
    assert future.result(timeout=-1) == 1
    assert future.result(deadline=0) == 1
    assert future.exception(timeout=0) is None


def test_bad_timeout() -> None:
    _promise, future = ts.Promise.new()
    with pytest.raises(
        TypeError, match=r"^Future.result\(\): 'timeout' must be a number of seconds, got 'x'$"
    ):
        future.result(timeout="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^Future.exception\(\): 'deadline' must not be NaN$"):
        future.exception(deadline=float("nan"))


def test_result_wakes_blocked_thread() -> None:
    promise, future = ts.Promise.new()
    results: list[int] = []
    blocked = threading.Thread(target=lambda: results.append(future.result(timeout=30)))
    blocked.start()
    promise.set_result(3)
    blocked.join(30)
    assert results == [3]


def test_callbacks() -> None:
    promise, future = ts.Promise.new()
    calls: list[tuple[str, object]] = []

    def first(f: ts.Future[int]) -> None:
        calls.append(("first", f.result()))

    def removed(f: ts.Future[int]) -> None:
        calls.append(("removed", f))

    future.add_done_callback(first)
    future.add_done_callback(removed)
    future.add_done_callback(removed)
    assert future.remove_done_callback(removed) == 2
    assert future.remove_done_callback(removed) == 0
    promise.set_result(7)
    assert calls == [("first", 7)]
    # Added after completion: called at once, in the calling thread.
    future.add_done_callback(lambda f: calls.append(("late", f)))
    assert calls == [("first", 7), ("late", future)]
    assert future.remove_done_callback(first) == 0


def test_removing_compares_callbacks_outside_the_futures_lock() -> None:
    # A callback's __eq__ is user code: it may use futures (all share one lock).
    promise, future = ts.Promise.new()
    other_promise, other = ts.Promise.new()
    ran: list[str] = []

    class Callback:
        def __call__(self, f: ts.Future[int]) -> None:
            pass

        def __eq__(self, value: object) -> bool:
            other.add_done_callback(lambda f: ran.append("other"))
            future.add_done_callback(lambda f: ran.append("meanwhile"))  # kept
            return value is self

        __hash__ = object.__hash__

    callback = Callback()
    future.add_done_callback(callback)
    assert future.remove_done_callback(callback) == 1
    promise.set_result(1)
    other_promise.set_result(2)
    assert ran == ["meanwhile", "other"]


def test_raising_callback_is_logged_and_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    promise, future = ts.Promise.new()
    calls: list[str] = []

    def bad(f: ts.Future[int]) -> None:
        raise ValueError("boom")

    future.add_done_callback(bad)
    future.add_done_callback(lambda f: calls.append("after"))
    with caplog.at_level(logging.ERROR, logger="tensortrio.runtime"):
        promise.set_result(1)
    assert calls == ["after"]
    [record] = caplog.records
    assert record.getMessage().startswith("Exception in done callback")
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)


def test_callback_sees_cancellation() -> None:
    _promise, future = ts.Promise.new()
    seen: list[bool] = []
    future.add_done_callback(lambda f: seen.append(f.cancelled()))
    future.cancel()
    assert seen == [True]


def test_future_constructor_converts_future_likes() -> None:
    immediate = ts.Future(3)
    assert immediate.done()
    assert immediate.result() == 3
    assert ts.Future(immediate) is immediate
    _promise, copy = ts.Promise.new()
    _promise2, commit = ts.Promise.new()
    write = ts.WriteFutures(copy, commit)
    assert ts.Future(write) is commit


def test_generic_and_repr() -> None:
    assert repr(ts.Future[int]) == "tensortrio.Future[int]"
    assert repr(ts.Future(1)).startswith("<tensortrio.Future object at 0x")
    assert repr(ts.Promise[int]) == "tensortrio.Promise[int]"


def test_not_picklable() -> None:
    promise, future = ts.Promise.new()
    with pytest.raises(TypeError, match=r"^cannot pickle 'tensortrio.Future' object$"):
        pickle.dumps(future)
    with pytest.raises(TypeError, match=r"^cannot pickle 'tensortrio.Promise' object$"):
        pickle.dumps(promise)
    with pytest.raises(TypeError, match=r"^cannot pickle 'tensortrio.WriteFutures' object$"):
        pickle.dumps(ts.WriteFutures(future, future))


def test_force_is_harmless() -> None:
    promise, future = ts.Promise.new()
    assert future.force() is None  # type: ignore[func-returns-value]
    promise.set_result(1)
    assert future.result() == 1


def test_write_futures_behave_as_commit() -> None:
    copy_promise, copy = ts.Promise[None].new()
    commit_promise, commit = ts.Promise[None].new()
    write = ts.WriteFutures(copy, commit)
    assert write.copy is copy
    assert write.commit is commit
    seen: list[object] = []
    write.add_done_callback(seen.append)
    copy_promise.set_result(None)
    assert copy.done()
    assert not write.done()
    with pytest.raises(TimeoutError):
        write.result(timeout=0)
    commit_promise.set_exception(OSError("disk full"))
    assert write.done()
    assert not write.cancelled()
    assert seen == [commit]
    assert isinstance(write.exception(), OSError)
    with pytest.raises(OSError, match=r"^disk full$"):
        write.result()
    assert write.remove_done_callback(seen.append) == 0
    assert write.cancel() is False


def test_write_futures_cancel_cancels_commit() -> None:
    _p1, copy = ts.Promise[None].new()
    _p2, commit = ts.Promise[None].new()
    write = ts.WriteFutures(copy, commit)
    assert write.cancel() is True
    assert commit.cancelled()
    assert write.cancelled()


async def test_await_promise_from_trio() -> None:
    promise, future = ts.Promise[int].new()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.to_thread.run_sync, promise.set_result, 4)
        assert await future == 4
    copy_promise, copy = ts.Promise[None].new()
    commit_promise, commit = ts.Promise[None].new()
    copy_promise.set_result(None)
    commit_promise.set_result(None)
    assert await ts.WriteFutures(copy, commit) is None


async def test_await_done_future_from_trio() -> None:
    assert await ts.Future(9) == 9


async def test_await_failed_future_from_trio() -> None:
    promise, future = ts.Promise[int].new()
    promise.set_exception(ValueError("bad"))
    with pytest.raises(ValueError, match=r"^bad$"):
        await future


def test_await_promise_from_asyncio() -> None:
    async def main() -> int:
        promise, future = ts.Promise[int].new()
        thread = threading.Thread(target=promise.set_result, args=(8,))
        thread.start()
        try:
            return await future
        finally:
            thread.join()

    assert asyncio.run(main()) == 8


def test_cancelled_asyncio_awaiter_cancels_future() -> None:
    async def main() -> None:
        _promise, future = ts.Promise[int].new()
        task = asyncio.ensure_future(future)
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert future.cancelled()

    asyncio.run(main())


async def test_cancelled_trio_awaiter_cancels_future() -> None:
    _promise, future = ts.Promise[int].new()
    with trio.CancelScope() as scope:
        scope.cancel()
        await future
    assert scope.cancelled_caught
    assert future.cancelled()


async def test_wait_done_leaves_future_alone_when_cancelled() -> None:
    promise, future = ts.Promise[int].new()
    with trio.CancelScope() as scope:
        scope.cancel()
        await wait_done(future)
    assert scope.cancelled_caught
    assert not future.done()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.to_thread.run_sync, promise.set_result, 2)
        await wait_done(future)
    assert future.result() == 2
    await wait_done(future)  # already done: returns at once


@pytest.mark.parametrize("library", ["tensortrio", "tensorstore"])
def test_a_done_futures_callback_runs_at_once_and_its_error_reaches_the_caller(library: str) -> None:
    lib: Any = pytest.importorskip(library)
    seen: list[Any] = []
    done = lib.Future(1)
    done.add_done_callback(lambda f: seen.append(f.result()))
    assert seen == [1]
    with pytest.raises(ZeroDivisionError):
        done.add_done_callback(lambda f: 1 / 0)
