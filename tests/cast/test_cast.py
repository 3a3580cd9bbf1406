"""ts.cast / TensorStore.astype: conversions (checked against tensorstore's table), modes, spec, pickling."""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tensorstore

import tensortrio as ts

if TYPE_CHECKING:
    from pathlib import Path

NAMES = [
    "bool", "char", "byte", "int4", "int8", "uint8", "int16", "uint16", "int32", "uint32",
    "int64", "uint64", "float8_e4m3fn", "float16", "bfloat16", "float32", "float64",
    "complex64", "complex128", "string", "ustring", "json",
]  # fmt: skip


def _base(lib: Any, name: str) -> Any:
    if name in ("char", "byte", "complex64", "complex128"):
        numpy_dtype = {"char": "S1", "byte": "V1"}.get(name, name)
        return lib.array(np.zeros(1, numpy_dtype))
    return lib.open({"driver": "array", "array": [], "dtype": name}).result()


def _mode(lib: Any, base: Any, target: str) -> str:
    try:
        return str(lib.cast(base, target).mode)
    except ValueError as exc:
        return f"error: {exc}"


@pytest.mark.parametrize("source", NAMES)
def test_conversion_table_matches_tensorstore(source: str) -> None:
    ours, theirs = _base(ts, source), _base(tensorstore, source)
    assert ours.dtype.name == theirs.dtype.name
    got = {target: _mode(ts, ours, target) for target in NAMES}
    expected = {target: _mode(tensorstore, theirs, target) for target in NAMES}
    assert got == expected


def test_doc_example() -> None:
    array = ts.array([1.5, 2.5, 3.5, 4.5, 5.5], dtype=ts.float32)
    view = ts.cast(array, ts.uint32)
    theirs = tensorstore.cast(
        tensorstore.array([1.5, 2.5, 3.5, 4.5, 5.5], dtype=tensorstore.float32), tensorstore.uint32
    )
    assert repr(view) == repr(theirs)
    np.testing.assert_array_equal(view.read().result(), [1, 2, 3, 4, 5])
    assert view.read().result().dtype == np.uint32


def test_write_converts_back_and_views_compose() -> None:
    data = np.array([1.5, 2.5, 3.5], np.float64)
    view = ts.array(data).astype(ts.int16)
    view[1:] = np.array([7, 8], np.int16)
    np.testing.assert_array_equal(data, [1.5, 7.0, 8.0])
    assert view[1:].read().result().tolist() == [7, 8]
    assert view.dtype == ts.int16
    assert view.schema.dtype == ts.int16


def test_complex_to_real_keeps_the_real_part() -> None:
    view = ts.cast(ts.array(np.array([1 + 2j, -3 - 1j])), ts.float32)
    np.testing.assert_array_equal(view.read().result(), [1.0, -3.0])


def test_one_way_conversions_give_one_way_views() -> None:
    readonly = ts.cast(ts.array(np.array([1, 2], np.int32)), ts.string)
    assert readonly.mode == "r"
    assert readonly.read().result().tolist() == [b"1", b"2"]
    with pytest.raises(ValueError, match=r"^Destination does not support writing\.$"):
        readonly[0] = b"3"
    assert ts.cast(ts.array(np.array([True])), ts.complex64).mode == "r"


def test_unsupported_conversion_names_both_dtypes() -> None:
    with pytest.raises(ts.InvalidArgumentError, match=r"^Cannot convert float32 <-> char$"):
        ts.cast(ts.array(np.zeros(2, np.float32)), ts.char)
    # A read-only view of strings cannot be read as integers nor written from them.
    strings = ts.cast(ts.array(np.zeros(2, np.int32)), ts.string)
    with pytest.raises(ts.InvalidArgumentError, match=r"^Cannot convert string <-> int32$"):
        ts.cast(strings, ts.int32)


def test_cast_of_a_spec_and_opening_it() -> None:
    spec = ts.cast(ts.Spec({"driver": "zarr", "kvstore": "memory://"}), ts.uint32)
    assert spec.to_json() == {
        "base": {"driver": "zarr", "kvstore": {"driver": "memory"}},
        "driver": "cast",
        "dtype": "uint32",
    }
    store = ts.open(
        {
            "driver": "cast",
            "base": {"driver": "array", "array": [1, 2], "dtype": "int32"},
            "dtype": "float64",
        }
    ).result()
    np.testing.assert_array_equal(store.read().result(), [1.0, 2.0])
    with pytest.raises(
        ts.InvalidArgumentError,
        match=r'^Error parsing object member "base": Expected object, but member is missing$',
    ):
        ts.open({"driver": "cast", "dtype": "int8"}).result()


