"""Reading and writing a chunked array through its chunk cache.

``ts.TensorStore.read``/``write`` of chunked drivers call these:

- :func:`read_chunked` partitions the request over the chunk grid, brings each
  touched entry up to date (``staleness_bound``), and copies the chunks (or the
  fill value for missing ones) into a new array; a small box inside one chunk
  (the common request) skips the partition and is that chunk's part, copied;
- :func:`write_chunked` returns ``WriteFutures`` at once; the operation merges
  each chunk's part of the source into its entry (``copy`` resolves when all
  are taken) and waits for every affected writeback (``commit``);
- :func:`read_chunked_many` reads many small requests issued together: the
  chunks they share are brought up to date once, for all of them;
- :func:`delete_chunks` deletes stored chunks through the cache (resize).

Reads and writes work through the request in windows of chunks bounded by
``ChunkCache.work_budget_bytes`` so memory follows the cache pool limit and
the concurrency, not the size of the request; a read's windows are also
bounded by :data:`READ_WINDOW_CHUNKS` so that the Python objects a window
keeps alive stay few.
"""

from __future__ import annotations

import functools
import itertools
import time
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import attrs
import numpy as np
import trio

from ..actors.chunk_entry import WriteTicket
from ..actors.chunk_parts import copy_inline, selection_nbytes
from ..actors.shard_cache import ShardCache
from ..actors.worker_batch import run_jobs
from ..errors import AbortedError, InvalidArgumentError
from ..index.output_map import OutputIndexMethod
from ..index.partition import ChunkCellSelection, partition_index_transform
from ..runtime import Promise, WriteFutures, get_runtime
from .kvstore.value_buffer import new_array

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from numpy.typing import NDArray

    from ..actors.chunk_cache import ChunkCache
    from ..actors.chunk_entry import ChunkEntry
    from ..index.transform import IndexTransform

__all__ = [
    "ReadOutcome",
    "delete_chunks",
    "read_chunked",
    "read_chunked_many",
    "write_chunked",
    "write_chunked_async",
]

ReadOutcome: TypeAlias = "NDArray[Any] | Exception"
"""The array a read gives, or the error it fails with."""

READ_WINDOW_CHUNKS: Final = 256
"""At most this many chunks per window of a large read.

A window keeps a few Python objects per chunk alive until it is done
(selections, entries, read results). Thousands of them outlive the cyclic
garbage collector's young generations and make its full collections (tens
of milliseconds each in a large process) frequent: reading 4,096 chunks of
8 KiB in one window triggered one about every third read, in windows of 256
one every twentieth. (Writes keep their larger windows: a write's objects
live on in its writebacks, and smaller windows made file writes slower.)
"""

_MANY_MAX_CELLS: Final = 4
"""Requests touching more chunks than this are read on their own by :func:`read_chunked_many`."""


