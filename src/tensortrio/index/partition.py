"""Partition an index transform over a regular chunk grid.

A chunked driver reading or writing ``store[request]`` holds an
``IndexTransform`` whose input domain is the user's request and whose output
space is the stored array.  :func:`partition_index_transform` splits that
request into the grid cells (chunks) it touches and, for each cell, gives two
NumPy selections with identical shape and element order:

- ``array_selection`` indexes the user's array (shape = the input domain's
  shape; the input origin is shifted to 0), and
- ``chunk_selection`` indexes one chunk's array (chunk-local coordinates),
  followed by ``np.transpose(..., chunk_axes)`` when ``chunk_axes`` is set
  (only when the transform permutes dimensions).

so a read does ``cell.read(chunk, user)`` (``user[asel] = chunk[csel]``) and a
write ``cell.write(user, chunk)`` (``chunk[csel] = user[asel]``).

Selections are plain ``slice`` / ``int`` / ``None`` terms whenever every output
map is a constant or a (strided) single-input-dimension map that uses its input
dimension alone; index-array maps, diagonals (one input dimension driving
several output dimensions) and broadcast input dimensions fall back to integer
index arrays.  All per-element work is vectorized with NumPy; Python loops run
once per touched cell, never per element.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
import numpy as np

from ..errors import InvalidArgumentError
from .apply import check_index_arrays
from .output_map import OutputIndexMap, OutputIndexMethod
from .partition_dims import (
    ChunkGrid,
    EnumeratedPieces,
    OutputMap,
    StridedPieces,
    connected_sets,
    enumerate_set,
    strided_pieces,
)
from .partition_simple import SimpleSlicePlan, simple_slice_plan

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from numpy.typing import NDArray

    from .transform import IndexTransform

__all__ = [
    "ChunkCellSelection",
    "ChunkGrid",
    "IndexTransformPartition",
    "OutputMap",
    "partition_index_transform",
    "partition_output_maps",
]

SelectionTerm: TypeAlias = "int | slice | NDArray[np.intp] | None"


@attrs.frozen(eq=False)
class ChunkCellSelection:
    """The part of a request that falls in one grid cell (chunk).

    ``chunk[chunk_selection]`` (transposed by ``chunk_axes`` when not None) and
    ``array[array_selection]`` have the same shape, element for element.
    """

    cell: tuple[int, ...]
    """Grid cell index of the chunk (one entry per output dimension)."""
    chunk_selection: tuple[SelectionTerm, ...]
    """Selection within the chunk array, in chunk-local coordinates."""
    array_selection: tuple[SelectionTerm, ...]
    """Selection within the user's array (input domain shifted to origin 0)."""
    chunk_axes: tuple[int, ...] | None = None
    """Axes for ``np.transpose(chunk[chunk_selection], chunk_axes)``, or None."""

    def chunk_part(self, chunk: NDArray[Any]) -> Any:
        """Return the chunk's part arranged like ``array[array_selection]``."""
        part = chunk[self.chunk_selection]
        if self.chunk_axes is not None:
            part = np.transpose(part, self.chunk_axes)
        return part

    def read(self, chunk: NDArray[Any], array: NDArray[Any]) -> None:
        """Copy this cell's elements from ``chunk`` into the user's ``array``."""
        array[self.array_selection] = self.chunk_part(chunk)

    def write(self, array: NDArray[Any], chunk: NDArray[Any]) -> None:
        """Copy this cell's elements from the user's ``array`` into ``chunk``."""
        part = array[self.array_selection]
        if self.chunk_axes is not None:
            part = np.transpose(part, np.argsort(self.chunk_axes))
        chunk[self.chunk_selection] = part


@attrs.frozen(eq=False)
class IndexTransformPartition:
    """The grid cells a request touches, iterable as :class:`ChunkCellSelection`."""

    grid: ChunkGrid
    input_shape: tuple[int, ...]
    _cells: NDArray[np.int64] | None
    """Computed on first use for a simple plan (most requests never ask)."""
    _selections: _SelectionPlan | SimpleSlicePlan

    @property
    def num_cells(self) -> int:
        """Number of grid cells touched (each appears exactly once)."""
        if self._cells is None:
            assert isinstance(self._selections, SimpleSlicePlan)
            return self._selections.num_cells
        return int(self._cells.shape[0])

    @property
    def cells(self) -> NDArray[np.int64]:
        """Grid cell indices touched, shape ``(num_cells, rank)``, in iteration order."""
        if self._cells is None:
            object.__setattr__(self, "_cells", self._selections.cells())
        assert self._cells is not None
        return self._cells

    def cell_set(self) -> frozenset[tuple[int, ...]]:
        """The touched grid cells as a set of tuples."""
        return frozenset(map(tuple, self.cells.tolist()))

    def __len__(self) -> int:
        return self.num_cells

    def __iter__(self) -> Iterator[ChunkCellSelection]:
        plan = self._selections
        if isinstance(plan, SimpleSlicePlan):
            return plan.iterate(ChunkCellSelection)
        return plan.iterate()


