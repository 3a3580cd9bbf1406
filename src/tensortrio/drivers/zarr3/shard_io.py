"""Partial I/O of one zarr v3 shard: which inner chunks a request needs, which bytes hold them, merging writes.

:class:`ShardIO` wraps a resolved :class:`~.codecs.sharding.ShardLayout` and
gives the shard cache (``actors/shard_cache.py``) what it needs to touch only
part of a shard:

- :meth:`ShardIO.needed` — the inner chunks a chunk-local selection touches;
- :meth:`ShardIO.index_slice` / :meth:`ShardIO.decode_index` — the index bytes;
- :meth:`ShardIO.plan_ranges` — the byte ranges of the inner chunks to read,
  near ranges merged into one read;
- :meth:`ShardIO.load` — decode inner chunks into a shard-shaped buffer;
- :meth:`ShardIO.merge` — apply pending writes to a stored shard: inner chunks
  the writes do not touch are carried over as their encoded bytes, never
  decoded and re-encoded; only touched ones are (re-)encoded.

All methods are pure CPU work (safe in worker threads).
"""

from __future__ import annotations

import functools
import math
import threading
from typing import TYPE_CHECKING, Any, Final

import attrs
import numpy as np

from ...errors import DataLossError
from ...schema.fill_value import all_equal_fill_along
from ..blosc_codec import decompress_rows, decompressor_into
from ..blosc_format import blosc_header_sizes
from ..kvstore.value_buffer import LARGE_VALUE, join_values, new_array, new_buffer
from .codecs.compression import BLOSC_SHUFFLES, BloscCodec
from .codecs.sharding import (
    MISSING,
    decode_inner_chunk,
    decode_shard,
    decode_shard_index,
    encode_inner_chunk,
    encode_shard,
    raw_inner_chunks,
    shard_index_byte_range,
    split_view,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from ..kvstore.value_buffer import Value
    from .codecs.base import Buffer
    from .codecs.sharding import ShardLayout

__all__ = ["MAX_RANGE_GAP", "MergeOutcome", "RangeRead", "ShardIO"]

#: Inner chunks whose stored bytes are at most this far apart are read with one request:
#: reading a few unneeded KiB costs less than another request.
MAX_RANGE_GAP: Final = 16 * 1024
#: Shards of at most this many inner chunks list every chunk's region up front (a
#: tuple per chunk: for larger grids, building it made opening take seconds).
_LISTED_REGIONS: Final = 1 << 16


@attrs.frozen
class RangeRead:
    """One byte-range read of a shard and the inner chunks it holds (``(flat index, start, stop)``)."""

    start: int
    stop: int
    members: tuple[tuple[int, int, int], ...]


@attrs.frozen
class MergeOutcome:
    """What :meth:`ShardIO.merge` produced: the new shard (None: delete it) and what it cost."""

    data: Value | None
    encoded: int
    """Inner chunks encoded."""
    carried: int
    """Inner chunks carried over as their stored bytes."""


@attrs.frozen(eq=False)
class ShardIO:
    """Partial reads and writes of the shards of one array (see the module docstring)."""

    layout: ShardLayout
    store_fill_shards: bool = False
    """Store a shard whose inner chunks are all the fill value (else: delete it)."""
    _split: tuple[int, ...] = attrs.field(init=False)
    _chunk_nbytes: int = attrs.field(init=False)
    _blosc: BloscCodec | None = attrs.field(init=False)
    """The blosc codec when inner chunks are native ``bytes`` + ``blosc`` (the fast path)."""
    _raw: bool = attrs.field(init=False)
    """Inner chunks are stored as their native bytes (the chain is one native ``bytes`` codec)."""
    _regions: tuple[tuple[slice, ...], ...] | None = attrs.field(init=False)
    """Where each inner chunk (flat, row-major) lies in the shard; None for a large grid."""

    def __attrs_post_init__(self) -> None:
        split: list[int] = []
        for g, c in zip(self.layout.grid_shape, self.layout.chunk_shape, strict=True):
            split += [g, c]
        object.__setattr__(self, "_split", tuple(split))
        itemsize = self.layout.info.dtype.itemsize
        object.__setattr__(self, "_chunk_nbytes", math.prod(self.layout.chunk_shape) * itemsize)
        object.__setattr__(self, "_blosc", _inner_blosc(self.layout))
        object.__setattr__(self, "_raw", _inner_raw(self.layout))
        regions = None
        if self.layout.num_chunks <= _LISTED_REGIONS:
            regions = tuple(self.layout.cell_slices(tuple(cell)) for cell in self.layout.cells())
        object.__setattr__(self, "_regions", regions)

    @property
    def num_chunks(self) -> int:
        return self.layout.num_chunks

    @property
    def inner_nbytes(self) -> int:
        """Bytes of one decoded inner chunk."""
        return self._chunk_nbytes

    # --- which inner chunks

    def needed(self, chunk_selection: Sequence[Any]) -> NDArray[np.bool_]:
        """The inner chunks (flat, row-major bool mask) a chunk-local selection touches.

        A superset for index-array selections spanning several dimensions.
        """
        layout = self.layout
        where: list[slice | NDArray[np.intp]] = []
        dim = 0
        for term in chunk_selection:
            if term is None:
                continue
            if dim == len(layout.grid_shape):
                break
            size, inner = layout.shard_shape[dim], layout.chunk_shape[dim]
            dim += 1
            if isinstance(term, slice):
                start, stop, step = term.indices(size)
                if step == 1 or step == -1:
                    lo, hi = (start, stop - 1) if step == 1 else (stop + 1, start)
                    where.append(slice(lo // inner, hi // inner + 1) if hi >= lo else slice(0, 0))
                else:
                    where.append(np.unique(np.arange(start, stop, step) // inner))
            elif isinstance(term, np.ndarray):
                where.append(np.unique(np.asarray(term).reshape(-1) // inner))
            else:
                cell = int(term) // inner
                where.append(slice(cell, cell + 1))
        need = np.zeros(layout.grid_shape, np.bool_)
        if dim < len(layout.grid_shape):
            need[...] = True  # a selection not naming every dimension: be safe
        elif all(isinstance(w, slice) for w in where):
            need[tuple(where)] = True
        else:
            need[np.ix_(*(np.arange(n)[w] for w, n in zip(where, layout.grid_shape, strict=True)))] = True
        return need.reshape(-1)

    def needed_many(self, chunk_selections: Sequence[Sequence[Any]]) -> NDArray[np.bool_]:
        """The inner chunks any of ``chunk_selections`` touches (the union of :meth:`needed`).

        Integers and unit-step slices within one inner chunk per dimension (a
        read of one inner chunk or part of one, the common case) are counted
        in plain Python; anything else goes through :meth:`needed`.
        """
        layout = self.layout
        grid, inner, shard = layout.grid_shape, layout.chunk_shape, layout.shard_shape
        rank = len(grid)
        flat: list[int] = []
        need: NDArray[np.bool_] | None = None
        for selection in chunk_selections:
            index = 0
            if len(selection) == rank:
                for term, g, c, size in zip(selection, grid, inner, shard, strict=True):
                    if type(term) is int and 0 <= term < size:
                        index = index * g + term // c
                        continue
                    if type(term) is not slice or term.step not in (None, 1):
                        break
                    lo, hi = term.start, term.stop
                    if type(lo) is not int or type(hi) is not int or not 0 <= lo < hi <= size:
                        break
                    cell = lo // c
                    if (hi - 1) // c != cell:
                        break
                    index = index * g + cell
                else:
                    flat.append(index)
                    continue
            more = self.needed(selection)
            need = more if need is None else need | more
        if need is None:
            need = np.zeros(self.num_chunks, np.bool_)
        need[flat] = True
        return need

    # --- the index

    def index_slice(self) -> slice:
        """The ``byte_range`` of a read of the index (a suffix when it is at the end)."""
        rng = shard_index_byte_range(self.layout)
        return slice(rng.inclusive_min, rng.exclusive_max)

    def decode_index(self, data: Buffer, shard_size: int | None = None) -> NDArray[np.uint64]:
        """Index bytes → ``(num_chunks, 2)`` offsets and sizes (raises DataLossError)."""
        return decode_shard_index(self.layout, data, shard_size).reshape(-1, 2)

    def shard_index(self, shard: Buffer) -> NDArray[np.uint64]:
        """The index of a whole shard's bytes (raises DataLossError)."""
        view = memoryview(shard).cast("B")
        rng = shard_index_byte_range(self.layout, len(view))
        return self.decode_index(view[rng.inclusive_min : rng.exclusive_max], len(view))

    # --- reading inner chunks

    def plan_ranges(
        self, index: NDArray[np.uint64], cells: NDArray[np.intp], gap: int = MAX_RANGE_GAP
    ) -> list[RangeRead]:
        """Byte-range reads for the stored ones of ``cells`` (flat), near ranges merged."""
        if not len(cells):
            return []
        offsets = index[cells, 0]
        stored = offsets != MISSING
        cells, offsets = cells[stored], offsets[stored]
        sizes = index[cells, 1]
        order = np.argsort(offsets, kind="stable")
        reads: list[RangeRead] = []
        members: list[tuple[int, int, int]] = []
        lo = hi = 0
        for cell, off, size in zip(
            cells[order].tolist(), offsets[order].tolist(), sizes[order].tolist(), strict=True
        ):
            if members and off - hi <= gap:
                hi = max(hi, off + size)
            else:
                if members:
                    reads.append(RangeRead(lo, hi, tuple(members)))
                members = []
                lo, hi = off, off + size
            members.append((cell, off, off + size))
        if members:
            reads.append(RangeRead(lo, hi, tuple(members)))
        return reads

    def missing_cells(self, index: NDArray[np.uint64], cells: NDArray[np.intp]) -> NDArray[np.intp]:
        """Those of ``cells`` not stored in the shard (they read as the fill value)."""
        missing: NDArray[np.intp] = cells[index[cells, 0] == MISSING]
        return missing

    def new_buffer(self) -> NDArray[Any]:
        """An uninitialised shard-shaped buffer for inner chunks to be loaded into."""
        return new_array(self.layout.shard_shape, self.layout.info.dtype)

    def load(
        self,
        buffer: NDArray[Any],
        cell: int,
        data: Buffer | None,
    ) -> None:
        """Decode inner chunk ``cell``'s stored bytes (None: not stored → fill) into ``buffer``.

        Raises:
            DataLossError: corrupt bytes (naming the inner chunk).
        """
        layout = self.layout
        region = self._region(cell)
        if data is None:
            buffer[region] = layout.info.fill_value
            return
        if self._blosc is not None and self._load_blosc(buffer, region, data):
            return
        if self._raw and len(data) == self._chunk_nbytes:
            # Native bytes, nothing else: the stored bytes are the chunk (what the chain gives).
            raw = np.frombuffer(data, np.uint8).view(layout.info.dtype)
            buffer[region] = raw.reshape(layout.chunk_shape)
            return
        try:
            buffer[region] = decode_inner_chunk(layout, data)
        except DataLossError as exc:
            where = [int(i) for i in np.unravel_index(cell, layout.grid_shape)]
            raise DataLossError(f"inner chunk {where}: {exc}") from None

    def load_from_shard(
        self,
        buffer: NDArray[Any],
        shard: Buffer,
        cells: NDArray[np.intp],
        index: NDArray[np.uint64] | None = None,
    ) -> int:
        """Decode ``cells`` from a whole shard's bytes into ``buffer``; return how many were stored.

        ``index``: the shard's decoded index when the caller has it (else it is decoded).
        """
        if index is None:
            index = self.shard_index(shard)
        offsets = index[cells, 0]
        stored = offsets != MISSING
        self.fill(buffer, cells[~stored])
        present = cells[stored]
        starts = offsets[stored].astype(np.intp)
        self.load_members(buffer, shard, 0, present, starts, starts + index[present, 1].astype(np.intp))
        return len(present)

    def fill(self, buffer: NDArray[Any], cells: NDArray[np.intp]) -> None:
        """Set inner chunks ``cells`` (flat) of ``buffer`` to the fill value (they are not stored)."""
        if len(cells):
            self._blocks(buffer)[self._where(cells)] = self.layout.info.fill_value

    def load_range(self, buffer: NDArray[Any], data: Buffer, plan: RangeRead) -> None:
        """Decode the inner chunks of one range read (``data``: its bytes) into ``buffer``.

        Raises:
            DataLossError: corrupt bytes (naming the inner chunk).
        """
        members = np.array(plan.members, np.intp).reshape(-1, 3)
        self.load_members(buffer, data, plan.start, members[:, 0], members[:, 1], members[:, 2])

    def load_members(
        self,
        buffer: NDArray[Any],
        data: Buffer,
        base: int,
        cells: NDArray[np.intp],
        starts: NDArray[np.intp],
        stops: NDArray[np.intp],
    ) -> None:
        """Decode inner chunks ``cells``, stored at ``[starts, stops)`` of a shard, into ``buffer``.

        ``data`` holds the shard's bytes from offset ``base`` on. Raw and blosc
        inner chunks go in with a few NumPy calls for all of them (one
        decompression per chunk into rows side by side, one scattering
        copy); anything unusual goes chunk by chunk through :meth:`load`,
        which names a corrupt inner chunk.

        Raises:
            DataLossError: corrupt bytes (naming the inner chunk).
        """
        count = len(cells)
        if not count:
            return
        view = memoryview(data).cast("B")
        rel = starts - base
        sizes = stops - starts
        rows = self._member_rows(view, cells, rel, sizes) if int((rel + sizes).max()) <= len(view) else None
        if rows is None:
            for cell, lo, hi in zip(cells.tolist(), rel.tolist(), (rel + sizes).tolist(), strict=True):
                self.load(buffer, cell, view[lo:hi])
            return
        layout = self.layout
        self._blocks(buffer)[self._where(cells)] = rows.view(layout.info.dtype).reshape(
            count, *layout.chunk_shape
        )

    def _member_rows(
        self,
        view: memoryview,
        cells: NDArray[np.intp],
        rel: NDArray[np.intp],
        sizes: NDArray[np.intp],
    ) -> NDArray[np.uint8] | None:
        """Each member's decoded bytes as a row (None: take the per-chunk path)."""
        nbytes = self._chunk_nbytes
        if self._blosc is not None:
            if int(sizes.min()) < 16:
                return None
            heads = np.frombuffer(view, np.uint8)[rel[:, None] + np.arange(16)]
            claimed = np.ascontiguousarray(heads[:, 4:8]).view("<u4").reshape(-1)
            compressed = np.ascontiguousarray(heads[:, 12:16]).view("<u4").reshape(-1)
            if bool(((claimed != nbytes) | (compressed != sizes)).any()):
                return None
            rows = _chunk_major_scratch(len(cells) * nbytes).reshape(-1, nbytes)
            try:
                decompress_rows(
                    [(k, view[lo : lo + n]) for k, (lo, n) in enumerate(zip(rel.tolist(), sizes.tolist(), strict=True))],
                    rows,
                    str,
                )
            except DataLossError:
                return None  # the chain names the corrupt chunk
            return rows
        if not self._raw or bool((sizes != nbytes).any()) or bool((rel % nbytes).any()):
            return None
        whole = np.frombuffer(view[: len(view) // nbytes * nbytes], np.uint8).reshape(-1, nbytes)
        slots = rel // nbytes
        first = int(slots[0])
        if bool((slots == np.arange(first, first + len(slots))).all()):
            return whole[first : first + len(slots)]  # consecutive: a view, no gathering copy
        gathered: NDArray[np.uint8] = whole[slots]
        return gathered

    def _blocks(self, buffer: NDArray[Any]) -> NDArray[Any]:
        """A view of shard-shaped ``buffer`` with the inner grid's axes first."""
        order, _ = self._blocks_shape()
        return buffer.reshape(self._split).transpose(order)

    def _where(self, cells: NDArray[np.intp]) -> tuple[NDArray[np.intp], ...]:
        """Fancy indices of flat inner cells into :meth:`_blocks`."""
        grid = self.layout.grid_shape
        return tuple(np.unravel_index(cells, grid)) if grid else ()

    def _region(self, cell: int) -> tuple[slice, ...]:
        """Where flat inner chunk ``cell`` lies in the shard."""
        if self._regions is not None:
            return self._regions[cell]
        where = np.unravel_index(cell, self.layout.grid_shape)
        return self.layout.cell_slices(tuple(int(i) for i in where))

    def _load_blosc(
        self,
        buffer: NDArray[Any],
        region: tuple[slice, ...],
        data: Buffer,
    ) -> bool:
        """Decompress a blosc inner chunk straight into its region; False: let the codec chain try.

        Skips the chain's per-chunk output allocations and checks (several
        microseconds per chunk). Anything unusual (sizes the header does not
        agree with, a decompression error) returns False, so the chain
        raises its own error for it.
        """
        sizes = blosc_header_sizes(data)
        if sizes is None or sizes[0] != self._chunk_nbytes or sizes[1] != len(data):
            return False
        scratch = np.empty(self._chunk_nbytes, np.uint8)
        try:
            decompressor_into(scratch)(data)
        except Exception:  # blosc raises assorted types on corrupt input
            return False
        layout = self.layout
        buffer[region] = scratch.view(layout.info.dtype).reshape(layout.chunk_shape)
        return True

    def decode_all(
        self,
        shard: Buffer,
        index: NDArray[np.uint64] | None = None,
        out: NDArray[Any] | None = None,
    ) -> NDArray[Any]:
        """Decode a whole shard into ``out`` (default: a new array); return it (raises DataLossError).

        ``index``: the shard's decoded index (:meth:`shard_index`) when the caller has it.
        ``out``: a writable array of the shard's shape, of any strides.
        """
        if self._blosc is not None:
            return self._decode_blosc(shard, index, out)
        return decode_shard(self.layout, shard, index, out)

    def encode_all(self, array: NDArray[Any]) -> tuple[Value, int]:
        """Encode a whole shard; return it and how many inner chunks it stores."""
        if self._blosc is not None:
            return self._encode_blosc(array)
        data = encode_shard(self.layout, array)
        return data, int((self.shard_index(data)[:, 0] != MISSING).sum())

    # Blosc inner chunks: one gathering (scattering) copy for the whole shard and
    # blosc called on each chunk's bytes directly (``blosc_codec``), instead of the
    # codec chain's per-chunk layout copies and checks (microseconds per inner chunk).

    def _blocks_shape(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        rank = len(self.layout.grid_shape)
        return (*range(0, 2 * rank, 2), *range(1, 2 * rank, 2)), (
            *self.layout.grid_shape,
            *self.layout.chunk_shape,
        )

    def _encode_blosc(self, array: NDArray[Any]) -> tuple[Value, int]:
        layout = self.layout
        order, blocks_shape = self._blocks_shape()
        # One gathering copy into this thread's scratch (fresh pages cost more
        # than the copy); encoding keeps no view of it.
        flat = _chunk_major_scratch(layout.num_chunks * self._chunk_nbytes).reshape(
            layout.num_chunks, -1
        )
        rows = flat.view(layout.info.dtype)
        rows.reshape(blocks_shape)[...] = array.reshape(self._split).transpose(order)
        fill = all_equal_fill_along(rows, layout.info.fill_value, 1).tolist()
        assert self._blosc is not None
        encode = self._blosc.encode
        chunks: list[Buffer | None] = [
            None if is_fill else encode(flat[k]) for k, is_fill in enumerate(fill)
        ]
        stored = len(fill) - sum(fill)
        return self.assemble(chunks), stored

    def _decode_blosc(
        self, shard: Buffer, index: NDArray[np.uint64] | None, out: NDArray[Any] | None
    ) -> NDArray[Any]:
        layout = self.layout
        view = memoryview(shard).cast("B")
        if index is None:
            index = self.shard_index(view)
        dtype = layout.info.dtype
        offsets, sizes = index[:, 0], index[:, 1]
        stored = offsets != MISSING
        # Blosc trusts its header: check the sizes every header claims, all at once.
        cells = np.flatnonzero(stored)
        starts, lengths = offsets[cells].astype(np.intp), sizes[cells]
        bad = np.flatnonzero(lengths < 16)
        if not len(bad):
            heads = np.frombuffer(view, np.uint8)[starts[:, None] + np.arange(16)]
            claimed = np.ascontiguousarray(heads[:, 4:8]).view("<u4").reshape(-1)
            compressed = np.ascontiguousarray(heads[:, 12:16]).view("<u4").reshape(-1)
            bad = np.flatnonzero((claimed != self._chunk_nbytes) | (compressed != lengths))
        if len(bad):
            k = int(cells[bad[0]])
            first = [int(i) for i in np.unravel_index(k, layout.grid_shape)]
            raise DataLossError(
                f"inner chunk {first}: blosc: corrupt header "
                f"({int(sizes[k])} bytes stored, {self._chunk_nbytes} expected decoded)"
            )
        # Inner chunks decompress side by side into a chunk-major buffer (reused
        # by this thread: fresh pages cost more than the copies), then one
        # transposing copy puts every element in place. Copying each chunk into
        # its region instead cost three times the decompression.
        nbytes = self._chunk_nbytes
        blocks = _chunk_major_scratch(layout.num_chunks * nbytes).reshape(-1, nbytes)
        decompress_rows(
            [(int(k), view[o : o + n]) for k, o, n in zip(cells, starts, lengths.tolist(), strict=True)],
            blocks,
            functools.partial(_inner_chunk_name, layout),
        )
        elements = blocks.view(dtype)
        if len(cells) < layout.num_chunks:
            elements[~stored] = layout.info.fill_value
        order, blocks_shape = self._blocks_shape()
        if out is None:
            out = new_array(layout.shard_shape, dtype)
        split_view(out, self._split)[...] = elements.reshape(blocks_shape).transpose(
            np.argsort(order)
        )
        return out

    # --- writing

    def merge(
        self,
        stored: Buffer | None,
        pending: NDArray[Any],
        mask: NDArray[np.bool_] | None,
        touched: NDArray[np.bool_] | None = None,
    ) -> MergeOutcome:
        """The shard after applying ``pending`` (where ``mask``; None: everywhere) to ``stored``.

        Untouched inner chunks keep their stored bytes; fully written ones are
        encoded from ``pending``; partly written ones are decoded, merged and
        encoded. Inner chunks equal to the fill value are left out.
        ``touched`` (flat): the inner chunks the writes may touch, when known,
        so only their part of ``mask`` is looked at.

        Raises:
            DataLossError: a corrupt stored shard or inner chunk.
        """
        layout = self.layout
        n = layout.num_chunks
        if mask is None:
            data, count = self.encode_all(pending)
            return MergeOutcome(self._keep(data, count), count, 0)
        if stored is None:
            view = memoryview(b"")
            index = np.full((n, 2), MISSING, np.uint64)
        else:
            view = memoryview(stored).cast("B")
            index = self.shard_index(view).reshape(n, 2)
        if touched is None:
            blocks = mask.reshape(self._split)
            axes = tuple(range(1, 2 * len(layout.grid_shape), 2))
            touched = blocks.any(axis=axes).reshape(-1)
        fill = layout.info.fill_value
        written: dict[int, Buffer | None] = {}
        for cell in np.flatnonzero(touched).tolist():
            where = tuple(int(i) for i in np.unravel_index(cell, layout.grid_shape))
            region = layout.cell_slices(where)
            part = mask[region]
            if part.all():
                array = pending[region]
            elif not part.any():
                continue
            else:
                offset, size = (int(v) for v in index[cell])
                if offset == MISSING:
                    array = np.full(layout.chunk_shape, fill, layout.info.dtype)
                else:
                    old = view[offset : offset + size]
                    try:
                        array = np.array(decode_inner_chunk(layout, old), copy=True)
                    except DataLossError as exc:
                        raise DataLossError(f"inner chunk {list(where)}: {exc}") from None
                np.copyto(array, pending[region], where=mask[region])
            written[cell] = encode_inner_chunk(layout, array)
        data, count, carried = self._splice(view, index, written)
        return MergeOutcome(self._keep(data, count), len(written), carried)

    def _splice(
        self, stored: memoryview, index: NDArray[np.uint64], written: dict[int, Buffer | None]
    ) -> tuple[Value, int, int]:
        """The shard ``stored`` (flat ``index``) with the inner chunks in ``written`` replaced.

        Every other stored inner chunk is carried over as its bytes, copied in
        runs that are contiguous in both shards (usually a few large copies,
        whatever the number of inner chunks). Inner chunks are laid out in
        row-major order, as :meth:`assemble` does. Returns the new shard, how
        many inner chunks it stores, and how many were carried over.
        """
        layout = self.layout
        offsets, sizes = index[:, 0], index[:, 1]
        carried = offsets != MISSING
        cells = np.fromiter(written, np.intp, len(written))
        carried[cells] = False
        new_sizes = np.where(carried, sizes, np.uint64(0))
        present = carried.copy()
        for cell, chunk in written.items():
            if chunk is not None:
                new_sizes[cell] = memoryview(chunk).nbytes
                present[cell] = True
        base = layout.index_nbytes if layout.index_location == "start" else 0
        ends = np.cumsum(new_sizes, dtype=np.uint64) + np.uint64(base)
        starts = ends - new_sizes
        data_end = int(ends[-1]) if len(ends) else base
        total = data_end + (0 if base else layout.index_nbytes)
        out = new_buffer(total) if total >= LARGE_VALUE else memoryview(bytearray(total))
        kept = np.flatnonzero(carried)
        if kept.size:
            old, new, size = offsets[kept], starts[kept], sizes[kept]
            run = np.ones(kept.size, np.bool_)
            run[1:] = (new[1:] != new[:-1] + size[:-1]) | (old[1:] != old[:-1] + size[:-1])
            first = np.flatnonzero(run)
            last = np.append(first[1:], kept.size) - 1
            for src, dst, stop in zip(
                old[first].tolist(), new[first].tolist(), (new[last] + size[last]).tolist(), strict=True
            ):
                out[dst:stop] = stored[src : src + stop - dst]
        for cell, chunk in written.items():
            if chunk is not None:
                start = int(starts[cell])
                out[start : start + int(new_sizes[cell])] = memoryview(chunk).cast("B")
        new_index = np.full((len(offsets), 2), MISSING, np.uint64)
        new_index[present, 0] = starts[present]
        new_index[present, 1] = new_sizes[present]
        encoded = memoryview(layout.index.encode(new_index.reshape((*layout.grid_shape, 2))))
        at = 0 if base else data_end
        out[at : at + layout.index_nbytes] = encoded.cast("B")
        value: Value = out.toreadonly() if total >= LARGE_VALUE else bytes(out)
        return value, int(present.sum()), int(kept.size)

    def assemble(self, chunks: Sequence[Buffer | None]) -> Value:
        """:func:`assemble_shard` with the index computed at once rather than chunk by chunk."""
        layout = self.layout
        present = np.fromiter((c is not None for c in chunks), np.bool_, len(chunks))
        sizes = np.fromiter(
            (0 if c is None else memoryview(c).nbytes for c in chunks), np.uint64, len(chunks)
        )
        base = layout.index_nbytes if layout.index_location == "start" else 0
        ends = np.cumsum(sizes, dtype=np.uint64) + np.uint64(base)
        index = np.full((len(chunks), 2), MISSING, np.uint64)
        index[present, 0] = (ends - sizes)[present]
        index[present, 1] = sizes[present]
        encoded = layout.index.encode(index.reshape((*layout.grid_shape, 2)))
        parts: list[Buffer] = [c for c in chunks if c is not None]
        if layout.index_location == "start":
            parts.insert(0, encoded)
        else:
            parts.append(encoded)
        return join_values(parts)

    def _keep(self, data: Value, stored_chunks: int) -> Value | None:
        return data if stored_chunks or self.store_fill_shards else None


_SCRATCH = threading.local()


def _chunk_major_scratch(size: int) -> NDArray[np.uint8]:
    """This thread's scratch bytes for decoding a shard, at least ``size`` long (first ``size``)."""
    buffer: NDArray[np.uint8] | None = getattr(_SCRATCH, "buffer", None)
    if buffer is None or buffer.size < size:
        buffer = np.empty(size, np.uint8)
        _SCRATCH.buffer = buffer
    return buffer[:size]


def _inner_chunk_name(layout: ShardLayout, cell: int) -> str:
    return f"inner chunk {[int(i) for i in np.unravel_index(cell, layout.grid_shape)]}"


def _inner_raw(layout: ShardLayout) -> bool:
    """Whether the inner chain is one native-endian ``bytes`` codec and nothing else."""
    return raw_inner_chunks(layout) and layout.info.dtype.isnative


def _inner_blosc(layout: ShardLayout) -> BloscCodec | None:
    """The inner chain's blosc codec when the chain is native ``bytes`` then ``blosc``."""
    import sys

    from .codecs.bytes_codec import BytesCodec

    inner = layout.inner
    codec = inner.array_to_bytes
    if (
        layout.info.dtype.kind == "O"  # text: its bytes are a conversion, not the elements'
        or inner.array_to_array
        or len(inner.bytes_to_bytes) != 1
        or not isinstance(codec, BytesCodec)
        or (codec.endian is not None and codec.endian != sys.byteorder)
    ):
        return None
    blosc = inner.bytes_to_bytes[0]
    if not isinstance(blosc, BloscCodec) or blosc.shuffle not in BLOSC_SHUFFLES:
        return None
    return blosc
