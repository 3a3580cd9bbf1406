"""The plain-Python partition of rectangular requests equals the general (NumPy) partition."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensortrio as ts
from tensortrio.errors import InvalidArgumentError
from tensortrio.index import partition as partition_module
from tensortrio.index.partition import partition_index_transform
from tensortrio.index.partition_simple import simple_slice_plan


@st.composite
def _views(draw: st.DrawFn) -> tuple[ts.IndexTransform, tuple[int, ...], tuple[int, ...]]:
    rank = draw(st.integers(1, 3))
    origin = [draw(st.integers(-20, 20)) for _ in range(rank)]
    shape = [draw(st.integers(1, 40)) for _ in range(rank)]
    t = ts.IndexTransform(input_inclusive_min=origin, input_shape=shape)
    for _ in range(draw(st.integers(0, 3))):
        rank = t.input_rank
        if rank == 0:
            break
        lo, hi = t.domain.origin, t.domain.exclusive_max
        dim = draw(st.integers(0, rank - 1))
        choice = draw(st.sampled_from(["slice", "int", "transpose", "stride", "newaxis", "shift"]))
        if choice == "slice":
            start = draw(st.integers(lo[dim], hi[dim] - 1))
            step = draw(st.sampled_from([1, 2, 3, 7, 50, -1, -2, -9]))
            if step > 0:
                t = t[ts.d[dim][start : hi[dim] : step]]
            else:
                t = t[ts.d[dim][start : lo[dim] - 1 : step]]
        elif choice == "int" and rank > 1:
            t = t[ts.d[dim][draw(st.integers(lo[dim], hi[dim] - 1))]]
        elif choice == "transpose" and rank > 1:
            t = t[ts.d[dim].transpose[draw(st.integers(0, rank - 1))]]
        elif choice == "stride":
            t = t[ts.d[dim].translate_to[0].stride[draw(st.sampled_from([2, -1, 3, 11]))]]
        elif choice == "newaxis":
            t = t[(slice(None),) * dim + (ts.newaxis, ...)]
        elif choice == "shift":
            t = t[ts.d[dim].translate_by[draw(st.integers(-100, 100))]]
    chunk = tuple(draw(st.integers(1, 9)) for _ in range(t.output_rank))
    grid_origin = tuple(draw(st.integers(-5, 5)) for _ in range(t.output_rank))
    return t, chunk, grid_origin


def _selections(part: Any) -> list[tuple[Any, ...]]:
    return [(s.cell, s.chunk_selection, s.array_selection, s.chunk_axes) for s in part]


def _general(
    t: ts.IndexTransform, chunk: tuple[int, ...], grid_origin: tuple[int, ...]
) -> Any:
    saved = partition_module.simple_slice_plan
    partition_module.simple_slice_plan = lambda *args: None  # type: ignore[assignment]
    try:
        return partition_index_transform(t, chunk, grid_origin)
    finally:
        partition_module.simple_slice_plan = saved


@settings(max_examples=300, deadline=None)
@given(_views())
def test_simple_plan_equals_general_partition(
    case: tuple[ts.IndexTransform, tuple[int, ...], tuple[int, ...]],
) -> None:
    t, chunk, grid_origin = case
    fast = partition_index_transform(t, chunk, grid_origin)
    general = _general(t, chunk, grid_origin)
    assert fast.num_cells == general.num_cells
    assert fast.input_shape == general.input_shape
    assert fast.grid == general.grid
    np.testing.assert_array_equal(fast.cells, general.cells)
    assert _selections(fast) == _selections(general)


def test_simple_plan_covers_rectangular_views_only() -> None:
    base = ts.IndexTransform(input_shape=[100, 100])
    assert simple_slice_plan(base[3, 0:10], (64, 64), None) is not None
    assert simple_slice_plan(base[0:50:3, ::-1].T, (64, 64), (1, 2)) is not None
    assert simple_slice_plan(base[[1, 2], 0:10], (64, 64), None) is None  # index array
    assert simple_slice_plan(base[ts.d[0, 1].diagonal], (64, 64), None) is None
    assert simple_slice_plan(base[0:0, :], (64, 64), None) is None  # empty: general path
    assert simple_slice_plan(base, (1, 1), None) is None  # 10,000 cells: vectorized path
    assert simple_slice_plan(base[3, 0:10], (64,), None) is None  # bad grid: general error


def test_simple_plan_unbounded_request_raises_like_general() -> None:
    unbounded = ts.IndexTransform(input_rank=1)
    with pytest.raises(
        InvalidArgumentError, match=r"^partition: input dimension 0 has unbounded domain"
    ):
        partition_index_transform(unbounded, (4,))
