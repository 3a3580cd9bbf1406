"""Chunk layouts that specs and indexed schemas report; each case runs on both libraries."""

from __future__ import annotations

from typing import Any

import pytest

import tensortrio as tt

tensorstore = pytest.importorskip("tensorstore")

BOTH = pytest.mark.parametrize("lib", [tt, tensorstore], ids=["tensortrio", "tensorstore"])

SOFT = {
    "read_chunk": {"shape_soft_constraint": [4, 6], "aspect_ratio": [1, 2]},
    "write_chunk": {"elements_soft_constraint": 1000, "aspect_ratio_soft_constraint": [2, 0]},
    "grid_origin_soft_constraint": [1, 2],
    "inner_order_soft_constraint": [1, 0],
}


def _index(lib: Any, schema: Any, expr: str) -> Any:
    if expr == "stride":
        return schema[lib.d[1].stride[2]]
    if expr == "reverse":
        return schema[lib.d[1].stride[-1]]
    if expr == "transpose":
        return schema.T
    if expr == "integer":
        return schema[1]
    if expr == "new":
        return schema[None]
    return schema[lib.d[0, 1].diagonal]


@BOTH
@pytest.mark.parametrize(
    ("expr", "layout"),
    [
        ("stride", {
            "grid_origin_soft_constraint": [1, 1], "inner_order_soft_constraint": [1, 0],
            "read_chunk": {"aspect_ratio": [1.0, 1.0], "shape_soft_constraint": [4, 3]},
            "write_chunk": {"aspect_ratio_soft_constraint": [2.0, None], "elements_soft_constraint": 1000},
        }),
        ("reverse", {
            "grid_origin_soft_constraint": [1, -1], "inner_order_soft_constraint": [1, 0],
            "read_chunk": {"aspect_ratio": [1.0, 2.0], "shape_soft_constraint": [4, 6]},
            "write_chunk": {"aspect_ratio_soft_constraint": [2.0, None], "elements_soft_constraint": 1000},
        }),
        ("transpose", {
            "grid_origin_soft_constraint": [2, 1], "inner_order_soft_constraint": [0, 1],
            "read_chunk": {"aspect_ratio": [2.0, 1.0], "shape_soft_constraint": [6, 4]},
            "write_chunk": {"aspect_ratio_soft_constraint": [None, 2.0], "elements_soft_constraint": 1000},
        }),
        ("integer", {
            "grid_origin_soft_constraint": [2], "inner_order_soft_constraint": [0],
            "read_chunk": {"aspect_ratio": [2.0], "shape_soft_constraint": [6]},
            "write_chunk": {"elements_soft_constraint": 1000},
        }),
        ("new", {
            "grid_origin_soft_constraint": [None, 1, 2], "inner_order_soft_constraint": [2, 1, 0],
            "read_chunk": {"aspect_ratio": [None, 1.0, 2.0], "shape_soft_constraint": [None, 4, 6]},
            "write_chunk": {"aspect_ratio_soft_constraint": [None, 2.0, None], "elements_soft_constraint": 1000},
        }),
        ("diagonal", {"inner_order_soft_constraint": [0], "write_chunk": {"elements_soft_constraint": 1000}}),
    ],
)
def test_indexing_a_schema_keeps_soft_constraints_aspect_ratios_and_elements(
    lib: Any, expr: str, layout: dict[str, Any]
) -> None:
    schema = lib.Schema({"rank": 2, "domain": {"shape": [10, 20]}, "chunk_layout": SOFT})
    assert _index(lib, schema, expr).chunk_layout.to_json() == layout
    hard = lib.Schema({"domain": {"shape": [10, 20]}, "chunk_layout": {"chunk": {"elements": 100}}})
    assert _index(lib, hard, expr).chunk_layout.to_json() == {
        "read_chunk": {"elements": 100}, "write_chunk": {"elements": 100}
    }


Z = {"driver": "zarr", "kvstore": "memory://"}
N5 = {"driver": "n5", "kvstore": "memory://"}
Z3 = {"driver": "zarr3", "kvstore": "memory://"}
ORIGIN2 = {"grid_origin": [0, 0]}
CHUNKS2 = {"read_chunk": {"shape": [5, 6]}, "write_chunk": {"shape": [5, 6]}}


