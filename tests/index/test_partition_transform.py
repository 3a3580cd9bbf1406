"""Partition of real ``IndexTransform`` requests over chunk grids (Hypothesis vs NumPy).

Requests are built the way users build them (NumPy-style indexing, ``oindex``,
``vindex`` and dimension expressions on an array's domain); reading every chunk
through the partition must give exactly ``transform_array`` of the full array,
and writing through it must store each user element where the transform maps it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensortrio as ts
from tensortrio.errors import InvalidArgumentError
from tensortrio.index.apply import transform_array
from tensortrio.index.partition import partition_index_transform


@st.composite
def _requests(draw: st.DrawFn) -> tuple[ts.IndexTransform, tuple[int, ...], tuple[int, ...]]:
    rank = draw(st.integers(1, 3))
    origin = [draw(st.integers(-5, 5)) for _ in range(rank)]
    shape = [draw(st.integers(1, 7)) for _ in range(rank)]
    t = ts.IndexTransform(input_inclusive_min=origin, input_shape=shape)
    for _ in range(draw(st.integers(0, 2))):
        rank = t.input_rank
        if rank == 0:
            break
        lo, hi = t.domain.origin, t.domain.exclusive_max
        choice = draw(
            st.sampled_from(
                ["slice", "int", "array", "oindex", "vindex", "transpose", "diagonal", "stride"]
            )
        )
        dim = draw(st.integers(0, rank - 1))
        if hi[dim] <= lo[dim]:
            break
        if choice == "slice":
            start = draw(st.integers(lo[dim], hi[dim] - 1))
            step = draw(st.sampled_from([1, 2, 3, -1, -2]))
            if step > 0:
                t = t[ts.d[dim][start : hi[dim] : step]]
            else:
                t = t[ts.d[dim][start : lo[dim] - 1 if lo[dim] > -(2**60) else None : step]]
        elif choice == "int" and rank > 1:
            t = t[ts.d[dim][draw(st.integers(lo[dim], hi[dim] - 1))]]
        elif choice in ("array", "oindex", "vindex"):
            values = draw(st.lists(st.integers(lo[dim], hi[dim] - 1), min_size=1, max_size=5))
            expr = ts.d[dim]
            t = t[expr[values] if choice == "array" else getattr(expr, choice)[values]]
        elif choice == "transpose" and rank > 1:
            t = t[ts.d[dim].transpose[draw(st.integers(0, rank - 1))]]
        elif choice == "diagonal" and rank > 1:
            t = t[ts.d[dim, (dim + 1) % rank].diagonal]
        elif choice == "stride":
            t = t[ts.d[dim].translate_to[0].stride[draw(st.sampled_from([2, -1, 3]))]]
        if t.domain.size == 0:
            break
    out_rank = t.output_rank
    chunk = tuple(draw(st.integers(1, 4)) for _ in range(out_rank))
    grid_origin = tuple(draw(st.integers(-3, 3)) for _ in range(out_rank))
    return t, chunk, grid_origin


def _output_box(t: ts.IndexTransform) -> tuple[list[int], list[int]]:
    from tensortrio.index.compose import evaluate_map

    lows, highs = [], []
    for m in t.maps:
        values = evaluate_map(m, t.domain)
        lows.append(int(values.min()) if values.size else 0)
        highs.append(int(values.max()) + 1 if values.size else 1)
    return lows, highs


def _cell_slices(
    cell: tuple[int, ...], chunk: tuple[int, ...], grid_origin: tuple[int, ...], low: list[int]
) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    src, dst = [], []
    for g, c, g0, lo in zip(cell, chunk, grid_origin, low, strict=True):
        start = g0 + g * c - lo
        src.append(slice(max(start, 0), start + c))
        dst.append(slice(max(start, 0) - start, c))
    return tuple(src), tuple(dst)


@settings(max_examples=150, deadline=None)
@given(_requests())
def test_partition_reads_and_writes_like_numpy(
    request: tuple[ts.IndexTransform, tuple[int, ...], tuple[int, ...]],
) -> None:
    t, chunk, grid_origin = request
    low, high = _output_box(t)
    # Pad the box by a chunk on each side so every touched chunk is fully inside it.
    low = [lo - c for lo, c in zip(low, chunk, strict=True)]
    full_shape = [h - lo + c for h, lo, c in zip(high, low, chunk, strict=True)]
    full = np.arange(int(np.prod(full_shape)), dtype=np.int64).reshape(full_shape)
    expected = transform_array(t, full, low)

    part = partition_index_transform(t, chunk, grid_origin)
    got = np.full(t.domain.shape, -1, dtype=np.int64)
    written = np.full(full_shape, -1, dtype=np.int64)
    user = np.arange(t.domain.size, dtype=np.int64).reshape(t.domain.shape)
    for sel in part:
        src, dst = _cell_slices(sel.cell, chunk, grid_origin, low)
        chunk_array = np.full(chunk, -1, dtype=np.int64)
        chunk_array[dst] = full[src]
        sel.read(chunk_array, got)
        target = np.full(chunk, -1, dtype=np.int64)
        sel.write(user, target)
        written[src] = np.where(target[dst] >= 0, target[dst], written[src])
    np.testing.assert_array_equal(got, expected)
    # Each written element holds a user value that maps there (with duplicates, any one),
    # and every element some user value maps to was written.
    positions = np.broadcast_to(
        transform_array(t, np.arange(written.size).reshape(full_shape), low), user.shape
    ).reshape(-1)
    flat = written.reshape(-1)
    hit = np.flatnonzero(flat >= 0)
    np.testing.assert_array_equal(positions[flat[hit]], hit)
    assert set(hit.tolist()) == set(positions.tolist())
    assert part.cell_set() == {tuple(c) for c in part.cells.tolist()}


def test_partition_of_transform_examples() -> None:
    t = ts.IndexTransform(input_shape=[10, 8])[ts.d[0][2:9:3]][ts.d[1].translate_by[5]]
    part = partition_index_transform(t, (4, 4))
    assert part.cell_set() == {(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)}
    assert all(isinstance(term, slice) for sel in part for term in sel.chunk_selection)
    t = ts.IndexTransform(input_shape=[10, 8]).vindex[[1, 5, 9], [0, 3, 7]]
    part = partition_index_transform(t, (4, 4))
    assert part.cell_set() == {(0, 0), (1, 0), (2, 1)}


def test_partition_rejects_unbounded_request() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"^partition: input dimension 1 has unbounded domain \(-inf\*, \+inf\*\); a request domain must be bounded$",
    ):
        partition_index_transform(ts.IndexTransform(domain=[ts.Dim(size=2), ts.Dim()]), (4, 4))
