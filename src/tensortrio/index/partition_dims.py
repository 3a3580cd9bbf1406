"""Per-dimension arithmetic behind :mod:`tensortrio.index.partition`.

Input dimensions are grouped into *connected sets*: two input dimensions are
connected when one output map depends on both (an index array).  A set of one
input dimension feeding one strided output map splits into contiguous runs,
one per grid cell, computed with a few vectorized divisions (``strided_pieces``).
Any other set (index arrays, diagonals, broadcast dimensions) is enumerated:
every position of the set's sub-domain is mapped to its cell at once with
NumPy, then grouped by cell (``enumerate_set``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from ..errors import InvalidArgumentError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

__all__ = [
    "ChunkGrid",
    "EnumeratedPieces",
    "OutputMap",
    "StridedPieces",
    "connected_sets",
    "enumerate_set",
    "strided_pieces",
]


@attrs.frozen
class ChunkGrid:
    """A regular grid: cell ``g`` of dimension ``j`` covers ``origin[j] + g*shape[j]`` onwards."""

    chunk_shape: tuple[int, ...]
    grid_origin: tuple[int, ...]

    @classmethod
    def create(
        cls, chunk_shape: Sequence[int], grid_origin: Sequence[int] | None, rank: int
    ) -> ChunkGrid:
        """Validate and build a grid for an output space of ``rank`` dimensions."""
        shape = tuple(int(x) for x in chunk_shape)
        origin = (0,) * len(shape) if grid_origin is None else tuple(int(x) for x in grid_origin)
        if len(shape) != rank:
            raise InvalidArgumentError(
                f"partition: chunk_shape {list(shape)} must have rank {rank} (the output rank)"
            )
        if len(origin) != rank:
            raise InvalidArgumentError(
                f"partition: grid_origin {list(origin)} must have rank {rank} (the output rank)"
            )
        for j, size in enumerate(shape):
            if size <= 0:
                raise InvalidArgumentError(
                    f"partition: chunk_shape[{j}] must be positive, got {size}"
                )
        return cls(shape, origin)

    def locate(self, dim: int, index: int) -> tuple[int, int]:
        """Return ``(cell, chunk-local index)`` of output ``index`` along ``dim``."""
        cell, local = divmod(index - self.grid_origin[dim], self.chunk_shape[dim])
        return cell, local


@attrs.frozen(eq=False)
class OutputMap:
    """One output map in plain form: ``offset + stride * term``.

    ``term`` is 0 (constant), ``in[input_dimension]``, or
    ``index_array[in - input_origin]`` (one axis per input dimension, size 1
    where it broadcasts).
    """

    offset: int = 0
    stride: int = 1
    input_dimension: int | None = None
    index_array: NDArray[np.int64] | None = None

    def validate(self, j: int, input_shape: tuple[int, ...]) -> None:
        """Check the map against the input shape; ``j`` names the output dimension."""
        rank = len(input_shape)
        if self.input_dimension is not None and not 0 <= self.input_dimension < rank:
            raise InvalidArgumentError(
                f"partition: output dimension {j} uses input dimension "
                f"{self.input_dimension}, outside [0, {rank})"
            )
        if self.index_array is not None:
            arr = self.index_array
            if arr.ndim != rank or any(
                s not in (1, n) for s, n in zip(arr.shape, input_shape, strict=True)
            ):
                raise InvalidArgumentError(
                    f"partition: index array of output dimension {j} has shape "
                    f"{list(arr.shape)}, not broadcastable to the input shape {list(input_shape)}"
                )

    def dependencies(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Input dimensions this map's value varies with."""
        if self.stride == 0:
            return ()
        if self.input_dimension is not None:
            return (self.input_dimension,)
        if self.index_array is not None:
            return tuple(d for d, s in enumerate(self.index_array.shape) if s > 1)
        return ()

    def constant_value(self) -> int:
        """Value of a map that depends on no input dimension."""
        if self.index_array is not None and self.stride != 0:
            return self.offset + self.stride * int(self.index_array.reshape(-1)[0])
        return self.offset


