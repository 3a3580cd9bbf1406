"""Running user callbacks where they belong: a foreign asyncio loop, a foreign trio run, a worker thread.

Runtime code captures the caller's loop once (``capture_callback_loop``) and
later awaits ``call_on_loop`` / ``call_in_worker_thread`` from the runtime
thread. Cancelling the awaiting runtime task cancels the foreign task; a loop
that is closed, stopped or finished makes the call fail with a clear error
instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from typing import TYPE_CHECKING, Any, Final, TypeVar, TypeVarTuple

import attrs
import sniffio
import trio

from ._runtime import get_runtime
from ._runtime_thread import in_runtime_thread

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._future import Future

__all__ = [
    "AsyncioLoop",
    "CallbackLoop",
    "TrioRun",
    "call_in_worker_thread",
    "call_on_loop",
    "capture_callback_loop",
    "run_in_worker_thread",
    "run_on_loop",
]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

#: How often a pending foreign call checks that its loop is still alive.
LIVENESS_CHECK_SECONDS: Final = 0.5


@attrs.frozen
class AsyncioLoop:
    """Callbacks run as tasks on this asyncio event loop."""

    loop: asyncio.AbstractEventLoop

    def is_current(self) -> bool:
        """Return whether the calling thread is running this loop."""
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def __str__(self) -> str:
        return f"asyncio loop {id(self.loop):#x}"


@attrs.frozen
class TrioRun:
    """Callbacks run as system tasks in the trio run this token belongs to."""

    token: trio.lowlevel.TrioToken

    def is_current(self) -> bool:
        """Return whether the calling thread is inside this trio run."""
        try:
            return trio.lowlevel.current_trio_token() is self.token
        except RuntimeError:
            return False

    def __str__(self) -> str:
        return f"trio run {id(self.token):#x}"


CallbackLoop = AsyncioLoop | TrioRun


def capture_callback_loop(loop: asyncio.AbstractEventLoop | None = None) -> CallbackLoop | None:
    """Capture where a user callback must later run.

    Returns ``loop`` if given, else the asyncio loop or trio run of the
    calling thread, else None (no loop: a worker thread will do). The
    runtime's own trio run is never captured: user code does not run there.
    """
    if loop is not None:
        return AsyncioLoop(loop)
    try:
        library = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return None
    if library == "asyncio":
        return AsyncioLoop(asyncio.get_running_loop())
    if library == "trio" and not in_runtime_thread():
        return TrioRun(trio.lowlevel.current_trio_token())
    return None


async def call_on_loop(callback_loop: CallbackLoop, fn: Callable[..., Any], *args: object) -> Any:
    """Run ``fn(*args)`` on ``callback_loop`` and return its result.

    ``fn`` is called on that loop's thread; if it returns an awaitable (a
    coroutine function was given), that is awaited there too. Await this from
    trio code on the runtime thread.

    Raises:
      whatever ``fn`` raised; ``RuntimeError`` if the loop is closed, not
      running, or finishes before the call completes.
    """
    handoff = _Handoff(trio.lowlevel.current_trio_token())
    if isinstance(callback_loop, AsyncioLoop):
        return await _call_on_asyncio(callback_loop.loop, handoff, fn, args)
    if isinstance(callback_loop, TrioRun):
        return await _call_on_trio(callback_loop.token, handoff, fn, args)
    raise TypeError(
        f"call_on_loop: 'callback_loop' must be an AsyncioLoop or TrioRun, got {callback_loop!r}"
    )


def run_on_loop(callback_loop: CallbackLoop, fn: Callable[..., Any], *args: object) -> Future[Any]:
    """Like ``call_on_loop``, as an operation of the runtime: return its Future.

    Blocking on that Future in the thread running ``callback_loop`` would
    deadlock, so ``result()`` there raises ``RuntimeError`` instead.
    """
    future = get_runtime().submit(call_on_loop, callback_loop, fn, *args)
    future._home = callback_loop
    return future


async def call_in_worker_thread(
    fn: Callable[[*Ts], T],
    *args: *Ts,
    limiter: trio.CapacityLimiter | None = None,
    abandon_on_cancel: bool = False,
) -> T:
    """Run the blocking ``fn(*args)`` in a (reused) worker thread under ``limiter``.

    A thread cannot be interrupted: on cancellation, ``fn`` may notice with
    ``trio.from_thread.check_cancelled()``; with ``abandon_on_cancel`` the
    caller stops waiting at once and the thread finishes in the background.
    """
    return await trio.to_thread.run_sync(
        fn, *args, limiter=limiter, abandon_on_cancel=abandon_on_cancel
    )


def run_in_worker_thread(
    fn: Callable[[*Ts], T],
    *args: *Ts,
    limiter: trio.CapacityLimiter | None = None,
    abandon_on_cancel: bool = False,
) -> Future[T]:
    """Like ``call_in_worker_thread``, as an operation of the runtime: return its Future."""

    async def call() -> T:
        return await call_in_worker_thread(
            fn, *args, limiter=limiter, abandon_on_cancel=abandon_on_cancel
        )

    return get_runtime().submit(call)


# --- the hand-off back to the awaiting trio task


@attrs.define(eq=False)
class _Handoff:
    """Carries one outcome from a foreign thread back to the awaiting trio task."""

    _token: trio.lowlevel.TrioToken
    _thread: int = attrs.field(init=False, factory=threading.get_ident)
    _event: trio.Event = attrs.field(init=False, factory=trio.Event)
    _ok: bool = attrs.field(init=False, default=False)
    _value: Any = attrs.field(init=False, default=None)

    def deliver(self, ok: bool, value: object) -> None:
        """Hand over the outcome (from any thread); only the first one counts."""
        if threading.get_ident() == self._thread:
            self._set(ok, value)
            return
        with contextlib.suppress(trio.RunFinishedError):  # else the awaiting side is gone
            self._token.run_sync_soon(self._set, ok, value)

    def _set(self, ok: bool, value: object) -> None:
        if not self._event.is_set():
            self._ok, self._value = ok, value
            self._event.set()

    async def wait(self, dead: Callable[[], str | None], cancel: Callable[[], object]) -> Any:
        """Wait for the outcome; ``dead()`` names why it can never come, ``cancel()`` stops it."""
        try:
            while not self._event.is_set():
                with trio.move_on_after(LIVENESS_CHECK_SECONDS):
                    await self._event.wait()
                if not self._event.is_set() and (reason := dead()) is not None:
                    raise RuntimeError(reason)
        except trio.Cancelled:
            cancel()
            raise
        if self._ok:
            return self._value
        raise self._value


def _describe(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


# --- asyncio


async def _call_on_asyncio(
    loop: asyncio.AbstractEventLoop,
    handoff: _Handoff,
    fn: Callable[..., Any],
    args: tuple[object, ...],
) -> Any:
    where = f"cannot run {_describe(fn)} on {AsyncioLoop(loop)}"
    if loop.is_closed():
        raise RuntimeError(f"{where}: the loop is closed")
    if not loop.is_running():
        raise RuntimeError(f"{where}: the loop is not running")
    # Touched only on the loop's thread.
    state: dict[str, Any] = {"task": None, "cancelled": False}

    def finish(task: asyncio.Future[Any]) -> None:
        if task.cancelled():
            if not state["cancelled"]:
                handoff.deliver(False, RuntimeError(f"{where}: the task was cancelled by its loop"))
        elif (error := task.exception()) is not None:
            handoff.deliver(False, error)
        else:
            handoff.deliver(True, task.result())

    def start() -> None:
        if state["cancelled"]:
            return
        try:
            result = fn(*args)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                state["task"] = task
                task.add_done_callback(finish)
                return
        except BaseException as exc:
            handoff.deliver(False, exc)
            return
        handoff.deliver(True, result)

    def cancel_there() -> None:
        state["cancelled"] = True
        if state["task"] is not None:
            state["task"].cancel()

    def cancel() -> None:
        with contextlib.suppress(RuntimeError):  # else closed: nothing left to cancel
            loop.call_soon_threadsafe(cancel_there)

    stopped_checks = 0

    def dead() -> str | None:
        nonlocal stopped_checks
        if loop.is_closed():
            return f"{where}: the loop was closed before the call completed"
        # A loop is briefly not running between run_until_complete() calls;
        # only a loop that stays stopped is given up on.
        stopped_checks = 0 if loop.is_running() else stopped_checks + 1
        if stopped_checks >= 2:
            return f"{where}: the loop stopped before the call completed"
        return None

    try:
        loop.call_soon_threadsafe(start)
    except RuntimeError as exc:
        raise RuntimeError(f"{where}: the loop is closed") from exc
    return await handoff.wait(dead, cancel)


# --- trio


async def _call_on_trio(
    token: trio.lowlevel.TrioToken,
    handoff: _Handoff,
    fn: Callable[..., Any],
    args: tuple[object, ...],
) -> Any:
    where = f"cannot run {_describe(fn)} in {TrioRun(token)}"
    # Touched only on the foreign run's thread.
    state: dict[str, Any] = {"scope": None, "cancelled": False}

    async def runner() -> None:
        if state["cancelled"]:
            return
        with trio.CancelScope() as scope:
            state["scope"] = scope
            try:
                result = fn(*args)
                if inspect.isawaitable(result):
                    result = await result
            except trio.Cancelled:
                if not state["cancelled"]:
                    handoff.deliver(False, RuntimeError(f"{where}: the run finished first"))
                # A system task must not let Cancelled escape its own scope's reach.
                raise
            except BaseException as exc:
                # Anything escaping a system task would crash the foreign run.
                handoff.deliver(False, exc)
            else:
                handoff.deliver(True, result)

    def start() -> None:
        try:
            trio.lowlevel.spawn_system_task(runner, name=fn)
        except RuntimeError:  # the run is shutting down
            handoff.deliver(False, RuntimeError(f"{where}: the run is finishing"))

    def cancel_there() -> None:
        state["cancelled"] = True
        if state["scope"] is not None:
            state["scope"].cancel()

    def cancel() -> None:
        with contextlib.suppress(trio.RunFinishedError):  # else nothing left to cancel
            token.run_sync_soon(cancel_there)

    def dead() -> str | None:
        try:
            token.run_sync_soon(_nothing)
        except trio.RunFinishedError:
            return f"{where}: the run finished before the call completed"
        return None

    try:
        token.run_sync_soon(start)
    except trio.RunFinishedError as exc:
        raise RuntimeError(f"{where}: the run has finished") from exc
    return await handoff.wait(dead, cancel)


def _nothing() -> None:
    pass
