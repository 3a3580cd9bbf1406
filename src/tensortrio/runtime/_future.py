"""``Future`` and ``Promise``: TensorStore's handle on one asynchronous result.

A Future is completed exactly once, by the runtime (for an operation) or by a
``Promise``. It can be consumed from anywhere: blocking ``result()`` from any
thread but the runtime thread, ``await`` from trio or asyncio (including core
code on the runtime thread), and done callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import (
    TYPE_CHECKING,
    Any,
    Final,
    Generic,
    Protocol,
    Self,
    SupportsFloat,
    SupportsIndex,
    TypeVar,
    cast,
)

import sniffio
import trio

from ..errors import AbortedError
from ._runtime_thread import in_runtime_thread

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Generator

    from ._write_futures import WriteFutures

__all__ = ["Future", "Promise", "wait_done"]

T = TypeVar("T")

logger = logging.getLogger("tensortrio.runtime")

_PENDING: Final = 0
_RESULT: Final = 1
_EXCEPTION: Final = 2
_CANCELLED: Final = 3

#: Guards every future's state changes. One lock for all futures rather than
#: one each: a future is created per operation, and thousands pending at once
#: would be thousands more objects for the garbage collector to traverse.
#: Every critical section is a few attribute reads and writes that call no
#: other code, so one future's section never waits for another's.
_state_lock = threading.Lock()

#: Threads that run done callbacks of futures completed on the runtime thread.
_CALLBACK_THREADS: Final = 4
_callback_pool: tuple[int, ThreadPoolExecutor] | None = None
_callback_pool_lock = threading.Lock()
_callback_thread = threading.local()


def _mark_callback_thread() -> None:
    _callback_thread.active = True


def _callback_executor() -> ThreadPoolExecutor:
    """The process's done-callback threads (new in a forked child: the parent's are not there)."""
    global _callback_pool
    pool = _callback_pool
    pid = os.getpid()
    if pool is None or pool[0] != pid:
        with _callback_pool_lock:
            pool = _callback_pool
            if pool is None or pool[0] != pid:
                executor = ThreadPoolExecutor(
                    _CALLBACK_THREADS,
                    thread_name_prefix="tensortrio-callback",
                    initializer=_mark_callback_thread,
                )
                pool = _callback_pool = (pid, executor)
    return pool[1]


class _Inline:
    """An internal done callback: runs on the completing thread, even the runtime's."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[Any], object]) -> None:
        self.fn = fn

    def __call__(self, future: Any) -> object:
        return self.fn(future)


