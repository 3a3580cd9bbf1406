"""``WriteFutures``: the two futures of a write (``copy`` and ``commit``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from ._future import Future, Seconds

__all__ = ["WriteFutures"]


class WriteFutures:
    """Handle for consuming the result of an asynchronous write operation.

    ``copy`` completes once the source has been read and may be reused;
    ``commit`` once the write is durable (or, in a transaction, visible to
    reads in that transaction). The handle itself behaves as ``commit``:
    ``await``, ``result()``, ``cancel()`` and the rest forward to it.
    """

    __slots__ = ("_commit", "_copy")
    __module__ = "tensortrio"

    def __init__(self, copy: Future[None], commit: Future[None]) -> None:
        self._copy = copy
        self._commit = commit

    @property
    def copy(self) -> Future[None]:
        """Completes once the source array is no longer accessed."""
        return self._copy

    @property
    def commit(self) -> Future[None]:
        """Completes once the write is durable (or visible within its transaction)."""
        return self._commit

    def __reduce__(self) -> Any:
        raise TypeError("cannot pickle 'tensortrio.WriteFutures' object")

    def __await__(self) -> Generator[Any, None, None]:
        return self._commit.__await__()

    def done(self) -> bool:
        """Return whether the commit future is done."""
        return self._commit.done()

    def cancelled(self) -> bool:
        """Return whether the commit future was cancelled."""
        return self._commit.cancelled()

    def cancel(self) -> bool:
        """Cancel the commit future (and so the write); False if already done."""
        return self._commit.cancel()

    def result(self, timeout: Seconds | None = None, deadline: Seconds | None = None) -> None:
        """Block until the write is committed; see ``Future.result``."""
        return self._commit.result(timeout=timeout, deadline=deadline)

    def exception(
        self, timeout: Seconds | None = None, deadline: Seconds | None = None
    ) -> BaseException | None:
        """Block until the write is committed and return its error, or None."""
        return self._commit.exception(timeout=timeout, deadline=deadline)

    def add_done_callback(self, callback: Callable[[Future[None]], object]) -> None:
        """Call ``callback(commit_future)`` once the commit future is done."""
        self._commit.add_done_callback(callback)

    def remove_done_callback(self, callback: Callable[[Future[None]], object]) -> int:
        """Unregister ``callback`` from the commit future; return how many were removed."""
        return self._commit.remove_done_callback(callback)
