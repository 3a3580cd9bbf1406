"""Process-level behaviour: Ctrl-C, fork and interpreter exit (each in a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

LIMIT = 60.0  # a subprocess that hangs fails the test via TimeoutExpired


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=LIMIT,
        check=False,
    )


def test_ctrl_c_interrupts_result_promptly() -> None:
    out = run_python(
        """
        import os, signal, threading, time
        import trio
        from tensortrio.runtime import get_runtime

        future = get_runtime().submit(trio.sleep_forever)

        def interrupt_once_blocked():
            while not future._wakers:  # the main thread registers just before it blocks
                time.sleep(0.001)
            global sent
            sent = time.monotonic()
            os.kill(os.getpid(), signal.SIGINT)

        threading.Thread(target=interrupt_once_blocked).start()
        try:
            future.result()
        except KeyboardInterrupt:
            print("interrupted", time.monotonic() - sent < 5)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["interrupted", "True"]


def test_ctrl_c_interrupts_result_with_timeout() -> None:
    out = run_python(
        """
        import os, signal, threading, time
        import trio
        from tensortrio.runtime import get_runtime

        future = get_runtime().submit(trio.sleep_forever)

        def interrupt_once_blocked():
            while not future._wakers:  # the main thread registers just before it blocks
                time.sleep(0.001)
            os.kill(os.getpid(), signal.SIGINT)

        threading.Thread(target=interrupt_once_blocked).start()
        try:
            future.result(timeout=1000)
        except KeyboardInterrupt:
            print("interrupted")
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["interrupted"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_gets_fresh_runtime() -> None:
    out = run_python(
        """
        import os, sys, threading
        import trio
        from tensortrio.runtime import get_runtime, run_async

        async def pid():
            await trio.lowlevel.checkpoint()
            return os.getpid()

        assert run_async(pid) == os.getpid()
        parent_runtime = get_runtime()
        in_flight = parent_runtime.submit(trio.sleep_forever)
        child = os.fork()
        if child == 0:
            try:
                assert get_runtime() is not parent_runtime
                assert run_async(pid) == os.getpid()
                # The parent's operation does not run here; waiting on it must not hang.
                error = in_flight.exception(timeout=30)
                assert "running in the parent process when it forked" in str(error), error
                print("child ok", flush=True)
            except BaseException as exc:
                print("child failed", repr(exc), flush=True)
                os._exit(1)
            sys.exit(0)  # a normal exit: atexit stops the child's runtime
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert run_async(pid) == os.getpid()
        assert get_runtime() is parent_runtime
        in_flight.cancel()
        print("parent ok", flush=True)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["child ok", "parent ok"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_before_first_use() -> None:
    out = run_python(
        """
        import os, threading
        import tensortrio
        from tensortrio.runtime import run_async

        async def one():
            return 1

        assert threading.active_count() == 1
        child = os.fork()
        if child == 0:
            os._exit(0 if run_async(one) == 1 else 1)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        print(run_async(one))
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_waits_for_an_import_the_runtime_thread_has_under_way(tmp_path: Path) -> None:
    # The runtime thread imports a module lazily; the parent forks halfway
    # through that import. The child must get the whole module, not the half
    # one (or a module lock owned by a thread it does not have).
    (tmp_path / "slow_module.py").write_text("import time\ntime.sleep(0.5)\nDONE = True\n")
    out = run_python(
        f"""
        import os, sys, time
        sys.path.insert(0, {str(tmp_path)!r})
        from tensortrio.runtime import get_runtime

        async def import_slowly():
            import slow_module
            return slow_module.DONE

        future = get_runtime().submit(import_slowly)
        while "slow_module" not in sys.modules:
            time.sleep(0.001)
        child = os.fork()
        if child == 0:
            import slow_module
            os._exit(0 if getattr(slow_module, "DONE", False) else 3)
        _, status = os.waitpid(child, 0)
        print(os.waitstatus_to_exitcode(status), future.result(timeout=30))
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "True"]


def test_exit_with_operations_and_services_in_flight() -> None:
    out = run_python(
        """
        import threading
        import trio
        from tensortrio.runtime import get_runtime

        async def stubborn():
            # Ignores cancellation for a while: exit must still not hang.
            with trio.CancelScope(shield=True):
                await trio.sleep(3600)

        async def actor():
            await trio.sleep_forever()

        runtime = get_runtime()
        futures = [runtime.submit(trio.sleep_forever) for _ in range(100)]
        futures.append(runtime.submit(stubborn))
        runtime.start_service(actor)
        runtime.start_service(stubborn)
        # A daemon thread blocked on an operation at exit.
        threading.Thread(target=futures[0].result, daemon=True).start()
        print("exiting", flush=True)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["exiting"]


def test_exit_cancels_operations_cleanly() -> None:
    out = run_python(
        """
        import atexit
        import trio
        from tensortrio.runtime import get_runtime

        saw = []

        async def op():
            try:
                await trio.sleep_forever()
            except trio.Cancelled:
                saw.append("cancelled")
                raise

        futures = []

        def report():
            print(saw, futures[0].cancelled(), flush=True)

        # Registered before the runtime starts (and registers its own hook), so it runs after it.
        atexit.register(report)
        futures.append(get_runtime().submit(op))
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['cancelled'] True"


def test_exit_hook_registered_before_first_use_can_still_use_the_runtime() -> None:
    out = run_python(
        """
        import atexit
        from tensortrio.runtime import run_async

        async def answer():
            return 42

        # Runs after the runtime's own exit hook has stopped it: a fresh runtime serves it.
        atexit.register(lambda: print(run_async(answer), flush=True))
        print(run_async(answer), flush=True)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["42", "42"]


def test_ctrl_c_interrupts_result_inside_trio_run() -> None:
    out = run_python(
        """
        import os, signal, threading, time
        import trio
        from tensortrio.runtime import get_runtime

        future = get_runtime().submit(trio.sleep_forever)

        def interrupt_once_blocked():
            while not future._wakers:
                time.sleep(0.001)
            os.kill(os.getpid(), signal.SIGINT)

        async def main():
            threading.Thread(target=interrupt_once_blocked).start()
            future.result()  # blocks this trio run; Ctrl-C must still get through

        try:
            trio.run(main)
        except KeyboardInterrupt:
            print("interrupted")
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["interrupted"]


def test_one_ctrl_c_interrupts_result_inside_asyncio_run() -> None:
    # asyncio.run answers the first Ctrl-C by cancelling its main task, which a
    # blocking result() never reaches: result() must notice and stop waiting.
    out = run_python(
        """
        import asyncio, os, signal, threading, time
        import trio
        from tensortrio.runtime import get_runtime

        future = get_runtime().submit(trio.sleep_forever)

        def interrupt_once_blocked():
            while not future._wakers:
                time.sleep(0.001)
            global sent
            sent = time.monotonic()
            os.kill(os.getpid(), signal.SIGINT)

        async def main():
            threading.Thread(target=interrupt_once_blocked).start()
            future.result()  # blocks this asyncio loop

        try:
            asyncio.run(main())
        except KeyboardInterrupt:
            print("interrupted", time.monotonic() - sent < 5)
        # Only this wait ended: the operation itself goes on until cancelled.
        print("operation pending", not future.done())
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["interrupted", "True", "operation", "pending", "True"]


def test_a_cancelled_asyncio_task_stops_waiting_in_result() -> None:
    out = run_python(
        """
        import asyncio, os, signal, threading, time
        import trio
        from tensortrio.runtime import get_runtime

        future = get_runtime().submit(trio.sleep_forever)

        async def main():
            task = asyncio.current_task()
            # A signal handler (it runs on this thread) cancels the task, as
            # asyncio.run's own SIGINT handler does.
            signal.signal(signal.SIGUSR1, lambda *args: task.cancel())

            def signal_once_blocked():
                while not future._wakers:
                    time.sleep(0.001)
                os.kill(os.getpid(), signal.SIGUSR1)

            threading.Thread(target=signal_once_blocked).start()
            try:
                future.result()
            except asyncio.CancelledError:
                print("cancelled", task.cancelling())
            # The request itself stays pending for the next await, where asyncio delivers it.
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:
                print("delivered")
            task.uncancel()
            # A later wait is not cut short by that old request.
            print(get_runtime().submit(trio.sleep, 0.2).result() is None)

        asyncio.run(main())
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["cancelled", "1", "delivered", "True"]