class _Urgent:
    """A waker of a waiter in a callback thread: woken when the future completes, before its
    callbacks run, which may need that very thread (all of them blocked so would deadlock)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], object]) -> None:
        self.fn = fn

    def __call__(self) -> object:
        return self.fn()


def _reset_state_lock() -> None:
    global _state_lock
    # A thread of the parent may have held it at the moment of the fork.
    _state_lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_state_lock)

Seconds = SupportsFloat | SupportsIndex


class Future(Generic[T]):
    """Handle for consuming the result of an asynchronous operation.

    ``await future`` works from trio and from asyncio; ``future.result()``
    blocks the calling thread (any thread but the runtime's own, where it
    raises ``RuntimeError`` instead of deadlocking). Cancelling the future, or
    the trio/asyncio task awaiting it, cancels the operation.

    ``Future(x, loop=None)`` converts a future-like value as
    ``tensorstore.Future(x)`` does: a ``Future`` is returned as is,
    ``WriteFutures`` gives its commit future, a coroutine (any awaitable) is
    run on ``loop`` or else the calling thread's running asyncio loop or trio
    run (``ValueError`` if there is none), and any other value becomes an
    already-completed future. Blocking on ``result()`` in the thread of the
    loop that runs the coroutine would deadlock (it does in TensorStore): it
    raises ``RuntimeError`` instead; await it there.
    """

    # A plain slotted class rather than attrs: ``Future(value)`` converts its
    # argument in ``__new__``, as TensorStore's constructor does.
    __slots__ = (
        "__weakref__",
        "_callbacks",
        "_canceller",
        "_home",
        "_state",
        "_value",
        "_wakers",
    )
    __module__ = "tensortrio"

    _state: int
    _value: Any
    _callbacks: list[Callable[[Future[T]], object]] | None
    _wakers: list[Callable[[], object]] | None
    _canceller: Callable[[], object] | None
    # The loop whose callback this future waits for (see _dispatch.run_on_loop).
    _home: _HomeLoop | None

    def __new__(
        cls,
        future: Future[T] | WriteFutures | Awaitable[T] | T,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> Future[T]:
        from ._write_futures import WriteFutures

        if isinstance(future, Future):
            return future
        if isinstance(future, WriteFutures):
            return future.commit  # type: ignore[return-value]
        if inspect.isawaitable(future):
            return cls._from_awaitable(cast("Awaitable[T]", future), loop)
        self = cls._pending()
        self._finish(_RESULT, future)
        return self

    @staticmethod
    def _from_awaitable(
        awaitable: Awaitable[T], loop: asyncio.AbstractEventLoop | None
    ) -> Future[T]:
        from ._dispatch import capture_callback_loop, run_on_loop

        callback_loop = capture_callback_loop(loop)
        if callback_loop is None:
            if inspect.iscoroutine(awaitable):
                awaitable.close()  # it will never run; spare the "never awaited" warning
            raise ValueError(
                "no event loop specified and thread does not have a default event loop"
            )

        def get() -> Awaitable[T]:
            return awaitable

        future: Future[T] = run_on_loop(callback_loop, get)
        return future

    @classmethod
    def _pending(cls) -> Self:
        """Create a future that is not yet done (for the runtime and ``Promise``)."""
        self = object.__new__(cls)
        self._state = _PENDING
        self._value = None
        self._callbacks = None
        self._wakers = None
        self._canceller = None
        self._home = None
        return self

    def __reduce__(self) -> Any:
        raise TypeError(f"cannot pickle '{type(self).__module__}.{type(self).__qualname__}' object")

    # --- accessors

    def done(self) -> bool:
        """Return whether the operation has completed or been cancelled."""
        return self._state != _PENDING

    def cancelled(self) -> bool:
        """Return whether the operation has been cancelled."""
        return self._state == _CANCELLED

    def force(self) -> None:
        """Ensure the operation begins executing (operations start eagerly; kept for TensorStore)."""

    # --- blocking interface

    def result(self, timeout: Seconds | None = None, deadline: Seconds | None = None) -> T:
        """Block until the operation completes and return its result.

        Args:
          timeout: maximum number of seconds to block.
          deadline: deadline in seconds since the Unix epoch.

        Raises:
          the operation's error; ``asyncio.CancelledError`` if it was cancelled;
          ``TimeoutError`` if not done within ``timeout``/``deadline``;
          ``KeyboardInterrupt`` on Ctrl-C in the main thread (in an asyncio
          task: ``asyncio.CancelledError`` when the task is cancelled, as
          ``asyncio.run`` does on Ctrl-C); ``RuntimeError`` when called on
          the runtime thread for a future that is not done.
        """
        if self._state == _PENDING:
            self._block("result", timeout, deadline)
        return self._outcome()

    def exception(
        self, timeout: Seconds | None = None, deadline: Seconds | None = None
    ) -> BaseException | None:
        """Block until the operation completes and return its error, or None on success.

        Raises like ``result()``, except that the operation's own error is returned.
        """
        if self._state == _PENDING:
            self._block("exception", timeout, deadline)
        if self._state == _CANCELLED:
            raise asyncio.CancelledError()
        if self._state == _EXCEPTION:
            error: BaseException = self._value
            return error
        return None

    def _outcome(self) -> T:
        state = self._state
        if state == _RESULT:
            result: T = self._value
            return result
        if state == _EXCEPTION:
            raise self._value
        raise asyncio.CancelledError()

    def _block(self, method: str, timeout: Seconds | None, deadline: Seconds | None) -> None:
        limit = _seconds_to_wait(method, timeout, deadline)
        if in_runtime_thread():
            raise RuntimeError(
                f"Future.{method}() called on the tensortrio runtime thread for a future that"
                " is not done; blocking here would deadlock the runtime: use 'await future'"
                " in code running on the runtime"
            )
        home = self._home
        if home is not None and home.is_current():
            raise RuntimeError(
                f"Future.{method}() called in the thread running {home} for a future that"
                " waits for a callback on that same loop; blocking here would deadlock:"
                " use 'await future'"
            )
        gate = threading.Lock()
        gate.acquire()
        release: Callable[[], object] = gate.release
        if getattr(_callback_thread, "active", False):
            release = _Urgent(release)
        if not self._add_waker(release):
            return
        try:
            task = _blocked_asyncio_task()
            if task is not None:
                _wait_in_asyncio_task(gate, task, limit, self)
            elif limit is None:
                gate.acquire()
            elif (
                not gate.acquire(timeout=min(max(limit, 0.0), threading.TIMEOUT_MAX))
                and self._state == _PENDING
            ):
                raise TimeoutError()
        finally:
            self._remove_waker(release)

    # --- callbacks

    def add_done_callback(self, callback: Callable[[Future[T]], object]) -> None:
        """Call ``callback(self)`` once done, at once if already done.

        A pending future's callbacks run in the thread that completes it, or,
        when that is the runtime's (every operation's), in one of tensortrio's
        callback threads: never where they could stall other operations, so
        they may block and make synchronous tensortrio calls. As in
        tensorstore, ``result()`` and ``await`` waiting for the future return
        once its callbacks have run; a ``result()`` in a callback returns at
        once, since those callbacks may need its thread. An exception one
        raises is logged and does not affect other callbacks. A done future's
        runs here, in the caller's thread, and what it raises reaches the
        caller (as in tensorstore).
        """
        with _state_lock:
            if self._state == _PENDING:
                if self._callbacks is None:
                    self._callbacks = [callback]
                else:
                    self._callbacks.append(callback)
                return
        callback(self)

    def _on_done(self, callback: Callable[[Future[T]], object]) -> None:
        """``add_done_callback`` for tensortrio's own, short callbacks: on the completing thread."""
        self.add_done_callback(_Inline(callback))

    def remove_done_callback(self, callback: Callable[[Future[T]], object]) -> int:
        """Unregister every registration of ``callback``; return how many were removed."""
        while True:
            with _state_lock:
                callbacks = self._callbacks
                if not callbacks:
                    return 0
                count = len(callbacks)
            # Comparing runs the callbacks' own __eq__: never under the lock.
            kept = [cb for cb in callbacks[:count] if cb != callback]
            with _state_lock:
                # Registrations append in place (those made meanwhile are kept);
                # a removal or completion swaps the list: then look again.
                if self._callbacks is callbacks:
                    self._callbacks = kept + callbacks[count:]
                    return count - len(kept)

    def _run_callbacks(self, callbacks: list[Callable[[Future[T]], object]], contain: bool) -> None:
        """Run ``callbacks`` in order; ``contain``: log even Ctrl-C or ``sys.exit()`` from one.

        Those stop a user's own thread, but never the runtime thread (that
        would stop every operation in the process) nor a callback thread.
        """
        for callback in callbacks:
            try:
                callback(self)
            except BaseException as exc:
                if not isinstance(exc, Exception) and not contain:
                    raise
                logger.exception("Exception in done callback %r of %r", callback, self)

    # --- cancellation

    def cancel(self) -> bool:
        """Request cancellation; return False if the operation had already completed.

        A cancelled future raises ``asyncio.CancelledError`` from ``result()``,
        ``exception()`` and ``await``; the operation's cancel scope is cancelled.
        """
        return self._finish(_CANCELLED, None)

    def _set_canceller(self, canceller: Callable[[], object]) -> bool:
        """Arrange for ``canceller()`` to run on ``cancel()``; False if already done."""
        with _state_lock:
            if self._state != _PENDING:
                return False
            self._canceller = canceller
            return True

    # --- completion

    def _finish(self, state: int, value: object) -> bool:
        """Complete the future once; later attempts are ignored (returns False)."""
        with _state_lock:
            if self._state != _PENDING:
                return False
            self._state = state
            self._value = value
            wakers, callbacks, canceller = self._wakers, self._callbacks, self._canceller
            self._wakers = self._callbacks = self._canceller = None
        if canceller is not None and state == _CANCELLED:
            canceller()
        on_runtime = False
        if callbacks is not None:
            on_runtime = in_runtime_thread()
            if on_runtime:
                # User callbacks may block or call tensortrio synchronously: not here.
                deferred = [cb for cb in callbacks if not isinstance(cb, _Inline)]
                callbacks = [cb for cb in callbacks if isinstance(cb, _Inline)]
                if deferred:
                    try:
                        # Those waiting for the result wake once the callbacks have run,
                        # as in tensorstore (its waiters are callbacks registered later);
                        # those in callback threads at once (see ``_Urgent``).
                        later = [w for w in wakers or () if not isinstance(w, _Urgent)]
                        _callback_executor().submit(self._run_deferred, deferred, later)
                        wakers = [w for w in wakers or () if isinstance(w, _Urgent)]
                    except RuntimeError:  # the interpreter is exiting: no new threads
                        callbacks += deferred
        self._wake(wakers)
        if callbacks is not None:
            self._run_callbacks(callbacks, on_runtime)
        return True

    def _wake(self, wakers: list[Callable[[], object]] | None) -> None:
        for wake in wakers or ():
            try:
                wake()
            except Exception:  # a waiter in a broken state must not strand the others
                logger.exception("Failed to wake a waiter of %r", self)

    def _run_deferred(
        self, callbacks: list[Callable[[Future[T]], object]], wakers: list[Callable[[], object]] | None
    ) -> None:
        """In a callback thread: ``callbacks``, then wake ``wakers``."""
        try:
            self._run_callbacks(callbacks, True)
        finally:
            self._wake(wakers)

    def _set_result(self, value: T) -> bool:
        return self._finish(_RESULT, value)

    def _set_exception(self, error: BaseException) -> bool:
        return self._finish(_EXCEPTION, error)

    def _add_waker(self, wake: Callable[[], object]) -> bool:
        """Call ``wake()`` (on the completing thread) once done; False if already done."""
        with _state_lock:
            if self._state != _PENDING:
                return False
            if self._wakers is None:
                self._wakers = [wake]
            else:
                self._wakers.append(wake)
            return True

    def _remove_waker(self, wake: Callable[[], object]) -> None:
        with _state_lock:
            if self._wakers is not None and wake in self._wakers:
                self._wakers.remove(wake)

    # --- awaiting

    def __await__(self) -> Generator[Any, None, T]:
        if self._state == _PENDING:
            library = sniffio.current_async_library()
            if library == "trio":
                yield from self._wait_trio().__await__()
            elif library == "asyncio":
                yield from self._wait_asyncio()
            else:
                raise RuntimeError(f"a tensortrio Future cannot be awaited from {library!r}")
        return self._outcome()

    async def _wait_trio(self, cancel_future: bool = True) -> None:
        task = trio.lowlevel.current_task()
        token = trio.lowlevel.current_trio_token()
        thread = threading.get_ident()
        aborted = False

        def reschedule() -> None:
            if not aborted:
                trio.lowlevel.reschedule(task)

        def wake() -> None:
            if threading.get_ident() == thread:
                # Completed by code of this same trio run: no thread hop needed.
                reschedule()
            else:
                with contextlib.suppress(trio.RunFinishedError):
                    token.run_sync_soon(reschedule)

        def abort(raise_cancel: object) -> trio.lowlevel.Abort:
            nonlocal aborted
            aborted = True
            self._remove_waker(wake)
            if cancel_future:
                self.cancel()
            return trio.lowlevel.Abort.SUCCEEDED

        if self._add_waker(wake):
            await trio.lowlevel.wait_task_rescheduled(abort)

    def _wait_asyncio(self) -> Generator[Any, None, None]:
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()

        def wake() -> None:
            # A closed loop raises RuntimeError: nobody is left there to wake.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve_waiter, waiter)

        if not self._add_waker(wake):
            return
        try:
            yield from waiter
        except asyncio.CancelledError:
            self._remove_waker(wake)
            self.cancel()
            raise


