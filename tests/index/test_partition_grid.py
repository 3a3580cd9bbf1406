"""Partition of plain output maps over a chunk grid, against a brute-force NumPy reference.

The reference materialises the full output array over the bounding box of the
request, evaluates every input position's output coordinates with NumPy, and
checks that reading each chunk through the partition fills every user element
exactly once with the right value (and, where asked, that writes land where reads
come from).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensortrio.errors import InvalidArgumentError
from tensortrio.index.partition import IndexTransformPartition, OutputMap, partition_output_maps


def output_coords(
    origin: tuple[int, ...], shape: tuple[int, ...], maps: list[OutputMap]
) -> list[np.ndarray[Any, Any]]:
    """Output coordinate of every input position, one full-shape array per output dim."""
    grids = np.meshgrid(
        *[np.arange(o, o + n, dtype=np.int64) for o, n in zip(origin, shape, strict=True)],
        indexing="ij",
    )
    coords = []
    for m in maps:
        if m.input_dimension is not None:
            term = grids[m.input_dimension]
        elif m.index_array is not None:
            term = np.broadcast_to(m.index_array, shape)
        else:
            term = np.zeros(shape, dtype=np.int64)
        coords.append(np.broadcast_to(m.offset + m.stride * term, shape).astype(np.int64))
    return coords


def check_partition(
    part: IndexTransformPartition,
    origin: tuple[int, ...],
    shape: tuple[int, ...],
    maps: list[OutputMap],
    chunk_shape: tuple[int, ...],
    grid_origin: tuple[int, ...],
    *,
    check_write: bool = False,
) -> None:
    """Check ``part`` reads exactly what NumPy fancy indexing of the full array reads."""
    coords = output_coords(origin, shape, maps)
    rank = len(maps)
    size = int(np.prod(shape))
    cells_expected: set[tuple[int, ...]] = set()
    if size:
        cell_cols = [
            (c - g0) // cs for c, g0, cs in zip(coords, grid_origin, chunk_shape, strict=True)
        ]
        cells_expected = (
            {
                tuple(int(v) for v in row)
                for row in np.stack([c.reshape(-1) for c in cell_cols], axis=1).reshape(size, rank)
            }
            if rank
            else {()}
        )
    listed = [tuple(int(v) for v in row) for row in part.cells.tolist()]
    assert len(listed) == len(set(listed)) == part.num_cells == len(part)
    assert set(listed) == cells_expected == part.cell_set()

    # Full output array over the bounding box, with a unique value per element.
    if size and rank:
        lo = [int(c.min()) for c in coords]
        hi = [int(c.max()) + 1 for c in coords]
    else:
        lo, hi = [0] * rank, [1] * rank
    box = [h - low for h, low in zip(hi, lo, strict=True)]
    full = np.arange(int(np.prod(box)), dtype=np.int64).reshape(box) + 1
    expected = (
        full[tuple(c - low for c, low in zip(coords, lo, strict=True))]
        if rank
        else (np.full(shape, full[()], dtype=np.int64))
    )

    got = np.zeros(shape, dtype=np.int64)
    hits = np.zeros(shape, dtype=np.int64)
    seen = []
    for sel in part:
        seen.append(sel.cell)
        chunk = _chunk_of(full, lo, sel.cell, chunk_shape, grid_origin)
        if rank:
            assert sel.chunk_part(chunk).shape == got[sel.array_selection].shape
        sel.read(chunk, got)
        np.add.at(hits, sel.array_selection, 1)
    assert seen == listed
    np.testing.assert_array_equal(hits, np.ones(shape, dtype=np.int64))
    np.testing.assert_array_equal(got, expected)

    if check_write:
        # Injective maps: writing the user's array puts each element where it belongs.
        user = np.arange(size, dtype=np.int64).reshape(shape) + 1
        for sel in part:
            chunk = np.zeros(chunk_shape, dtype=np.int64)
            sel.write(user, chunk)
            assert np.array_equal(sel.chunk_part(chunk), user[sel.array_selection])


def _chunk_of(
    full: np.ndarray[Any, Any],
    lo: list[int],
    cell: tuple[int, ...],
    chunk_shape: tuple[int, ...],
    grid_origin: tuple[int, ...],
) -> np.ndarray[Any, Any]:
    """The chunk ``cell`` of the full output array (zero outside the bounding box)."""
    chunk = np.zeros(chunk_shape, dtype=np.int64)
    src = []
    dst = []
    for g, cs, g0, low, n in zip(cell, chunk_shape, grid_origin, lo, full.shape, strict=True):
        start = g0 + g * cs - low
        a, b = max(start, 0), min(start + cs, n)
        if a >= b:
            return chunk
        src.append(slice(a, b))
        dst.append(slice(a - start, b - start))
    chunk[tuple(dst)] = full[tuple(src)]
    return chunk


def _run(
    origin: tuple[int, ...],
    shape: tuple[int, ...],
    maps: list[OutputMap],
    chunk_shape: tuple[int, ...],
    grid_origin: tuple[int, ...] | None = None,
    *,
    check_write: bool = False,
) -> IndexTransformPartition:
    go = tuple(grid_origin) if grid_origin is not None else (0,) * len(chunk_shape)
    part = partition_output_maps(origin, shape, maps, chunk_shape, go)
    check_partition(
        part, tuple(origin), tuple(shape), maps, tuple(chunk_shape), go, check_write=check_write
    )
    return part


def test_identity_slices_are_plain_slices() -> None:
    maps = [OutputMap(input_dimension=0), OutputMap(input_dimension=1)]
    part = _run((3, 5), (10, 7), maps, (4, 4), check_write=True)
    assert part.num_cells == 4 * 2
    sels = list(part)
    assert sels[0].cell == (0, 1)
    assert sels[0].chunk_selection == (slice(3, 4), slice(1, 4))
    assert sels[0].array_selection == (slice(0, 1), slice(0, 3))
    assert all(s.chunk_axes is None for s in sels)


def test_negative_stride_and_offset() -> None:
    maps = [OutputMap(offset=20, stride=-3, input_dimension=0)]
    part = _run((0,), (7,), maps, (5,), check_write=True)
    sel = next(iter(part))
    assert isinstance(sel.chunk_selection[0], slice)
    assert sel.chunk_selection[0].step == -3


def test_stride_larger_than_chunk_skips_cells() -> None:
    maps = [OutputMap(offset=1, stride=7, input_dimension=0)]
    part = _run((0,), (5,), maps, (3,), check_write=True)
    assert part.cell_set() == {(0,), (2,), (5,), (7,), (9,)}


def test_constant_and_transposed() -> None:
    maps = [OutputMap(offset=9), OutputMap(input_dimension=1), OutputMap(input_dimension=0)]
    part = _run((0, 2), (5, 6), maps, (4, 3, 2), check_write=True)
    sel = next(iter(part))
    assert isinstance(sel.chunk_selection[0], int)
    assert sel.chunk_axes == (1, 0)


def test_newaxis_dimension_of_size_one() -> None:
    maps = [OutputMap(input_dimension=1)]
    part = _run((0, 0), (1, 6), maps, (4,), check_write=True)
    sel = next(iter(part))
    assert sel.chunk_selection == (slice(0, 4), None)
    assert sel.chunk_axes == (1, 0)


def test_broadcast_dimension_uses_index_arrays() -> None:
    maps = [OutputMap(input_dimension=1)]
    part = _run((0, 0), (3, 6), maps, (4,))
    assert all(isinstance(s.array_selection[0], np.ndarray) for s in part)


def test_diagonal_and_index_array() -> None:
    maps = [OutputMap(input_dimension=0), OutputMap(input_dimension=0, offset=2)]
    _run((1,), (9,), maps, (2, 3))
    arr = np.array([[5], [0], [13], [7]], dtype=np.int64)
    maps = [OutputMap(index_array=arr, offset=-1, stride=2), OutputMap(input_dimension=1)]
    _run((4, 0), (4, 5), maps, (3, 2), check_write=True)


def test_rank_zero_and_empty() -> None:
    part = _run((), (), [OutputMap(offset=5), OutputMap(offset=-3)], (2, 2))
    assert part.cells.tolist() == [[2, -2]]
    part = _run((0,), (0,), [OutputMap(input_dimension=0)], (4,))
    assert part.num_cells == 0
    assert list(part) == []


def test_bad_grid() -> None:
    maps = [OutputMap(input_dimension=0)]
    with pytest.raises(
        InvalidArgumentError,
        match=r"^partition: chunk_shape \[4, 4\] must have rank 1 \(the output rank\)$",
    ):
        partition_output_maps((0,), (3,), maps, (4, 4))
    with pytest.raises(
        InvalidArgumentError, match=r"^partition: chunk_shape\[0\] must be positive, got 0$"
    ):
        partition_output_maps((0,), (3,), maps, (0,))
    with pytest.raises(
        InvalidArgumentError, match=r"^partition: grid_origin \[0, 0\] must have rank 1"
    ):
        partition_output_maps((0,), (3,), maps, (4,), (0, 0))
    bad = [OutputMap(index_array=np.zeros((2,), dtype=np.int64))]
    with pytest.raises(
        InvalidArgumentError,
        match=r"^partition: index array of output dimension 0 has shape \[2\], not broadcastable to the input shape \[3\]$",
    ):
        partition_output_maps((0,), (3,), bad, (4,))


@st.composite
def _cases(draw: st.DrawFn) -> tuple[Any, ...]:
    in_rank = draw(st.integers(0, 3))
    origin = tuple(draw(st.integers(-20, 20)) for _ in range(in_rank))
    shape = tuple(draw(st.integers(0, 6)) for _ in range(in_rank))
    out_rank = draw(st.integers(0, 3))
    maps = []
    for _ in range(out_rank):
        kind = draw(st.sampled_from(["const", "dim", "dim", "array"] if in_rank else ["const"]))
        offset = draw(st.integers(-30, 30))
        stride = draw(st.integers(-4, 4))
        if kind == "const":
            maps.append(OutputMap(offset=offset))
        elif kind == "dim":
            maps.append(
                OutputMap(
                    offset=offset, stride=stride, input_dimension=draw(st.integers(0, in_rank - 1))
                )
            )
        else:
            arr_shape = [draw(st.sampled_from([1, n])) for n in shape]
            values = draw(
                st.lists(
                    st.integers(-15, 15),
                    min_size=int(np.prod(arr_shape)),
                    max_size=int(np.prod(arr_shape)),
                )
            )
            arr = np.array(values, dtype=np.int64).reshape(arr_shape)
            maps.append(OutputMap(offset=offset, stride=stride, index_array=arr))
    chunk_shape = tuple(draw(st.integers(1, 5)) for _ in range(out_rank))
    grid_origin = tuple(draw(st.integers(-6, 6)) for _ in range(out_rank))
    return origin, shape, maps, chunk_shape, grid_origin


@settings(max_examples=300, deadline=None)
@given(_cases())
def test_matches_numpy_reference(case: tuple[Any, ...]) -> None:
    origin, shape, maps, chunk_shape, grid_origin = case
    _run(origin, shape, maps, chunk_shape, grid_origin)
