"""The common-case partition: plain slices computed with Python integers.

Most reads and writes are rectangular views: every output map is a constant
or a (strided) single-input-dimension map of its own input dimension, and the
request touches a few chunks.  For those, :func:`simple_slice_plan` works out
each cell's ``slice``/``int`` selections directly, in plain Python: NumPy's
per-call overhead on tiny arrays (a few µs each) would otherwise dominate a
one-chunk request.  Anything else (index arrays, diagonals, broadcast input
dimensions, empty or unbounded domains, invalid grids, many cells) gets None
and goes through the vectorized general partition, which gives the same
selections in the same order and raises its errors.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Final

import attrs
import numpy as np

from .interval import INF
from .output_map import OutputIndexMethod

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from numpy.typing import NDArray

    from .partition import ChunkCellSelection
    from .transform import IndexTransform

__all__ = ["SimpleSlicePlan", "simple_slice_plan"]

MAX_CELLS: Final = 256
"""Most cells (and cells per dimension) the plain-Python plan handles."""

_Piece = tuple[int, slice, slice]


@attrs.frozen(eq=False)
class SimpleSlicePlan:
    """Per-dimension slice pieces whose Cartesian product gives the touched cells."""

    output_rank: int
    input_rank: int
    num_cells: int
    const_cell: tuple[int, ...]
    const_csel: tuple[int | slice | None, ...]
    slots: tuple[tuple[int, int], ...]
    """``(output dim, input dim)`` of each sliced dimension, in input-dimension order."""
    pieces: tuple[tuple[_Piece, ...], ...]
    """``(cell, chunk slice, array slice)`` per touched cell, one tuple per slot."""
    chunk_axes: tuple[int, ...] | None

    def cells(self) -> NDArray[np.int64]:
        """The touched cells, shape ``(num_cells, output_rank)``, in iteration order."""
        rows = [cell for cell, _, _ in self._combos()]
        return np.array(rows, dtype=np.int64).reshape(len(rows), self.output_rank)

    def _combos(self) -> Iterator[tuple[tuple[int, ...], tuple[Any, ...], tuple[Any, ...]]]:
        slots = self.slots
        if slots and len(slots) == self.output_rank == self.input_rank and all(
            j == k and d == k for k, (j, d) in enumerate(slots)
        ):
            # Output dim k is input dim k, for every dim: each piece combination
            # transposes straight into (cell, chunk selection, array selection).
            for combo in itertools.product(*self.pieces):
                cells, csels, asels = zip(*combo, strict=True)
                yield cells, csels, asels
            return
        const_cell = list(self.const_cell)
        const_csel = list(self.const_csel)
        base_asel: list[Any] = [slice(None)] * self.input_rank
        for combo in itertools.product(*self.pieces):
            cell = const_cell.copy()
            csel = const_csel.copy()
            asel = base_asel.copy()
            for (j, d), (g, cs, as_) in zip(slots, combo, strict=True):
                cell[j] = g
                csel[j] = cs
                asel[d] = as_
            yield tuple(cell), tuple(csel), tuple(asel)

    def iterate(self, selection: type[ChunkCellSelection]) -> Iterator[ChunkCellSelection]:
        """The cells' selections, as ``selection`` values."""
        axes = self.chunk_axes
        for cell, csel, asel in self._combos():
            yield selection(cell, csel, asel, axes)