async def wait_done(future: Future[Any]) -> None:
    """Wait (in trio) until ``future`` is done, without consuming its outcome.

    Unlike ``await future``, cancelling the waiting task leaves the future
    alone: for core code waiting on a future it shares with others.
    """
    if future._state == _PENDING:
        await future._wait_trio(cancel_future=False)


def _resolve_waiter(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


#: How often a ``result()`` blocking an asyncio task looks whether the task was cancelled.
_CANCEL_POLL_SECONDS: Final = 0.05


def _blocked_asyncio_task() -> asyncio.Task[Any] | None:
    """The asyncio task this thread is running (and a blocking call would block), if any."""
    loop = asyncio._get_running_loop()
    task = None if loop is None else asyncio.current_task(loop)
    # A task class of another event loop library may lack ``cancelling()``: then wait plainly.
    return task if task is not None and hasattr(task, "cancelling") else None


def _wait_in_asyncio_task(
    gate: threading.Lock, task: asyncio.Task[Any], limit: float | None, future: Future[Any]
) -> None:
    """Wait for ``gate`` while ``task`` is blocked, stopping if the task is cancelled meanwhile.

    A cancellation cannot reach a task that blocks its loop, and ``asyncio.run``
    answers the first Ctrl-C by cancelling its main task: waiting on would
    take a second Ctrl-C. So the wait looks at ``task.cancelling()`` every
    :data:`_CANCEL_POLL_SECONDS` and raises ``asyncio.CancelledError`` once it
    grows, as the task's next ``await`` would. Only the wait ends: the
    operation goes on (cancel the future to stop it), and the cancellation
    request stays pending in the task (asyncio gives no way to take it), so
    code that swallows this error gets the request at its next ``await``.

    Raises:
        asyncio.CancelledError: ``task`` was cancelled while waiting.
        TimeoutError: ``limit`` seconds passed.
    """
    requested = task.cancelling()
    until = None if limit is None else time.monotonic() + limit
    while True:
        wait = _CANCEL_POLL_SECONDS
        if until is not None:
            wait = min(wait, max(until - time.monotonic(), 0.0))
        if gate.acquire(timeout=wait) or future._state != _PENDING:
            return
        if task.cancelling() > requested:
            raise asyncio.CancelledError()
        if until is not None and time.monotonic() >= until:
            raise TimeoutError()


def _seconds_to_wait(
    method: str, timeout: Seconds | None, deadline: Seconds | None
) -> float | None:
    limit: float | None = None
    if timeout is not None:
        limit = _as_seconds(method, "timeout", timeout)
    if deadline is not None:
        until = _as_seconds(method, "deadline", deadline) - time.time()
        limit = until if limit is None else min(limit, until)
    return limit


def _as_seconds(method: str, name: str, value: object) -> float:
    if not hasattr(value, "__float__") and not hasattr(value, "__index__"):
        raise TypeError(f"Future.{method}(): {name!r} must be a number of seconds, got {value!r}")
    seconds = float(value)  # type: ignore[arg-type]
    if seconds != seconds:
        raise ValueError(f"Future.{method}(): {name!r} must not be NaN")
    return seconds


class _HomeLoop(Protocol):
    def is_current(self) -> bool: ...


class Promise(Generic[T]):
    """Handle for producing the result of an asynchronous operation.

    ``Promise.new()`` returns a linked ``(promise, future)`` pair. The first
    ``set_result``/``set_exception`` wins; later ones (and any after the
    future was cancelled) are ignored. A promise dropped without a result
    fails its future with ``AbortedError``.
    """

    __slots__ = ("_future",)
    __module__ = "tensortrio"

    _future: Future[T]

    def __init__(self) -> None:
        raise TypeError("cannot create 'tensortrio.Promise' instances: use Promise.new()")

    @classmethod
    def new(cls) -> tuple[Promise[T], Future[T]]:
        """Create a linked promise and future pair."""
        promise = object.__new__(cls)
        future: Future[T] = Future._pending()
        promise._future = future
        return promise, future

    def set_result(self, result: T) -> None:
        """Mark the linked future as successfully completed with ``result``."""
        self._future._finish(_RESULT, result)

    def set_exception(self, exception: BaseException | type[BaseException]) -> None:
        """Mark the linked future as failed with ``exception`` (an instance or class)."""
        if isinstance(exception, type) and issubclass(exception, BaseException):
            exception = exception()
        if not isinstance(exception, BaseException):
            raise TypeError(
                f"Promise.set_exception(): 'exception' must be an exception, got {exception!r}"
            )
        self._future._finish(_EXCEPTION, exception)

    def __reduce__(self) -> Any:
        raise TypeError("cannot pickle 'tensortrio.Promise' object")

    def __del__(self) -> None:
        future = getattr(self, "_future", None)
        if future is not None and future._state == _PENDING:
            future._finish(
                _EXCEPTION, AbortedError("Promise was destroyed without setting a result")
            )
