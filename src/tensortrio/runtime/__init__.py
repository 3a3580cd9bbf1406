"""Where code runs: the loop host, futures, and crossing loops and threads."""

from ._concurrently import concurrently as concurrently
from ._dispatch import AsyncioLoop as AsyncioLoop
from ._dispatch import CallbackLoop as CallbackLoop
from ._dispatch import TrioRun as TrioRun
from ._dispatch import call_in_worker_thread as call_in_worker_thread
from ._dispatch import call_on_loop as call_on_loop
from ._dispatch import capture_callback_loop as capture_callback_loop
from ._dispatch import run_in_worker_thread as run_in_worker_thread
from ._dispatch import run_on_loop as run_on_loop
from ._future import Future as Future
from ._future import Promise as Promise
from ._future import wait_done as wait_done
from ._lanes import LanesStatistics as LanesStatistics
from ._lanes import WorkerLanes as WorkerLanes
from ._runtime import Runtime as Runtime
from ._runtime import get_runtime as get_runtime
from ._runtime import run_async as run_async
from ._runtime_thread import in_runtime_thread as in_runtime_thread
from ._write_futures import WriteFutures as WriteFutures
