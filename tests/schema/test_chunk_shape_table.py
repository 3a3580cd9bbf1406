"""The chunk shape chooser against a table of tensorstore 0.1.86's own choices.

Each case: (dtype, domain shape, ChunkLayout JSON, expected (read, write) chunk
shape or ("error", message)).  ``ZARR_CASES`` are what the zarr (v2) driver
chose, ``ZARR3_CASES`` the zarr3 driver.  Generated on ``memory://`` by
``generate_chunk_shape_cases.py``; tensorstore is deliberately not imported
here, so this file documents the expected behaviour.  The data type never
matters: TensorStore targets a number of elements, not bytes.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import tensortrio as ts
from tensortrio.schema.chunk_shape import (
    choose_read_write_chunk_grid,
    choose_read_write_chunk_shapes,
)

ZARR_CASES: list[tuple[str, list[int], dict[str, Any], Any]] = [
    ("float32", [1000, 2000, 3000], {}, ([101, 101, 101], [101, 101, 101])),
    (
        "float32",
        [1000, 2000, 3000],
        {"chunk": {"shape": [10, None, None], "aspect_ratio": [None, 2, 1], "elements": 10000000}},
        ([10, 1414, 707], [10, 1414, 707]),
    ),
    ("uint8", [1000, 2000, 3000], {}, ([101, 101, 101], [101, 101, 101])),
    ("uint8", [100], {}, ([100], [100])),
    ("int16", [5], {}, ([5], [5])),
    ("float64", [10, 10], {}, ([10, 10], [10, 10])),
    ("float64", [1, 1000000], {}, ([1, 1000000], [1, 1000000])),
    ("int32", [3, 4, 5, 6], {}, ([3, 4, 5, 6], [3, 4, 5, 6])),
    ("uint16", [10000, 10000], {"chunk": {"elements": 1000}}, ([31, 31], [31, 31])),
    ("uint16", [10000, 10000], {"chunk": {"aspect_ratio": [1, 4]}}, ([512, 2048], [512, 2048])),
    (
        "float32",
        [64, 64, 64],
        {"chunk": {"shape_soft_constraint": [32, None, None]}},
        ([32, 64, 64], [32, 64, 64]),
    ),
    ("float32", [500, 500], {"write_chunk": {"shape": [-1, None]}}, ([500, 500], [500, 500])),
    ("int8", [1000000], {}, ([1000000], [1000000])),
    ("int16", [7, 11, 13, 17, 19], {}, ([7, 11, 13, 17, 19], [7, 11, 13, 17, 19])),
    ("uint32", [1048576, 1048576], {"chunk": {"elements": 4096}}, ([64, 64], [64, 64])),
    (
        "float32",
        [100, 200, 300],
        {"chunk": {"aspect_ratio": [0.5, 1, 2]}},
        ([50, 101, 203], [50, 101, 203]),
    ),
    ("float32", [1000, 1000, 1000], {"chunk": {"elements": 1}}, ([1, 1, 1], [1, 1, 1])),
    ("float32", [100, 100], {"chunk": {"shape": [50, 50]}}, ([50, 50], [50, 50])),
    (
        "float64",
        [4000, 3000],
        {"write_chunk": {"elements_soft_constraint": 100000}},
        ([316, 316], [316, 316]),
    ),
    (
        "int64",
        [12345, 678],
        {"chunk": {"aspect_ratio": [3, None], "elements": 50000}},
        ([387, 129], [387, 129]),
    ),
    ("uint8", [10, 10, 10, 10, 10, 10], {}, ([10, 10, 10, 10, 10, 10], [10, 10, 10, 10, 10, 10])),
    ("bool", [100000, 3], {}, ([100000, 3], [100000, 3])),
    ("complex128", [300, 300, 300], {"chunk": {"elements": 65536}}, ([40, 40, 40], [40, 40, 40])),
    ("float32", [1000, 1000], {"chunk": {"shape": [None, 1]}}, ([1000, 1], [1000, 1])),
    ("float32", [], {}, ([], [])),
    (
        "float32",
        [2000, 2000],
        {
            "read_chunk": {"shape_soft_constraint": [100, None]},
            "write_chunk": {"aspect_ratio_soft_constraint": [1, 3]},
        },
        ([100, 2000], [100, 2000]),
    ),
    (
        "float32",
        [2000, 2000],
        {"write_chunk": {"shape": [300, None]}, "read_chunk": {"elements": 90000}},
        ([300, 300], [300, 300]),
    ),
    ("float32", [999, 997], {"chunk": {"aspect_ratio": [1000, 1]}}, ([999, 997], [999, 997])),
    ("float32", [50, 60, 70], {"chunk": {"elements": 1000000000000}}, ([50, 60, 70], [50, 60, 70])),
    ("float32", [1, 1, 1], {}, ([1, 1, 1], [1, 1, 1])),
    ("uint8", [3, 9], {"chunk": {"aspect_ratio": [1, 1.0078125], "elements": 6}}, ([2, 2], [2, 2])),
    ("uint8", [2, 6], {"chunk": {"aspect_ratio": [1, 2.125], "elements": 6}}, ([1, 3], [1, 3])),
    (
        "uint8",
        [100, 100],
        {"chunk": {"aspect_ratio": [1, 1.0625], "elements": 7}},
        ([2, 3], [2, 3]),
    ),
    (
        "uint8",
        [100, 100],
        {"chunk": {"aspect_ratio": [1, 1.0625], "elements": 12}},
        ([3, 3], [3, 3]),
    ),
    (
        "uint8",
        [1, 1, 2, 6],
        {
            "write_chunk": {"aspect_ratio_soft_constraint": [None, None, None, 2.125]},
            "read_chunk": {"elements": 6},
        },
        ([1, 1, 1, 3], [1, 1, 1, 3]),
    ),
    (
        "uint8",
        [50, 50, 50],
        {"chunk": {"aspect_ratio": [0.001, 1, 1000], "elements": 500}},
        ([1, 10, 50], [1, 10, 50]),
    ),
    (
        "uint8",
        [1000000000, 1000000000],
        {"chunk": {"aspect_ratio": [1e-06, 1], "elements": 1000000000000}},
        ([1000, 1000000000], [1000, 1000000000]),
    ),
]
ZARR3_CASES: list[tuple[str, list[int], dict[str, Any], Any]] = [
    ("float32", [1000, 2000, 3000], {}, ([101, 101, 101], [101, 101, 101])),
    (
        "float32",
        [1000, 2000, 3000],
        {"read_chunk": {"shape": [10, 20, 30]}},
        ([10, 20, 30], [100, 100, 90]),
    ),
    ("float32", [1000, 1000], {"write_chunk": {"shape": [100, 100]}}, ([100, 100], [100, 100])),
    (
        "float32",
        [4096, 4096],
        {"read_chunk": {"shape": [64, None]}, "write_chunk": {"shape": [256, 256]}},
        ([64, 256], [256, 256]),
    ),
    (
        "uint8",
        [10000, 10000],
        {"write_chunk": {"elements": 100000000}, "read_chunk": {"elements": 10000}},
        ([100, 100], [10000, 10000]),
    ),
    (
        "uint8",
        [1000, 1000],
        {"read_chunk": {"shape_soft_constraint": [30, 30]}, "write_chunk": {"shape": [100, 100]}},
        ([25, 25], [100, 100]),
    ),
    (
        "uint8",
        [1000, 1000],
        {"read_chunk": {"shape": [30, 30]}, "write_chunk": {"shape_soft_constraint": [100, 100]}},
        ([30, 30], [90, 90]),
    ),
    (
        "uint8",
        [1000, 1000],
        {"read_chunk": {"shape": [30, 30]}, "write_chunk": {"shape": [100, 100]}},
        (
            "error",
            "Incompatible chunk size constraints for dimension 0: read size of 30, write size of 100",
        ),
    ),
    (
        "int16",
        [5000, 5000, 20],
        {"read_chunk": {"elements": 50000}, "write_chunk": {"aspect_ratio": [1, 1, 0.01]}},
        ([50, 50, 20], [200, 200, 20]),
    ),
    (
        "float64",
        [777, 555],
        {
            "read_chunk": {"shape_soft_constraint": [70, 50]},
            "write_chunk": {"shape_soft_constraint": [200, 200]},
        },
        ([50, 50], [200, 200]),
    ),
    ("float32", [100000], {"read_chunk": {"elements": 1000}}, ([1000], [100000])),
    (
        "float32",
        [3000, 3000],
        {"write_chunk": {"elements": 10000000}, "read_chunk": {"shape": [97, None]}},
        ([97, 3000], [3007, 3000]),
    ),
    ("uint8", [10, 10, 10], {"chunk": {"shape": [-1, 5, None]}}, ([10, 5, 10], [10, 5, 10])),
    (
        "float32",
        [2048, 2048],
        {
            "read_chunk": {"aspect_ratio": [1, 2], "elements": 8192},
            "write_chunk": {"aspect_ratio": [2, 1], "elements": 4194304},
        },
        ([64, 128], [2048, 2048]),
    ),
    (
        "float32",
        [1000, 1000],
        {"write_chunk": {"shape": [101, None]}, "read_chunk": {"shape_soft_constraint": [7, 7]}},
        ([1, 7], [101, 1001]),
    ),
    ("float32", [123, 456, 789], {"chunk": {"elements": 12345}}, ([23, 23, 23], [23, 23, 23])),
    ("float32", [100, 100], {"read_chunk": {"shape": [33, 33]}}, ([33, 33], [99, 99])),
    (
        "float32",
        [1000000000],
        {"read_chunk": {"elements": 1000003}, "write_chunk": {"elements": 1000000007}},
        ([1000003], [999002997]),
    ),
    (
        "float32",
        [9973, 9973],
        {
            "write_chunk": {"shape": [9973, 9973]},
            "read_chunk": {"shape_soft_constraint": [100, 100]},
        },
        ([1, 1], [9973, 9973]),
    ),
    (
        "float32",
        [60, 60],
        {"read_chunk": {"shape": [7, 11]}, "write_chunk": {"shape_soft_constraint": [30, 30]}},
        ([7, 11], [28, 33]),
    ),
    (
        "uint8",
        [100, 100],
        {
            "read_chunk": {"aspect_ratio": [1, 1.0625], "elements": 7},
            "write_chunk": {"elements": 50},
        },
        ([2, 3], [6, 6]),
    ),
    (
        "uint8",
        [30, 40, 50],
        {
            "read_chunk": {"aspect_ratio": [3, 1, 0.5], "elements": 60},
            "write_chunk": {"aspect_ratio": [1, 2.125, 1], "elements": 3000},
        },
        ([11, 3, 1], [11, 24, 11]),
    ),
    (
        "uint8",
        [1000, 1000],
        {
            "read_chunk": {"shape_soft_constraint": [13, None], "elements": 100},
            "write_chunk": {"shape": [100, None], "elements": 999},
        },
        ([10, 10], [100, 10]),
    ),
]


@pytest.mark.parametrize(("dtype", "shape", "layout", "expected"), ZARR_CASES)
def test_zarr_single_grid(
    dtype: str, shape: list[int], layout: dict[str, Any], expected: Any
) -> None:
    ts.dtype(dtype)  # every case names a valid data type
    grid = choose_read_write_chunk_grid(ts.ChunkLayout(layout), shape)
    assert (list(grid.shape), list(grid.shape)) == tuple(expected)
    assert grid.origin == (0,) * len(shape)


@pytest.mark.parametrize(("dtype", "shape", "layout", "expected"), ZARR3_CASES)
def test_zarr3_read_and_write_shapes(
    dtype: str, shape: list[int], layout: dict[str, Any], expected: Any
) -> None:
    ts.dtype(dtype)
    if expected[0] == "error":
        with pytest.raises(ValueError, match="^" + re.escape(expected[1]) + "$"):
            choose_read_write_chunk_shapes(ts.ChunkLayout(layout), shape)
        return
    read, write = choose_read_write_chunk_shapes(ts.ChunkLayout(layout), shape)
    assert (list(read), list(write)) == tuple(expected)
    assert all(w % r == 0 for r, w in zip(read, write, strict=True))
