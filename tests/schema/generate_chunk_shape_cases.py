"""Regenerate the expectations in ``test_chunk_shape_table.py`` from real tensorstore.

Run ``python tests/schema/generate_chunk_shape_cases.py`` and paste its output
over ``ZARR_CASES`` / ``ZARR3_CASES``.  Each case creates an array on
``memory://`` with the given ``dtype``, ``shape`` and ``chunk_layout`` JSON and
records the read and write chunk shapes tensorstore chose (or its error).
"""

from __future__ import annotations

import pprint
from typing import Any

import tensorstore as ts

ZARR_INPUTS: list[tuple[str, list[int], dict[str, Any]]] = [
    ("float32", [1000, 2000, 3000], {}),
    (
        "float32",
        [1000, 2000, 3000],
        {
            "chunk": {
                "shape": [10, None, None],
                "aspect_ratio": [None, 2, 1],
                "elements": 10_000_000,
            }
        },
    ),
    ("uint8", [1000, 2000, 3000], {}),
    ("uint8", [100], {}),
    ("int16", [5], {}),
    ("float64", [10, 10], {}),
    ("float64", [1, 1_000_000], {}),
    ("int32", [3, 4, 5, 6], {}),
    ("uint16", [10_000, 10_000], {"chunk": {"elements": 1000}}),
    ("uint16", [10_000, 10_000], {"chunk": {"aspect_ratio": [1, 4]}}),
    ("float32", [64, 64, 64], {"chunk": {"shape_soft_constraint": [32, None, None]}}),
    ("float32", [500, 500], {"write_chunk": {"shape": [-1, None]}}),
    ("int8", [1_000_000], {}),
    ("int16", [7, 11, 13, 17, 19], {}),
    ("uint32", [2**20, 2**20], {"chunk": {"elements": 4096}}),
    ("float32", [100, 200, 300], {"chunk": {"aspect_ratio": [0.5, 1, 2]}}),
    ("float32", [1000, 1000, 1000], {"chunk": {"elements": 1}}),
    ("float32", [100, 100], {"chunk": {"shape": [50, 50]}}),
    ("float64", [4000, 3000], {"write_chunk": {"elements_soft_constraint": 100_000}}),
    ("int64", [12345, 678], {"chunk": {"aspect_ratio": [3, None], "elements": 50_000}}),
    ("uint8", [10, 10, 10, 10, 10, 10], {}),
    ("bool", [100_000, 3], {}),
    ("complex128", [300, 300, 300], {"chunk": {"elements": 2**16}}),
    ("float32", [1000, 1000], {"chunk": {"shape": [None, 1]}}),
    ("float32", [], {}),
    (
        "float32",
        [2000, 2000],
        {
            "read_chunk": {"shape_soft_constraint": [100, None]},
            "write_chunk": {"aspect_ratio_soft_constraint": [1, 3]},
        },
    ),
    (
        "float32",
        [2000, 2000],
        {"write_chunk": {"shape": [300, None]}, "read_chunk": {"elements": 90_000}},
    ),
    ("float32", [999, 997], {"chunk": {"aspect_ratio": [1000, 1]}}),
    ("float32", [50, 60, 70], {"chunk": {"elements": 10**12}}),
    ("float32", [1, 1, 1], {}),
    # Small targets with uneven aspect ratios pin the exact search steps
    # (tensorstore 0.1.86 normalises ratios and searches geometrically first).
    ("uint8", [3, 9], {"chunk": {"aspect_ratio": [1, 1.0078125], "elements": 6}}),
    ("uint8", [2, 6], {"chunk": {"aspect_ratio": [1, 2.125], "elements": 6}}),
    ("uint8", [100, 100], {"chunk": {"aspect_ratio": [1, 1.0625], "elements": 7}}),
    ("uint8", [100, 100], {"chunk": {"aspect_ratio": [1, 1.0625], "elements": 12}}),
    (
        "uint8",
        [1, 1, 2, 6],
        {
            "write_chunk": {"aspect_ratio_soft_constraint": [None, None, None, 2.125]},
            "read_chunk": {"elements": 6},
        },
    ),
    ("uint8", [50, 50, 50], {"chunk": {"aspect_ratio": [0.001, 1, 1000], "elements": 500}}),
    ("uint8", [10**9, 10**9], {"chunk": {"aspect_ratio": [1e-6, 1], "elements": 10**12}}),
]