def test_pickling() -> None:
    view = ts.array(np.array([1.5, 2.5, 3.5])).astype(ts.int8)[1:]
    copy = pickle.loads(pickle.dumps(view))
    assert copy.domain == view.domain
    np.testing.assert_array_equal(copy.read().result(), [2, 3])


@pytest.mark.parametrize("lib", [ts, tensorstore], ids=["tensortrio", "tensorstore"])
def test_small_integers_cast_to_each_other_wrapping_and_to_json_as_integers(lib: Any) -> None:
    import ml_dtypes

    int4 = lib.array(np.array([0, 1, 2, 7, -8], ml_dtypes.int4))
    assert lib.cast(int4, lib.int2).read().result().tolist() == [0, 1, -2, -1, 0]
    as_json = lib.cast(int4, lib.json).read().result().tolist()
    assert as_json == [0, 1, 2, 7, -8]
    assert all(type(v) is int for v in as_json)
    int2 = lib.array(np.zeros(3, ml_dtypes.int2))
    lib.cast(int2, lib.int4).write(np.array([0, 1, -2], ml_dtypes.int4)).result()
    assert int2.read().result().tolist() == [0, 1, -2]


@pytest.mark.parametrize("lib", [ts, tensorstore], ids=["tensortrio", "tensorstore"])
def test_numbers_cast_to_text_as_cpp_streams_print_them(lib: Any) -> None:
    import ml_dtypes

    floats = np.array([0.0, 1 / 3, 1234567.0, -2.5e-10, np.inf, np.nan, 100000.0, 1e6])
    expected = ["0", "0.333333", "1.23457e+06", "-2.5e-10", "inf", "nan", "100000", "1e+06"]
    assert lib.cast(lib.array(floats), lib.ustring).read().result().tolist() == expected
    as_bytes = lib.cast(lib.array(floats), lib.string).read().result().tolist()
    assert as_bytes == [text.encode() for text in expected]
    assert lib.cast(lib.array(np.array([0.1], np.float16)), lib.ustring).read().result().tolist() == [
        "0.0999756"
    ]
    complexes = lib.array(np.array([1 + 2j, 0.5 - 1e7j]))
    assert lib.cast(complexes, lib.ustring).read().result().tolist() == ["(1,2)", "(0.5,-1e+07)"]
    integers = lib.array(np.array([2, -3], ml_dtypes.int4))
    assert lib.cast(integers, lib.string).read().result().tolist() == [b"2", b"-3"]
    text = lib.array(np.array([b"", b""], dtype=object), dtype=lib.string)
    lib.cast(text, lib.float64).write([2.5, 1e20]).result()
    assert text.read().result().tolist() == [b"2.5", b"1e+20"]


JSON_VALUES = [
    True, False, 0, 7, -3, 300, 2.5, 2.0, float("nan"), float("inf"),
    "7", " 5", "0x10", "nan", "2.5", "true", "abc", None, -1, 2**63,
]  # fmt: skip


def _json_to(lib: Any, value: Any, name: str) -> Any:
    store = lib.array(np.array([value], dtype=object), dtype=lib.json)
    try:
        result = lib.cast(store, lib.dtype(name)).read().result().tolist()[0]
    except ValueError as exc:
        return str(exc)
    return "nan" if result != result else result


@pytest.mark.parametrize("name", ["bool", "int4", "uint8", "int64", "uint64", "float32", "bfloat16"])
def test_json_values_convert_to_numbers_by_tensorstores_rules(name: str) -> None:
    ours = [_json_to(ts, value, name) for value in JSON_VALUES]
    theirs = [_json_to(tensorstore, value, name) for value in JSON_VALUES]
    assert ours == theirs


@pytest.mark.parametrize("lib", [ts, tensorstore], ids=["tensortrio", "tensorstore"])
def test_a_cast_views_its_base_through_its_transform(lib: Any) -> None:
    store = lib.open(
        {"driver": "zarr", "kvstore": {"driver": "memory"}}, create=True, dtype=lib.int16, shape=[6, 8]
    ).result()
    cast = lib.cast(store, lib.float64)
    assert store.base is None
    assert cast.base.dtype == lib.int16
    assert cast[1:3].base.domain == store[1:3].domain
    assert cast.T.base.domain == store.T.domain
    assert lib.cast(cast, lib.int32).base.dtype == lib.float64
    cast.base[0, 0].write(7).result()
    assert cast[0, 0].read().result() == 7.0


