"""Chunk grid choice: origins, unbounded domains, read/write reconciliation, errors.

Expectations come from tensorstore 0.1.86 (``ts.virtual_chunked`` over the same
domain and ``chunk_layout``, which chooses its grid like the zarr driver).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import tensortrio as ts
from tensortrio.schema.chunk_grid import GridConstraints
from tensortrio.schema.chunk_shape import (
    DEFAULT_CHUNK_ELEMENTS,
    ChunkGridTemplate,
    choose_chunk_grid,
    choose_chunk_shape,
    choose_read_write_chunk_grid,
    choose_read_write_chunk_shapes,
)


def _box(inclusive_min: list[int], exclusive_max: list[int]) -> ts.IndexDomain:
    rank = len(inclusive_min)
    return ts.IndexDomain(
        inclusive_min=inclusive_min,
        exclusive_max=exclusive_max,
        implicit_lower_bounds=[False] * rank,
        implicit_upper_bounds=[False] * rank,
    )


OFFSET = _box([5, -3], [105, 47])
HALF_UNBOUNDED = _box([-ts.inf, 0], [ts.inf + 1, 10])


@pytest.mark.parametrize(
    ("domain", "layout", "origin", "shape"),
    [
        (OFFSET, {}, (5, 47), (100, 50)),  # origin = domain origin mod chunk shape
        (OFFSET, {"chunk_shape": [30, 7]}, (5, 4), (30, 7)),
        (OFFSET, {"chunk_shape": [30, 7], "grid_origin": [1, None]}, (1, 4), (30, 7)),
        (OFFSET, {"chunk_shape": [30, 7], "grid_origin_soft_constraint": [2, 3]}, (2, 3), (30, 7)),
        (OFFSET, {"chunk_shape": [30, 7], "rank": 2, "grid_origin": [None, None]}, (5, 4), (30, 7)),
        (
            OFFSET,
            {"write_chunk_shape": [30, 7], "read_chunk_shape_soft_constraint": [20, 7]},
            (5, 4),
            (30, 7),
        ),
        # Unbounded dimensions: capped by the target elements, origin 0.
        (HALF_UNBOUNDED, {}, (0, 0), (104857, 10)),
        (_box([0, 0], [ts.inf + 1, 10]), {"chunk_elements": 1000}, (0, 0), (100, 10)),
        (_box([7], [ts.inf + 1]), {"chunk_shape": [10]}, (7,), (10,)),
    ],
)
def test_grid_over_boxes(
    domain: ts.IndexDomain, layout: dict[str, Any], origin: tuple[int, ...], shape: tuple[int, ...]
) -> None:
    assert choose_read_write_chunk_grid(ts.ChunkLayout(**layout), domain) == ChunkGridTemplate(
        origin, shape
    )


@pytest.mark.parametrize(
    ("domain", "layout", "message"),
    [
        (
            HALF_UNBOUNDED,
            {"chunk_shape": [-1, None]},
            "Cannot match chunk size for dimension 0 to unbounded domain (-inf, +inf)",
        ),
        (
            OFFSET,
            {"write_chunk_shape": [30, 7], "read_chunk_shape": [20, 7]},
            "write_chunk constraints not compatible with existing read_chunk constraints: Error "
            "setting read_chunk shape: New hard constraint (30) for dimension 0 does not match "
            "existing hard constraint (20)",
        ),
        (
            _box([5], [105]),
            {"chunk_shape": [10], "grid_origin": [2**62 - 5]},
            "Invalid chunk constraints for dimension 0: (4611686018427387899, 10) do not specify "
            "a valid sized index interval",
        ),
        (
            [10, 10],
            {"chunk_shape": [1, 2, 3]},
            "Rank of constraints (3) does not match rank of domain (2)",
        ),
        (
            [10, 10],
            {"chunk_aspect_ratio": [1, 2, 3]},
            "Rank of constraints (3) does not match rank of domain (2)",
        ),
        ([10, -1], {}, "domain shape[1] must be >= 0, got -1"),
    ],
)
def test_grid_errors(domain: Any, layout: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        choose_read_write_chunk_grid(ts.ChunkLayout(**layout), domain)


def test_full_extent_and_empty_dimensions() -> None:
    assert choose_chunk_shape(ts.ChunkLayout.Grid(shape=[-1, None]), [0, 5]) == (1, 5)
    assert choose_chunk_shape(ts.ChunkLayout.Grid(shape=[None, -1]), [3, 7]) == (3, 7)
    assert choose_chunk_shape(ts.ChunkLayout.Grid(), [0, 0]) == (1, 1)
    assert choose_chunk_shape(ts.ChunkLayout.Grid(), []) == ()
    assert choose_chunk_shape(GridConstraints(), [2000, 2000]) == (1024, 1024)


def test_default_target_is_one_mebi_element() -> None:
    assert DEFAULT_CHUNK_ELEMENTS == 1024 * 1024
    shape = choose_chunk_shape(ts.ChunkLayout.Grid(), [10**6, 10**6])
    assert shape == (1024, 1024)
    assert choose_chunk_shape(ts.ChunkLayout.Grid(), [10**9]) == (1024 * 1024,)


def test_elements_fill_free_dimensions_only() -> None:
    grid = ts.ChunkLayout.Grid(
        shape=[10, None, None], aspect_ratio=[None, 2, 1], elements=10_000_000
    )
    assert choose_chunk_shape(grid, [1000, 2000, 3000]) == (10, 1414, 707)
    # Documented example: aspect ratio [1, 1.5, 1.5], 486000 elements -> [60, 90, 90].
    grid = ts.ChunkLayout.Grid(aspect_ratio=[1, 1.5, 1.5], elements=486_000)
    assert choose_chunk_shape(grid, [10**6, 10**6, 10**6]) == (60, 90, 90)


def test_choose_chunk_grid_origin_constraints() -> None:
    grid = ts.ChunkLayout.Grid(shape=[4, 4])
    assert choose_chunk_grid(None, grid, OFFSET) == ChunkGridTemplate((1, 1), (4, 4))
    assert choose_chunk_grid([3, None], grid, OFFSET) == ChunkGridTemplate((3, 1), (4, 4))
    with pytest.raises(
        ValueError, match=r"^Rank of constraints \(1\) does not match rank of domain \(2\)$"
    ):
        choose_chunk_grid([3], grid, OFFSET)


@pytest.mark.parametrize(
    ("layout", "domain", "read", "write"),
    [
        (
            {"read_chunk_shape": [30, 30], "write_chunk_shape_soft_constraint": [100, 100]},
            [1000, 1000],
            (30, 30),
            (90, 90),
        ),
        (
            {"read_chunk_shape_soft_constraint": [30, 30], "write_chunk_shape": [100, 100]},
            [1000, 1000],
            (25, 25),
            (100, 100),
        ),
        (
            {
                "read_chunk_shape_soft_constraint": [70, 50],
                "write_chunk_shape_soft_constraint": [200, 200],
            },
            [777, 555],
            (50, 50),
            (200, 200),
        ),
        (
            {"write_chunk_shape": [9973], "read_chunk_shape_soft_constraint": [100]},
            [9973],
            (1,),
            (9973,),
        ),
    ],
)
def test_read_write_reconciliation(
    layout: dict[str, Any], domain: list[int], read: tuple[int, ...], write: tuple[int, ...]
) -> None:
    assert choose_read_write_chunk_shapes(ts.ChunkLayout(**layout), domain) == (read, write)


def test_read_write_hard_conflict() -> None:
    layout = ts.ChunkLayout(read_chunk_shape=[30, 7], write_chunk_shape=[100, 14])
    with pytest.raises(
        ValueError,
        match=r"^Incompatible chunk size constraints for dimension 0: read size of 30, write size of 100$",
    ):
        choose_read_write_chunk_shapes(layout, [1000, 1000])


def test_accepts_frozen_constraints() -> None:
    layout = ts.ChunkLayout(chunk_shape=[10, 20])
    assert choose_read_write_chunk_grid(layout.constraints, [100, 100]).shape == (10, 20)
    assert choose_read_write_chunk_shapes(layout.constraints, [100, 100]) == ((10, 20), (10, 20))
