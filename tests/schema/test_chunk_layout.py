"""ts.ChunkLayout and ts.ChunkLayout.Grid (expectations checked against tensorstore 0.1.86)."""

from __future__ import annotations

import pickle
import re
from typing import Any

import pytest

import tensortrio as ts
from tensortrio.schema.chunk_layout import LayoutConstraints, merge_layouts

Grid = ts.ChunkLayout.Grid


# (keyword arguments, expected to_json())
KWARG_CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({}, {}),
    ({"rank": 3}, {"rank": 3}),
    ({"rank": -1}, {}),
    ({"rank": 0}, {"rank": 0}),
    ({"chunk_elements": 5}, {"read_chunk": {"elements": 5}, "write_chunk": {"elements": 5}}),
    (
        {"chunk_elements": 5, "rank": 2},
        {"rank": 2, "read_chunk": {"elements": 5}, "write_chunk": {"elements": 5}},
    ),
    ({"rank": 2, "grid_origin": [1, 2]}, {"grid_origin": [1, 2]}),
    ({"inner_order": [1, 0]}, {"inner_order": [1, 0]}),
    ({"inner_order_soft_constraint": [1, 0]}, {"inner_order_soft_constraint": [1, 0]}),
    ({"inner_order": [1, 0], "inner_order_soft_constraint": [0, 1]}, {"inner_order": [1, 0]}),
    ({"inner_order": []}, {}),
    (
        {"grid_origin": [1, None, 3], "grid_origin_soft_constraint": [5, 6, 7]},
        {"grid_origin": [1, None, 3], "grid_origin_soft_constraint": [None, 6, None]},
    ),
    ({"grid_origin": [-(2**63)]}, {"rank": 1}),  # TensorStore's "implicit" sentinel
    (
        {"chunk_shape": [10, None], "write_chunk_shape": [10, 5]},
        {"read_chunk": {"shape": [10, None]}, "write_chunk": {"shape": [10, 5]}},
    ),
    (
        {"write_chunk_shape": [10, 5], "write_chunk_shape_soft_constraint": [3, 4]},
        {"write_chunk": {"shape": [10, 5]}},
    ),
    (
        {"write_chunk_shape_soft_constraint": [3, 4], "write_chunk_shape": [10, None]},
        {"write_chunk": {"shape": [10, None], "shape_soft_constraint": [None, 4]}},
    ),
    (
        {"write_chunk_shape": [-1, 5]},
        {"write_chunk": {"shape": [None, 5], "shape_soft_constraint": [-1, None]}},
    ),
    ({"write_chunk_shape": [0, 5]}, {"write_chunk": {"shape": [None, 5]}}),
    ({"write_chunk_aspect_ratio": [0, 5]}, {"write_chunk": {"aspect_ratio": [None, 5.0]}}),
    ({"write_chunk_elements": 0}, {"write_chunk": {"elements": 0}}),
    (
        {"write_chunk_elements": 5, "write_chunk_elements_soft_constraint": 7},
        {"write_chunk": {"elements": 5}},
    ),
    (
        {"chunk_elements_soft_constraint": 7},
        {
            "read_chunk": {"elements_soft_constraint": 7},
            "write_chunk": {"elements_soft_constraint": 7},
        },
    ),
    (
        {"chunk_aspect_ratio": [1, 2]},
        {
            "codec_chunk": {"aspect_ratio": [1.0, 2.0]},
            "read_chunk": {"aspect_ratio": [1.0, 2.0]},
            "write_chunk": {"aspect_ratio": [1.0, 2.0]},
        },
    ),
    (
        {"chunk_shape_soft_constraint": [1, 2]},
        {
            "read_chunk": {"shape_soft_constraint": [1, 2]},
            "write_chunk": {"shape_soft_constraint": [1, 2]},
        },
    ),
    # TensorStore 0.1.86 puts these two on the read chunk, against its docs.
    ({"codec_chunk_shape": [1, 2]}, {"codec_chunk": {"shape": [1, 2]}}),
    ({"codec_chunk_aspect_ratio": [1, 2]}, {"codec_chunk": {"aspect_ratio": [1.0, 2.0]}}),
    ({"codec_chunk_elements": 7}, {"codec_chunk": {"elements": 7}}),
    ({"codec_chunk": Grid(shape=[1, 2])}, {"codec_chunk": {"shape": [1, 2]}}),
    (
        {"chunk": Grid(shape=[1, 2], aspect_ratio=[1, 2], elements=5)},
        {
            "codec_chunk": {"aspect_ratio": [1.0, 2.0]},
            "read_chunk": {"aspect_ratio": [1.0, 2.0], "elements": 5, "shape": [1, 2]},
            "write_chunk": {"aspect_ratio": [1.0, 2.0], "elements": 5, "shape": [1, 2]},
        },
    ),
    (
        {
            "write_chunk": Grid(shape=[10, 12]),
            "read_chunk": Grid(shape=[0, 6]),
            "codec_chunk": Grid(shape=[0, 3]),
            "inner_order": [1, 0],
            "grid_origin": [1, 2],
            "finalize": True,
        },
        {
            "codec_chunk": {"shape": [None, 3]},
            "grid_origin": [1, 2],
            "inner_order": [1, 0],
            "read_chunk": {"shape": [10, 6]},
            "write_chunk": {"shape": [10, 12]},
        },
    ),
    ({"rank": 2, "grid_origin": [0, 0], "finalize": True}, {"grid_origin": [0, 0]}),
    (
        {
            "grid_origin": [0, 0],
            "write_chunk_shape_soft_constraint": [10, 12],
            "chunk_aspect_ratio": [1, 2],
            "chunk_elements": 100,
            "finalize": True,
        },
        {"grid_origin": [0, 0]},
    ),
    (
        {
            "grid_origin": [0, 0],
            "write_chunk_shape": [10, None],
            "read_chunk_shape": [5, 6],
            "finalize": True,
        },
        {
            "grid_origin": [0, 0],
            "read_chunk": {"shape": [5, 6]},
            "write_chunk": {"shape": [10, None]},
        },
    ),
]


