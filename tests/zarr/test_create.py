"""Creating ``.zarray`` from Schema constraints (compared with real tensorstore), and open-time checks."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import tensorstore as ts

import tensortrio
from tensortrio.drivers.zarr import ZARR_FORMAT
from tensortrio.errors import FailedPreconditionError, InvalidArgumentError
from tensortrio.schema.chunk_layout import ChunkLayout
from tensortrio.schema.codec_spec import CodecSpec
from tensortrio.schema.schema import Schema


def _tensorstore_zarray(spec_members: dict[str, Any], schema_json: dict[str, Any]) -> dict[str, Any]:
    context = ts.Context()
    spec = {"driver": "zarr", "kvstore": {"driver": "memory"}, **spec_members}
    ts.open(spec, create=True, context=context, schema=ts.Schema(schema_json)).result()
    kvstore = ts.KvStore.open({"driver": "memory"}, context=context).result()
    value: dict[str, Any] = json.loads(kvstore.read(".zarray").result().value)
    return value


def _our_zarray(spec_members: dict[str, Any], schema_json: dict[str, Any]) -> dict[str, Any]:
    members = ZARR_FORMAT.parse_spec_members(spec_members)
    metadata = ZARR_FORMAT.create_metadata(Schema(schema_json), members)
    value: dict[str, Any] = json.loads(ZARR_FORMAT.encode_metadata(metadata))
    return value


_SHAPE = {"domain": {"shape": [1000, 2000, 3000]}}

CREATE_CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({}, {"dtype": "float32", **_SHAPE}),
    ({}, {"dtype": "int32", **_SHAPE, "chunk_layout": {"inner_order": [2, 1, 0]}}),
    ({}, {"dtype": "float32", **_SHAPE, "fill_value": 42}),
    (
        {},
        {
            "dtype": "float32",
            **_SHAPE,
            "chunk_layout": {"chunk": {"shape": [10, None, None], "aspect_ratio": [None, 2, 1], "elements": 10000000}},
        },
    ),
    ({"metadata": {"dtype": ">f4"}}, _SHAPE),
    ({}, {"dtype": "uint16", **_SHAPE, "chunk_layout": {"chunk": {"aspect_ratio": [1, 2, 2]}}}),
    ({}, {"dtype": "uint16", **_SHAPE, "chunk_layout": {"chunk": {"aspect_ratio": [1, 2, 2], "elements": 2000000}}}),
    ({}, {"dtype": "bool", "domain": {"shape": [10, 20]}, "fill_value": True}),
    ({}, {"dtype": "float64", "domain": {"shape": [10, 20]}, "fill_value": "NaN"}),
    ({}, {"dtype": "complex64", "domain": {"shape": [7]}}),
    ({}, {"dtype": "bfloat16", "domain": {"shape": [7]}, "fill_value": 1}),
    ({}, {"dtype": "uint8", "domain": {"shape": []}}),
    ({"metadata": {"shape": [5, 6], "chunks": [2, 3], "order": "F"}}, {"dtype": "int16"}),
    ({"metadata": {"compressor": None}}, {"dtype": "uint16", "domain": {"shape": [10, 20]}}),
    ({"metadata": {"compressor": {"id": "zstd"}}}, {"dtype": "uint16", "domain": {"shape": [10, 20]}}),
    ({"metadata": {"compressor": {"id": "blosc", "cname": "zstd", "shuffle": 2}}}, {"dtype": "uint16", "domain": {"shape": [10, 20]}}),
    ({"key_encoding": "/"}, {"dtype": "uint16", "domain": {"shape": [10, 20]}}),
    ({"metadata": {"dimension_separator": "/"}}, {"dtype": "uint16", "domain": {"shape": [10, 20]}}),
    ({}, {"dtype": "int64", "domain": {"shape": [10, 20]}, "codec": {"driver": "zarr", "compressor": {"id": "gzip", "level": 7}}}),
    ({"metadata": {"dtype": "<i4", "fill_value": -3}}, {"domain": {"shape": [10, 20]}}),
    ({}, {"dtype": "uint32", "domain": {"shape": [100, 200]}, "chunk_layout": {"write_chunk": {"shape": [30, 40]}}}),
    ({}, {"dtype": "uint32", "domain": {"shape": [100, 200]}, "chunk_layout": {"read_chunk": {"shape": [30, 40]}}}),
    ({}, {"dtype": "uint32", "domain": {"shape": [100, 200]}, "chunk_layout": {"chunk": {"shape": [-1, 7]}}}),
    ({}, {"dtype": "uint32", "domain": {"shape": [100, 200]}, "chunk_layout": {"inner_order_soft_constraint": [1, 0]}}),
]


@pytest.mark.parametrize(("members", "schema_json"), CREATE_CASES)
def test_create_matches_tensorstore(members: dict[str, Any], schema_json: dict[str, Any]) -> None:
    assert _our_zarray(members, schema_json) == _tensorstore_zarray(members, schema_json)


@pytest.mark.parametrize(
    ("members", "schema_json", "message"),
    [
        ({}, {"domain": {"shape": [5]}}, r'"dtype" must be specified'),
        ({}, {"dtype": "uint8"}, r"domain must be specified"),
        ({}, {"dtype": "uint8", "rank": 2}, r"domain must be specified"),
        ({"metadata": {"shape": [5]}}, {"dtype": "uint8", "rank": 2}, r"Rank specified by schema \(2\) is not compatible with metadata"),
        (
            {"metadata": {"shape": [5]}},
            {"dtype": "uint8", "domain": {"shape": [6]}},
            r"Invalid domain: Cannot merge index domain .* Mismatch in dimension 0: Upper bounds do not match",
        ),
        (
            {},
            {"dtype": "uint8", "domain": {"shape": [6, 7, 8]}, "chunk_layout": {"inner_order": [1, 0, 2]}},
            r'Invalid "inner_order" constraint: \{1, 0, 2\}',
        ),
        (
            {"metadata": {"chunks": [2]}},
            {"dtype": "uint8", "domain": {"shape": [6]}, "chunk_layout": {"chunk": {"shape": [3]}}},
            r"Error setting write_chunk shape: New hard constraint \(2\) for dimension 0 does not match existing hard constraint \(3\)",
        ),
        (
            {"metadata": {"compressor": None}},
            {"dtype": "uint8", "domain": {"shape": [6]}, "codec": {"driver": "zarr", "compressor": {"id": "zlib"}}},
            r'Cannot merge codec spec .*: "compressor" does not match',
        ),
        ({}, {"dtype": "uint8", "domain": {"shape": [6]}, "dimension_units": ["nm"]}, r"Dimension units not supported by zarr driver"),
        (
            {"metadata": {"chunks": [2**40, 2**40]}},
            {"dtype": "float32", "domain": {"shape": [5, 6]}},
            r"Product of chunk dimensions \{1099511627776, 1099511627776\} is too large",
        ),
        (
            {"metadata": {"chunks": [2**61, 2]}},
            {"dtype": "float32", "domain": {"shape": [5, 6]}},
            r"Total number of bytes per chunk is too large",
        ),
    ],
)
def test_create_errors(members: dict[str, Any], schema_json: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=f"^{message}$"):
        ZARR_FORMAT.create_metadata(Schema(schema_json), ZARR_FORMAT.parse_spec_members(members))


_STORED = {
    "zarr_format": 2,
    "shape": [10, 20],
    "chunks": [5, 5],
    "dtype": "<u2",
    "compressor": None,
    "fill_value": None,
    "order": "C",
    "filters": None,
}


@pytest.mark.parametrize(
    ("members", "schema_kwargs", "error", "message"),
    [
        ({"metadata": {"shape": [10, 21]}}, {}, FailedPreconditionError, r'Expected "shape" of \[10,21\] but received: \[10,20\]'),
        ({"metadata": {"chunks": [5, 6]}}, {}, FailedPreconditionError, r'Expected "chunks" of \[5,6\] but received: \[5,5\]'),
        ({"metadata": {"dtype": ">u2"}}, {}, FailedPreconditionError, r'Expected "dtype" of ">u2" but received: "<u2"'),
        ({"metadata": {"order": "F"}}, {}, FailedPreconditionError, r'Expected "order" of "F" but received: "C"'),
        (
            {"metadata": {"compressor": {"id": "zlib"}}},
            {},
            FailedPreconditionError,
            r'Expected "compressor" of \{"id":"zlib","level":1\} but received: null',
        ),
        (
            {"metadata": {"dtype": "<u2", "fill_value": 3}},
            {},
            FailedPreconditionError,
            r'Expected "fill_value" of 3 but received: null',
        ),
        ({}, {"dtype": "uint32"}, FailedPreconditionError, r"dtype from metadata \(uint16\) does not match dtype in schema \(uint32\)"),
        ({}, {"rank": 3}, FailedPreconditionError, r"Rank is 2, but schema specifies rank of 3"),
        (
            {},
            {"shape": [10, 21]},
            InvalidArgumentError,
            r"domain from metadata does not match domain in schema: Cannot merge index domain .*: Mismatch in dimension 1: Upper bounds do not match",
        ),
        ({}, {"fill_value": 3}, InvalidArgumentError, r"Invalid fill_value: schema requires fill value of 3, but metadata specifies no fill value"),
        (
            {},
            {"codec": CodecSpec({"driver": "zarr", "compressor": {"id": "zlib"}})},
            InvalidArgumentError,
            r'codec from metadata does not match codec in schema: Cannot merge codec spec \{"compressor":null,"driver":"zarr","filters":null\} with \{"compressor":\{"id":"zlib","level":1\},"driver":"zarr","filters":null\}: "compressor" does not match',
        ),
        (
            {},
            {"chunk_layout": ChunkLayout(chunk_shape=[5, 6])},
            InvalidArgumentError,
            r"Error setting write_chunk shape: New hard constraint \(5\) for dimension 1 does not match existing hard constraint \(6\)",
        ),
        (
            {},
            {"chunk_layout": ChunkLayout(inner_order=[1, 0])},
            InvalidArgumentError,
            r"Error setting inner_order: New hard constraint \(\{0, 1\}\) does not match existing hard constraint \(\{1, 0\}\)",
        ),
        ({}, {"dimension_units": ["nm", None]}, InvalidArgumentError, r"Dimension units not supported by zarr driver"),
    ],
)
def test_validate_errors(
    members: dict[str, Any], schema_kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    metadata = ZARR_FORMAT.decode_metadata(json.dumps(_STORED).encode())
    with pytest.raises(error, match=f"^{message}$"):
        ZARR_FORMAT.validate_metadata(
            metadata, Schema(**schema_kwargs), ZARR_FORMAT.parse_spec_members(members)
        )


def test_validate_fill_value_mismatch() -> None:
    metadata = ZARR_FORMAT.decode_metadata(json.dumps({**_STORED, "fill_value": 3}).encode())
    with pytest.raises(
        InvalidArgumentError,
        match=r"^Invalid fill_value: schema requires fill value of 4, but metadata specifies fill value of 3$",
    ):
        ZARR_FORMAT.validate_metadata(metadata, Schema(fill_value=4), ZARR_FORMAT.parse_spec_members({}))
    ZARR_FORMAT.validate_metadata(metadata, Schema(fill_value=3), ZARR_FORMAT.parse_spec_members({}))


def test_validate_accepts_matching_constraints() -> None:
    metadata = ZARR_FORMAT.decode_metadata(json.dumps(_STORED).encode())
    members = ZARR_FORMAT.parse_spec_members(
        {"metadata": {"shape": [10, 20], "chunks": [5, 5], "dtype": "<u2", "dimension_separator": "/"}}
    )
    # A stored array without "dimension_separator" accepts either separator, as TensorStore does.
    ZARR_FORMAT.validate_metadata(metadata, Schema(dtype="uint16", shape=[10, 20], rank=2), members)


@pytest.mark.parametrize(
    "stored",
    [
        _STORED,
        {**_STORED, "order": "F", "fill_value": 42, "compressor": {"id": "blosc"}},
        {**_STORED, "dtype": "<f4", "fill_value": "NaN"},
    ],
)
def test_metadata_schema_matches_tensorstore(stored: dict[str, Any]) -> None:
    context = ts.Context()
    kvstore = ts.KvStore.open({"driver": "memory"}, context=context).result()
    kvstore.write(".zarray", json.dumps(stored)).result()
    expected = ts.open({"driver": "zarr", "kvstore": {"driver": "memory"}}, context=context).result().schema
    ours = ZARR_FORMAT.metadata_schema(ZARR_FORMAT.decode_metadata(json.dumps(stored).encode()))
    assert json.dumps(ours.to_json()) == json.dumps(expected.to_json())


def test_spec_schema_matches_tensorstore() -> None:
    for metadata in (
        {"dtype": "<u2", "fill_value": 3},
        {"shape": [3, 4], "chunks": [2, 2], "order": "F"},
        {"shape": [3, 4], "chunks": [2, 2], "order": "F", "dtype": ">i4", "compressor": None},
    ):
        spec = {"driver": "zarr", "kvstore": {"driver": "memory"}, "metadata": metadata}
        expected = ts.Spec(spec).schema.to_json()
        ours = ZARR_FORMAT.spec_schema(ZARR_FORMAT.parse_spec_members({"metadata": metadata}))
        assert ours.to_json() == expected, metadata


def test_created_fill_value_is_converted() -> None:
    # A broadcast array is its one value; [7, 7, 7, 7] is four values (refused, as tensorstore).
    for value in (7, np.broadcast_to(np.int16(7), (4,))):
        metadata = ZARR_FORMAT.create_metadata(
            Schema(dtype="int16", shape=[4], fill_value=value), ZARR_FORMAT.parse_spec_members({})
        )
        assert metadata.fill_value is not None
        assert metadata.fill_value.dtype == np.int16
        assert metadata.to_json()["fill_value"] == 7
    for lib in (tensortrio, ts):
        with pytest.raises(ValueError, match=r"Invalid fill_value: Cannot broadcast array of shape \{4\} to target shape \{\}"):
            lib.open({"driver": "zarr", "kvstore": "memory://"}, create=True, dtype="int16", shape=[4], fill_value=[7, 7, 7, 7]).result()


@pytest.mark.parametrize(
    ("chunks", "dtype", "message"),
    [
        ([2**40, 2**40], "<f4", r"Product of chunk dimensions \{1099511627776, 1099511627776\} is too large"),
        ([2**31, 2**31], "<f4", r"Total number of bytes per chunk is too large"),
    ],
)
def test_chunks_too_large_to_count_are_refused_as_tensorstore_refuses_them(
    tmp_path: Any, chunks: list[int], dtype: str, message: str
) -> None:
    spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": str(tmp_path)}}
    members = {"shape": [5, 6], "chunks": chunks, "dtype": dtype}
    for lib in (tensortrio, ts):
        with pytest.raises(ValueError, match=f'Cannot create using specified "metadata" and schema: {message}'):
            lib.open({**spec, "metadata": members}, create=True).result()
    stored = {**_STORED, **members}
    (tmp_path / ".zarray").write_text(json.dumps(stored))
    for lib in (tensortrio, ts):
        with pytest.raises(ValueError, match=f"{message}"):
            lib.open(spec).result()


@pytest.mark.parametrize(("shape", "chunks"), [([4], [2]), ([], [])])
def test_order_asked_for_is_kept_where_c_and_f_agree(tmp_path: Any, shape: list[int], chunks: list[int]) -> None:
    """Rank 0 and 1: "F" means what "C" does, but the metadata keeps what was asked for
    (tensorstore stores "C" and then fails its own check); tensorstore reads it back."""
    spec = {
        "driver": "zarr",
        "kvstore": {"driver": "file", "path": f"{tmp_path}/"},
        "metadata": {"shape": shape, "chunks": chunks, "dtype": "<i2", "order": "F"},
    }
    values = np.arange(4, dtype=np.int16) if shape else np.int16(3)
    tensortrio.open(spec, create=True).result().write(values).result()
    assert json.loads((tmp_path / ".zarray").read_text())["order"] == "F"
    del spec["metadata"]
    np.testing.assert_array_equal(ts.open(spec).result().read().result(), values)