async def read_chunked(
    cache: ChunkCache,
    transform: IndexTransform,
    *,
    staleness_bound: float,
    batch: object = None,
    generations: dict[tuple[int, ...], bytes] | None = None,
) -> NDArray[Any]:
    """Read the region ``transform`` selects; return it as a new C-order array.

    ``staleness_bound`` (seconds since the epoch): cached chunks known current
    at or after it are used as they are; older ones are revalidated (``inf``:
    as of now, ``-inf``: any cached chunk will do).
    ``batch`` is accepted for the API and not used yet.
    ``generations``: if given, receives the storage generation of each grid
    cell read (a repeatable-read transaction checks them).

    Raises:
      NotFoundError: a chunk is missing and ``fill_missing_data_reads`` is false
        (a ValueError, as TensorStore's NOT_FOUND).
      DataLossError: a stored chunk cannot be decoded (names its key).
    """
    # A bound in the future means "current as of now" (as kvstore reads take it).
    staleness_bound = min(staleness_bound, time.time())
    box = _one_chunk_part(transform, cache.chunk_shape, cache.grid_origin, cache.dtype.itemsize)
    if box is not None:
        return await _read_one_chunk(cache, box[0], box[1], staleness_bound, generations)
    partition = partition_index_transform(transform, cache.chunk_shape, cache.grid_origin)
    out = new_array(partition.input_shape, cache.dtype)
    window = max(1, min(cache.work_budget_bytes() // cache.chunk_nbytes, READ_WINDOW_CHUNKS))
    selections = iter(partition)
    while group := list(itertools.islice(selections, window)):
        entries = [cache.entry(sel.cell) for sel in group]
        cache.use(entries)
        try:
            to_copy = entries
            served = await cache.read_into(entries, staleness_bound, group, out)
            if generations is not None:
                generations.update((e.cell, e.generation) for e in entries)
            if any(served):
                group = [sel for sel, done in zip(group, served, strict=True) if not done]
                to_copy = [e for e, done in zip(entries, served, strict=True) if not done]
            chunks = [cache.chunk_or_fill(entry) for entry in to_copy]
            costs = [selection_nbytes(sel, out) for sel in group]
            if copy_inline(costs):
                for sel, chunk in zip(group, chunks, strict=True):
                    sel.read(chunk, out)
            else:
                outcomes = await run_jobs(
                    [
                        functools.partial(sel.read, chunk, out)
                        for sel, chunk in zip(group, chunks, strict=True)
                    ],
                    costs,
                    limiter=cache.limiter,
                    inline_bytes=0,
                )
                for outcome in outcomes:
                    if isinstance(outcome, Exception):
                        raise outcome
        finally:
            cache.release(entries)
    return out


@attrs.define(eq=False)
class _Small:
    """One request :func:`read_chunked_many` serves from chunks shared with the others.

    Either a box inside one chunk (``selections`` None: ``chunk[box]`` of
    chunk ``cells[0]``, copied, is the result) or a few cells' selections into ``out``.
    """

    index: int
    cells: list[tuple[int, ...]]
    chunk_selections: list[tuple[Any, ...]]
    selections: list[ChunkCellSelection] | None = None
    out: NDArray[Any] | None = None


def _one_chunk_part(
    transform: IndexTransform,
    chunk_shape: tuple[int, ...],
    grid_origin: Sequence[int] | None,
    itemsize: int,
) -> tuple[tuple[int, ...], tuple[int | slice, ...]] | None:
    """``(cell, chunk selection)`` when ``transform`` reads a box of one chunk, small enough to copy inline.

    The box: each output dimension is a constant or the next input dimension
    plus an offset (what ``store[a:b, c:d]`` and ``store[i, a:b]`` give), so
    ``chunk[selection]`` is the result's shape in its order; what the
    partition would give, cheaper. None for anything else.
    """
    maps = transform.maps
    dims = transform.domain.dims
    if not dims or len(chunk_shape) != len(maps):
        return None
    cell: list[int] = []
    selection: list[int | slice] = []
    used = 0
    nbytes = itemsize
    for j, m in enumerate(maps):
        c = chunk_shape[j]
        origin = 0 if grid_origin is None else grid_origin[j]
        if m.method is OutputIndexMethod.constant:
            g, c0 = divmod(m.offset - origin, c)
            cell.append(g)
            selection.append(c0)
            continue
        if m.input_dimension != used or m.stride != 1:
            return None
        dim = dims[used]
        used += 1
        lo, n = dim.inclusive_min, dim.exclusive_max - dim.inclusive_min
        g, c0 = divmod(m.offset + lo - origin, c)
        if n <= 0 or c0 + n > c:
            return None
        cell.append(g)
        selection.append(slice(c0, c0 + n))
        nbytes *= n
    if used != len(dims) or not copy_inline([nbytes]):
        return None
    return tuple(cell), tuple(selection)


async def _read_one_chunk(
    cache: ChunkCache,
    cell: tuple[int, ...],
    selection: tuple[int | slice, ...],
    staleness_bound: float,
    generations: dict[tuple[int, ...], bytes] | None,
) -> NDArray[Any]:
    """:func:`read_chunked` of a box inside chunk ``cell``: ``chunk[selection]``, copied."""
    entry = cache.entry(cell)
    entries = [entry]
    cache.use(entries)
    try:
        array_selection = tuple(slice(0, t.stop - t.start) for t in selection if type(t) is slice)
        part = ChunkCellSelection(cell, selection, array_selection)
        await cache.ensure_fresh(entries, staleness_bound, [part])
        if generations is not None:
            generations[cell] = entry.generation
        return cache.chunk_or_fill(entry)[selection].copy()
    finally:
        cache.release(entries)


async def read_chunked_many(
    cache: ChunkCache,
    transforms: Sequence[IndexTransform | Exception],
    *,
    staleness_bound: float,
) -> list[ReadOutcome]:
    """Read many requests issued together; return each one's array or error, in order.

    Small requests (a few chunks, copied inline) are grouped in windows of
    at most ``work_budget_bytes`` worth of chunks: each window's chunks are
    pinned and brought up to date once (``ensure_fresh``, as of
    ``staleness_bound`` as :func:`read_chunked` takes it), then every request
    copies its part. Larger requests, and every request of a window whose
    chunks failed to load, run as :func:`read_chunked` on their own (so each
    gets its own error). An ``Exception`` given in place of a transform is
    that request's outcome. Cancellation propagates (no outcome is kept).
    """
    bound = min(staleness_bound, time.time())
    outcomes: list[ReadOutcome | None] = [None] * len(transforms)
    alone: list[int] = []
    small: list[_Small] = []
    chunk_shape, grid_origin = cache.chunk_shape, cache.grid_origin
    itemsize = cache.dtype.itemsize
    for i, transform in enumerate(transforms):
        if isinstance(transform, Exception):
            outcomes[i] = transform
            continue
        box = _one_chunk_part(transform, chunk_shape, grid_origin, itemsize)
        if box is not None:
            small.append(_Small(i, [box[0]], [box[1]]))
            continue
        try:
            partition = partition_index_transform(transform, chunk_shape, grid_origin)
        except Exception as exc:
            outcomes[i] = exc
            continue
        if partition.num_cells > _MANY_MAX_CELLS:
            alone.append(i)
            continue
        out = np.empty(partition.input_shape, cache.dtype)
        selections = list(partition)
        if not copy_inline([selection_nbytes(sel, out) for sel in selections]):
            alone.append(i)
            continue
        small.append(
            _Small(
                i,
                [sel.cell for sel in selections],
                [sel.chunk_selection for sel in selections],
                selections,
                out,
            )
        )
    window = max(1, cache.work_budget_bytes() // cache.chunk_nbytes)
    start = 0
    while start < len(small):
        parts: dict[tuple[int, ...], list[tuple[Any, ...]]] = {}
        stop = start
        while stop < len(small):
            request = small[stop]
            if request.selections is None:
                # A box of one chunk (the common case: no counting loop).
                cell = request.cells[0]
                found = parts.get(cell)
                if found is not None:
                    found.append(request.chunk_selections[0])
                elif parts and len(parts) >= window:
                    break
                else:
                    parts[cell] = [request.chunk_selections[0]]
                stop += 1
                continue
            if parts and len(parts) + sum(c not in parts for c in request.cells) > window:
                break
            for cell, chunk_selection in zip(request.cells, request.chunk_selections, strict=True):
                found = parts.get(cell)
                if found is None:
                    parts[cell] = [chunk_selection]
                else:
                    found.append(chunk_selection)
            stop += 1
        group = small[start:stop]
        start = stop
        if not await _read_window(cache, parts, group, bound, outcomes):
            alone.extend(request.index for request in group)
    if alone:
        async with trio.open_nursery() as nursery:
            for i in alone:
                nursery.start_soon(_read_alone, cache, transforms[i], staleness_bound, outcomes, i)
    assert all(outcome is not None for outcome in outcomes)
    return outcomes  # type: ignore[return-value]


async def _read_window(
    cache: ChunkCache,
    parts: dict[tuple[int, ...], list[tuple[Any, ...]]],
    group: list[_Small],
    bound: float,
    outcomes: list[ReadOutcome | None],
) -> bool:
    """Serve ``group`` from the chunks ``parts`` names; False if they could not be loaded."""
    entries = [cache.entry(cell) for cell in parts]
    cache.use(entries)
    try:
        try:
            if isinstance(cache, ShardCache):
                await cache.ensure_fresh_parts(entries, bound, list(parts.values()))
            else:
                await cache.ensure_fresh(entries, bound)
        except Exception:
            return False  # read on their own, each request gets its own error
        by_cell: dict[tuple[int, ...], ChunkEntry] = dict(zip(parts, entries, strict=True))
        chunk_or_fill = cache.chunk_or_fill
        for request in group:
            try:
                if request.selections is None:
                    chunk = chunk_or_fill(by_cell[request.cells[0]])
                    outcomes[request.index] = chunk[request.chunk_selections[0]].copy()
                    continue
                chunks = [chunk_or_fill(by_cell[cell]) for cell in request.cells]
                assert request.out is not None
                for sel, chunk in zip(request.selections, chunks, strict=True):
                    sel.read(chunk, request.out)
            except Exception as exc:
                outcomes[request.index] = exc
            else:
                if request.selections is not None:
                    outcomes[request.index] = request.out
    finally:
        cache.release(entries)
    return True


async def _read_alone(
    cache: ChunkCache,
    transform: IndexTransform | Exception,
    staleness_bound: float,
    outcomes: list[ReadOutcome | None],
    i: int,
) -> None:
    assert not isinstance(transform, Exception)
    try:
        outcomes[i] = await read_chunked(cache, transform, staleness_bound=staleness_bound)
    except Exception as exc:
        outcomes[i] = exc


def write_chunked(
    cache: ChunkCache, transform: IndexTransform, source: NDArray[Any]
) -> WriteFutures:
    """Write ``source`` to the region ``transform`` selects, as a runtime operation.

    ``source`` must already have the shape of the transform's input domain and
    the array's dtype. ``copy`` resolves once every chunk has taken its part of
    ``source``; ``commit`` once every affected chunk is durably written back.
    """
    copied: Promise[None]
    copy_future: Any
    copied, copy_future = Promise.new()
    commit = get_runtime().submit(write_chunked_async, cache, transform, source, copied)
    return WriteFutures(copy_future, commit)


async def write_chunked_async(
    cache: ChunkCache,
    transform: IndexTransform,
    source: NDArray[Any],
    copied: Promise[None] | None = None,
) -> None:
    """The write operation of :func:`write_chunked`, awaitable on the runtime thread."""
    tickets: list[tuple[WriteTicket, int]] = []
    try:
        box = _one_chunk_part(transform, cache.chunk_shape, cache.grid_origin, cache.dtype.itemsize)
        if box is not None:
            # A small box inside one chunk (store[i, a:b] = ...): its one selection, directly.
            cell, chunk_selection = box
            array_selection = tuple(
                slice(0, t.stop - t.start) for t in chunk_selection if type(t) is slice
            )
            input_shape = tuple(t.stop for t in array_selection)
            parts: Iterable[ChunkCellSelection] = [
                ChunkCellSelection(cell, chunk_selection, array_selection)
            ]
        else:
            partition = partition_index_transform(transform, cache.chunk_shape, cache.grid_origin)
            input_shape, parts = partition.input_shape, partition
        if source.shape != input_shape:
            raise InvalidArgumentError(
                f"{cache.name}: source shape {list(source.shape)} does not match the "
                f"write domain shape {list(input_shape)}"
            )
        if source.dtype != cache.dtype:
            raise InvalidArgumentError(
                f"{cache.name}: source dtype {source.dtype} does not match {cache.dtype}"
            )
        budget = cache.work_budget_bytes()
        window = max(1, budget // 2 // cache.chunk_nbytes)
        outstanding = 0
        selections = iter(parts)
        while group := list(itertools.islice(selections, window)):
            ticket = WriteTicket()
            try:
                await cache.stage_writes(group, source, ticket)
            finally:
                ticket.seal()
            held = len(group) * cache.chunk_nbytes
            tickets.append((ticket, held))
            outstanding += held
            while outstanding > budget:
                # Whichever window is written back first frees its bytes: the
                # windows' writebacks start in any order (trio does not keep
                # the order tasks were started in), so waiting for the oldest
                # could leave the kvstore idle while it still holds the rest.
                await _first_done([t for t, _ in tickets])
                finished = [item for item in tickets if item[0].done]
                tickets = [item for item in tickets if not item[0].done]
                for done, held in finished:
                    outstanding -= held
                    await done.wait()  # raises its writeback error
        # Full overwrites are encoded straight from the source: wait for that.
        for ticket, _ in tickets:
            await ticket.wait_released()
    except BaseException as exc:
        if copied is not None:
            copied.set_exception(
                exc if isinstance(exc, Exception) else AbortedError("write was cancelled")
            )
        raise
    if copied is not None:
        copied.set_result(None)
    for ticket, _ in tickets:
        await ticket.wait()


async def _first_done(tickets: Sequence[WriteTicket]) -> None:
    """Wait until one of ``tickets`` is done (at once if one already is)."""
    if any(ticket.done for ticket in tickets):
        return
    async with trio.open_nursery() as nursery:

        async def watch(ticket: WriteTicket) -> None:
            await ticket.wait_done()
            nursery.cancel_scope.cancel()

        for ticket in tickets:
            nursery.start_soon(watch, ticket)


async def delete_chunks(cache: ChunkCache, cells: Sequence[tuple[int, ...]]) -> None:
    """Delete the stored chunks of grid ``cells`` through the cache (e.g. after a resize shrinks).

    Cached state of those chunks becomes "missing", so later reads agree with
    storage whatever ``recheck_cached_data`` says; a read or writeback in flight
    for a chunk finishes before its delete.
    """
    window = 1024
    for start in range(0, len(cells), window):
        entries = [cache.entry(tuple(cell)) for cell in cells[start : start + window]]
        cache.use(entries)
        try:
            await cache.delete_stored(entries)
        finally:
            cache.release(entries)