@pytest.mark.parametrize("library", ["tensortrio", "tensorstore"])
def test_open_of_a_cast_spec_creates_its_base_with_the_shape_given(library: str) -> None:
    lib: Any = pytest.importorskip(library)
    spec = lib.Spec({"driver": "zarr", "kvstore": "memory://", "dtype": "int32"})
    store = lib.open(lib.cast(spec, "float32"), create=True, shape=[3], chunk_layout=lib.ChunkLayout(chunk_shape=[2])).result()
    assert store.dtype == lib.float32
    assert store.domain.shape == (3,)
    assert store.base.spec().to_json()["metadata"]["chunks"] == [2]
    assert lib.Schema(dimension_units=[]).rank is None
    assert lib.Schema({"dimension_units": []}).rank is None


@pytest.mark.parametrize("lib", [ts, tensorstore], ids=["tensortrio", "tensorstore"])
def test_a_cast_specs_schema_constraints_are_its_bases(lib: Any) -> None:
    # tensorstore's cast spec keeps only its dtype and rank; the base's transform becomes its own.
    base = lib.Spec({"driver": "zarr", "kvstore": "memory://", "dtype": "int32"})
    base.update(shape=[4, 5], dimension_units=["nm", None])
    cast = lib.cast(base, lib.float32)
    base_json = {
        "driver": "zarr",
        "dtype": "int32",
        "kvstore": {"driver": "memory"},
        "schema": {"dimension_units": [[1.0, "nm"], None], "domain": {"exclusive_max": [4, 5], "inclusive_min": [0, 0]}},
    }
    transform = {"input_exclusive_max": [[4], [5]], "input_inclusive_min": [0, 0]}
    if lib is tensorstore:
        expected = {"base": base_json, "driver": "cast", "dtype": "float32", "transform": transform}
    else:
        # Where it differs: a base with a schema domain keeps its transform (the domain is in
        # the space the transform maps to); the view is the same.
        expected = {"base": {**base_json, "transform": transform}, "driver": "cast", "dtype": "float32", "transform": transform}
    assert cast.to_json() == expected
    assert cast.domain.shape == (4, 5)
    ranked = lib.cast(lib.Spec({"driver": "zarr", "kvstore": "memory://", "dtype": "int32", "rank": 2}), lib.float32)
    assert ranked.to_json() == {
        "base": {"driver": "zarr", "dtype": "int32", "kvstore": {"driver": "memory"}},
        "driver": "cast",
        "dtype": "float32",
        "rank": 2,
    }
    unshaped = lib.cast(lib.Spec({"driver": "zarr", "kvstore": "memory://", "dtype": "int32"}), lib.float32)
    unshaped.update(shape=[5], chunk_layout=lib.ChunkLayout(chunk_shape=[2]), codec=lib.CodecSpec({"driver": "zarr", "compressor": None}))
    json = unshaped.to_json()
    assert sorted(json) == ["base", "driver", "dtype", "transform"]
    assert json["base"]["schema"] == {
        "chunk_layout": {"read_chunk": {"shape": [2]}, "write_chunk": {"shape": [2]}},
        "codec": {"compressor": None, "driver": "zarr", "filters": None},
        "domain": {"exclusive_max": [5], "inclusive_min": [0]},
    }
    parsed = lib.Spec({"driver": "cast", "dtype": "float32", "base": {"driver": "zarr", "kvstore": "memory://", "dtype": "int32"}, "schema": {"domain": {"shape": [3]}}})
    assert "schema" not in parsed.to_json()
    assert parsed.to_json()["base"]["schema"] == {"domain": {"exclusive_max": [3], "inclusive_min": [0]}}
    with pytest.raises(ValueError, match=r"^Cannot convert int32 <-> char$"):
        lib.cast(base, lib.char)


@pytest.mark.parametrize("lib", [ts, tensorstore], ids=["tensortrio", "tensorstore"])
def test_a_cast_specs_fill_value_is_its_bases_converted_as_elements_are(lib: Any) -> None:
    # The base's fill value wraps into the cast's dtype as elements do; cast never refuses it.
    base = lib.Spec({"driver": "zarr", "kvstore": "memory://", "dtype": "float64"})
    base.update(fill_value=300.7)
    cast = lib.cast(base, lib.int8)
    assert cast.fill_value == np.int8(44)
    assert cast.fill_value.dtype == np.int8
    assert cast.schema.fill_value == np.int8(44)
    wide = lib.Spec({"driver": "zarr", "kvstore": "memory://", "dtype": "int32", "schema": {"domain": {"shape": [6]}}})
    wide.update(fill_value=np.int32(70000))
    assert lib.cast(wide, lib.uint16).fill_value == np.uint16(70000 % 65536)
    assert lib.cast(wide[::2], lib.uint16).fill_value == np.uint16(70000 % 65536)