ZARR3_INPUTS: list[tuple[str, list[int], dict[str, Any]]] = [
    ("float32", [1000, 2000, 3000], {}),
    ("float32", [1000, 2000, 3000], {"read_chunk": {"shape": [10, 20, 30]}}),
    ("float32", [1000, 1000], {"write_chunk": {"shape": [100, 100]}}),
    (
        "float32",
        [4096, 4096],
        {"read_chunk": {"shape": [64, None]}, "write_chunk": {"shape": [256, 256]}},
    ),
    (
        "uint8",
        [10_000, 10_000],
        {"write_chunk": {"elements": 100_000_000}, "read_chunk": {"elements": 10_000}},
    ),
    (
        "uint8",
        [1000, 1000],
        {"read_chunk": {"shape_soft_constraint": [30, 30]}, "write_chunk": {"shape": [100, 100]}},
    ),
    (
        "uint8",
        [1000, 1000],
        {"read_chunk": {"shape": [30, 30]}, "write_chunk": {"shape_soft_constraint": [100, 100]}},
    ),
    (
        "uint8",
        [1000, 1000],
        {"read_chunk": {"shape": [30, 30]}, "write_chunk": {"shape": [100, 100]}},
    ),
    (
        "int16",
        [5000, 5000, 20],
        {"read_chunk": {"elements": 50_000}, "write_chunk": {"aspect_ratio": [1, 1, 0.01]}},
    ),
    (
        "float64",
        [777, 555],
        {
            "read_chunk": {"shape_soft_constraint": [70, 50]},
            "write_chunk": {"shape_soft_constraint": [200, 200]},
        },
    ),
    ("float32", [100_000], {"read_chunk": {"elements": 1000}}),
    (
        "float32",
        [3000, 3000],
        {"write_chunk": {"elements": 10_000_000}, "read_chunk": {"shape": [97, None]}},
    ),
    ("uint8", [10, 10, 10], {"chunk": {"shape": [-1, 5, None]}}),
    (
        "float32",
        [2048, 2048],
        {
            "read_chunk": {"aspect_ratio": [1, 2], "elements": 8192},
            "write_chunk": {"aspect_ratio": [2, 1], "elements": 2**22},
        },
    ),
    (
        "float32",
        [1000, 1000],
        {"write_chunk": {"shape": [101, None]}, "read_chunk": {"shape_soft_constraint": [7, 7]}},
    ),
    ("float32", [123, 456, 789], {"chunk": {"elements": 12_345}}),
    ("float32", [100, 100], {"read_chunk": {"shape": [33, 33]}}),
    (
        "float32",
        [1_000_000_000],
        {"read_chunk": {"elements": 1_000_003}, "write_chunk": {"elements": 1_000_000_007}},
    ),
    (
        "float32",
        [9973, 9973],
        {
            "write_chunk": {"shape": [9973, 9973]},
            "read_chunk": {"shape_soft_constraint": [100, 100]},
        },
    ),
    (
        "float32",
        [60, 60],
        {"read_chunk": {"shape": [7, 11]}, "write_chunk": {"shape_soft_constraint": [30, 30]}},
    ),
    (
        "uint8",
        [100, 100],
        {
            "read_chunk": {"aspect_ratio": [1, 1.0625], "elements": 7},
            "write_chunk": {"elements": 50},
        },
    ),
    (
        "uint8",
        [30, 40, 50],
        {
            "read_chunk": {"aspect_ratio": [3, 1, 0.5], "elements": 60},
            "write_chunk": {"aspect_ratio": [1, 2.125, 1], "elements": 3000},
        },
    ),
    (
        "uint8",
        [1000, 1000],
        {
            "read_chunk": {"shape_soft_constraint": [13, None], "elements": 100},
            "write_chunk": {"shape": [100, None], "elements": 999},
        },
    ),
]


def chosen(driver: str, dtype: str, shape: list[int], layout: dict[str, Any]) -> Any:
    try:
        store = ts.open(
            {"driver": driver, "kvstore": "memory://"},
            create=True,
            dtype=dtype,
            shape=shape,
            chunk_layout=ts.ChunkLayout(layout),
        ).result()
    except ValueError as exc:
        # Keep the chooser's own message, dropping the driver's context around it.
        message = str(exc).split(" [tensorstore_spec=")[0]
        return ("error", message.split("schema: ")[-1])
    layout_out = store.chunk_layout
    return (list(layout_out.read_chunk.shape or ()), list(layout_out.write_chunk.shape or ()))


def main() -> None:
    for name, driver, inputs in (
        ("ZARR_CASES", "zarr", ZARR_INPUTS),
        ("ZARR3_CASES", "zarr3", ZARR3_INPUTS),
    ):
        cases = [
            (dtype, shape, layout, chosen(driver, dtype, shape, layout))
            for dtype, shape, layout in inputs
        ]
        print(f"{name} = ", end="")
        pprint.pprint(cases, width=100, sort_dicts=False)


if __name__ == "__main__":
    main()
