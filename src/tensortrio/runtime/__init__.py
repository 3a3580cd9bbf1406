"""Where code runs: the loop host, futures, and crossing loops and threads."""

from ._future import Future as Future
from ._future import Promise as Promise
from ._runtime import Runtime as Runtime
from ._runtime import get_runtime as get_runtime
from ._runtime import run_async as run_async
from ._runtime_thread import in_runtime_thread as in_runtime_thread
from ._write_futures import WriteFutures as WriteFutures