@pytest.mark.parametrize("lib", [ts, tensorstore], ids=["tensortrio", "tensorstore"])
def test_a_cast_of_a_cast_spec_with_a_transform_applies_it_once(lib: Any, tmp_path: Path) -> None:
    base = {"driver": "zarr3", "kvstore": f"file://{tmp_path}/", "metadata": {"shape": [10], "data_type": "int32"}}
    lib.open(base, create=True).result().write(np.arange(10, dtype=np.int32)).result()
    shifted = {**base, "transform": {"input_rank": 1, "output": [{"input_dimension": 0, "offset": 1}]}}
    cast = lib.cast(lib.Spec({"driver": "cast", "dtype": "float32", "base": shifted}), lib.int32)
    store = lib.open(cast).result()
    assert store.domain == lib.IndexDomain(inclusive_min=[-1], exclusive_max=[9], implicit_upper_bounds=[True])
    np.testing.assert_array_equal(store[0:3].read().result(), [1, 2, 3])


@pytest.mark.parametrize("lib", [ts, tensorstore], ids=["tensortrio", "tensorstore"])
def test_a_cast_of_a_spec_with_a_schema_domain_and_a_transform(lib: Any) -> None:
    spec = lib.Spec({
        "driver": "zarr3", "kvstore": "memory://", "dtype": "int32",
        "schema": {"domain": {"inclusive_min": [1], "exclusive_max": [4]}},
        "transform": {"input_inclusive_min": [0], "input_exclusive_max": [3], "output": [{"input_dimension": 0, "offset": 1}]},
    })
    assert lib.cast(spec, "uint8").domain == lib.IndexDomain(shape=[3])


@pytest.mark.parametrize("lib", [ts, tensorstore], ids=["tensortrio", "tensorstore"])
def test_a_cast_of_a_ranked_spec_keeps_its_bases_chunk_layout(lib: Any) -> None:
    cast = lib.cast(lib.Spec({"driver": "zarr", "kvstore": "memory://", "dtype": "uint8", "rank": 2}), lib.float32)
    assert "rank" not in cast.to_json()["base"]
    assert cast.chunk_layout.to_json() == {"grid_origin": [0, 0]}
    assert cast.T.chunk_layout.to_json() == {"grid_origin": [0, 0]}


def test_a_base_fill_value_of_unknown_dtype_does_not_break_the_cast_spec() -> None:
    # tensorstore raises from .fill_value alone; every other accessor works in both.
    spec = ts.Spec({
        "driver": "zarr", "kvstore": "memory://", "metadata": {"shape": [5, 3]}, "schema": {"fill_value": 0},
        "transform": {"input_inclusive_min": [0, 0], "input_exclusive_max": [5, 3]},
    })
    cast = ts.cast(spec, "bool")
    assert (cast.rank, cast.domain.shape, cast.dtype, cast.fill_value) == (2, (5, 3), ts.bool, None)
    assert ts.cast(cast, "int32").dtype == ts.int32


@pytest.mark.parametrize("lib", [ts, tensorstore], ids=["tensortrio", "tensorstore"])
def test_a_rank_only_implied_by_the_base_is_not_stated_on_the_cast(lib: Any) -> None:
    metadata = {"chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4, 5]}}}
    base = lib.Spec({"driver": "zarr3", "kvstore": "memory://", "metadata": metadata, "dtype": "bool"})
    json = lib.cast(base, "int16").to_json()
    assert "rank" not in json
    assert "rank" not in json["base"]


@pytest.mark.parametrize("lib", [ts, tensorstore], ids=["tensortrio", "tensorstore"])
def test_a_base_fill_value_of_unknown_dtype_is_read_as_the_casts_dtype(lib: Any) -> None:
    cast = lib.cast(lib.Spec({"driver": "zarr", "kvstore": "memory://", "schema": {"fill_value": 7}}), "float64")
    assert cast.fill_value == 7.0
    with pytest.raises(ValueError, match=r"Specified fill_value \(\d\) does not match existing value in schema \(\d\)$"):
        cast.update(fill_value=3)