def partition_index_transform(
    transform: IndexTransform,
    chunk_shape: Sequence[int],
    grid_origin: Sequence[int] | None = None,
) -> IndexTransformPartition:
    """Partition ``transform`` (request domain -> array index space) over a chunk grid.

    Args:
      transform: an ``IndexTransform`` whose input domain is bounded.
      chunk_shape: chunk size per output dimension (all positive).
      grid_origin: output index where cell 0 starts, per dimension; default 0.

    Raises:
      InvalidArgumentError: if the chunk grid's rank differs from the output
        rank, a chunk size is not positive, or an input dimension is unbounded.
    """
    simple = simple_slice_plan(transform, chunk_shape, grid_origin)
    if simple is not None:
        grid = ChunkGrid(
            tuple(map(int, chunk_shape)),
            (0,) * simple.output_rank if grid_origin is None else tuple(map(int, grid_origin)),
        )
        return IndexTransformPartition(grid, transform.domain.shape, None, simple)
    domain = transform.domain
    for dim, interval in enumerate(domain.dims):
        if not interval.finite and not interval.empty:
            raise InvalidArgumentError(
                f"partition: input dimension {dim} has unbounded domain "
                f"{interval.bounds_str()}; a request domain must be bounded"
            )
    check_index_arrays(transform)
    maps = [_to_output_map(m) for m in transform.maps]
    return partition_output_maps(domain.origin, domain.shape, maps, chunk_shape, grid_origin)


def _to_output_map(m: OutputIndexMap) -> OutputMap:
    """Convert one ``OutputIndexMap`` (index arrays in compact form) to the plain form."""
    if m.method is OutputIndexMethod.constant:
        return OutputMap(offset=m.offset)
    assert m.stride is not None
    if m.method is OutputIndexMethod.single_input_dimension:
        return OutputMap(offset=m.offset, stride=m.stride, input_dimension=m.input_dimension)
    return OutputMap(offset=m.offset, stride=m.stride, index_array=m.index_array)


def partition_output_maps(
    input_origin: Sequence[int],
    input_shape: Sequence[int],
    maps: Sequence[OutputMap],
    chunk_shape: Sequence[int],
    grid_origin: Sequence[int] | None = None,
) -> IndexTransformPartition:
    """Partition plain output maps over a chunk grid (see :func:`partition_index_transform`).

    ``maps[j]`` gives output dimension ``j``; an index array must have one axis
    per input dimension, each of the input size or 1 (broadcast), indexed from
    the input origin.
    """
    origin = tuple(int(x) for x in input_origin)
    shape = tuple(int(x) for x in input_shape)
    if len(origin) != len(shape):
        raise InvalidArgumentError(
            f"partition: input origin {list(origin)} and shape {list(shape)} differ in rank"
        )
    for dim, size in enumerate(shape):
        if size < 0:
            raise InvalidArgumentError(f"partition: input dimension {dim} has negative size {size}")
    grid = ChunkGrid.create(chunk_shape, grid_origin, len(maps))
    for j, m in enumerate(maps):
        m.validate(j, shape)
    plan = _SelectionPlan.build(origin, shape, tuple(maps), grid)
    return IndexTransformPartition(grid, shape, plan.cells(), plan)