@pytest.mark.parametrize(("kwargs", "expected"), KWARG_CASES)
def test_keyword_arguments(kwargs: dict[str, Any], expected: dict[str, Any]) -> None:
    layout = ts.ChunkLayout(**kwargs)
    assert layout.to_json() == expected
    assert list(layout.to_json()) == sorted(expected)  # keys sorted, as nlohmann::json
    assert ts.ChunkLayout(layout.to_json()) == layout
    updated = ts.ChunkLayout()
    updated.update(**kwargs)
    assert updated == layout


# (keyword arguments, anchored error message)
KWARG_ERRORS: list[tuple[dict[str, Any], str]] = [
    (
        {"inner_order": [1, 1]},
        "Invalid inner_order: Error setting inner_order: Invalid permutation: {1, 1}",
    ),
    (
        {"inner_order": [0, 2]},
        "Invalid inner_order: Error setting inner_order: Invalid permutation: {0, 2}",
    ),
    (
        {"inner_order": [1, 0], "rank": 3},
        "Invalid inner_order: Error setting inner_order: Rank 2 does not match existing rank 3",
    ),
    ({"rank": 33}, "Invalid rank: Rank 33 is outside valid range [0, 32]"),
    ({"rank": -2}, "Invalid rank: Rank -2 is outside valid range [0, 32]"),
    (
        {"grid_origin": [2**62]},
        "Invalid grid_origin: Error setting grid_origin: Invalid value for dimension 0: {4611686018427387904}",
    ),
    (
        {"grid_origin": [1, 2**62 - 1]},
        "Invalid grid_origin: Error setting grid_origin: Invalid value for dimension 1: {1, 4611686018427387903}",
    ),
    (
        {"chunk_shape": [10, None], "write_chunk_shape": [11, 5]},
        "Invalid write_chunk_shape: Error setting write_chunk shape: New hard constraint (11) for dimension 0 does not match existing hard constraint (10)",
    ),
    (
        {"write_chunk_shape": [-2, 5]},
        "Invalid write_chunk_shape: Error setting write_chunk shape: Invalid value for dimension 0: {-2, 5}",
    ),
    (
        {"write_chunk_aspect_ratio": [-1, 5]},
        "Invalid write_chunk_aspect_ratio: Error setting write_chunk aspect_ratio: Invalid value for dimension 0: {-1, 5}",
    ),
    (
        {"write_chunk_aspect_ratio": [float("nan"), 5]},
        "Invalid write_chunk_aspect_ratio: Error setting write_chunk aspect_ratio: Invalid value for dimension 0: {nan, 5}",
    ),
    (
        {"write_chunk_aspect_ratio": [float("inf"), 5]},
        "Invalid write_chunk_aspect_ratio: Error setting write_chunk aspect_ratio: Invalid value for dimension 0: {inf, 5}",
    ),
    (
        {"write_chunk_elements": -1},
        "Invalid write_chunk_elements: Error setting write_chunk elements: Invalid value: -1",
    ),
    (
        {"chunk_elements": 3, "read_chunk_elements": 4},
        "Invalid read_chunk_elements: Error setting read_chunk elements: New hard constraint (4) does not match existing hard constraint (3)",
    ),
    (
        {"write_chunk_shape": [1, 2], "rank": 3},
        "Invalid write_chunk_shape: Error setting write_chunk shape: Rank 2 does not match existing rank 3",
    ),
    (
        {"write_chunk_shape": [1, 2], "read_chunk_shape": [1, 2, 3]},
        "Invalid read_chunk_shape: Error setting read_chunk shape: Rank 3 does not match existing rank 2",
    ),
    (
        {"write_chunk_shape": [10, 12], "finalize": True},
        "Invalid finalize: No grid_origin hard constraint for dimension 0",
    ),
    (
        {"grid_origin": [0, None], "finalize": True},
        "Invalid finalize: No grid_origin hard constraint for dimension 1",
    ),
    (
        {"grid_origin_soft_constraint": [0, 0], "finalize": True},
        "Invalid finalize: No grid_origin hard constraint for dimension 0",
    ),
    ({"finalize": True}, "Invalid finalize: rank must be specified"),
    (
        {
            "grid_origin": [0, 0],
            "write_chunk_shape": [10, 12],
            "read_chunk_shape": [3, 5],
            "finalize": True,
        },
        "Invalid finalize: write chunk shape {10, 12} is not a multiple of read chunk shape {3, 5}",
    ),
    (
        {"grid_origin": [2**62 - 2, 0], "write_chunk_shape": [10, 12], "finalize": True},
        "Invalid finalize: Invalid write chunk grid: Invalid origin/shape: origin={4611686018427387902, 0}, shape={10, 12}",
    ),
    (
        {"chunk_shape": [3, None], "write_chunk": Grid(shape=[1, 2], elements=4)},
        # write_chunk is applied before chunk_shape, whatever the call order.
        "Invalid chunk_shape: Error setting write_chunk shape: New hard constraint (3) for dimension 0 does not match existing hard constraint (1)",
    ),
]


