"""Chunk sources: chunks computed by code instead of stored under keys (virtual_chunked).

A :class:`ChunkSource` reads and writes whole chunks by grid cell and reports
a storage generation for each, which is all the chunk cache needs to cache,
revalidate and write back. :func:`chunk_source_cache_parts` adapts a source to
the ``ChunkKvStore`` + ``ChunkCodec`` pair that ``ChunkCache`` is built on, so
every virtual chunk is a cache entry like any other (same coalescing,
eviction and revalidation), with no encoding: the "stored value" handed from
the adapter's kvstore to its codec is the chunk array itself.

The adapter starts every chunk read or write at once (the cache issues a
window of them before awaiting any): inside an operation that registered a
nursery with :func:`operation_scope`, as a task of that operation (cancelling
the operation cancels the callbacks), else as a runtime operation of its own
(writebacks, which are shielded anyway).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from typing import TYPE_CHECKING, Any, Final, Protocol, cast

import attrs
import numpy as np
import trio

from .kvstore.read_result import ReadResult

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator, Sequence

    from numpy.typing import NDArray

    from .kvstore.generation import TimestampedStorageGeneration
    from .kvstore.value_buffer import Value

__all__ = [
    "ChunkRead",
    "ChunkReadRequest",
    "ChunkSource",
    "ChunkSourceCodec",
    "ChunkSourceKvStore",
    "operation_scope",
]

#: The generation of content whose producer gave no version ("cache indefinitely").
UNVERSIONED: Final = b"\x00unversioned"


@attrs.frozen
class ChunkReadRequest:
    """Read grid cell ``cell`` unless its generation is still ``if_not_equal``."""

    cell: tuple[int, ...]
    if_not_equal: bytes
    staleness_bound: float


@attrs.frozen
class ChunkRead:
    """The outcome of reading one chunk from a source.

    ``chunk`` is None when the source reported the content unchanged since
    ``if_not_equal`` (then only ``stamp.time`` matters).
    """

    chunk: NDArray[Any] | None
    stamp: TimestampedStorageGeneration


class ChunkSource(Protocol):
    """Where a chunk cache's chunks come from and go to (see the module docstring)."""

    @property
    def chunk_shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> np.dtype[Any]: ...

    async def read_chunks(
        self, requests: Sequence[ChunkReadRequest]
    ) -> list[ChunkRead | Exception]:
        """Each request's chunk (shape ``chunk_shape``), or its error.

        The requests are those issued together (one window of the cache), so
        a source may batch them (e.g. several per worker-thread hop).
        """
        ...

    async def write_chunk(
        self, cell: tuple[int, ...], chunk: NDArray[Any], *, if_equal: bytes
    ) -> TimestampedStorageGeneration:
        """Store ``chunk`` (shape ``chunk_shape``) for ``cell``; return its new generation."""
        ...


@attrs.frozen
class _Operation:
    nursery: trio.Nursery
    task: trio.lowlevel.Task
    staleness_bound: float


_OPERATION: contextvars.ContextVar[_Operation | None] = contextvars.ContextVar(
    "tensortrio_chunk_source_operation", default=None
)


@contextlib.contextmanager
def operation_scope(nursery: trio.Nursery, staleness_bound: float) -> Iterator[None]:
    """Run the chunk reads the current task starts in ``nursery``, with ``staleness_bound``."""
    token = _OPERATION.set(_Operation(nursery, trio.lowlevel.current_task(), staleness_bound))
    try:
        yield
    finally:
        _OPERATION.reset(token)


@attrs.define(eq=False)
class _Pending:
    """An awaitable result of a chunk read or write started elsewhere."""

    _done: trio.Event = attrs.field(init=False, factory=trio.Event)
    _value: Any = attrs.field(init=False, default=None)
    _error: BaseException | None = attrs.field(init=False, default=None)

    async def run(self, fn: Callable[[], Awaitable[Any]]) -> None:
        try:
            self._value = await fn()
        except Exception as exc:
            self._error = exc
        except trio.Cancelled as exc:
            self._error = exc
            raise
        finally:
            self._done.set()

    def succeed(self, value: Any) -> None:
        self._value = value
        self._done.set()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._done.set()

    def __await__(self) -> Any:
        return self._wait().__await__()

    async def _wait(self) -> Any:
        await self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value


def _start(fn: Callable[[], Awaitable[Any]], operation: _Operation | None) -> Awaitable[Any]:
    """Start ``fn`` now: in the operation's nursery if this task runs it, else on the runtime."""
    if operation is not None and operation.task is trio.lowlevel.current_task():
        pending = _Pending()
        operation.nursery.start_soon(pending.run, fn)
        return pending
    from ..runtime import get_runtime

    async def call() -> Any:
        return await fn()

    future: Awaitable[Any] = get_runtime().submit(call, name="chunk source")
    return future