@BOTH
@pytest.mark.parametrize(
    ("spec", "layout"),
    [
        ({**Z, "schema": {"rank": 2}}, ORIGIN2),
        ({**Z, "schema": {"domain": {"labels": ["a", "b"]}}}, ORIGIN2),
        ({**Z, "schema": {"rank": 2, "chunk_layout": {"grid_origin": [0, None]}}}, ORIGIN2),
        ({**Z, "transform": {"input_shape": [3, 4]}}, ORIGIN2),
        ({**Z, "metadata": {"chunks": [5, 6]}}, {}),
        ({**Z, "metadata": {"chunks": [5, 6]}, "schema": {"rank": 2}}, {**ORIGIN2, **CHUNKS2}),
        ({**Z, "metadata": {"chunks": [5, 6], "order": "F"}, "schema": {"rank": 2}},
         {**ORIGIN2, "inner_order": [1, 0], **CHUNKS2}),
        ({**Z, "metadata": {"order": "F"}, "schema": {"rank": 2}}, ORIGIN2),
        ({**Z, "metadata": {"order": "C", "shape": [3, 4]}, "schema": {"rank": 2}},
         {**ORIGIN2, "inner_order": [0, 1]}),
        ({**Z, "metadata": {"chunks": [5, 6], "dtype": "|S3", "order": "F"}},
         {"grid_origin": [0, 0, 0], "inner_order": [1, 0, 2],
          "read_chunk": {"shape": [5, 6, 3]}, "write_chunk": {"shape": [5, 6, 3]}}),
        ({**Z, "metadata": {"chunks": [5]}, "schema": {"chunk_layout": {"inner_order": [0]}}},
         {"grid_origin": [0], "inner_order": [0], "read_chunk": {"shape": [5]}, "write_chunk": {"shape": [5]}}),
        ({**Z, "transform": {"input_shape": [100, 100]}, "metadata": {"shape": [100, 100], "dtype": "<f4"},
          "schema": {"chunk_layout": {"chunk": {"elements": 100}}}},
         {**ORIGIN2, "read_chunk": {"elements": 100}, "write_chunk": {"elements": 100}}),
        ({**Z, "schema": {"rank": 2, "chunk_layout": {"grid_origin_soft_constraint": [1, None]}},
          "transform": {"input_shape": [3, 4], "output": [{"input_dimension": 1, "offset": 2}, {"input_dimension": 0}]}},
         {"grid_origin": [0, -2]}),
        ({**Z3, "schema": {"rank": 2}}, ORIGIN2),
        ({**N5, "schema": {"rank": 2}}, {**ORIGIN2, "inner_order": [1, 0]}),
        ({**N5, "transform": {"input_shape": [3, 4]}}, {**ORIGIN2, "inner_order": [1, 0]}),
        ({"driver": "array", "array": [[1, 2], [3, 4]], "dtype": "int32"}, {**ORIGIN2, "inner_order": [0, 1]}),
        ({"driver": "array", "array": 5, "dtype": "int32"}, {"rank": 0}),
    ],
)
def test_a_spec_shows_its_drivers_chunk_layout_once_the_rank_is_known(
    lib: Any, spec: dict[str, Any], layout: dict[str, Any]
) -> None:
    assert lib.Spec(spec).chunk_layout.to_json() == layout


@BOTH
@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({**Z, "schema": {"rank": 2, "chunk_layout": {"grid_origin": [1, None]}}},
         r"^Error setting grid_origin: New hard constraint \(0\) for dimension 0 does not match "
         r"existing hard constraint \(1\)"),
        ({**Z, "metadata": {"chunks": [5], "dtype": "<i4"},
          "schema": {"chunk_layout": {"write_chunk": {"shape": [6]}}}},
         r"^Error setting write_chunk shape: New hard constraint \(5\) for dimension 0 does not "
         r"match existing hard constraint \(6\)"),
        ({**N5, "metadata": {"blockSize": [5]}, "schema": {"chunk_layout": {"write_chunk": {"shape": [6]}}}},
         r"^Error setting write_chunk shape: New hard constraint \(5\) for dimension 0 does not "
         r"match existing hard constraint \(6\)"),
    ],
)
def test_a_chunk_layout_conflict_is_reported_when_the_layout_is_asked_for(
    lib: Any, spec: dict[str, Any], message: str
) -> None:
    made = lib.Spec(spec)  # as tensorstore: the spec itself is accepted
    with pytest.raises(ValueError, match=message):
        _ = made.chunk_layout