def _pieces(o: int, s: int, lo: int, n: int, c: int, origin: int) -> list[_Piece] | None:
    """Runs of input ``[lo, lo+n)`` through ``out = o + s*in``, one per cell of size ``c``.

    Cells ascend whatever the sign of ``s``; None if more than ``MAX_CELLS`` to try.
    """
    first = o + s * lo - origin
    last = o + s * (lo + n - 1) - origin
    g_lo, g_hi = min(first, last) // c, max(first, last) // c
    end = lo + n
    runs: list[tuple[int, int, int]] = []  # (cell, x0, x1)
    if g_hi - g_lo + 1 <= n:
        if g_hi - g_lo + 1 > MAX_CELLS:
            return None
        for g in range(g_lo, g_hi + 1):
            start = origin + g * c
            if s > 0:
                x0 = -((o - start) // s)  # ceil((start - o) / s)
                x1 = -((o - start - c) // s)
            else:
                t = -s
                x0 = (o - start - c) // t + 1
                x1 = (o - start) // t + 1
            x0 = max(x0, lo)
            x1 = min(x1, end)
            if x0 < x1:
                runs.append((g, x0, x1))
    else:
        # Fewer input positions than candidate cells (|stride| > chunk size).
        if n > MAX_CELLS:
            return None
        xs = range(lo, end) if s > 0 else range(end - 1, lo - 1, -1)
        for x in xs:
            g = (o + s * x - origin) // c
            if runs and runs[-1][0] == g:
                g0, x0, x1 = runs[-1]
                runs[-1] = (g0, min(x0, x), max(x1, x + 1))
            else:
                runs.append((g, x, x + 1))
    pieces: list[_Piece] = []
    for g, x0, x1 in runs:
        c0 = o + s * x0 - origin - g * c
        stop = c0 + s * (x1 - x0 - 1) + (1 if s > 0 else -1)
        cslice = slice(c0, stop if stop >= 0 else None, s if s != 1 else None)
        pieces.append((g, cslice, slice(x0 - lo, x1 - lo)))
    return pieces


def simple_slice_plan(
    transform: IndexTransform,
    chunk_shape: Sequence[int],
    grid_origin: Sequence[int] | None,
) -> SimpleSlicePlan | None:
    """The plain-slice plan of ``transform`` over the grid, or None for the general path."""
    maps = transform.maps
    dims = transform.domain.dims
    out_rank = len(maps)
    in_rank = len(dims)
    if len(chunk_shape) != out_rank or (grid_origin is not None and len(grid_origin) != out_rank):
        return None
    for interval in dims:
        lo, hi = interval.inclusive_min, interval.exclusive_max
        if hi <= lo or lo == -INF or hi == INF + 1:
            return None
    if out_rank == in_rank:
        box = _box_plan(transform, chunk_shape, grid_origin)
        if box is not None:
            return box
    const_cell = [0] * out_rank
    const_csel: list[int | slice | None] = [None] * out_rank
    users: list[int] = [-1] * in_rank
    for j, m in enumerate(maps):
        c = int(chunk_shape[j])
        if c <= 0:
            return None
        method = m.method
        if method is OutputIndexMethod.single_input_dimension and m.stride:
            d = m.input_dimension
            assert d is not None
            if users[d] >= 0:
                return None  # a diagonal
            users[d] = j
        elif method is OutputIndexMethod.array:
            return None
        else:
            origin = 0 if grid_origin is None else int(grid_origin[j])
            const_cell[j], const_csel[j] = divmod(m.offset - origin, c)
    slots: list[tuple[int, int]] = []
    pieces: list[tuple[_Piece, ...]] = []
    newaxis: list[int] = []
    total = 1
    for d, j in enumerate(users):
        dim = dims[d]
        n = dim.exclusive_max - dim.inclusive_min
        if j < 0:
            if n != 1:
                return None  # broadcast over the chunk: the general path enumerates it
            newaxis.append(d)
            continue
        m = maps[j]
        assert m.stride is not None
        origin = 0 if grid_origin is None else int(grid_origin[j])
        found = _pieces(m.offset, m.stride, dim.inclusive_min, n, int(chunk_shape[j]), origin)
        if found is None:
            return None
        total *= len(found)
        if total > MAX_CELLS:
            return None
        slots.append((j, d))
        pieces.append(tuple(found))
    # Axes of chunk[csel]: the sliced output dims in output order, then one new
    # axis per unused size-1 input dim; chunk_axes reorders them to input order.
    axis_inputs = [d for _, d in sorted(slots)] + newaxis
    axes = tuple(sorted(range(len(axis_inputs)), key=axis_inputs.__getitem__))
    chunk_axes = None if axes == tuple(range(len(axes))) else axes
    return SimpleSlicePlan(
        out_rank,
        in_rank,
        total,
        tuple(const_cell),
        tuple(const_csel) + (None,) * len(newaxis),
        tuple(slots),
        tuple(pieces),
        chunk_axes,
    )


def _box_plan(
    transform: IndexTransform,
    chunk_shape: Sequence[int],
    grid_origin: Sequence[int] | None,
) -> SimpleSlicePlan | None:
    """The plan of a plain box (output dim ``j`` = input dim ``j`` + offset), or None.

    The common request (``store[a:b, c:d]``), planned without the general
    path's bookkeeping; it gives what that path gives for such a transform.
    """
    pieces: list[tuple[_Piece, ...]] = []
    total = 1
    for j, (m, dim) in enumerate(zip(transform.maps, transform.domain.dims, strict=True)):
        if m.input_dimension != j or m.stride != 1:
            return None  # constants, index arrays, strides, permutations
        lo, hi = dim.inclusive_min, dim.exclusive_max
        c = int(chunk_shape[j])
        if hi <= lo or lo == -INF or hi == INF + 1 or c <= 0:
            return None
        n = hi - lo
        first = m.offset + lo - (0 if grid_origin is None else int(grid_origin[j]))
        g = first // c
        if (first + n - 1) // c == g:
            c0 = first - g * c
            pieces.append(((g, slice(c0, c0 + n), slice(0, n)),))
            continue
        found = _pieces(m.offset, 1, lo, n, c, 0 if grid_origin is None else int(grid_origin[j]))
        if found is None:
            return None
        total *= len(found)
        if total > MAX_CELLS:
            return None
        pieces.append(tuple(found))
    rank = len(pieces)
    return SimpleSlicePlan(
        rank,
        rank,
        total,
        (0,) * rank,
        (None,) * rank,
        tuple((j, j) for j in range(rank)),
        tuple(pieces),
        None,
    )
