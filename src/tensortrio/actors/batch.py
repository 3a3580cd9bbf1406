"""The operations one ``ts.Batch`` holds back, and how they start together.

A :class:`BatchRun` collects operations (an async function, its arguments and
the promise of its future) until the batch is submitted; then
:meth:`BatchRun.start` runs as one runtime operation that starts all of them
in one nursery, in one scheduling step. Their kvstore requests therefore
reach the KvStore actor in the same drain (where reads of one key are
coalesced into one I/O) and their chunk reads reach each cache entry while the
first is in flight (later readers wait for it instead of reading again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import trio

from ..errors import AbortedError
from ..runtime import Future, Promise

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["BatchRun", "BatchedOperation"]


@attrs.frozen
class BatchedOperation:
    """One operation waiting for its batch's submit."""

    async_fn: Callable[..., Awaitable[Any]]
    args: tuple[Any, ...]
    promise: Promise[Any]
    name: str


@attrs.define(eq=False)
class BatchRun:
    """The operations of one batch (see the module docstring)."""

    operations: list[BatchedOperation] = attrs.field(factory=list)

    def add(
        self, async_fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], name: str
    ) -> Future[Any]:
        promise: Promise[Any]
        future: Future[Any]
        promise, future = Promise.new()
        self.operations.append(BatchedOperation(async_fn, args, promise, name))
        return future

    async def start(self) -> None:
        """Run every operation concurrently; each outcome lands on its own future."""
        operations, self.operations = self.operations, []
        async with trio.open_nursery() as nursery:
            for operation in operations:
                nursery.start_soon(_run, operation, name=operation.name)


async def _run(operation: BatchedOperation) -> None:
    try:
        result = await operation.async_fn(*operation.args)
    except Exception as exc:
        operation.promise.set_exception(exc)
    except BaseException:
        operation.promise.set_exception(AbortedError(f"{operation.name}: batch was cancelled"))
        raise
    else:
        operation.promise.set_result(result)