@attrs.frozen(eq=False)
class _SelectionPlan:
    """Per-set pieces whose Cartesian product gives the touched cells."""

    output_rank: int
    input_rank: int
    const_cell: tuple[int, ...]
    const_csel: tuple[SelectionTerm, ...]
    base_asel: tuple[SelectionTerm, ...]
    strided: tuple[StridedPieces, ...]
    enumerated: tuple[EnumeratedPieces, ...]
    newaxis_dims: tuple[int, ...]
    empty: bool

    @classmethod
    def build(
        cls,
        origin: tuple[int, ...],
        shape: tuple[int, ...],
        maps: tuple[OutputMap, ...],
        grid: ChunkGrid,
    ) -> _SelectionPlan:
        out_rank = len(maps)
        in_rank = len(shape)
        empty = any(size == 0 for size in shape)
        const_cell = [0] * out_rank
        const_csel: list[SelectionTerm] = [None] * out_rank
        base_asel: list[SelectionTerm] = [slice(None)] * in_rank
        strided: list[StridedPieces] = []
        enumerated: list[EnumeratedPieces] = []
        newaxis_dims: list[int] = []
        if not empty:
            sets, constants = connected_sets(maps, shape)
            for j, value in constants.items():
                cell, local = grid.locate(j, value)
                const_cell[j] = cell
                const_csel[j] = local
            for dims, outs in sets:
                if len(dims) == 1 and len(outs) == 1 and maps[outs[0]].input_dimension == dims[0]:
                    j, d = outs[0], dims[0]
                    strided.append(strided_pieces(j, d, maps[j], origin[d], shape[d], grid))
                elif not outs and len(dims) == 1 and shape[dims[0]] == 1:
                    newaxis_dims.append(dims[0])
                else:
                    enumerated.append(enumerate_set(dims, outs, maps, origin, shape, grid))
        return cls(
            out_rank,
            in_rank,
            tuple(const_cell),
            tuple(const_csel),
            tuple(base_asel),
            tuple(strided),
            tuple(enumerated),
            tuple(newaxis_dims),
            empty,
        )

    def _piece_counts(self) -> list[int]:
        return [len(p.cells) for p in self.strided] + [len(p.cells) for p in self.enumerated]

    def cells(self) -> NDArray[np.int64]:
        if self.empty:
            return np.zeros((0, self.output_rank), dtype=np.int64)
        counts = self._piece_counts()
        total = int(np.prod(counts, dtype=np.int64)) if counts else 1
        out = np.empty((total, self.output_rank), dtype=np.int64)
        out[:] = np.asarray(self.const_cell, dtype=np.int64)
        if not counts:
            return out
        # itertools.product order is C order over the piece lists.
        grids = np.indices(counts).reshape(len(counts), -1)
        k = 0
        for piece in self.strided:
            out[:, piece.output_dim] = piece.cells[grids[k]]
            k += 1
        for epiece in self.enumerated:
            out[:, list(epiece.output_dims)] = epiece.cells[grids[k]]
            k += 1
        return out

    def iterate(self) -> Iterator[ChunkCellSelection]:
        if self.empty:
            return iter(())
        if not self.enumerated:
            return self._iterate_slices()
        return self._iterate_arrays()

    def _iterate_slices(self) -> Iterator[ChunkCellSelection]:
        # Axes of chunk[csel]: the strided output dims in output order, then one
        # new axis per unused size-1 input dim; chunk_axes reorders them to input order.
        order = sorted(self.strided, key=lambda p: p.output_dim)
        axis_inputs = [p.input_dim for p in order] + list(self.newaxis_dims)
        axes = tuple(int(a) for a in np.argsort(axis_inputs, kind="stable"))
        chunk_axes = None if axes == tuple(range(len(axes))) else axes
        const_csel = list(self.const_csel) + [None] * len(self.newaxis_dims)
        base_asel = list(self.base_asel)
        out_dims = [p.output_dim for p in self.strided]
        in_dims = [p.input_dim for p in self.strided]
        lists = [p.slice_pieces() for p in self.strided]
        const_cell = list(self.const_cell)
        slots = list(zip(out_dims, in_dims, strict=True))
        if slots and not self.newaxis_dims and slots == [
            (k, k) for k in range(max(self.output_rank, self.input_rank))
        ]:
            # Output dim k is input dim k, for every dim: the cells, chunk
            # selections and array selections are three products in lockstep.
            yield from map(
                ChunkCellSelection,
                itertools.product(*[[g for g, _, _ in pieces] for pieces in lists]),
                itertools.product(*[[c for _, c, _ in pieces] for pieces in lists]),
                itertools.product(*[[a for _, _, a in pieces] for pieces in lists]),
            )
            return
        for combo in itertools.product(*lists):
            cell = const_cell.copy()
            csel = const_csel.copy()
            asel = base_asel.copy()
            for (j, d), (g, cs, as_) in zip(slots, combo, strict=True):
                cell[j] = g
                csel[j] = cs
                asel[d] = as_
            yield ChunkCellSelection(tuple(cell), tuple(csel), tuple(asel), chunk_axes)

    def _iterate_arrays(self) -> Iterator[ChunkCellSelection]:
        # One broadcast axis per piece set; every selection term is an integer
        # array (or scalar) broadcasting to the same shape on both sides.
        nsets = len(self.strided) + len(self.enumerated)
        const_cell = list(self.const_cell)
        const_csel: list[Any] = list(self.const_csel)
        base_asel: list[Any] = [0] * self.input_rank
        lists: list[Sequence[Any]] = []
        for k, p in enumerate(self.strided):
            lists.append(p.array_pieces(k, nsets))
        for k, e in enumerate(self.enumerated, start=len(self.strided)):
            lists.append(e.array_pieces(k, nsets))
        # A set with no output dims (an input dim broadcast over the chunk) gives
        # the user side an axis the chunk side lacks: broadcast the chunk's index
        # arrays over it so both sides keep one shape.
        broadcast = self.output_rank > 0 and any(not e.output_dims for e in self.enumerated)
        for combo in itertools.product(*lists):
            cell = const_cell.copy()
            csel = const_csel.copy()
            asel = base_asel.copy()
            for cell_part, csel_part, asel_part in combo:
                for j, g in cell_part:
                    cell[j] = g
                for j, ix in csel_part:
                    csel[j] = ix
                for d, ix in asel_part:
                    asel[d] = ix
            if broadcast:
                shape = np.broadcast_shapes(*(np.shape(a) for a in asel))
                csel = [np.broadcast_to(c, shape) for c in csel]
            yield ChunkCellSelection(tuple(cell), tuple(csel), tuple(asel), None)