@pytest.mark.parametrize(("kwargs", "message"), KWARG_ERRORS)
def test_keyword_argument_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        ts.ChunkLayout(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"chunk_shape": "ab"}, "chunk_shape must be a sequence, got 'ab'"),
        ({"chunk_shape": [1, "a"]}, "chunk_shape[1] must be an integer, got 'a'"),
        ({"chunk_aspect_ratio": [1, "a"]}, "chunk_aspect_ratio[1] must be a number, got 'a'"),
        ({"chunk": 5}, "chunk must be a ts.ChunkLayout.Grid, got 5"),
        ({"rank": 1.5}, "rank must be an integer, got 1.5"),
        ({"shape": [1]}, "ChunkLayout got unexpected keyword arguments: shape"),
    ],
)
def test_keyword_argument_type_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match="^" + re.escape(message) + "$"):
        ts.ChunkLayout(**kwargs)


def test_failed_update_changes_nothing() -> None:
    layout = ts.ChunkLayout(chunk_shape=[10, 20])
    before = layout.to_json()
    with pytest.raises(ValueError, match=r"^Invalid write_chunk_shape: "):
        layout.update(grid_origin=[1, 2], write_chunk_shape=[11, 20])
    assert layout.to_json() == before
    layout.update(grid_origin=[1, 2])
    assert layout.grid_origin == (1, 2)