def connected_sets(
    maps: Sequence[OutputMap], input_shape: tuple[int, ...]
) -> tuple[list[tuple[tuple[int, ...], tuple[int, ...]]], dict[int, int]]:
    """Group input dimensions by the output maps that tie them together.

    Returns ``(sets, constants)``: each set is ``(input dims, output dims)``
    sorted ascending (every input dimension appears in exactly one set, possibly
    with no output dims), and ``constants`` maps each output dimension that
    depends on no input dimension to its value.
    """
    parent = list(range(len(input_shape)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    deps: list[tuple[int, ...]] = []
    constants: dict[int, int] = {}
    for j, m in enumerate(maps):
        dims = m.dependencies(input_shape)
        deps.append(dims)
        if not dims:
            constants[j] = m.constant_value()
        for d in dims[1:]:
            parent[find(d)] = find(dims[0])
    members: dict[int, list[int]] = {}
    for d in range(len(input_shape)):
        members.setdefault(find(d), []).append(d)
    outputs: dict[int, list[int]] = {root: [] for root in members}
    for j, dims in enumerate(deps):
        if dims:
            outputs[find(dims[0])].append(j)
    sets = [
        (tuple(members[r]), tuple(outputs[r])) for r in sorted(members, key=lambda r: members[r][0])
    ]
    return sets, constants


@attrs.frozen(eq=False)
class StridedPieces:
    """Runs of one input dimension, one per touched cell of one output dimension."""

    output_dim: int
    input_dim: int
    stride: int
    cells: NDArray[np.int64]
    array_start: NDArray[np.int64]
    array_stop: NDArray[np.int64]
    chunk_start: NDArray[np.int64]

    def slice_pieces(self) -> list[tuple[int, slice, slice]]:
        """``(cell, chunk slice, array slice)`` per cell."""
        s = self.stride
        counts = self.array_stop - self.array_start
        result = []
        for g, a0, a1, c0, n in zip(
            self.cells.tolist(),
            self.array_start.tolist(),
            self.array_stop.tolist(),
            self.chunk_start.tolist(),
            counts.tolist(),
            strict=True,
        ):
            stop = c0 + s * (n - 1) + (1 if s > 0 else -1)
            cslice = slice(c0, stop if stop >= 0 else None, s if s != 1 else None)
            result.append((g, cslice, slice(a0, a1)))
        return result

    def array_pieces(self, axis: int, naxes: int) -> list[Any]:
        """Pieces as broadcast integer index arrays along ``axis`` of ``naxes``."""
        shape = [1] * naxes
        result = []
        for g, a0, a1, c0 in zip(
            self.cells.tolist(),
            self.array_start.tolist(),
            self.array_stop.tolist(),
            self.chunk_start.tolist(),
            strict=True,
        ):
            shape[axis] = a1 - a0
            ax = np.arange(a0, a1, dtype=np.intp).reshape(shape)
            cx = (c0 + self.stride * np.arange(a1 - a0, dtype=np.intp)).reshape(shape)
            result.append(
                (((self.output_dim, g),), ((self.output_dim, cx),), ((self.input_dim, ax),))
            )
        return result


def strided_pieces(j: int, d: int, m: OutputMap, lo: int, n: int, grid: ChunkGrid) -> StridedPieces:
    """Split input ``[lo, lo+n)`` of dim ``d`` feeding ``out[j] = offset + stride*in[d]``."""
    o, s = m.offset, m.stride
    c, origin = grid.chunk_shape[j], grid.grid_origin[j]
    first = o + s * lo - origin
    last = o + s * (lo + n - 1) - origin
    g_lo, g_hi = min(first, last) // c, max(first, last) // c
    if g_hi - g_lo + 1 <= n:
        cells = np.arange(g_lo, g_hi + 1, dtype=np.int64)
        start = origin + cells * c  # first output index of each cell
        if s > 0:
            x0 = -((o - start) // s)  # ceil((start - o) / s)
            x1 = -((o - start - c) // s)
        else:
            t = -s
            x0 = (o - start - c) // t + 1
            x1 = (o - start) // t + 1
        x0 = np.maximum(x0, lo)
        x1 = np.minimum(x1, lo + n)
        keep = x0 < x1
        cells, x0, x1 = cells[keep], x0[keep], x1[keep]
    else:
        # Fewer input positions than candidate cells (|stride| > chunk size):
        # locate each position and keep the runs of equal cell.
        x = np.arange(lo, lo + n, dtype=np.int64)
        g = (o + s * x - origin) // c
        if s < 0:
            x, g = x[::-1], g[::-1]
        bounds = np.flatnonzero(np.diff(g)) + 1
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [n]))
        cells = g[starts]
        if s > 0:
            x0, x1 = x[starts], x[ends - 1] + 1
        else:
            x0, x1 = x[ends - 1], x[starts] + 1
    chunk_start = o + s * x0 - origin - cells * c
    return StridedPieces(j, d, s, cells, x0 - lo, x1 - lo, chunk_start)


@attrs.frozen(eq=False)
class EnumeratedPieces:
    """Positions of a connected input set, grouped by the cell they map to."""

    input_dims: tuple[int, ...]
    output_dims: tuple[int, ...]
    cells: NDArray[np.int64]  # (num groups, len(output_dims))
    array_coords: tuple[NDArray[np.intp], ...]  # per input dim, grouped
    chunk_coords: tuple[NDArray[np.intp], ...]  # per output dim, grouped
    group_bounds: NDArray[np.intp]  # (num groups + 1,) offsets into the coords

    def array_pieces(self, axis: int, naxes: int) -> list[Any]:
        """Pieces as broadcast integer index arrays along ``axis`` of ``naxes``."""
        shape = [1] * naxes
        result = []
        bounds = self.group_bounds.tolist()
        for k, cell in enumerate(self.cells.tolist()):
            b0, b1 = bounds[k], bounds[k + 1]
            shape[axis] = b1 - b0
            cell_part = tuple(zip(self.output_dims, cell, strict=True))
            csel = tuple(
                (j, c[b0:b1].reshape(shape))
                for j, c in zip(self.output_dims, self.chunk_coords, strict=True)
            )
            asel = tuple(
                (d, a[b0:b1].reshape(shape))
                for d, a in zip(self.input_dims, self.array_coords, strict=True)
            )
            result.append((cell_part, csel, asel))
        return result


def enumerate_set(
    dims: tuple[int, ...],
    outs: tuple[int, ...],
    maps: Sequence[OutputMap],
    origin: tuple[int, ...],
    shape: tuple[int, ...],
    grid: ChunkGrid,
) -> EnumeratedPieces:
    """Map every position of input dims ``dims`` through output dims ``outs`` and group by cell."""
    sub_shape = tuple(shape[d] for d in dims)
    total = int(np.prod(sub_shape, dtype=np.int64))
    position = {d: k for k, d in enumerate(dims)}
    cell_cols = []
    local_cols = []
    for j in outs:
        m = maps[j]
        if m.input_dimension is not None:
            d = m.input_dimension
            view = [1] * len(dims)
            view[position[d]] = shape[d]
            term = np.arange(origin[d], origin[d] + shape[d], dtype=np.int64).reshape(view)
        else:
            assert m.index_array is not None
            arr = m.index_array
            # Axes outside ``dims`` have size 1 by construction of the set.
            term = arr.reshape([arr.shape[d] for d in dims])
        values = np.broadcast_to(
            m.offset + m.stride * term - grid.grid_origin[j], sub_shape
        ).reshape(-1)
        g, local = np.divmod(values, grid.chunk_shape[j])
        cell_cols.append(g)
        local_cols.append(local.astype(np.intp))
    if outs:
        lows = [int(g.min()) for g in cell_cols]
        spans = [int(g.max()) - low + 1 for g, low in zip(cell_cols, lows, strict=True)]
        if int(np.prod(spans, dtype=object)) < 2**62:
            # One int64 key per position sorts far faster than np.unique(axis=0).
            key = np.ravel_multi_index(
                [g - low for g, low in zip(cell_cols, lows, strict=True)], spans
            )
            order = np.argsort(key, kind="stable")
            sorted_key = key[order]
            starts = np.flatnonzero(np.diff(sorted_key)) + 1
            first = np.concatenate(([0], starts))
            counts = np.diff(np.concatenate((first, [total])))
            cells = np.stack(
                [
                    u + low
                    for u, low in zip(np.unravel_index(sorted_key[first], spans), lows, strict=True)
                ],
                axis=1,
            )
        else:
            keys = np.stack(cell_cols, axis=1)
            cells, inverse = np.unique(keys, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
            order = np.argsort(inverse, kind="stable")
            counts = np.bincount(inverse, minlength=len(cells))
    else:
        cells = np.zeros((1, 0), dtype=np.int64)
        order = np.arange(total)
        counts = np.array([total])
    bounds = np.concatenate(([0], np.cumsum(counts))).astype(np.intp)
    coords = np.unravel_index(order, sub_shape)
    array_coords = tuple(c.astype(np.intp) for c in coords)
    chunk_coords = tuple(col[order] for col in local_cols)
    return EnumeratedPieces(dims, outs, cells.astype(np.int64), array_coords, chunk_coords, bounds)