@attrs.define(eq=False)
class ChunkSourceKvStore:
    """A ``ChunkKvStore`` over a source; keys are the codec's cell keys."""

    source: ChunkSource
    _batches: dict[_Operation | None, list[tuple[ChunkReadRequest, _Pending]]] = attrs.field(
        init=False, factory=dict
    )

    @staticmethod
    def key(cell: tuple[int, ...]) -> str:
        return "/".join(map(str, cell))

    @staticmethod
    def cell(key: str) -> tuple[int, ...]:
        return tuple(int(part) for part in key.split("/")) if key else ()

    def read(
        self, key: str, *, if_not_equal: bytes | None = None, staleness_bound: float | None = None
    ) -> Awaitable[ReadResult]:
        operation = _OPERATION.get()
        if operation is not None and operation.task is not trio.lowlevel.current_task():
            operation = None  # a writeback task that inherited an operation's context
        bound = -math.inf if operation is None else operation.staleness_bound
        request = ChunkReadRequest(self.cell(key), if_not_equal or b"", bound)
        pending = _Pending()
        # Reads issued in one step (the cache's window) go to the source as one batch.
        batch = self._batches.get(operation)
        if batch is None:
            batch = self._batches[operation] = []

            async def flush() -> None:
                requests = self._batches.pop(operation)
                try:
                    results = await self.source.read_chunks([r for r, _ in requests])
                except Exception as exc:
                    for _, waiter in requests:
                        waiter.fail(exc)
                    return
                except BaseException as exc:
                    for _, waiter in requests:
                        waiter.fail(exc)
                    raise
                for (_, waiter), result in zip(requests, results, strict=True):
                    if isinstance(result, Exception):
                        waiter.fail(result)
                    elif result.chunk is None:
                        waiter.succeed(ReadResult._make("unspecified", b"", result.stamp))
                    else:
                        # The codec passes the array through: no encoding for computed chunks.
                        value = cast("bytes", result.chunk)
                        waiter.succeed(ReadResult._make("value", value, result.stamp))

            _start(flush, operation)
        batch.append((request, pending))
        return pending

    def read_many_nowait(
        self, keys: Sequence[str], if_not_equal: Sequence[bytes]
    ) -> list[ReadResult | Exception]:
        # Sources are called in batches, on their own loop: never at once.
        raise trio.WouldBlock

    def worker_reads(self) -> None:
        # Sources run on their own loop, never in a decoding job.
        return None

    @property
    def keeps_written_values(self) -> bool:
        return True  # the source's write function may keep the chunk it is given

    def write(
        self, key: str, value: bytes | None, *, if_equal: bytes | None = None
    ) -> Awaitable[TimestampedStorageGeneration]:
        cell = self.cell(key)
        if value is None:
            raise ValueError(f"chunk source: chunk {list(cell)} cannot be deleted")
        chunk = cast("NDArray[Any]", value)

        async def write() -> TimestampedStorageGeneration:
            return await self.source.write_chunk(cell, chunk, if_equal=if_equal or b"")

        return _start(write, None)

    def write_owned(
        self, key: str, value: bytes | memoryview | None, *, if_equal: bytes = b""
    ) -> Awaitable[TimestampedStorageGeneration]:
        # The "encoded" value is the chunk array itself (see ``read``).
        return self.write(key, cast("bytes | None", value), if_equal=if_equal)

    def write_owned_nowait(
        self, key: str, value: bytes | memoryview | None, *, if_equal: bytes = b""
    ) -> TimestampedStorageGeneration:
        # Sources are called on their own loop: never at once.
        raise trio.WouldBlock


@attrs.define(eq=False)
class ChunkSourceCodec:
    """A ``ChunkCodec`` for a source: chunks pass through as arrays (no bytes)."""

    store: ChunkSourceKvStore
    fill_value: np.ndarray
    inline_codec_bytes: int = 1 << 62  # nothing to encode: never worth a thread hop

    @property
    def chunk_shape(self) -> tuple[int, ...]:
        return self.store.source.chunk_shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.store.source.dtype

    def chunk_key(self, cell: tuple[int, ...]) -> str:
        return self.store.key(cell)

    def decode(self, data: Value) -> np.ndarray:
        return cast("np.ndarray", data)

    def encode(self, chunk: np.ndarray) -> bytes:
        # The cache may reuse ``chunk`` (or it may view a writer's source): hand over a copy.
        return cast("bytes", np.array(chunk, copy=True))