# (JSON, expected to_json()) for JSON that TensorStore accepts.
JSON_CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (
        {"inner_order": [1, 0], "grid_origin": [1, 2], "write_chunk": {"shape": [10, 11]}},
        {"inner_order": [1, 0], "grid_origin": [1, 2], "write_chunk": {"shape": [10, 11]}},
    ),
    ({"inner_order": None}, {}),
    ({"grid_origin": [1, None]}, {"grid_origin": [1, None]}),
    ({"grid_origin": [1, -9223372036854775808]}, {"grid_origin": [1, None]}),
    ({"grid_origin": [1, 2.0]}, {"grid_origin": [1, 2]}),
    (
        {"write_chunk": {"shape": [1, -1]}},
        {"write_chunk": {"shape": [1, None], "shape_soft_constraint": [None, -1]}},
    ),
    ({"write_chunk": {"shape": [1.0, 2]}}, {"write_chunk": {"shape": [1, 2]}}),
    ({"write_chunk": {"elements": 0}}, {"write_chunk": {"elements": 0}}),
    (
        {
            "chunk": {"shape": [7], "shape_soft_constraint": [3]},
            "read_chunk": {"shape_soft_constraint": [4]},
        },
        {"read_chunk": {"shape": [7]}, "write_chunk": {"shape": [7]}},
    ),
    (
        {"chunk": {"elements_soft_constraint": 3}, "read_chunk": {"elements_soft_constraint": 4}},
        {
            "read_chunk": {"elements_soft_constraint": 3},
            "write_chunk": {"elements_soft_constraint": 3},
        },
    ),
    (
        {"chunk": {"elements": 3}, "read_chunk": {"elements_soft_constraint": 4}},
        {"read_chunk": {"elements": 3}, "write_chunk": {"elements": 3}},
    ),
    (
        {"chunk": {"shape": [1, 2], "aspect_ratio": [1, 2], "elements": 5}},
        {
            "codec_chunk": {"aspect_ratio": [1.0, 2.0]},
            "read_chunk": {"aspect_ratio": [1.0, 2.0], "elements": 5, "shape": [1, 2]},
            "write_chunk": {"aspect_ratio": [1.0, 2.0], "elements": 5, "shape": [1, 2]},
        },
    ),
    (
        {"codec_chunk": {"shape": [1, 2], "aspect_ratio": [1, 2], "elements": 5}},
        {"codec_chunk": {"aspect_ratio": [1.0, 2.0], "elements": 5, "shape": [1, 2]}},
    ),
    ({"write_chunk": {"shape": []}}, {"rank": 0}),
    ({"write_chunk": {}}, {}),
    ({"rank": 2, "write_chunk": {}}, {"rank": 2}),
    ({"grid_origin": []}, {"rank": 0}),
    ({"inner_order": []}, {"rank": 0}),
    ({"write_chunk": {"aspect_ratio": [0, None]}}, {"rank": 2}),
    ({"rank": 0, "write_chunk": {"elements": 5}}, {"rank": 0, "write_chunk": {"elements": 5}}),
    (
        {"inner_order_soft_constraint": [0, 1], "grid_origin_soft_constraint": [0, None]},
        {"grid_origin_soft_constraint": [0, None], "inner_order_soft_constraint": [0, 1]},
    ),
]


