"""ts.Schema: construction, JSON, merging, fill values, errors, reprs (checked against tensorstore)."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
import tensorstore

import tensortrio as ts
from tensortrio.schema.codec_spec import CodecDriver, register_codec_driver
from tensortrio.schema.schema import Schema, SchemaConstraints, merge_domains

register_codec_driver(CodecDriver("schema_test_codec", from_json=lambda members: members))


def test_empty_schema() -> None:
    schema = Schema()
    assert repr(schema) == "Schema({})"
    assert schema.rank is None
    assert schema.dtype is None
    assert schema.domain is None
    assert schema.shape is None
    assert schema.codec is None
    assert schema.fill_value is None
    assert schema.dimension_units is None
    assert schema.chunk_layout == ts.ChunkLayout()


def test_components_repr_and_properties() -> None:
    schema = Schema(dtype=ts.float32, shape=[3, 4], fill_value=5, dimension_units=["4nm", None])
    assert repr(schema) == (
        "Schema({\n"
        "  'dimension_units': [[4.0, 'nm'], None],\n"
        "  'domain': {'exclusive_max': [3, 4], 'inclusive_min': [0, 0]},\n"
        "  'dtype': 'float32',\n"
        "  'fill_value': 5.0,\n"
        "  'rank': 2,\n"
        "})"
    )
    assert schema.shape == (3, 4)
    assert schema.origin == (0, 0)
    assert schema.size == 12
    assert schema.dimension_units == (ts.Unit(4, "nm"), None)
    fill = schema.fill_value
    assert fill is not None
    assert fill.dtype == np.float32
    assert fill.shape == ()


# Pairs of (tensortrio constructor args, same for tensorstore) compared on JSON and repr.
_CASES: list[dict[str, Any]] = [
    {"json": {"dtype": "uint8", "chunk_layout": {"grid_origin": [1, 2, 3], "inner_order": [0, 2, 1]}}},
    {"json": {"dtype": "int32", "fill_value": [1, 2]}},
    {"json": {"fill_value": [[1, 2], [3, 4]], "dtype": "uint8"}},
    {"json": {"dimension_units": [None, None]}},
    {"json": {"dimension_units": ["nm"], "dtype": "uint8"}},
    {"json": {"domain": {"shape": [3], "labels": ["x"]}, "fill_value": 7, "dtype": "int16"}},
    {"json": {"dtype": "float32", "fill_value": "Infinity"}},
    {"json": {"dtype": "string", "fill_value": "ab"}},
    {"json": {"dtype": "json", "fill_value": {"a": 1}}},
    {"json": {"dtype": "bfloat16", "fill_value": 5}},
    {"json": {"dtype": "int4", "fill_value": -3}},
    {"json": {"rank": 2}},
    {"kwargs": {"rank": 2, "dtype": "uint8"}},
    {"kwargs": {"shape": [3, 2], "dtype": "int32", "fill_value": [1, 1]}},
    {"kwargs": {"fill_value": [1.5], "dtype": "int32"}},
    {"kwargs": {"fill_value": 1 + 2j, "dtype": "complex64"}},
    {"kwargs": {"fill_value": True, "dtype": "bool"}},
    {"kwargs": {"fill_value": np.uint8(3), "dtype": "uint64"}},
    {"kwargs": {"dimension_units": ["nm", None], "rank": 2}},
]


def _build(module: Any, case: dict[str, Any]) -> Any:
    if "json" in case:
        return module.Schema(case["json"])
    kwargs = dict(case["kwargs"])
    if "dtype" in kwargs:
        kwargs["dtype"] = module.dtype(kwargs["dtype"])
    return module.Schema(**kwargs)


@pytest.mark.parametrize("case", _CASES)
def test_json_and_repr_match_tensorstore(case: dict[str, Any]) -> None:
    ours = _build(ts, case)
    theirs = _build(tensorstore, case)
    assert repr(ours) == repr(theirs)
    assert ours.to_json() == theirs.to_json()
    assert ours.rank == theirs.rank
    if ours.dtype != ts.complex64:  # JSON cannot express complex fill values (as tensorstore)
        assert Schema(ours.to_json()) == ours


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Schema(rank=33), r"Invalid rank: Rank 33 is outside valid range \[0, 32\]"),
        (
            lambda: Schema(rank=2, shape=[3]),
            r"Invalid shape: Rank specified by shape \(1\) does not match existing rank "
            r"specified by schema \(2\)",
        ),
        (
            lambda: Schema(dtype=ts.uint8, schema=Schema(dtype=ts.int8)),
            r"Invalid schema: Specified dtype \(int8\) does not match existing value \(uint8\)",
        ),
        (
            lambda: Schema(shape=[3, 4], domain=ts.IndexDomain(shape=[3, 5])),
            r"Invalid shape: Cannot merge index domain \{ \[0, 3\), \[0, 5\) \} with index "
            r"domain \{ \[0, 3\), \[0, 4\) \}: Mismatch in dimension 1: Upper bounds do not match",
        ),
        (
            lambda: Schema(
                domain=ts.IndexDomain(labels=["x"]),
                schema=Schema(domain=ts.IndexDomain(labels=["y"])),
            ),
            r"Invalid schema: Cannot merge index domain .*: Mismatch in dimension 0: "
            r"Dimension labels do not match",
        ),
        (
            lambda: Schema(fill_value=[1, 2], dtype=ts.int32, shape=[3, 3]),
            r"Invalid fill_value: fill_value is incompatible with domain: Cannot broadcast "
            r"array of shape \{2\} to target shape \{3, 3\}",
        ),
        (
            lambda: Schema(fill_value=1, dtype=ts.int32, schema=Schema(fill_value=2)),
            r"Invalid schema: Specified fill_value \(2\) does not match existing value in "
            r"schema \(1\)",
        ),
        (
            lambda: Schema(dimension_units=["nm", None], schema=Schema(dimension_units=["um", "s"])),
            r'Invalid schema: Cannot merge dimension units \["um", "s"\] and \["nm", null\]',
        ),
        (
            lambda: Schema(dimension_units=["nm"], shape=[3, 3]),
            r"Invalid dimension_units: Rank specified by dimension_units \(1\) does not match "
            r"existing rank specified by schema \(2\)",
        ),
        (
            lambda: Schema(
                chunk_layout=ts.ChunkLayout(inner_order=[1, 0]),
                schema=Schema(chunk_layout=ts.ChunkLayout(inner_order=[0, 1])),
            ),
            r"Invalid schema: Error setting inner_order: New hard constraint \(\{0, 1\}\) does "
            r"not match existing hard constraint \(\{1, 0\}\)",
        ),
        (
            lambda: Schema(fill_value=300, dtype=ts.uint8),
            r"Invalid fill_value: Python integer 300 out of bounds for uint8",
        ),
    ],
)
def test_conflicts_name_the_argument(build: Any, message: str) -> None:
    with pytest.raises((ValueError, OverflowError), match=f"^{message}$"):
        build()


@pytest.mark.parametrize(
    ("json", "message"),
    [
        ({"x": 1}, r'Object includes extra members: "x"'),
        (3, r"Expected object, but received: 3"),
        (
            {"rank": 40},
            r'Error parsing object member "rank": Expected integer in the range \[0, 32\], '
            r"but received: 40",
        ),
        ({"dtype": "foo"}, r'Error parsing object member "dtype": Unsupported data type: "foo"'),
        (
            {"domain": {"shape": [3]}, "rank": 2},
            r'Error parsing object member "domain": Rank specified by domain \(1\) does not '
            r"match existing rank specified by schema \(2\)",
        ),
        (
            {"dtype": "int32", "fill_value": "x"},
            r'Error parsing object member "fill_value": Error parsing array element at '
            r'position \{\}: Expected integer in the range \[-2147483648, 2147483647\], but '
            r'received: "x"',
        ),
        (
            {"dtype": "uint8", "fill_value": [[1, 2], [3, "x"]]},
            r'Error parsing object member "fill_value": Error parsing array element at '
            r'position \{1, 1\}: Expected integer in the range \[0, 255\], but received: "x"',
        ),
        (
            {"dtype": "float32", "fill_value": [[1], [2, 3]]},
            r'Error parsing object member "fill_value": Expected array of shape \{2, 1\}, but '
            r"found array element \[2,3\] of length 2 at position \{1\}\.",
        ),
        (
            {"dtype": "complex64", "fill_value": [1, 2]},
            r'Error parsing object member "fill_value": Conversion from JSON to complex64 is '
            r"not implemented",
        ),
        (
            {"dtype": "bool", "fill_value": 0},
            r'Error parsing object member "fill_value": Error parsing array element at '
            r"position \{\}: Expected boolean, but received: 0",
        ),
        (
            {"dimension_units": "nm"},
            r'Error parsing object member "dimension_units": Expected array, but received: "nm"',
        ),
        (
            {"codec": {"driver": "no_such_codec"}},
            r'Error parsing object member "codec": Error parsing object member "driver": '
            r'"no_such_codec" is not registered',
        ),
    ],
)
def test_json_errors_match_tensorstore(json: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        Schema(json)


def test_cast_errors_are_type_errors() -> None:
    with pytest.raises(TypeError, match=r"^Cannot cast array data from dtype\('float64'\) to "):
        Schema(fill_value=np.zeros(2), dtype=ts.uint8)
    with pytest.raises(TypeError, match=r"^Invalid fill_value: expected bytes, str found$"):
        Schema(fill_value="x", dtype=ts.string)
    with pytest.raises(TypeError, match=r"^Invalid dimension_units$"):
        Schema(dimension_units="nm")


def test_domain_merge_rules() -> None:
    implicit = ts.IndexDomain(shape=[3], implicit_upper_bounds=[True])
    merged = merge_domains(implicit, ts.IndexDomain(shape=[3]))
    assert merged == ts.IndexDomain(shape=[3])
    unbounded = ts.IndexDomain(labels=["x"])
    assert merge_domains(unbounded, ts.IndexDomain(shape=[5])) == ts.IndexDomain(
        shape=[5], labels=["x"]
    )
    explicit_inf = ts.IndexDomain(
        inclusive_min=[-ts.inf], exclusive_max=[5], implicit_lower_bounds=[False]
    )
    with pytest.raises(ValueError, match=r"Mismatch in dimension 0: Lower bounds do not match$"):
        merge_domains(explicit_inf, ts.IndexDomain(shape=[5]))


def test_update_accumulates_and_failed_update_leaves_schema() -> None:
    schema = Schema(rank=3)
    schema.update(dtype=ts.uint8)
    assert repr(schema) == "Schema({'dtype': 'uint8', 'rank': 3})"
    with pytest.raises(ValueError, match=r"^Invalid dtype: "):
        schema.update(dtype=ts.int8)
    assert repr(schema) == "Schema({'dtype': 'uint8', 'rank': 3})"
    copy = schema.copy()
    copy.update(shape=[1, 2, 3])
    assert schema.domain is None


def test_fill_value_before_dtype_is_converted_when_dtype_arrives() -> None:
    schema = Schema(fill_value=5)
    schema.update(dtype=ts.uint8)
    fill = schema.fill_value
    assert fill is not None
    assert fill.dtype == np.uint8
    json_schema = Schema({"fill_value": [1, 2]})
    json_schema.update(dtype=ts.float32)
    assert json_schema.to_json() == {"dtype": "float32", "fill_value": [1.0, 2.0]}
    with pytest.raises(ValueError, match=r"^Invalid dtype: fill_value 5\.5 is incompatible with dtype uint8: "):
        Schema({"fill_value": 5.5}).update(dtype=ts.uint8)


def test_fill_values_compare_after_broadcasting() -> None:
    schema = Schema(fill_value=[1, 1], dtype=ts.int32, schema=Schema(fill_value=1, dtype=ts.int32))
    assert schema.to_json()["fill_value"] == [1, 1]
    nan = Schema(fill_value=np.nan, dtype=ts.float32)
    nan.update(fill_value=np.float32(np.nan))


def test_equality_pickling_and_unhashable() -> None:
    schema = Schema(dtype=ts.uint8, fill_value=3, codec=ts.CodecSpec({"driver": "schema_test_codec"}))
    assert schema == Schema(schema.to_json())
    assert pickle.loads(pickle.dumps(schema)) == schema
    assert schema != Schema(dtype=ts.uint8)
    with pytest.raises(TypeError):
        hash(schema)
    assert SchemaConstraints() == SchemaConstraints()


def test_codec_merge() -> None:
    codec = ts.CodecSpec({"driver": "schema_test_codec", "a": 1})
    schema = Schema(codec=codec, schema=Schema(codec=ts.CodecSpec({"driver": "schema_test_codec", "b": 2})))
    assert schema.to_json() == {"codec": {"a": 1, "b": 2, "driver": "schema_test_codec"}}
    with pytest.raises(
        ValueError,
        match=r'^Invalid codec: Cannot merge codec spec \{"a":1,"driver":"schema_test_codec"\} '
        r'with \{"a":2,"driver":"schema_test_codec"\}: ',
    ):
        Schema(codec=codec).update(codec=ts.CodecSpec({"driver": "schema_test_codec", "a": 2}))


def test_schema_is_exported() -> None:
    assert ts.Schema is Schema
