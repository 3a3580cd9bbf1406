"""The per-process runtime: one daemon thread running ``trio.run``.

Every operation (``submit``) runs on that thread as a task in its own cancel
scope; actors live in its service nursery (``start_service``). The runtime
starts on first use, never at import; a forked child starts a fresh one; at
interpreter exit it is cancelled and given a short grace period, so exit never
hangs.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import logging
import os
import threading
from typing import TYPE_CHECKING, Any, Final, TypeVar, TypeVarTuple

import attrs
import trio

from ._fork_imports import settle_imports
from ._future import Future
from ._runtime_thread import in_runtime_thread, mark_runtime_thread, unmark_runtime_thread

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["Runtime", "get_runtime", "run_async"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

logger = logging.getLogger("tensortrio.runtime")

#: How long interpreter exit waits for cancelled tasks (e.g. shielded commits) to unwind.
SHUTDOWN_GRACE_SECONDS: Final = 2.0


@attrs.define(eq=False)
class Runtime:
    """The loop host: a daemon thread running trio, its root and service nurseries."""

    _thread: threading.Thread | None = attrs.field(init=False, default=None)
    _token: trio.lowlevel.TrioToken | None = attrs.field(init=False, default=None)
    _nursery: trio.Nursery | None = attrs.field(init=False, default=None)
    _service_nursery: trio.Nursery | None = attrs.field(init=False, default=None)
    # Futures of operations not yet finished, so a forked child can fail them.
    _pending: set[Future[Any]] = attrs.field(init=False, factory=set)
    _stopped: bool = attrs.field(init=False, default=False)
    # Calls from other threads waiting for the runtime thread. A burst of
    # submits costs one wakeup of the runtime (one ``run_sync_soon``), not one
    # socket write and one loop pass per operation.
    _inbox: list[tuple[Callable[..., object], tuple[object, ...]]] = attrs.field(
        init=False, factory=list
    )
    _inbox_lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)
    _inbox_scheduled: bool = attrs.field(init=False, default=False)

    # --- public interface

    @property
    def trio_token(self) -> trio.lowlevel.TrioToken:
        """The token of the runtime's trio run (for ``run_sync_soon`` from other threads)."""
        assert self._token is not None, "runtime not started"
        return self._token

    @property
    def service_nursery(self) -> trio.Nursery:
        """The nursery holding long-lived tasks (actors); only valid on the runtime thread."""
        if not in_runtime_thread():
            raise RuntimeError("Runtime.service_nursery is only valid on the runtime thread")
        assert self._service_nursery is not None, "runtime not started"
        return self._service_nursery

    def in_runtime_thread(self) -> bool:
        """Return whether the caller runs on the runtime thread."""
        return in_runtime_thread()

    def submit(
        self, async_fn: Callable[[*Ts], Awaitable[T]], *args: *Ts, name: object = None
    ) -> Future[T]:
        """Run ``async_fn(*args)`` on the runtime as one operation; return its Future.

        Thread-safe from any thread, including the runtime thread itself. The
        operation runs in its own cancel scope, which ``Future.cancel()``
        cancels; its result or exception lands on the Future.
        """
        future: Future[T] = Future._pending()
        self._pending.add(future)
        if in_runtime_thread():
            self._spawn(future, async_fn, args, name)
        else:
            # A stopped runtime: _call_soon has failed the future.
            self._call_soon(self._spawn, (future, async_fn, args, name))
        return future

    def start_service(
        self, async_fn: Callable[[*Ts], Awaitable[object]], *args: *Ts, name: object = None
    ) -> None:
        """Start a long-lived task (an actor) in the service nursery.

        Callable without ``await`` from the runtime thread and from any other
        thread. An exception escaping the task is logged and ends only that task.
        """
        if in_runtime_thread():
            self._start_service_here(async_fn, args, name)
        else:
            if not self._call_soon(self._start_service_here, (async_fn, args, name)):
                raise trio.RunFinishedError("the tensortrio runtime has stopped")

    # --- crossing into the runtime thread

    def _call_soon(self, fn: Callable[..., object], args: tuple[object, ...]) -> bool:
        """Queue ``fn(*args)`` for the runtime thread, in order with other queued calls.

        Returns False if the runtime has stopped: then every queued submit's
        Future has been failed and nothing queued will run.
        """
        with self._inbox_lock:
            self._inbox.append((fn, args))
            if self._inbox_scheduled:
                return True
            self._inbox_scheduled = True
        assert self._token is not None, "runtime not started"
        try:
            self._token.run_sync_soon(self._drain_inbox)
        except trio.RunFinishedError:
            with self._inbox_lock:
                calls, self._inbox = self._inbox, []
                self._inbox_scheduled = False
            for queued, queued_args in calls:
                if queued == self._spawn:
                    future = queued_args[0]
                    assert isinstance(future, Future)
                    self._pending.discard(future)
                    future._set_exception(RuntimeError("the tensortrio runtime has stopped"))
            return False
        return True

    def _drain_inbox(self) -> None:
        with self._inbox_lock:
            calls, self._inbox = self._inbox, []
            self._inbox_scheduled = False
        for fn, args in calls:
            fn(*args)

    # --- operations (runtime thread)

    def _spawn(
        self,
        future: Future[T],
        async_fn: Callable[..., Awaitable[T]],
        args: tuple[object, ...],
        name: object,
    ) -> None:
        if future.done():  # cancelled before it started
            self._pending.discard(future)
            return
        assert self._nursery is not None
        try:
            self._nursery.start_soon(self._run_op, future, async_fn, args, name=name or async_fn)
        except RuntimeError:  # the root nursery is closing: the runtime is stopping
            self._pending.discard(future)
            future._set_exception(RuntimeError("the tensortrio runtime has stopped"))

    async def _run_op(
        self, future: Future[T], async_fn: Callable[..., Awaitable[T]], args: tuple[object, ...]
    ) -> None:
        failure: BaseException | None = None
        with trio.CancelScope() as scope:
            if not future._set_canceller(functools.partial(self._cancel_soon, scope)):
                self._pending.discard(future)
                return
            try:
                value = await async_fn(*args)
            except BaseException as exc:
                # Nothing escapes an operation: its outcome belongs to its Future.
                failure = exc
        # Settle last: whoever waits wakes up to a runtime with nothing left to do.
        self._pending.discard(future)
        if failure is None:
            future._set_result(value)
        else:
            _settle_failure(future, failure)

    def _cancel_soon(self, scope: trio.CancelScope) -> None:
        if in_runtime_thread():
            scope.cancel()
            return
        assert self._token is not None
        with contextlib.suppress(trio.RunFinishedError):
            self._token.run_sync_soon(scope.cancel)

    # --- services (runtime thread)

    def _start_service_here(
        self, async_fn: Callable[..., Awaitable[object]], args: tuple[object, ...], name: object
    ) -> None:
        assert self._service_nursery is not None
        label = name or async_fn
        self._service_nursery.start_soon(_run_service, async_fn, args, label, name=label)

    # --- lifecycle

    def _start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._thread_main, args=(ready,), name="tensortrio-runtime", daemon=True
        )
        self._thread.start()
        ready.wait()
        if self._stopped:
            raise RuntimeError("the tensortrio runtime failed to start")

    def _thread_main(self, ready: threading.Event) -> None:
        mark_runtime_thread()
        try:
            trio.run(self._main, ready)
        except BaseException:
            logger.exception("the tensortrio runtime stopped with an error")
        finally:
            self._stopped = True
            unmark_runtime_thread()
            ready.set()
            for future in list(self._pending):
                future.cancel()
            self._pending.clear()

    async def _main(self, ready: threading.Event) -> None:
        self._token = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self._service_nursery = await nursery.start(_host_services)
            ready.set()

    def _stop(self, grace: float) -> None:
        """Cancel every task and wait up to ``grace`` seconds for the thread to end."""
        thread, token, nursery = self._thread, self._token, self._nursery
        if thread is None or token is None or nursery is None or not thread.is_alive():
            return
        # From now on get_runtime() hands out a fresh runtime, not this dying one.
        self._stopped = True
        try:
            token.run_sync_soon(nursery.cancel_scope.cancel)
        except trio.RunFinishedError:
            return
        thread.join(grace)


