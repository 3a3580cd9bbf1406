"""``ts.virtual_chunked``: a TensorStore whose chunks are computed and stored by user callbacks.

Each chunk is a chunk cache entry like any other (see ``chunk_source``): the
cache pool of the context keeps computed chunks, the generation a callback
returns drives revalidation (``if_not_equal``) and conditional writeback
(``if_equal``), and partial writes coalesce per chunk.

Where callbacks run (DESIGN.md, "The runtime"): a coroutine function runs on
the asyncio loop given as ``loop=``, else on the asyncio loop or trio run
that called ``virtual_chunked``; a plain function runs in a worker thread
under a limiter of its own (per store, :data:`CALLBACK_THREADS`), never under
``data_copy_concurrency``: a callback that blocks on another tensortrio
operation cannot starve the pool that operation needs. No callback runs on the
runtime thread, so callbacks may await or block on other stores freely.
Cancelling a read cancels the coroutine callbacks' tasks on their loop; the
calls of a plain function, running in threads or queued for one, still run
(a thread cannot be interrupted), as tensorstore's do.
"""

from __future__ import annotations

import inspect
import math
import os
import time
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs
import numpy as np
import outcome
import trio

from ..errors import InvalidArgumentError, UnimplementedError
from ..index import IndexDomain
from ..index.interval import INF
from ..index.resolve import resolve_bounds
from ..runtime import Future
from ..runtime._dispatch import call_in_worker_thread, call_on_loop, capture_callback_loop
from .chunk_source import (
    UNVERSIONED,
    ChunkRead,
    ChunkReadRequest,
    ChunkSourceCodec,
    ChunkSourceKvStore,
)
from .driver import Driver, ReadWriteMode
from .kvstore.generation import TimestampedStorageGeneration
from .tensorstore import TensorStore

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Sequence

    from ..actors.chunk_cache import ChunkCache
    from ..actors.transaction import TransactionState
    from ..index import IndexTransform
    from ..runtime import Promise
    from ..runtime._dispatch import CallbackLoop
    from ..schema.cache_revalidation import CacheRevalidationBound
    from ..schema.context import Context
    from ..schema.schema import Schema
    from .kvstore import KvStore

__all__ = [
    "CALLBACK_THREADS",
    "VirtualChunkedDriver",
    "VirtualChunkedReadParameters",
    "VirtualChunkedWriteParameters",
    "virtual_chunked",
]

T = TypeVar("T")

#: Worker threads one store's plain-function callbacks may occupy at once.
CALLBACK_THREADS: Final = 16


@attrs.frozen
class VirtualChunkedReadParameters:
    """Options passed to the read function of a ``virtual_chunked`` view."""

    if_not_equal: bytes = b""
    """Cached generation: if still current, the function may leave the array
    unmodified and return a stamp with an empty generation."""
    staleness_bound: float = -math.inf
    """Read content must be current as of this time (seconds since the epoch)."""
    batch: None = None


@attrs.frozen
class VirtualChunkedWriteParameters:
    """Options passed to the write function of a ``virtual_chunked`` view."""

    if_equal: bytes = b""
    """Generation the written content was based on (empty: unconditional)."""


VirtualChunkedReadParameters.__module__ = "tensortrio"
VirtualChunkedWriteParameters.__module__ = "tensortrio"


def _user_generation(generation: bytes) -> bytes:
    return b"" if generation == UNVERSIONED else generation


def _stamp(result: object, what: str) -> TimestampedStorageGeneration:
    if result is None:
        # No version: the content may be cached indefinitely.
        return TimestampedStorageGeneration._make(UNVERSIONED, math.inf)
    if not isinstance(result, TimestampedStorageGeneration):
        raise TypeError(
            f"virtual_chunked: {what} must return a KvStore.TimestampedStorageGeneration "
            f"or None, got {type(result).__name__}"
        )
    return result


