"""``.zarray`` parsing, serialisation and the spec's zarr members, with TensorStore's messages."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from tensortrio.drivers.zarr import ZARR_FORMAT
from tensortrio.drivers.zarr.dtype import choose_zarr_dtype, parse_zarr_dtype
from tensortrio.drivers.zarr.fill_value import decode_fill_value, encode_fill_value
from tensortrio.drivers.zarr.metadata import parse_zarr_metadata
from tensortrio.errors import DataLossError, InvalidArgumentError
from tensortrio.schema.codec_spec import CodecSpec
from tensortrio.schema.dtype import dtype as ts_dtype

BASE: dict[str, Any] = {
    "zarr_format": 2,
    "shape": [10, 20],
    "chunks": [5, 5],
    "dtype": "<u2",
    "compressor": None,
    "fill_value": None,
    "order": "C",
    "filters": None,
}


def _with(**changes: Any) -> dict[str, Any]:
    out = dict(BASE)
    for key, value in changes.items():
        if value is ...:
            del out[key]
        else:
            out[key] = value
    return out


def _roundtrip(json_value: dict[str, Any]) -> dict[str, Any]:
    metadata = ZARR_FORMAT.decode_metadata(json.dumps(json_value).encode())
    return json.loads(ZARR_FORMAT.encode_metadata(metadata))


def test_encode_is_compact_sorted_json() -> None:
    metadata = ZARR_FORMAT.decode_metadata(json.dumps(BASE).encode())
    assert ZARR_FORMAT.encode_metadata(metadata) == (
        b'{"chunks":[5,5],"compressor":null,"dtype":"<u2","fill_value":null,"filters":null,'
        b'"order":"C","shape":[10,20],"zarr_format":2}'
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"compressor": {"id": "zlib"}}, {"compressor": {"id": "zlib", "level": 1}}),
        (
            {"compressor": {"id": "blosc"}},
            {
                "compressor": {
                    "blocksize": 0,
                    "clevel": 5,
                    "cname": "lz4",
                    "id": "blosc",
                    "shuffle": -1,
                }
            },
        ),
        ({"compressor": {"id": "zstd", "level": 3}}, {"compressor": {"id": "zstd", "level": 3}}),
        ({"compressor": {"id": "bz2"}}, {"compressor": {"id": "bz2", "level": 1}}),
        ({"filters": []}, {"filters": None}),
        ({"dimension_separator": "/"}, {"dimension_separator": "/"}),
        ({"dtype": "<f4", "fill_value": "NaN"}, {"dtype": "<f4", "fill_value": "NaN"}),
        ({"dtype": "<f4", "fill_value": "1.5"}, {"dtype": "<f4", "fill_value": 1.5}),
        ({"dtype": "<f4", "fill_value": "-Infinity"}, {"dtype": "<f4", "fill_value": "-Infinity"}),
        ({"dtype": "<c8", "fill_value": [1, "NaN"]}, {"dtype": "<c8", "fill_value": [1.0, "NaN"]}),
        ({"dtype": "<c8", "fill_value": "AACAPwAAAEA="}, {"dtype": "<c8", "fill_value": [1.0, 2.0]}),
        ({"dtype": "<i8", "fill_value": 1.0}, {"dtype": "<i8", "fill_value": 1}),
        ({"dtype": "<u8", "fill_value": 2**64 - 1}, {"dtype": "<u8", "fill_value": 2**64 - 1}),
        ({"dtype": "|b1", "fill_value": True}, {"dtype": "|b1", "fill_value": True}),
        ({"dtype": ">i1"}, {"dtype": ">i1"}),
        ({"dtype": "bfloat16", "fill_value": 1}, {"dtype": "bfloat16", "fill_value": 1.0}),
        ({"extra_member": {"a": [1]}}, {"extra_member": {"a": [1]}}),
    ],
)
def test_roundtrip_normalises(changes: dict[str, Any], expected: dict[str, Any]) -> None:
    assert _roundtrip(_with(**changes)) == dict(sorted(_with(**expected).items()))


_MEMBER = r'Error parsing object member "{}": '


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"dtype": "<u3"}, _MEMBER.format("dtype") + r'Unsupported zarr dtype: "<u3"'),
        ({"dtype": "|u2"}, _MEMBER.format("dtype") + r'Unsupported zarr dtype: "\|u2"'),
        ({"dtype": "|f4"}, _MEMBER.format("dtype") + r'Unsupported zarr dtype: "\|f4"'),
        ({"dtype": "<M8"}, _MEMBER.format("dtype") + r'Unsupported zarr dtype: "<M8"'),
        ({"dtype": 5}, _MEMBER.format("dtype") + r"Expected array, but received: 5"),
        (
            {"dtype": [["x", "<u2"], ["x", "<f4"]]},
            _MEMBER.format("dtype") + r'Field name "x" occurs more than once',
        ),
        (
            {"dtype": [["x"]]},
            _MEMBER.format("dtype")
            + r'Error parsing value at position 0: Expected array of size 2 or 3, but received: \["x"\]',
        ),
        (
            {"dtype": [["", "<u2"]]},
            _MEMBER.format("dtype")
            + r"Error parsing value at position 0: Error parsing value at position 0: "
            + r'Expected non-empty string, but received: ""',
        ),
        (
            {"dtype": [["x", "<U2"]]},
            _MEMBER.format("dtype")
            + r'Error parsing value at position 0: Error parsing value at position 1: Unsupported zarr dtype: "<U2"',
        ),
        (
            {"dtype": [["x", "<u2", [2, 0]]]},
            _MEMBER.format("dtype")
            + r"Error parsing value at position 0: Error parsing value at position 2: Error parsing "
            + r"value at position 1: Expected integer in the range \[1, 4611686018427387903\], but received: 0",
        ),
        ({"dtype": "S4"}, _MEMBER.format("dtype") + r'Unsupported zarr dtype: "S4"'),
        (
            {"dtype": "|V0"},
            _MEMBER.format("dtype") + r'zarr dtype "\|V0": elements of 0 bytes are not supported by tensortrio',
        ),
        (
            {"dtype": "|S4", "fill_value": 3},
            _MEMBER.format("fill_value") + r"Expected 4 base64-encoded bytes, but received: 3",
        ),
        ({"zarr_format": 3}, _MEMBER.format("zarr_format") + r"Expected integer in the range \[2, 2\], but received: 3"),
        ({"shape": ...}, _MEMBER.format("shape") + r"Expected array, but member is missing"),
        ({"chunks": ...}, _MEMBER.format("chunks") + r"Expected array, but member is missing"),
        ({"compressor": ...}, _MEMBER.format("compressor") + r"Expected object, but member is missing"),
        ({"filters": ...}, _MEMBER.format("filters") + r"Expected null or array, but member is missing"),
        ({"order": ...}, _MEMBER.format("order") + r'Expected one of "C", "F", but member is missing'),
        ({"order": "X"}, _MEMBER.format("order") + r'Expected one of "C", "F", but received: "X"'),
        ({"filters": 5}, _MEMBER.format("filters") + r"Expected null or array, but received: 5"),
        (
            {"compressor": {"id": "foo"}},
            _MEMBER.format("compressor") + _MEMBER.format("id") + r'"foo" is not registered',
        ),
        (
            {"compressor": {"id": "blosc", "cname": "foo"}},
            _MEMBER.format("compressor")
            + _MEMBER.format("cname")
            + r'Expected one of blosclz,lz4,lz4hc,snappy,zlib,zstd, but received: "foo"',
        ),
        (
            {"compressor": {"id": "blosc", "clevel": 10}},
            _MEMBER.format("compressor")
            + _MEMBER.format("clevel")
            + r"Expected integer in the range \[0, 9\], but received: 10",
        ),
        (
            {"compressor": {"id": "blosc", "extra": 1}},
            _MEMBER.format("compressor") + r'Object includes extra members: "extra"',
        ),
        (
            {"compressor": {"cname": "lz4"}},
            _MEMBER.format("compressor") + _MEMBER.format("id") + r"Expected string, but member is missing",
        ),
        ({"compressor": 5}, _MEMBER.format("compressor") + r"Expected object, but received: 5"),
        ({"chunks": [5]}, _MEMBER.format("chunks") + r"Array has length 1 but should have length 2"),
        (
            {"chunks": [0, 5]},
            _MEMBER.format("chunks")
            + r"Error parsing value at position 0: Expected integer in the range \[1, 9223372036854775806\], but received: 0",
        ),
        (
            {"shape": [10.5, 20]},
            _MEMBER.format("shape")
            + r"Error parsing value at position 0: Expected integer in the range \[0, 9223372036854775806\], but received: 10.5",
        ),
        ({"dimension_separator": "x"}, _MEMBER.format("dimension_separator") + r'Expected one of "\.", "/", but received: "x"'),
        ({"fill_value": "NaN"}, _MEMBER.format("fill_value") + r'Expected integer in the range \[0, 65535\], but received: "NaN"'),
        ({"fill_value": 70000}, _MEMBER.format("fill_value") + r"Expected integer in the range \[0, 65535\], but received: 70000"),
        ({"dtype": "<f4", "fill_value": "nan"}, _MEMBER.format("fill_value") + r'Invalid floating-point value: "nan"'),
        ({"dtype": "<f4", "fill_value": True}, _MEMBER.format("fill_value") + r"Invalid floating-point value: true"),
        ({"dtype": "|b1", "fill_value": 1}, _MEMBER.format("fill_value") + r"Expected boolean, but received: 1"),
        ({"dtype": "<c8", "fill_value": 1}, _MEMBER.format("fill_value") + r"Expected 8 base64-encoded bytes, but received: 1"),
        ({"dtype": "<c8", "fill_value": [1, 2, 3]}, _MEMBER.format("fill_value") + r"Array has length 3 but should have length 2"),
        ({"dtype": "<i4", "fill_value": "1"}, _MEMBER.format("fill_value") + r'Expected integer in the range \[-2147483648, 2147483647\], but received: "1"'),
    ],
)
def test_stored_metadata_errors(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(DataLossError, match=f"^{message}$"):
        ZARR_FORMAT.decode_metadata(json.dumps(_with(**changes)).encode())


def test_stored_metadata_not_json_or_not_object() -> None:
    with pytest.raises(DataLossError, match=r"^Invalid JSON$"):
        ZARR_FORMAT.decode_metadata(b"not json")
    with pytest.raises(DataLossError, match=r"^Expected object, but received: \[1\]$"):
        ZARR_FORMAT.decode_metadata(b"[1]")


@pytest.mark.parametrize(
    ("encoded", "name", "stored"),
    [
        ("|b1", "bool", "|b1"),
        ("<b1", "bool", "|b1"),
        ("|u1", "uint8", "|u1"),
        ("<i1", "int8", "|i1"),
        ("<u2", "uint16", "<u2"),
        (">i2", "int16", ">i2"),
        ("<u4", "uint32", "<u4"),
        (">i8", "int64", ">i8"),
        ("<f2", "float16", "<f2"),
        (">f4", "float32", ">f4"),
        ("<f8", "float64", "<f8"),
        ("<c8", "complex64", "<c8"),
        (">c16", "complex128", ">c16"),
        ("bfloat16", "bfloat16", None),
        ("float8_e4m3fn", "float8_e4m3fn", None),
        ("int4", "int4", None),
    ],
)
def test_dtypes(encoded: str, name: str, stored: str | None) -> None:
    zdtype = parse_zarr_dtype(encoded)
    assert zdtype.name == name
    assert zdtype.native == ts_dtype(name).numpy_dtype
    if stored is not None:
        assert zdtype.stored == np.dtype(stored)
    assert zdtype.to_json() == encoded


@pytest.mark.parametrize(
    ("name", "encoded"),
    [("bool", "|b1"), ("int8", "|i1"), ("uint16", "<u2"), ("float64", "<f8"), ("complex64", "<c8"), ("bfloat16", "bfloat16")],
)
def test_choose_native_dtype(name: str, encoded: str) -> None:
    assert choose_zarr_dtype(ts_dtype(name)).encoded == encoded


def test_choose_dtype_rejects_json_and_takes_strings_as_objects() -> None:
    with pytest.raises(InvalidArgumentError, match=r"^Data type not supported: json$"):
        choose_zarr_dtype(ts_dtype("json"))
    assert choose_zarr_dtype(ts_dtype("string")).encoded == "|O"


@pytest.mark.parametrize(
    ("encoded", "json_value"),
    [("<f4", "NaN"), ("<f4", "Infinity"), ("<f8", -2.5), ("<i2", -7), ("|b1", False), (">c16", [1.0, "-Infinity"])],
)
def test_fill_value_roundtrip(encoded: str, json_value: Any) -> None:
    zdtype = parse_zarr_dtype(encoded)
    value = decode_fill_value(json_value, zdtype)
    assert value is not None
    assert value.shape == ()
    assert value.dtype == zdtype.native
    assert encode_fill_value(value, zdtype) == json_value


def test_fill_value_nan_is_quiet_nan() -> None:
    value = decode_fill_value("NaN", parse_zarr_dtype("<f4"))
    assert value is not None
    assert math.isnan(float(value))


def test_resize_keeps_everything_else() -> None:
    metadata = parse_zarr_metadata(_with(extra=1))
    resized = ZARR_FORMAT.resize_metadata(metadata, [30, 0])
    assert resized.shape == (30, 0)
    assert resized.to_json() == {**metadata.to_json(), "shape": [30, 0]}
    with pytest.raises(InvalidArgumentError, match=r"^zarr: new shape \[1\] must have rank 2$"):
        ZARR_FORMAT.resize_metadata(metadata, [1])


def test_metadata_json_for_spec_hides_extra_members_and_shows_separator() -> None:
    metadata = parse_zarr_metadata(_with(extra=1))
    assert ZARR_FORMAT.metadata_json(metadata) == dict(
        sorted(_with(dimension_separator=".").items())
    )
    assert ZARR_FORMAT.chunk_grid(metadata) == ((5, 5), (0, 0))


# --- spec members


def test_spec_members_normalise() -> None:
    members = ZARR_FORMAT.parse_spec_members(
        {"metadata": {"compressor": {"id": "zlib"}, "dtype": "<f4", "fill_value": "NaN"}, "key_encoding": "/"}
    )
    assert members.to_json() == {
        "metadata": {
            "compressor": {"id": "zlib", "level": 1},
            "dimension_separator": "/",
            "dtype": "<f4",
            "fill_value": "NaN",
        }
    }
    assert members.metadata_key == ".zarray"
    assert ZARR_FORMAT.parse_spec_members({"metadata_key": "zarray"}).metadata_key == "zarray"


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"metadata": 5}, r'Error parsing object member "metadata": Expected object, but received: 5'),
        ({"metadata": {"foo": 1}}, r'Error parsing object member "metadata": Object includes extra members: "foo"'),
        (
            {"metadata": {"fill_value": 3}},
            r'Error parsing object member "metadata": Error parsing object member "fill_value": must be specified in conjunction with "dtype"',
        ),
        (
            {"metadata": {"shape": [10, 20], "chunks": [5]}},
            r'Error parsing object member "metadata": Error parsing object member "chunks": Array has length 1 but should have length 2',
        ),
        ({"key_encoding": "x"}, r'Error parsing object member "key_encoding": Expected one of "\.", "/", but received: "x"'),
        (
            {"key_encoding": "/", "metadata": {"dimension_separator": "."}},
            r'Error parsing object member "key_encoding": value \("/"\) does not match value in metadata \("\."\)',
        ),
        ({"field": 5}, r'Error parsing object member "field": Expected string, but received: 5'),
        ({"bogus": 1}, r'Object includes extra members: "bogus"'),
    ],
)
def test_spec_member_errors(members: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=f"^{message}$"):
        ZARR_FORMAT.parse_spec_members(members)


# --- codec spec


def test_codec_spec_normalises_and_merges() -> None:
    spec = CodecSpec({"driver": "zarr", "compressor": {"id": "zlib"}})
    assert spec.to_json() == {"compressor": {"id": "zlib", "level": 1}, "driver": "zarr", "filters": None}
    merged = CodecSpec({"driver": "zarr"}).merge(spec)
    assert merged == spec
    with pytest.raises(
        InvalidArgumentError,
        match=r'^Cannot merge codec spec \{"compressor":null,"driver":"zarr","filters":null\} with '
        r'\{"compressor":\{"id":"zlib","level":1\},"driver":"zarr","filters":null\}: "compressor" does not match$',
    ):
        CodecSpec({"driver": "zarr", "compressor": None}).merge(spec)
    with pytest.raises(InvalidArgumentError, match=r'^Object includes extra members: "x"$'):
        CodecSpec({"driver": "zarr", "x": 1})


@pytest.mark.parametrize("lib", ["tensortrio", "tensorstore"])
@pytest.mark.parametrize(
    ("text", "value"),
    [("0x1p3", 8.0), ("0X1P-2", 0.25), ("-0x1.8p1", -3.0), ("0x10", 16.0), (" 2", 2.0), ("1e3", 1000.0)],
)
def test_a_float_fill_value_string_is_read_as_strtod_reads_it(lib: str, text: str, value: float) -> None:
    module = pytest.importorskip(lib)
    metadata = {"shape": [2], "chunks": [2], "dtype": "<f8", "fill_value": text}
    store = module.open(
        {"driver": "zarr", "kvstore": {"driver": "memory"}, "metadata": metadata}, create=True
    ).result()
    assert float(store.fill_value) == value


@pytest.mark.parametrize("lib", ["tensortrio", "tensorstore"])
@pytest.mark.parametrize("text", ["abc", "1_0", "inf", "nan", "0xg"])
def test_other_float_fill_value_strings_are_refused(lib: str, text: str) -> None:
    module = pytest.importorskip(lib)
    metadata = {"shape": [2], "chunks": [2], "dtype": "<f8", "fill_value": text}
    with pytest.raises(ValueError, match="Invalid floating-point value"):
        module.open(
            {"driver": "zarr", "kvstore": {"driver": "memory"}, "metadata": metadata}, create=True
        ).result()
