"""The plain-box plan (``store[a:b, c:d]``) gives what the general partition gives."""

from __future__ import annotations

from typing import Any

import pytest

import tensortrio as ts
from tensortrio.index import partition as partition_module
from tensortrio.index.partition import partition_index_transform
from tensortrio.index.partition_simple import _box_plan


def _selections(part: Any) -> list[tuple[Any, ...]]:
    return [(s.cell, s.chunk_selection, s.array_selection, s.chunk_axes) for s in part]


@pytest.mark.parametrize(
    ("box", "chunk", "grid_origin"),
    [
        ((slice(64, 128), slice(192, 256)), (64, 64), None),  # one whole chunk
        ((slice(3, 5), slice(70, 71)), (64, 64), None),  # inside one chunk
        ((slice(60, 70), slice(1, 130)), (64, 64), None),  # 2 x 3 chunks
        ((slice(60, 70), slice(5, 9)), (8, 4), (3, -2)),  # a grid origin
    ],
)
def test_box_plan_equals_general_partition(
    box: tuple[slice, ...], chunk: tuple[int, ...], grid_origin: tuple[int, ...] | None
) -> None:
    t = ts.IndexTransform(input_shape=[200, 300])[ts.d[:].translate_by[1]][box]
    assert _box_plan(t, chunk, grid_origin) is not None
    fast = partition_index_transform(t, chunk, grid_origin)
    maps = [partition_module._to_output_map(m) for m in t.maps]
    general = partition_module.partition_output_maps(
        t.domain.origin, t.domain.shape, maps, chunk, grid_origin
    )
    assert fast.num_cells == general.num_cells
    assert _selections(fast) == _selections(general)


def test_box_plan_leaves_other_views_to_the_general_plans() -> None:
    t = ts.IndexTransform(input_shape=[20, 30])
    assert _box_plan(t[2:9:2, :], (4, 4), None) is None  # a stride
    assert _box_plan(t.T, (4, 4), None) is None  # a permutation
    assert _box_plan(t[3, :], (4, 4), None) is None  # a constant map