@pytest.mark.parametrize(("json", "expected"), JSON_CASES)
def test_json(json: dict[str, Any], expected: dict[str, Any]) -> None:
    layout = ts.ChunkLayout(json)
    assert layout.to_json() == expected
    assert ts.ChunkLayout(json=json) == layout
    assert ts.ChunkLayout(layout.to_json()) == layout


JSON_ERRORS: list[tuple[Any, str]] = [
    ({"foo": 1}, 'Object includes extra members: "foo"'),
    ([1], "Expected object, but received: [1]"),
    (
        {"rank": "x"},
        'Error parsing object member "rank": Expected integer in the range [0, 32], but received: "x"',
    ),
    (
        {"rank": 40},
        'Error parsing object member "rank": Expected integer in the range [0, 32], but received: 40',
    ),
    (
        {"rank": None},
        'Error parsing object member "rank": Expected integer in the range [0, 32], but received: null',
    ),
    (
        {"inner_order": [1, "a"]},
        'Error parsing object member "inner_order": Error parsing value at position 1: Expected integer in the range [0, 31], but received: "a"',
    ),
    (
        {"inner_order": [1, 1]},
        'Error parsing object member "inner_order": Invalid permutation: {1, 1}',
    ),
    (
        {"inner_order": [0, 1], "rank": 3},
        'Error parsing object member "inner_order": Rank 2 does not match existing rank 3',
    ),
    (
        {"grid_origin": [1, "a"]},
        'Error parsing object member "grid_origin": Error parsing value at position 1: Expected 64-bit signed integer, but received: "a"',
    ),
    (
        {"grid_origin": [1, 2**62]},
        'Error parsing object member "grid_origin": Invalid value for dimension 1: {1, 4611686018427387904}',
    ),
    (
        {"grid_origin": [1, 1.5]},
        'Error parsing object member "grid_origin": Error parsing value at position 1: Expected 64-bit signed integer, but received: 1.5',
    ),
    (
        {"grid_origin": 5},
        'Error parsing object member "grid_origin": Expected array, but received: 5',
    ),
    (
        {"write_chunk": 5},
        'Error parsing object member "write_chunk": Expected object, but received: 5',
    ),
    (
        {"write_chunk": {"foo": 1}},
        'Error parsing object member "write_chunk": Object includes extra members: "foo"',
    ),
    (
        {"write_chunk": {"shape": [1, -2]}},
        'Error parsing object member "write_chunk": Error parsing object member "shape": Invalid value for dimension 1: {1, -2}',
    ),
    (
        {"write_chunk": {"shape": [True, 2]}},
        'Error parsing object member "write_chunk": Error parsing object member "shape": Error parsing value at position 0: Expected 64-bit signed integer, but received: true',
    ),
    (
        {"write_chunk": {"shape": [1, 2]}, "read_chunk": {"shape": [1]}},
        'Error parsing object member "read_chunk": Error parsing object member "shape": Rank 1 does not match existing rank 2',
    ),
    (
        {"write_chunk": {"aspect_ratio": [1, "x"]}},
        'Error parsing object member "write_chunk": Error parsing object member "aspect_ratio": Error parsing value at position 1: Expected 64-bit floating-point number, but received: "x"',
    ),
    (
        {"write_chunk": {"elements": -1}},
        'Error parsing object member "write_chunk": Error parsing object member "elements": Invalid value: -1',
    ),
    (
        {"write_chunk": {"elements": None}},
        'Error parsing object member "write_chunk": Error parsing object member "elements": Expected 64-bit signed integer, but received: null',
    ),
    (
        {"write_chunk": {"shape": [1] * 33}},
        'Error parsing object member "write_chunk": Error parsing object member "shape": Rank 33 is outside valid range [0, 32]',
    ),
    (
        {"chunk": {"shape": [7]}, "write_chunk": {"shape": [5]}},
        'Error parsing object member "write_chunk": Error parsing object member "shape": New hard constraint (5) for dimension 0 does not match existing hard constraint (7)',
    ),
    (
        {"chunk": {"elements": 3}, "read_chunk": {"elements": 4}},
        'Error parsing object member "read_chunk": Error parsing object member "elements": New hard constraint (4) does not match existing hard constraint (3)',
    ),
]


