"""``ts.Batch``: hold read operations back until ``submit()``, then issue them together.

Reads given ``batch=`` (``TensorStore.read``, ``KvStore.read``, ``ts.open``,
``TensorStore.resolve``) return their future at once but start only when the
batch is submitted; then they all start in the same step, so the chunk cache
and the KvStore actor coalesce them: every chunk (kvstore key) they share is
read once.

A batch is submitted by :meth:`Batch.submit`, when a ``with`` / ``async
with`` block ends (even on an exception), and when it is garbage collected
(TensorStore users deadlock awaiting a batched read whose batch they forgot
to submit: tensorstore issue 249; dropping the batch releases them).
Awaiting a batched read before its batch is submitted still waits for the
submit. Adding an operation to a submitted batch is refused, as in
TensorStore (except ``ts.open``, which then simply opens).
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any, TypeVar

from .actors.batch import BatchRun
from .runtime import Future, get_runtime

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from types import TracebackType

__all__ = ["Batch", "check_batch", "submit_in_batch"]

T = TypeVar("T")


class Batch:
    """Batches a group of read operations; they start together when it is submitted."""

    __module__ = "tensortrio"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._run: BatchRun | None = BatchRun()

    def __repr__(self) -> str:
        return f"<tensortrio.Batch object at {id(self):#x}>"

    @property
    def submitted(self) -> bool:
        """Whether ``submit`` was called (tensortrio extension)."""
        return self._run is None

    def submit(self) -> None:
        """Starts every operation in the batch; later ones start at once. No effect if repeated."""
        with self._lock:
            run, self._run = self._run, None
        if run is not None and run.operations:
            get_runtime().submit(run.start, name="batch")

    def defer(self, async_fn: Callable[..., Awaitable[T]], *args: Any, name: str) -> Future[T]:
        """Run ``async_fn(*args)`` as a runtime operation once the batch is submitted."""
        with self._lock:
            run = self._run
            if run is not None:
                return run.add(async_fn, args, name)
        return get_runtime().submit(async_fn, *args, name=name)

    def __enter__(self) -> Batch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.submit()

    async def __aenter__(self) -> Batch:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.submit()

    def __del__(self) -> None:
        run = getattr(self, "_run", None)
        if run is not None and run.operations:
            # Never leave a batched read waiting forever for a submit that cannot come
            # (at interpreter exit the runtime may be gone: nothing is waiting then).
            with contextlib.suppress(RuntimeError):
                self.submit()


def check_batch(batch: Any, where: str, *, submitted_ok: bool = False) -> Batch | None:
    """``batch`` itself, once checked to be a ``ts.Batch`` (not submitted, unless ``submitted_ok``) or None.

    Raises:
      TypeError: naming ``where``.
      ValueError: the batch was already submitted.
    """
    if batch is not None and not isinstance(batch, Batch):
        raise TypeError(f"{where}: batch must be a ts.Batch or None, got {type(batch).__name__}")
    if batch is not None and batch.submitted and not submitted_ok:
        raise ValueError("batch was already submitted")
    return batch


def submit_in_batch(
    batch: Any,
    async_fn: Callable[..., Awaitable[T]],
    *args: Any,
    name: str,
    where: str,
    submitted_ok: bool = False,
) -> Future[T]:
    """Run ``async_fn(*args)`` now (``batch`` None) or when ``batch`` is submitted.

    Raises:
      TypeError: ``batch`` is neither None nor a ``ts.Batch`` (naming ``where``).
      ValueError: the batch was already submitted (unless ``submitted_ok``).
    """
    checked = check_batch(batch, where, submitted_ok=submitted_ok)
    if checked is None:
        return get_runtime().submit(async_fn, *args, name=name)
    return checked.defer(async_fn, *args, name=name)