@attrs.frozen
class _Returned:
    """An awaitable a plain read function returned (awaited on the callback loop)."""

    awaitable: Any
    array: np.ndarray
    part: tuple[slice, ...] | None


@attrs.define(eq=False)
class VirtualChunkSource:
    """The ``ChunkSource`` of a virtual_chunked store: cells become calls of the callbacks."""

    domain: IndexDomain
    chunk_shape: tuple[int, ...]
    grid_origin: tuple[int, ...]
    dtype: np.dtype[Any]
    read_function: Callable[..., Any] | None
    write_function: Callable[..., Any] | None
    loop: CallbackLoop | None
    inner_order: tuple[int, ...] | None = None
    """The order of the arrays the callbacks get, outermost dimension first (None: C order)."""
    _limiter: trio.CapacityLimiter | None = attrs.field(init=False, default=None)

    def _new_array(self, shape: tuple[int, ...]) -> np.ndarray:
        """An uninitialised array of ``shape`` laid out in ``inner_order`` (as tensorstore's callbacks get)."""
        order = self.inner_order
        if order is None:
            return np.empty(shape, self.dtype)
        laid_out = np.empty([shape[i] for i in order], self.dtype)
        return laid_out.transpose(np.argsort(order))

    def _box(self, cell: tuple[int, ...]) -> tuple[IndexDomain, tuple[slice, ...] | None]:
        """The domain of ``cell`` clipped to the store's, and the chunk part it covers (None: all)."""
        lo = [o + c * s for o, c, s in zip(self.grid_origin, cell, self.chunk_shape, strict=True)]
        hi = [
            min(x + s, d.exclusive_max)
            for x, s, d in zip(lo, self.chunk_shape, self.domain, strict=True)
        ]
        lo = [max(x, d.inclusive_min) for x, d in zip(lo, self.domain, strict=True)]
        starts = [
            x - (o + c * s)
            for x, o, c, s in zip(lo, self.grid_origin, cell, self.chunk_shape, strict=True)
        ]
        part = tuple(slice(a, a + h - x) for a, x, h in zip(starts, lo, hi, strict=True))
        full = all(
            p.start == 0 and p.stop == s for p, s in zip(part, self.chunk_shape, strict=True)
        )
        box = IndexDomain(inclusive_min=lo, exclusive_max=hi, labels=self.domain.labels)
        return box, None if full else part

    def valid_part(self, cell: tuple[int, ...]) -> tuple[slice, ...] | None:
        """The part of ``cell``'s chunk inside the domain (None: all of it)."""
        return self._box(cell)[1]

    async def _call(self, fn: Callable[..., Any], *args: object) -> Any:
        if inspect.iscoroutinefunction(fn):
            if self.loop is None:  # unpickled where no loop was running
                raise _no_loop_error("the callback")
            return await call_on_loop(self.loop, fn, *args)
        # Boxed: trio refuses a coroutine returned from a thread, and a plain
        # function may return one (awaited on the loop below).
        (result,) = await self._call_sync(lambda: (fn(*args),))
        if inspect.isawaitable(result):
            return await self._await_on_loop(fn, result)
        return result

    async def _await_on_loop(self, fn: Callable[..., Any], awaitable: Any) -> Any:
        """Await what a plain function returned: a ``ts.Future`` here, a coroutine on the callback loop.

        TensorStore types a callback's result as ``FutureLike``: a ``ts.Future``
        (``ts.Future(None)``, a ``Promise``'s future) resolves on the runtime,
        needing no loop.
        """
        if isinstance(awaitable, Future):
            return await awaitable
        if self.loop is None:
            if inspect.iscoroutine(awaitable):
                awaitable.close()
            raise InvalidArgumentError(
                f"virtual_chunked: {getattr(fn, '__qualname__', fn)!r} returned an awaitable "
                "but there is no event loop to run it (pass loop=, or create the view "
                "inside a running asyncio loop or trio run)"
            )
        return await call_on_loop(self.loop, lambda: awaitable)

    async def read_chunks(
        self, requests: Sequence[ChunkReadRequest]
    ) -> list[ChunkRead | Exception]:
        fn = self.read_function
        if fn is None:
            # Only a partial chunk write of a write-only view reads (TensorStore's message).
            error = InvalidArgumentError(
                "Write-only virtual chunked view requires chunk-aligned writes"
            )
            return [error] * len(requests)
        results: list[ChunkRead | Exception] = [ValueError("not read")] * len(requests)
        if inspect.iscoroutinefunction(fn):

            async def one(i: int) -> None:
                try:
                    results[i] = await self._read_one(requests[i])
                except Exception as exc:
                    results[i] = exc

            async with trio.open_nursery() as nursery:
                for i in range(len(requests)):
                    nursery.start_soon(one, i)
            return results
        # Plain functions: a few chunks per worker-thread hop (a hop costs more than a
        # small chunk), in as many groups as there are threads to run them.
        groups = min(len(requests), CALLBACK_THREADS, 2 * (os.cpu_count() or 1))
        size = -(-len(requests) // groups)

        async def group(start: int) -> None:
            part = list(range(start, min(start + size, len(requests))))
            outcomes = await self._call_sync(lambda: [self._read_sync(requests[i]) for i in part])
            for i, result in zip(part, outcomes, strict=True):
                if isinstance(result, _Returned):
                    # The plain function returned a coroutine: it runs on the loop.
                    try:
                        value = await self._await_on_loop(fn, result.awaitable)
                        results[i] = self._finish(requests[i], result.array, result.part, value)
                    except Exception as exc:
                        results[i] = exc
                else:
                    results[i] = result

        async with trio.open_nursery() as nursery:
            for start in range(0, len(requests), size):
                nursery.start_soon(group, start)
        return results

    def _prepare(
        self, request: ChunkReadRequest
    ) -> tuple[IndexDomain, np.ndarray, tuple[slice, ...] | None, VirtualChunkedReadParameters]:
        domain, part = self._box(request.cell)
        array = self._new_array(tuple(domain.shape))
        params = VirtualChunkedReadParameters(
            _user_generation(request.if_not_equal), request.staleness_bound
        )
        return domain, array, part, params

    def _finish(
        self,
        request: ChunkReadRequest,
        array: np.ndarray,
        part: tuple[slice, ...] | None,
        result: object,
    ) -> ChunkRead:
        stamp = _stamp(result, "read_function")
        if stamp.time < request.staleness_bound:
            # Computed after the read began, the content is current as of its bound
            # (an older time, e.g. a file's mtime, would never satisfy the read).
            stamp = TimestampedStorageGeneration._make(stamp.generation, request.staleness_bound)
        if request.if_not_equal and stamp.generation in (b"", request.if_not_equal):
            return ChunkRead(
                None, TimestampedStorageGeneration._make(request.if_not_equal, stamp.time)
            )
        if not stamp.generation:
            stamp = TimestampedStorageGeneration._make(UNVERSIONED, stamp.time)
        if part is None:
            return ChunkRead(array, stamp)
        chunk = np.zeros(self.chunk_shape, self.dtype)
        chunk[part] = array
        return ChunkRead(chunk, stamp)

    def _read_sync(self, request: ChunkReadRequest) -> ChunkRead | Exception | _Returned:
        """One read by a plain function, in a worker thread."""
        assert self.read_function is not None
        try:
            domain, array, part, params = self._prepare(request)
            result = self.read_function(domain, array, params)
            if inspect.isawaitable(result):
                return _Returned(result, array, part)
            return self._finish(request, array, part, result)
        except Exception as exc:
            return exc

    async def _read_one(self, request: ChunkReadRequest) -> ChunkRead:
        assert self.read_function is not None
        domain, array, part, params = self._prepare(request)
        result = await self._call(self.read_function, domain, array, params)
        return self._finish(request, array, part, result)

    async def _call_sync(self, fn: Callable[[], T]) -> T:
        if self._limiter is None:
            self._limiter = trio.CapacityLimiter(CALLBACK_THREADS)
        return await call_in_worker_thread(fn, limiter=self._limiter)

    async def write_chunk(
        self, cell: tuple[int, ...], chunk: np.ndarray, *, if_equal: bytes
    ) -> TimestampedStorageGeneration:
        assert self.write_function is not None, "writes are refused for read-only views"
        domain, part = self._box(cell)
        array = chunk if part is None else chunk[part]
        if self.inner_order is not None or not array.flags.c_contiguous:
            laid_out = self._new_array(array.shape)
            laid_out[...] = array
            array = laid_out
        params = VirtualChunkedWriteParameters(_user_generation(if_equal))
        stamp = _stamp(
            await self._call(self.write_function, domain, array, params), "write_function"
        )
        if not stamp.generation:
            # A virtual write never reports a conflict: success with an unknown version.
            return TimestampedStorageGeneration._make(UNVERSIONED, stamp.time)
        return stamp


@attrs.define(eq=False)
class VirtualChunkedDriver(Driver):
    """An opened virtual_chunked store."""

    source: VirtualChunkSource
    cache: ChunkCache
    _schema: Schema
    _context: Context
    resources: dict[str, Any]
    recheck_cached_data: CacheRevalidationBound
    open_time: float
    options: dict[str, Any]
    """What re-creating the store needs (for pickling), callbacks included."""

    @property
    def driver_id(self) -> str:
        return "virtual_chunked"

    @property
    def callback_home(self) -> CallbackLoop | None:
        """The loop the coroutine callbacks run on (None when both are plain functions)."""
        source = self.source
        if any(
            fn is not None and inspect.iscoroutinefunction(fn)
            for fn in (source.read_function, source.write_function)
        ):
            return source.loop
        return None

    @property
    def numpy_dtype(self) -> np.dtype[Any]:
        return self.source.dtype

    @property
    def context(self) -> Context:
        return self._context

    def schema(self) -> Schema:
        return self._schema

    def base_domain(self) -> IndexDomain:
        return self.source.domain

    def kvstore(self) -> KvStore | None:
        return None

    def spec_members(self, *, minimal: bool, unbind_context: bool) -> dict[str, Any]:
        raise UnimplementedError(
            'Error converting object member "driver": JSON representation not supported '
            "(virtual_chunked stores are made by ts.virtual_chunked, not from a spec)"
        )

    def context_json(self) -> dict[str, Any]:
        return {name: resource.to_json() for name, resource in sorted(self.resources.items())}

    def reduce_store(self, transform: IndexTransform, rw: ReadWriteMode) -> tuple[Any, ...]:
        """Pickle the callbacks and options; the loop is not kept (as TensorStore)."""
        return (_unpickle, (self.options, transform.to_json(), rw.read, rw.write))

    async def resolve(self, transform: IndexTransform) -> IndexTransform:
        return resolve_bounds(self.source.domain, transform)

    async def read(
        self,
        transform: IndexTransform,
        *,
        generations: dict[tuple[int, ...], bytes] | None = None,
    ) -> np.ndarray:
        """Read ``transform``'s region; ``generations`` as :func:`~.chunked_io.read_chunked` takes it."""
        from .chunk_source import operation_scope
        from .chunked_io import read_chunked

        bound = self.recheck_cached_data.staleness_bound(self.open_time)
        bound = min(bound, time.time())
        async with trio.open_nursery() as nursery:
            with operation_scope(nursery, bound):
                result = await outcome.acapture(
                    read_chunked,
                    self.cache,
                    transform,
                    staleness_bound=bound,
                    generations=generations,
                )
            if isinstance(result, outcome.Error):
                nursery.cancel_scope.cancel()  # the callbacks of chunks no longer wanted
        array: np.ndarray = result.unwrap()
        return array

    async def write(
        self, transform: IndexTransform, source: np.ndarray, copied: Promise[None]
    ) -> None:
        from .chunked_io import write_chunked_async

        await write_chunked_async(self.cache, transform, source, copied)

    async def stored_cells(
        self, transform: IndexTransform, transaction: TransactionState | None = None
    ) -> tuple[int, int]:
        from ..index.partition import partition_index_transform

        cells = len(
            partition_index_transform(
                transform, self.source.chunk_shape, self.source.grid_origin
            ).cells
        )
        return cells, cells  # computed content is always "stored"

    async def resize(
        self,
        transform: IndexTransform,
        inclusive_min: Sequence[int | None],
        exclusive_max: Sequence[int | None],
        *,
        resize_metadata_only: bool,
        resize_tied_bounds: bool,
        expand_only: bool,
        shrink_only: bool,
        transaction: TransactionState | None = None,
    ) -> IndexTransform:
        raise UnimplementedError("virtual_chunked: Resize not supported")


def _no_loop_error(name: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"virtual_chunked: {name} is a coroutine function but there is no event loop "
        "to run it: pass loop=, or call virtual_chunked inside a running asyncio "
        "loop or trio run"
    )


def _unpickle(
    options: dict[str, Any], transform_json: dict[str, Any], read: bool, write: bool
) -> TensorStore:
    from ..index import IndexTransform

    # As TensorStore: the loop is the one running here, if any (checked when a callback runs).
    store = virtual_chunked(**options, _unpickling=True)
    return TensorStore(
        store._driver, IndexTransform(json=transform_json), ReadWriteMode(read, write)
    )


def virtual_chunked(
    read_function: Callable[..., Any] | None = None,
    write_function: Callable[..., Any] | None = None,
    *,
    loop: asyncio.AbstractEventLoop | None = None,
    rank: int | None = None,
    dtype: Any = None,
    domain: IndexDomain | None = None,
    shape: Sequence[int] | None = None,
    chunk_layout: Any = None,
    dimension_units: Sequence[Any] | None = None,
    schema: Schema | None = None,
    context: Context | None = None,
    transaction: Any = None,
    recheck_cached_data: Any = None,
    _unpickling: bool = False,
) -> TensorStore:
    """Creates a TensorStore whose content is read/written chunk-wise by arbitrary functions.

    ``read_function(domain, array, params)`` fills ``array`` (the chunk's
    part of the domain, ``domain``) and returns a
    ``KvStore.TimestampedStorageGeneration`` or None (cache indefinitely);
    ``write_function(domain, array, params)`` stores it likewise. With a
    ``transaction``, the returned view is bound to it: writes are staged
    and ``write_function`` is called for each written chunk on commit. Either may
    be a coroutine function (runs on ``loop``, else the asyncio loop or trio
    run calling this) or a plain function (runs in a worker thread).

    Caching takes a context with a non-zero ``cache_pool``;
    ``recheck_cached_data`` (a tensortrio extension, TensorStore's
    ``RecheckCacheOption``, default True) says when cached chunks are
    revalidated with ``if_not_equal``.

    Raises:
      InvalidArgumentError: no dtype or domain, no callback, or a coroutine
        function with no loop to run it.
      TypeError: ``transaction`` is not a ``ts.Transaction``.
    """
    from ..actors.cache_pool import CachePool
    from ..actors.chunk_cache import ChunkCache
    from ..schema.cache_revalidation import DEFAULT_RECHECK_CACHED_DATA, CacheRevalidationBound
    from ..schema.chunk_shape import choose_read_write_chunk_grid
    from ..schema.context import Context as _Context
    from ..schema.schema import Schema as _Schema
    from ..transaction import check_transaction

    txn = check_transaction(transaction, "virtual_chunked")
    if read_function is None and write_function is None:
        raise InvalidArgumentError("virtual_chunked: specify read_function and/or write_function")
    for name, fn in (("read_function", read_function), ("write_function", write_function)):
        if fn is not None and not callable(fn):
            raise TypeError(f"virtual_chunked: {name} must be callable, got {fn!r}")
    callback_loop = capture_callback_loop(loop)
    if callback_loop is None and not _unpickling:
        for name, fn in (("read_function", read_function), ("write_function", write_function)):
            if fn is not None and inspect.iscoroutinefunction(fn):
                raise _no_loop_error(name)
    keywords = {
        "rank": rank,
        "dtype": dtype,
        "domain": domain,
        "shape": shape,
        "chunk_layout": chunk_layout,
        "dimension_units": dimension_units,
        "schema": schema,
    }
    constraints = _Schema(**{k: v for k, v in keywords.items() if v is not None})
    if constraints.dtype is None:
        raise InvalidArgumentError("virtual_chunked: dtype must be specified")
    store_domain = constraints.domain
    if store_domain is None:
        if constraints.rank is None:
            raise InvalidArgumentError("virtual_chunked: domain or rank must be specified")
        # As tensorstore: a rank alone is an unbounded domain (its reads give the bounds).
        store_domain = IndexDomain(
            inclusive_min=[-INF] * constraints.rank, exclusive_max=[INF + 1] * constraints.rank
        )
    grid = choose_read_write_chunk_grid(constraints.chunk_layout, store_domain)
    # As tensorstore: the callbacks' arrays are laid out in the layout's inner order.
    inner_order = constraints.chunk_layout.inner_order
    if inner_order == tuple(range(len(inner_order or ()))):
        inner_order = None
    numpy_dtype = constraints.dtype.numpy_dtype
    rank_ = store_domain.rank
    schema_json: dict[str, Any] = {
        "rank": rank_,
        "dtype": constraints.dtype.name,
        "domain": store_domain.to_json(),
        "chunk_layout": {
            "grid_origin": list(grid.origin),
            "inner_order": list(inner_order or range(rank_)),
            "read_chunk": {"shape": list(grid.shape)},
            "write_chunk": {"shape": list(grid.shape)},
        },
    }
    out_schema = _Schema(schema_json)
    if constraints.dimension_units is not None:
        out_schema.update(dimension_units=constraints.dimension_units)
    ctx = context if context is not None else _Context()
    pool = ctx.get_resource("cache_pool", None)
    copy_resource = ctx.get_resource("data_copy_concurrency", None)
    source = VirtualChunkSource(
        store_domain,
        tuple(grid.shape),
        tuple(grid.origin),
        numpy_dtype,
        read_function,
        write_function,
        callback_loop,
        inner_order,
    )
    kvstore = ChunkSourceKvStore(source)
    cache = ChunkCache(
        kvstore=kvstore,
        codec=ChunkSourceCodec(kvstore, np.zeros((), numpy_dtype)),
        pool=CachePool.for_resource(pool),
        data_copy_concurrency=copy_resource,
        grid_origin=tuple(grid.origin),
        store_data_equal_to_fill_value=True,  # computed chunks are never "deleted"
        valid_part=source.valid_part,
        name="virtual_chunked",
    )
    recheck = (
        DEFAULT_RECHECK_CACHED_DATA
        if recheck_cached_data is None
        else CacheRevalidationBound.from_option(recheck_cached_data, "recheck_cached_data")
    )
    options = {
        "read_function": read_function,
        "write_function": write_function,
        "dtype": constraints.dtype.name,
        "domain": store_domain,
        "chunk_layout": out_schema.chunk_layout,
        "dimension_units": constraints.dimension_units,
        "context": ctx,
        "recheck_cached_data": recheck_cached_data,
    }
    driver = VirtualChunkedDriver(
        source,
        cache,
        out_schema,
        ctx,
        {"cache_pool": pool, "data_copy_concurrency": copy_resource},
        recheck,
        time.time(),
        options,
    )
    rw = ReadWriteMode(read_function is not None, write_function is not None)
    return TensorStore(driver, store_domain.identity_transform(), rw, txn)