@pytest.mark.parametrize(("json", "message"), JSON_ERRORS)
def test_json_errors(json: Any, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        ts.ChunkLayout(json)


def test_accessors() -> None:
    empty = ts.ChunkLayout()
    assert empty.rank == empty.ndim == -1
    assert empty.inner_order is None
    assert empty.grid_origin is None
    assert empty.write_chunk.rank is None
    assert empty.write_chunk.shape is None

    layout = ts.ChunkLayout(
        inner_order_soft_constraint=[1, 0],
        grid_origin=[1, None],
        grid_origin_soft_constraint=[5, 6],
        write_chunk_shape=[10, None],
        write_chunk_shape_soft_constraint=[3, 4],
        read_chunk_aspect_ratio=[None, 2],
        read_chunk_aspect_ratio_soft_constraint=[3, 4],
        codec_chunk_elements_soft_constraint=9,
    )
    assert layout.rank == layout.ndim == 2
    assert layout.inner_order is None
    assert layout.inner_order_soft_constraint == (1, 0)
    assert layout.grid_origin == (1, None)
    assert layout.grid_origin_soft_constraint == (None, 6)
    assert layout.write_chunk.shape == (10, None)
    assert layout.write_chunk.shape_soft_constraint == (None, 4)
    assert layout.read_chunk.aspect_ratio == (None, 2.0)
    assert layout.read_chunk.aspect_ratio_soft_constraint == (3.0, None)
    assert layout.codec_chunk.elements is None
    assert layout.codec_chunk.elements_soft_constraint == 9
    assert ts.ChunkLayout(rank=2).write_chunk.shape == (None, None)
    assert ts.ChunkLayout(chunk_elements=5).write_chunk.elements == 5


def test_equality_and_hash() -> None:
    assert ts.ChunkLayout(
        write_chunk_elements=5, write_chunk_elements_soft_constraint=7
    ) == ts.ChunkLayout(write_chunk_elements=5)
    assert ts.ChunkLayout(rank=2) != ts.ChunkLayout()
    assert ts.ChunkLayout(rank=2) == ts.ChunkLayout(rank=2)
    assert ts.ChunkLayout(rank=2) != ts.ChunkLayout(rank=3)  # tensorstore says equal
    assert ts.ChunkLayout(chunk_shape=[1, 2]) != ts.ChunkLayout(chunk_shape_soft_constraint=[1, 2])
    assert ts.ChunkLayout(rank=2) != 5
    with pytest.raises(TypeError, match=r"unhashable"):
        hash(ts.ChunkLayout())


def test_repr_wraps_like_tensorstore() -> None:
    assert repr(ts.ChunkLayout()) == "ChunkLayout({})"
    assert repr(ts.ChunkLayout(rank=3)) == "ChunkLayout({'rank': 3})"
    layout = ts.ChunkLayout(
        grid_origin=[0, 0, 0], inner_order=[0, 1, 2], chunk_shape=[101, 101, 101]
    )
    assert repr(layout) == (
        "ChunkLayout({\n"
        "  'grid_origin': [0, 0, 0],\n"
        "  'inner_order': [0, 1, 2],\n"
        "  'read_chunk': {'shape': [101, 101, 101]},\n"
        "  'write_chunk': {'shape': [101, 101, 101]},\n"
        "})"
    )
    ratios = ts.ChunkLayout(write_chunk_aspect_ratio=[4.0, 1e15, 1e-5, 1 / 3])
    # The "ChunkLayout(" prefix does not count towards the 80 columns.
    assert repr(ratios) == (
        "ChunkLayout({'write_chunk': {'aspect_ratio': [4.0, 1e+15, 1e-05, 0.3333333333333333]}})"
    )
    ratios = ts.ChunkLayout(write_chunk_aspect_ratio=[4.0, 1e15, 1e-5, 1 / 3, 1 / 7])
    assert repr(ratios) == (
        "ChunkLayout({\n"
        "  'write_chunk': {\n"
        "    'aspect_ratio': [\n"
        "      4.0,\n"
        "      1e+15,\n"
        "      1e-05,\n"
        "      0.3333333333333333,\n"
        "      0.14285714285714285,\n"
        "    ],\n"
        "  },\n"
        "})"
    )


def test_pickle() -> None:
    layout = ts.ChunkLayout(
        write_chunk=Grid(shape=[10, 12]),
        read_chunk=Grid(shape=[0, 6]),
        codec_chunk=Grid(shape=[0, 3]),
        inner_order=[1, 0],
        grid_origin=[1, None],
        write_chunk_shape_soft_constraint=[3, -1],
        read_chunk_aspect_ratio=[1, 2],
        chunk_elements=7,
    )
    assert pickle.loads(pickle.dumps(layout)) == layout
    rank_only = ts.ChunkLayout(rank=3, chunk_elements_soft_constraint=4)
    assert pickle.loads(pickle.dumps(rank_only)) == rank_only


def test_chunk_templates() -> None:
    layout = ts.ChunkLayout(grid_origin=[5, 6, 7], write_chunk_shape=[100, 200, 300])
    assert repr(layout.write_chunk_template) == "{ [5, 105), [6, 206), [7, 307) }"
    layout = ts.ChunkLayout(grid_origin=[None, 6, 7], read_chunk_shape=[100, None, 200])
    assert repr(layout.read_chunk_template) == "{ (-inf, +inf), (-inf, +inf), [7, 207) }"
    soft = ts.ChunkLayout(grid_origin=[5, 6], write_chunk_shape_soft_constraint=[100, 200])
    assert repr(soft.write_chunk_template) == "{ (-inf, +inf), (-inf, +inf) }"
    with pytest.raises(ValueError, match=r"^Rank of chunk layout is unspecified$"):
        ts.ChunkLayout().read_chunk_template
    with pytest.raises(
        ValueError,
        match=r"^Incompatible grid origin/chunk shape for dimension 0: \(4611686018427387902, 100\) do not specify a valid sized index interval$",
    ):
        ts.ChunkLayout(grid_origin=[2**62 - 2], read_chunk_shape=[100]).read_chunk_template


def test_merge_layouts() -> None:
    base = ts.ChunkLayout(chunk_shape=[10, None])
    merged = merge_layouts(base, ts.ChunkLayout(write_chunk_shape=[10, 5], inner_order=[1, 0]))
    assert merged.to_json() == {
        "inner_order": [1, 0],
        "read_chunk": {"shape": [10, None]},
        "write_chunk": {"shape": [10, 5]},
    }
    soft = merge_layouts(
        base, ts.ChunkLayout(write_chunk_shape=[11, 5], grid_origin=[1, 2]), as_soft=True
    )
    assert soft.to_json() == {
        "grid_origin_soft_constraint": [1, 2],
        "read_chunk": {"shape": [10, None]},
        "write_chunk": {"shape": [10, None], "shape_soft_constraint": [None, 5]},
    }
    with pytest.raises(
        ValueError,
        match=r"^Error setting write_chunk shape: New hard constraint \(11\) for dimension 0 does not match existing hard constraint \(10\)$",
    ):
        merge_layouts(base, ts.ChunkLayout(write_chunk_shape=[11, 5]))
    assert merge_layouts(LayoutConstraints(), base) == base


class TestGrid:
    def test_json_round_trip(self) -> None:
        json = {
            "shape": [5, None, 20],
            "shape_soft_constraint": [None, 17, None],
            "aspect_ratio": [1, 2, None],
            "aspect_ratio_soft_constraint": [None, None, 3],
            "elements": 1000,
        }
        grid = Grid(json)
        assert grid.shape == (5, None, 20)
        assert grid.shape_soft_constraint == (None, 17, None)
        assert grid.aspect_ratio == (1, 2, None)
        assert grid.aspect_ratio_soft_constraint == (None, None, 3)
        assert grid.elements == 1000
        assert grid.elements_soft_constraint is None
        assert grid.to_json() == json
        assert Grid(json=json) == grid

    def test_update(self) -> None:
        grid = Grid()
        assert grid.rank is None
        assert grid.ndim is None
        grid.update(shape=[2, 3, None])
        assert grid.rank == 3
        assert grid.shape == (2, 3, None)
        with pytest.raises(
            ValueError,
            match=r"^Invalid shape: New hard constraint \(4\) for dimension 0 does not match existing hard constraint \(2\)$",
        ):
            grid.update(shape=[4, None, None])
        assert grid.shape == (2, 3, None)

    def test_keyword_arguments(self) -> None:
        grid = Grid(
            shape=[1, None],
            shape_soft_constraint=[5, 6],
            aspect_ratio=[1, 2],
            aspect_ratio_soft_constraint=[3, 4],
            elements=5,
            elements_soft_constraint=6,
        )
        assert grid.to_json() == {
            "aspect_ratio": [1.0, 2.0],
            "elements": 5,
            "shape": [1, None],
            "shape_soft_constraint": [None, 6],
        }
        assert Grid(shape=[-1]).to_json() == {"shape_soft_constraint": [-1]}
        assert Grid(shape=[-1]).shape == (None,)
        assert Grid(shape=[-1]).shape_soft_constraint == (-1,)
        assert Grid(grid=Grid(shape=[1, 2], elements=4)).to_json() == {
            "elements": 4,
            "shape": [1, 2],
        }
        # Documented: merged as soft constraints (tensorstore 0.1.86 keeps them hard).
        soft = Grid(shape=[3, None], grid_soft_constraint=Grid(shape=[1, 2], elements=4))
        assert soft.to_json() == {
            "elements_soft_constraint": 4,
            "shape": [3, None],
            "shape_soft_constraint": [None, 2],
        }
        assert Grid(rank=2).to_json() == {}
        assert Grid(rank=2).shape == (None, None)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"shape": [1, 2], "rank": 3}, "Invalid shape: Rank 2 does not match existing rank 3"),
            ({"rank": 33}, "Invalid rank: Rank 33 is outside valid range [0, 32]"),
            ({"elements": -1}, "Invalid elements: Invalid value: -1"),
            ({"shape": [-2]}, "Invalid shape: Invalid value for dimension 0: {-2}"),
            (
                {"shape": [3, None], "grid": Grid(shape=[1, 2])},
                "Invalid grid: New hard constraint (1) for dimension 0 does not match existing hard constraint (3)",
            ),
        ],
    )
    def test_errors(self, kwargs: dict[str, Any], message: str) -> None:
        with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
            Grid(**kwargs)

    @pytest.mark.parametrize(
        ("json", "message"),
        [
            ({"shape": [1, 2], "x": 1}, 'Object includes extra members: "x"'),
            (5, "Expected object, but received: 5"),
        ],
    )
    def test_json_errors(self, json: Any, message: str) -> None:
        with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
            Grid(json)

    def test_equality_pickle_repr(self) -> None:
        assert Grid(rank=2) != Grid()
        assert Grid(rank=2) == Grid(rank=2)
        assert Grid(shape=[1, 2]) != 5
        grid = Grid(shape=[1, 2], elements_soft_constraint=5)
        assert pickle.loads(pickle.dumps(grid)) == grid
        assert pickle.loads(pickle.dumps(Grid(rank=3))) == Grid(rank=3)
        assert repr(grid) == "ChunkLayout.Grid({'elements_soft_constraint': 5, 'shape': [1, 2]})"
        assert ts.ChunkLayout.Grid is Grid
        assert Grid.__qualname__ == "ChunkLayout.Grid"

    def test_layout_grids_are_copies(self) -> None:
        layout = ts.ChunkLayout(chunk_shape=[10, 20])
        grid = layout.write_chunk
        grid.update(elements=5)
        assert layout.write_chunk.elements is None
