"""attributes.json parsing and validation, spec members and the n5 codec spec, with TensorStore's messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

import tensortrio as ts
from tensortrio.drivers.n5 import N5_FORMAT
from tensortrio.drivers.n5.compression import parse_compression
from tensortrio.drivers.n5.spec_members import parse_n5_spec_members
from tensortrio.errors import DataLossError, FailedPreconditionError

BASE: dict[str, Any] = {
    "dimensions": [5, 7],
    "blockSize": [2, 3],
    "dataType": "uint16",
    "compression": {"type": "raw"},
}


def _with(**changes: Any) -> dict[str, Any]:
    out = dict(BASE)
    for key, value in changes.items():
        if value is _DROP:
            del out[key]
        else:
            out[key] = value
    return out


_DROP = object()
_STORED_ERRORS: list[tuple[dict[str, Any], str]] = [
    (_with(dimensions=_DROP), r'^Error parsing object member "dimensions": Expected array, but member is missing$'),
    (_with(blockSize=_DROP), r'^Error parsing object member "blockSize": Expected array, but member is missing$'),
    (_with(dataType=_DROP), r'^Error parsing object member "dataType": Expected string, but member is missing$'),
    (_with(compression=_DROP), r'^Error parsing object member "compression": Expected object, but member is missing$'),
    (_with(dimensions=[5]), r'^Error parsing object member "blockSize": Array has length 2 but should have length 1$'),
    (_with(dimensions=[-1, 2]), r'^Error parsing object member "dimensions": Error parsing value at position 0: Expected integer in the range \[0, 9223372036854775806\], but received: -1$'),
    (_with(dimensions="x"), r'^Error parsing object member "dimensions": Expected array, but received: "x"$'),
    (_with(blockSize=[0, 3]), r'^Error parsing object member "blockSize": Error parsing value at position 0: Expected integer in the range \[1, 9223372036854775806\], but received: 0$'),
    (_with(dataType="bool"), r'^Error parsing object member "dataType": bool data type is not one of the supported data types: uint8, uint16, uint32, uint64, int8, int16, int32, int64, float32, float64$'),
    (_with(dataType=3), r'^Error parsing object member "dataType": Expected string, but received: 3$'),
    (_with(axes=["a"]), r'^Error parsing object member "axes": Array has length 1 but should have length 2$'),
    (_with(axes=[1, 2]), r'^Error parsing object member "axes": Error parsing value at position 0: Expected string, but received: 1$'),
    (_with(axes=["a", "a"]), r'^Error parsing object member "axes": Dimension label\(s\) "a" not unique$'),
    (_with(axes=None), r'^Error parsing object member "axes": Expected array, but received: null$'),
    (_with(units=["nm"]), r'^Error parsing object member "units": Array has length 1 but should have length 2$'),
    (_with(units=[1, 2]), r'^Error parsing object member "units": Error parsing value at position 0: Expected string, but received: 1$'),
    (_with(resolution=["a", "b"]), r'^Error parsing object member "resolution": Error parsing value at position 0: Expected 64-bit floating-point number, but received: "a"$'),
    (_with(blockSize=[70000, 70000]), r'^"blockSize" of \{70000, 70000\} with data type of uint16 exceeds maximum chunk size of 2GB$'),
    (_with(compression={"type": "raw", "x": 1}), r'^Error parsing object member "compression": Object includes extra members: "x"$'),
]


@pytest.mark.parametrize(("json_value", "message"), _STORED_ERRORS)
def test_stored_metadata_errors(json_value: dict[str, Any], message: str) -> None:
    with pytest.raises(DataLossError, match=message):
        N5_FORMAT.decode_metadata(json.dumps(json_value).encode())


def test_stored_metadata_not_json_or_not_object() -> None:
    with pytest.raises(DataLossError, match=r"^Invalid JSON$"):
        N5_FORMAT.decode_metadata(b"{")
    with pytest.raises(DataLossError, match=r"^Expected object, but received: \[1\]$"):
        N5_FORMAT.decode_metadata(b"[1]")


def test_metadata_round_trip_keeps_other_attributes() -> None:
    stored = _with(
        dimensions=[5.0, 7],
        axes=["x", "y"],
        units=["nm", "s"],
        resolution=[4, 0.5],
        n5="2.5.1",
        pixelResolution={"unit": "um", "dimensions": [1, 2]},
    )
    metadata = N5_FORMAT.decode_metadata(json.dumps(stored).encode())
    assert metadata.shape == (5, 7)
    assert metadata.axes == ("x", "y")
    out = json.loads(N5_FORMAT.encode_metadata(metadata))
    assert out == {**stored, "dimensions": [5, 7], "resolution": [4.0, 0.5]}
    resized = json.loads(N5_FORMAT.encode_metadata(N5_FORMAT.resize_metadata(metadata, [9, 1])))
    assert resized == {**out, "dimensions": [9, 1]}
    schema = N5_FORMAT.metadata_schema(metadata)
    assert schema.dimension_units == (ts.Unit(4, "nm"), ts.Unit(0.5, "s"))
    assert schema.domain == ts.IndexDomain(
        [ts.Dim(size=5, label="x", implicit_upper=True), ts.Dim(size=7, label="y", implicit_upper=True)]
    )
    assert schema.chunk_layout.inner_order == (1, 0)
    assert schema.fill_value is None


def test_all_empty_axes_are_not_written() -> None:
    metadata = N5_FORMAT.decode_metadata(json.dumps(_with(axes=["", ""])).encode())
    assert "axes" not in json.loads(N5_FORMAT.encode_metadata(metadata))


def test_resolution_without_units_gives_no_dimension_units() -> None:
    metadata = N5_FORMAT.decode_metadata(json.dumps(_with(resolution=[2, 3])).encode())
    assert N5_FORMAT.metadata_schema(metadata).dimension_units == (None, None)


_COMPRESSIONS: list[tuple[Any, dict[str, Any] | str]] = [
    ({"type": "raw"}, {"type": "raw"}),
    ({"type": "gzip"}, {"level": -1, "type": "gzip", "useZlib": False}),
    ({"type": "bzip2"}, {"blockSize": 9, "type": "bzip2"}),
    ({"type": "xz"}, {"preset": 6, "type": "xz"}),
    ({"type": "zstd"}, {"level": 0, "type": "zstd"}),
    ({"type": "zstd", "level": -131072}, {"level": -131072, "type": "zstd"}),
    ({"type": "blosc", "cname": "lz4", "clevel": 5.0, "shuffle": 1}, {"blocksize": 0, "clevel": 5, "cname": "lz4", "shuffle": 1, "type": "blosc"}),
    ({"type": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0, "nthreads": 1}, {"blocksize": 0, "clevel": 5, "cname": "lz4", "nthreads": 1, "shuffle": 1, "type": "blosc"}),
    ({"type": "blosc"}, r'^Error parsing object member "cname": Expected string, but member is missing$'),
    ({"type": "blosc", "cname": "lz4"}, r'^Error parsing object member "clevel": Expected integer in the range \[0, 9\], but received: <discarded>$'),
    ({"type": "blosc", "cname": "lz4", "clevel": 5}, r'^Error parsing object member "shuffle": Expected integer in the range \[0, 2\], but received: <discarded>$'),
    ({"type": "blosc", "cname": "foo", "clevel": 5, "shuffle": 1}, r'^Error parsing object member "cname": Expected one of blosclz,lz4,lz4hc,snappy,zlib,zstd, but received: "foo"$'),
    ({"type": "blosc", "cname": "lz4", "clevel": 5, "shuffle": -1}, r'^Error parsing object member "shuffle": Expected integer in the range \[0, 2\], but received: -1$'),
    ({"type": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": -1}, r'^Error parsing object member "blocksize": Expected 64-bit unsigned integer, but received: -1$'),
    ({"type": "gzip", "level": 10}, r'^Error parsing object member "level": Expected integer in the range \[-1, 9\], but received: 10$'),
    ({"type": "gzip", "useZlib": 1}, r'^Error parsing object member "useZlib": Expected boolean, but received: 1$'),
    ({"type": "gzip", "foo": 1}, r'^Object includes extra members: "foo"$'),
    ({"type": "bzip2", "blockSize": 0}, r'^Error parsing object member "blockSize": Expected integer in the range \[1, 9\], but received: 0$'),
    ({"type": "xz", "preset": 10}, r'^Error parsing object member "preset": Expected integer in the range \[0, 9\], but received: 10$'),
    ({"type": "zstd", "level": 23}, r'^Error parsing object member "level": Expected integer in the range \[-131072, 22\], but received: 23$'),
    ({"type": "nope"}, r'^Error parsing object member "type": "nope" is not registered$'),
    ({"type": 3}, r'^Error parsing object member "type": Expected string, but received: 3$'),
    ({}, r'^Error parsing object member "type": Expected string, but member is missing$'),
    ("raw", r'^Expected object, but received: "raw"$'),
]


@pytest.mark.parametrize(("json_value", "expected"), _COMPRESSIONS)
def test_compression_json(json_value: Any, expected: dict[str, Any] | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            parse_compression(json_value)
    else:
        assert parse_compression(json_value).to_json() == expected


def test_codec_spec() -> None:
    import tensortrio.drivers.n5  # noqa: F401  (registers the "n5" codec driver)

    gzip = ts.CodecSpec({"driver": "n5", "compression": {"type": "gzip"}})
    assert gzip.to_json() == {"compression": {"level": -1, "type": "gzip", "useZlib": False}, "driver": "n5"}
    assert ts.CodecSpec({"driver": "n5"}).to_json() == {"driver": "n5"}
    with pytest.raises(ValueError, match=r'^Object includes extra members: "x"$'):
        ts.CodecSpec({"driver": "n5", "x": 1})
    with pytest.raises(ValueError, match=r'^Error parsing object member "compression": Error parsing object member "level": '):
        ts.CodecSpec({"driver": "n5", "compression": {"type": "gzip", "level": "a"}})
    schema = ts.Schema(codec=ts.CodecSpec({"driver": "n5"}))
    schema.update(codec=ts.CodecSpec({"driver": "n5", "compression": {"type": "raw"}}))
    assert schema.codec == ts.CodecSpec({"driver": "n5", "compression": {"type": "raw"}})
    with pytest.raises(ValueError, match=r'"compression" does not match$'):
        schema.update(codec=gzip)


def test_spec_members() -> None:
    members = parse_n5_spec_members({"metadata": {"compression": {"type": "gzip"}, "zz": 1}})
    assert members.to_json() == {
        "metadata": {"compression": {"level": -1, "type": "gzip", "useZlib": False}, "zz": 1}
    }
    with pytest.raises(ValueError, match=r'^Object includes extra members: "field"$'):
        parse_n5_spec_members({"field": None})
    cases = [
        ({"dimensions": [5, 7], "blockSize": [2, 3, 4]}, r'"blockSize": Array has length 3 but should have length 2$'),
        ({"resolution": [1, 2], "dimensions": [5]}, r'"resolution": Array has length 2 but should have length 1$'),
        ({"axes": ["a", "a"]}, r'"axes": Dimension label\(s\) "a" not unique$'),
        ({"compression": "raw"}, r'"compression": Expected object, but received: "raw"$'),
    ]
    for metadata, message in cases:
        with pytest.raises(ValueError, match=r'^Error parsing object member "metadata": Error parsing object member ' + message):
            parse_n5_spec_members({"metadata": metadata})


def test_spec_schema_and_url() -> None:
    spec = ts.Spec({"driver": "n5", "kvstore": {"driver": "memory"}, "metadata": {**BASE, "axes": ["x", "y"], "units": ["nm", "s"], "resolution": [4, 2]}})
    assert spec.schema.to_json() == {
        "chunk_layout": {"grid_origin": [0, 0], "inner_order": [1, 0], "read_chunk": {"shape": [2, 3]}, "write_chunk": {"shape": [2, 3]}},
        "codec": {"compression": {"type": "raw"}, "driver": "n5"},
        "dimension_units": [[4.0, "nm"], [2.0, "s"]],
        "domain": {"exclusive_max": [[5], [7]], "inclusive_min": [0, 0], "labels": ["x", "y"]},
        "dtype": "uint16",
        "rank": 2,
    }
    units_only = ts.Spec({"driver": "n5", "kvstore": {"driver": "memory"}, "metadata": {"units": ["nm", "s"]}})
    assert units_only.schema.to_json() == {
        "chunk_layout": {"grid_origin": [0, 0], "inner_order": [1, 0]},
        "codec": {"driver": "n5"},
        "dimension_units": [[1.0, "nm"], [1.0, "s"]],
        "rank": 2,
    }
    assert ts.Spec("memory://a/|n5:b").to_json() == {"driver": "n5", "kvstore": {"driver": "memory", "path": "a/b/"}}
    assert ts.Spec({"driver": "n5", "kvstore": "memory://a/", "path": "x"}).url == "memory://a/x/|n5:"


_STORED = {**BASE, "axes": ["x", "y"], "units": ["nm", "s"], "resolution": [4, 2], "extra": {"q": [1]}}
_FP = FailedPreconditionError
_OPEN_ERRORS: list[tuple[dict[str, Any], dict[str, Any], type[Exception], str]] = [
    ({"dimensions": [5, 8]}, {}, _FP, r'Expected "dimensions" of \[5,8\] but received: \[5,7\]$'),
    ({"axes": ["x", "z"]}, {}, _FP, r'Expected "axes" of \["x","z"\] but received: \["x","y"\]$'),
    ({"blockSize": [2, 2]}, {}, _FP, r'Expected "blockSize" of \[2,2\] but received: \[2,3\]$'),
    ({"dataType": "int16"}, {}, _FP, r'Expected "dataType" of "int16" but received: "uint16"$'),
    ({"compression": {"type": "gzip"}}, {}, _FP, r'Expected "compression" of \{"level":-1,"type":"gzip","useZlib":false\} but received: \{"type":"raw"\}$'),
    ({"units": ["nm", "m"]}, {}, _FP, r'Expected "units" of \["nm","m"\] but received: \["nm","s"\]$'),
    ({"resolution": [4, 3]}, {}, _FP, r'Expected "resolution" of \[4.0,3.0\] but received: \[4.0,2.0\]$'),
    ({"extra": {"q": [2]}}, {}, _FP, r'Expected "extra" of \{"q":\[2\]\} but received: \{"q":\[1\]\}$'),
    ({"other": 1}, {}, _FP, r'Expected "other" of 1 but received: <discarded>$'),
    ({}, {"dtype": "int16"}, _FP, r"dtype from metadata \(uint16\) does not match dtype in schema \(int16\)$"),
    ({}, {"rank": 3}, _FP, r"Rank specified by schema \(3\) does not match rank specified by metadata \(2\)$"),
    ({}, {"fill_value": 0}, ValueError, r"fill_value not supported by N5 format$"),
    ({}, {"dimension_units": ["4nm", "3s"]}, _FP, r'Cannot merge dimension units \["4 nm", "2 s"\] and \["4 nm", "3 s"\]$'),
    ({}, {"codec": {"driver": "n5", "compression": {"type": "gzip"}}}, _FP, r'codec from metadata does not match codec in schema: Cannot merge codec spec \{"compression":\{"type":"raw"\},"driver":"n5"\} with \{"compression":\{"level":-1,"type":"gzip","useZlib":false\},"driver":"n5"\}: "compression" does not match$'),
    ({}, {"shape": [5, 8]}, ValueError, r"Mismatch between metadata and schema: Cannot merge index domain \{ \[0, 5\), \[0, 8\) \} with index domain \{ \"x\": \[0, 5\*\), \"y\": \[0, 7\*\) \}: Mismatch in dimension 1: Upper bounds do not match$"),
    ({}, {"chunk_layout": {"chunk_shape": [2, 4]}}, ValueError, r"Error setting write_chunk shape: New hard constraint \(3\) for dimension 1 does not match existing hard constraint \(4\)$"),
]


@pytest.mark.parametrize(("metadata", "kwargs", "error", "message"), _OPEN_ERRORS)
def test_open_validates_stored_metadata(
    metadata: dict[str, Any], kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    context = ts.Context()
    kvstore = ts.KvStore.open({"driver": "memory"}, context=context).result()
    kvstore.write("attributes.json", json.dumps(_STORED).encode()).result()
    kw = dict(kwargs)
    if "codec" in kw:
        kw["codec"] = ts.CodecSpec(kw["codec"])
    if "chunk_layout" in kw:
        kw["chunk_layout"] = ts.ChunkLayout(**kw["chunk_layout"])
    spec = {"driver": "n5", "kvstore": {"driver": "memory"}, "metadata": metadata}
    with pytest.raises(error, match=message):
        ts.open(spec, context=context, **kw).result()
    store = ts.open({"driver": "n5", "kvstore": {"driver": "memory"}}, context=context, dimension_units=["4nm", None]).result()
    assert store.dimension_units == (ts.Unit(4, "nm"), ts.Unit(2, "s"))
