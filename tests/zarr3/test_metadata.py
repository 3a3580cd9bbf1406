"""zarr.json parsing, validation messages, fill value encodings, chunk keys."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from tensortrio.drivers.zarr3.chunk_key_encoding import ChunkKeyEncoding, parse_chunk_key_encoding
from tensortrio.drivers.zarr3.fill_value import decode_fill_value, encode_fill_value
from tensortrio.drivers.zarr3.metadata import parse_partial_metadata, parse_zarr3_metadata
from tensortrio.errors import InvalidArgumentError

_BYTES = {"name": "bytes", "configuration": {"endian": "little"}}


def _json(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": [10, 20],
        "data_type": "uint16",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [5, 5]}},
        "chunk_key_encoding": {"name": "default"},
        "fill_value": 0,
        "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def test_round_trip_sorted() -> None:
    json = _json(attributes={"b": 1, "a": [1, 2]}, dimension_names=["x", None])
    metadata = parse_zarr3_metadata(json)
    assert metadata.to_json() == dict(sorted(json.items()))
    assert metadata.dimension_names == ("x", None)
    assert metadata.resize([3, 4]).attributes == metadata.attributes


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"zarr_format": 2}, r'^Error parsing object member "zarr_format": Expected 3, but received: 2$'),
        ({"shape": None}, r'^Error parsing object member "shape": Expected array, but member is missing$'),
        ({"data_type": "int3"}, r'^Error parsing object member "data_type": Unsupported zarr v3 data type: "int3"$'),
        (
            {"chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [5]}}},
            r'^Error parsing object member "chunk_grid": Error parsing object member "configuration": '
            r'Error parsing object member "chunk_shape": Array has length 1 but should have length 2$',
        ),
        (
            {"chunk_key_encoding": {"name": "v3"}},
            r'^Error parsing object member "chunk_key_encoding": Error parsing object member "name": '
            r'Expected one of "default", "v2", but received: "v3"$',
        ),
        ({"fill_value": 70000}, r'^Error parsing object member "fill_value": Expected integer in the range \[0, 65535\], but received: 70000$'),
        ({"codecs": [{"name": "nope"}]}, r'^Error parsing object member "codecs": Error parsing value at position 0: "nope" is not a registered codec$'),
        # A stored codec is an object, in full (a spec may abbreviate it).
        ({"codecs": ["bytes"]}, r'^Error parsing object member "codecs": Error parsing value at position 0: Expected object, but received: "bytes"$'),
        ({"codecs": []}, r'^Error parsing object member "codecs": array -> bytes codec must be specified$'),
        (
            {"codecs": [{"name": "bytes"}]},
            r'^Error parsing object member "codecs": Error parsing value at position 0: "bytes" codec requires that "endian" option is specified for data type uint16$',
        ),
        (
            {"codecs": [_BYTES, {"name": "gzip"}]},
            r'^Error parsing object member "codecs": Error parsing value at position 1: Error parsing object member "configuration": '
            r'Error parsing object member "level": Expected integer in the range \[0, 9\], but received: <discarded>$',
        ),
        (
            {"codecs": [{"name": "sharding_indexed", "configuration": {"chunk_shape": [5, 5], "codecs": [_BYTES]}}]},
            r'^Error parsing object member "codecs": Error parsing value at position 0: Error parsing object member "configuration": '
            r'Error parsing object member "index_codecs": Expected array, but member is missing$',
        ),
        ({"chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [5, 5]}, "x": 1}}, r'^Error parsing object member "chunk_grid": Object includes extra members: "x"$'),
        (
            {"codecs": [_BYTES, {"name": "transpose"}]},
            r'^Error parsing object member "codecs": Error parsing value at position 1: Error parsing object member "configuration": '
            r'Error parsing object member "order": Expected array, but member is missing$',
        ),
        (
            {"codecs": [_BYTES, {"name": "transpose", "configuration": {"order": [1, 0]}}]},
            r'^Error parsing object member "codecs": Error parsing value at position 1: array -> array codec "transpose" must come before the array -> bytes codec$',
        ),
        (
            {"codecs": [{"name": "sharding_indexed", "configuration": {"chunk_shape": [5, 3], "codecs": [_BYTES], "index_codecs": [_BYTES]}}]},
            r'^Error parsing object member "codecs": sharding_indexed sub-chunk shape of \{5, 3\} does not '
            r"evenly divide chunk shape of \{5, 5\}$",
        ),
        (
            {"codecs": [_BYTES, {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 10, "shuffle": "shuffle", "typesize": 2, "blocksize": 0}}]},
            r'^Error parsing object member "codecs": Error parsing value at position 1: Error parsing object member "configuration": '
            r'Error parsing object member "clevel": Expected integer in the range \[0, 9\], but received: 10$',
        ),
        ({"dimension_names": ["x"]}, r'^Error parsing object member "dimension_names": Array has length 1 but should have length 2$'),
        ({"extra": 1}, r'^Unsupported metadata field "extra" is not marked \{"must_understand": false\}$'),
    ],
)
def test_parse_errors(overrides: dict[str, Any], message: str) -> None:
    json = _json(**{k: v for k, v in overrides.items() if v is not None})
    for k, v in overrides.items():
        if v is None:
            del json[k]
    with pytest.raises(InvalidArgumentError, match=message):
        parse_zarr3_metadata(json)


def test_unknown_member_that_need_not_be_understood() -> None:
    parse_zarr3_metadata(_json(extension={"must_understand": False}))


def test_partial_fill_value_needs_data_type() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r'^Error parsing object member "fill_value": must be specified in conjunction with "data_type"$',
    ):
        parse_partial_metadata({"fill_value": 1})


@pytest.mark.parametrize(
    ("data_type", "json", "expected"),
    [
        ("float32", "NaN", math.nan),
        ("float64", "Infinity", math.inf),
        ("float16", "-Infinity", -math.inf),
        ("float32", 1.5, 1.5),
        ("float32", "0x3fc00000", 1.5),
        ("bool", True, True),
        ("int8", -128, -128),
        ("uint64", 2**64 - 1, 2**64 - 1),
    ],
)
def test_fill_value_decode(data_type: str, json: Any, expected: Any) -> None:
    value = decode_fill_value(json, data_type)
    np.testing.assert_equal(value[()], expected)


def test_fill_value_encodings() -> None:
    assert encode_fill_value(decode_fill_value("NaN", "float32"), "float32") == "NaN"
    assert encode_fill_value(decode_fill_value("0x7fc00001", "float32"), "float32") == "0x7fc00001"
    assert encode_fill_value(decode_fill_value(["NaN", 1.5], "complex64"), "complex64") == ["NaN", 1.5]
    assert encode_fill_value(decode_fill_value(1.0, "bfloat16"), "bfloat16") == 1.0
    with pytest.raises(InvalidArgumentError, match=r'^Invalid floating-point value: "0x7fc0"$'):
        decode_fill_value("0x7fc0", "float32")
    with pytest.raises(InvalidArgumentError, match=r"^Expected boolean, but received: 1$"):
        decode_fill_value(1, "bool")


@pytest.mark.parametrize(
    ("json", "cell", "key"),
    [
        ({"name": "default"}, (1, 2), "c/1/2"),
        ({"name": "default", "configuration": {"separator": "."}}, (1, 2), "c.1.2"),
        ({"name": "default"}, (), "c"),
        ({"name": "v2"}, (1, 2), "1.2"),
        ({"name": "v2", "configuration": {"separator": "/"}}, (1, 2), "1/2"),
        ({"name": "v2"}, (), "0"),
    ],
)
def test_chunk_keys(json: dict[str, Any], cell: tuple[int, ...], key: str) -> None:
    encoding = parse_chunk_key_encoding(json)
    assert encoding.key(cell) == key
    assert encoding.to_json() == json
    assert ChunkKeyEncoding() == parse_chunk_key_encoding({"name": "default"})