def _settle_failure(future: Future[Any], exc: BaseException) -> None:
    # asyncio.CancelledError: the operation awaited a Future that was cancelled.
    if isinstance(exc, (trio.Cancelled, asyncio.CancelledError)):
        future.cancel()
        return
    if isinstance(exc, BaseExceptionGroup):
        _, rest = exc.split(trio.Cancelled)
        if rest is None:
            future.cancel()
            return
        future._set_exception(rest)
        return
    future._set_exception(exc)


async def _host_services(*, task_status: trio.TaskStatus[trio.Nursery]) -> None:
    async with trio.open_nursery() as services:
        task_status.started(services)
        await trio.sleep_forever()


async def _run_service(
    async_fn: Callable[..., Awaitable[object]], args: tuple[object, ...], label: object
) -> None:
    try:
        await async_fn(*args)
    except* Exception as group:
        # One crashed actor must not cancel every operation of the process.
        error = group.exceptions[0] if len(group.exceptions) == 1 else group
        logger.error("tensortrio service %r failed", label, exc_info=error)


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()
_exit_hook_registered = False


def get_runtime() -> Runtime:
    """Return this process's runtime, starting it on first use (or after a fork)."""
    global _exit_hook_registered, _runtime
    runtime = _runtime
    if runtime is not None and not runtime._stopped:
        return runtime
    with _runtime_lock:
        if _runtime is None or _runtime._stopped:
            if not _exit_hook_registered:
                atexit.register(_stop_at_exit)
                _exit_hook_registered = True
            fresh = Runtime()
            fresh._start()
            _runtime = fresh
        return _runtime


def run_async(async_fn: Callable[[*Ts], Awaitable[T]], *args: *Ts) -> T:
    """Run ``async_fn(*args)`` on the runtime and block for its result."""
    return get_runtime().submit(async_fn, *args).result()


def _stop_at_exit() -> None:
    runtime = _runtime
    if runtime is not None:
        runtime._stop(SHUTDOWN_GRACE_SECONDS)


def _after_fork_in_child() -> None:
    global _runtime, _runtime_lock
    # The parent's runtime thread does not exist here; its locks may have been
    # held at the moment of the fork.
    _runtime_lock = threading.Lock()
    unmark_runtime_thread()
    parent, _runtime = _runtime, None
    if parent is None:
        return
    parent._stopped = True
    for future in list(parent._pending):
        future._set_exception(
            RuntimeError("the operation was running in the parent process when it forked")
        )
    parent._pending.clear()


os.register_at_fork(before=settle_imports, after_in_child=_after_fork_in_child)