@BOTH
@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({"write_chunk": {"shape": [1, 1]}}, r"chunking not supported"),
        ({"read_chunk": {"shape": [2, None]}}, r"chunking not supported"),
        ({"codec_chunk": {"shape": [1, 1]}}, r"chunking not supported"),
        ({"grid_origin": [1, None]}, r"Error setting grid_origin: "),
        ({"inner_order": [1, 0]}, r"Error setting inner_order: "),
    ],
)
def test_an_array_refuses_a_chunk_layout_it_does_not_have(
    lib: Any, layout: dict[str, Any], message: str
) -> None:
    spec = {"driver": "array", "array": [[1, 2], [3, 4]], "dtype": "int32"}
    with pytest.raises(ValueError, match=message):
        lib.open({**spec, "schema": {"chunk_layout": layout}}).result()
    # Soft constraints and an element count are no obstacle.
    soft = {"write_chunk": {"shape_soft_constraint": [1, 1], "elements": 4}, "inner_order_soft_constraint": [1, 0]}
    store = lib.open({**spec, "schema": {"chunk_layout": soft}}).result()
    assert store.chunk_layout.to_json() == {"grid_origin": [0, 0], "inner_order": [0, 1]}


@BOTH
@pytest.mark.parametrize(
    ("inner_order", "orders"),
    [([0, 2, 1], [(0, 1), (1, 0), (0, 1)]), ([2, 0, 1], [(1, 0), (0, 1), (0, 1)]), ([1, 2, 0], [(0, 1), (0, 1), (1, 0)])],
)
def test_a_diagonal_takes_the_place_of_its_outermost_dimension_in_the_inner_order(
    lib: Any, inner_order: list[int], orders: list[tuple[int, ...]]
) -> None:
    schema = lib.Schema(rank=3, chunk_layout=lib.ChunkLayout(inner_order=inner_order))
    diagonals = [schema[lib.d[0, 1].diagonal], schema[lib.d[1, 2].diagonal], schema[lib.d[0, 2].diagonal]]
    assert [d.chunk_layout.inner_order for d in diagonals] == orders


@BOTH
def test_an_empty_vector_keyword_is_not_given_but_empty_json_is_rank_zero(lib: Any) -> None:
    assert lib.ChunkLayout(rank=1, write_chunk_aspect_ratio=[]).to_json() == {"rank": 1}
    assert lib.ChunkLayout(grid_origin=[]).rank == -1
    assert lib.ChunkLayout(write_chunk_shape=[]).rank == -1
    assert lib.ChunkLayout.Grid(shape=[]).rank is None
    grid = lib.ChunkLayout.Grid(shape=[])
    assert grid == lib.ChunkLayout.Grid(grid.to_json())
    with pytest.raises(ValueError, match=r"^Invalid finalize: rank must be specified$"):
        lib.ChunkLayout(grid_origin=[], finalize=True)
    assert lib.ChunkLayout({"grid_origin": []}).rank == 0
    layout = lib.ChunkLayout(rank=0)
    assert layout.read_chunk.shape is None
    assert layout.inner_order_soft_constraint == ()
    assert layout.inner_order is None
    assert layout.grid_origin == ()


@BOTH
def test_a_chunk_layout_conflict_leaves_the_other_properties_working(lib: Any) -> None:
    spec = lib.Spec({**Z, "metadata": {"shape": [5, 7], "dtype": "<f4"}, "schema": {"chunk_layout": {"grid_origin": [1, 1]}}})
    assert spec.rank == 2
    assert spec.dtype == lib.float32
    assert spec.T.domain.shape == (7, 5)
    assert lib.cast(spec, "int32").dtype == lib.int32
    assert spec.url == "memory://|zarr2:"
    with pytest.raises(ValueError, match=r"^Error setting grid_origin: "):
        _ = spec.chunk_layout
    array = lib.Spec({"driver": "array", "array": [[1, 2], [3, 4]], "dtype": "int32", "schema": {"chunk_layout": {"inner_order": [1, 0]}}})
    assert array[None].domain.shape == (1, 2, 2)


@BOTH
@pytest.mark.parametrize("kwargs", [{"write_chunk": {}}, {"grid_origin": {}}, {"write_chunk_shape": {}}, {"chunk": []}])
def test_an_empty_mapping_or_grid_keyword_is_refused(lib: Any, kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        lib.ChunkLayout(**kwargs)


@BOTH
def test_a_cast_of_a_spec_with_a_layout_conflict_reports_it_where_the_base_does(lib: Any) -> None:
    spec = lib.Spec({**Z, "metadata": {"shape": [5, 7], "dtype": "<f4"}, "schema": {"chunk_layout": {"grid_origin": [1, 1]}}})
    cast = lib.cast(spec, "int32")
    assert cast.dtype == lib.int32
    with pytest.raises(ValueError, match=r"^Error setting grid_origin: "):
        _ = cast.chunk_layout
