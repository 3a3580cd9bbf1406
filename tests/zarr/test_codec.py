"""``ZarrChunkCodec``: round trips, corrupt chunks, and chunk files shared with zarr-python and tensorstore."""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

import numcodecs
import numpy as np
import pytest
import tensorstore as ts

import zarr
from tensortrio.drivers.chunk_codec import ChunkCodec
from tensortrio.drivers.zarr import ZARR_FORMAT, ZarrMetadata
from tensortrio.errors import DataLossError, InvalidArgumentError

if TYPE_CHECKING:
    from pathlib import Path

COMPRESSORS: list[Any] = [
    None,
    {"id": "blosc"},
    {"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2},
    {"id": "blosc", "cname": "blosclz", "shuffle": 0},
    {"id": "zlib", "level": 5},
    {"id": "gzip"},
    {"id": "bz2"},
    {"id": "zstd", "level": 3},
    {"id": "lzma"},
    {"id": "lz4"},
    {"id": "lz4", "acceleration": 8},
]
DTYPES = ["|b1", "|u1", "|i1", "<u2", ">i2", "<f2", ">f4", "<u4", ">i8", "<f8", ">c8", "<c16", "bfloat16"]


def _metadata(
    dtype: str = "<f4",
    *,
    shape: tuple[int, ...] = (7, 9),
    chunks: tuple[int, ...] = (4, 5),
    compressor: Any = None,
    order: str = "C",
    fill_value: Any = None,
    filters: Any = None,
    separator: str = ".",
) -> ZarrMetadata:
    json_value = {
        "zarr_format": 2,
        "shape": list(shape),
        "chunks": list(chunks),
        "dtype": dtype,
        "compressor": compressor,
        "fill_value": fill_value,
        "order": order,
        "filters": filters,
        "dimension_separator": separator,
    }
    return ZARR_FORMAT.decode_metadata(json.dumps(json_value).encode())


def _sample(dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray:
    values = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape) * 37 % 101
    if dtype.kind == "b":
        return values % 3 == 0
    if dtype.kind == "c":
        return (values + 1j * (values % 7)).astype(dtype)
    return values.astype(dtype)


@pytest.mark.parametrize("compressor", COMPRESSORS, ids=lambda c: json.dumps(c))
@pytest.mark.parametrize("order", ["C", "F"])
def test_roundtrip_compressors(compressor: Any, order: str) -> None:
    codec = ZARR_FORMAT.chunk_codec(_metadata(">u4", compressor=compressor, order=order))
    assert isinstance(codec, ChunkCodec)
    chunk = _sample(codec.dtype, codec.chunk_shape)
    decoded = codec.decode(codec.encode(chunk))
    np.testing.assert_array_equal(decoded, chunk)
    # Fortran-order chunks decode to the decoded buffer itself, transposed.
    assert decoded.flags.c_contiguous if order == "C" else decoded.flags.f_contiguous
    assert decoded.flags.writeable
    assert decoded.flags.owndata or decoded.base is not None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_roundtrip_dtypes_and_byte_order(dtype: str, order: str) -> None:
    metadata = _metadata(dtype, compressor={"id": "blosc"}, order=order, chunks=(3, 4))
    codec = ZARR_FORMAT.chunk_codec(metadata)
    assert codec.dtype.isnative
    chunk = _sample(codec.dtype, codec.chunk_shape)
    encoded = codec.encode(chunk)
    stored = numcodecs.Blosc().decode(encoded)
    # The stored bytes are the chunk in the metadata's byte order and element order.
    expected = np.asarray(chunk, dtype=metadata.dtype.stored).tobytes(order=order)
    assert bytes(stored) == expected
    np.testing.assert_array_equal(codec.decode(encoded), chunk)


def test_rank_zero_and_rank_one() -> None:
    codec = ZARR_FORMAT.chunk_codec(_metadata("<i2", shape=(), chunks=()))
    assert codec.chunk_key(()) == "0"
    np.testing.assert_array_equal(codec.decode(codec.encode(np.array(5, np.int16))), 5)
    codec = ZARR_FORMAT.chunk_codec(_metadata("<i2", shape=(10,), chunks=(4,), order="F"))
    chunk = np.arange(4, dtype=np.int16)
    np.testing.assert_array_equal(codec.decode(codec.encode(chunk)), chunk)


def test_filters_extension() -> None:
    filters = [{"id": "delta", "dtype": "<i4"}]
    codec = ZARR_FORMAT.chunk_codec(_metadata("<i4", compressor={"id": "zlib"}, filters=filters))
    chunk = _sample(codec.dtype, codec.chunk_shape)
    np.testing.assert_array_equal(codec.decode(codec.encode(chunk)), chunk)


def test_chunk_keys_and_fill_value() -> None:
    codec = ZARR_FORMAT.chunk_codec(_metadata(fill_value="NaN"))
    assert codec.chunk_key((1, 2)) == "1.2"
    assert np.isnan(codec.fill_value)
    assert codec.fill_value.shape == ()
    codec = ZARR_FORMAT.chunk_codec(_metadata("<u2", separator="/"))
    assert codec.chunk_key((1, 2)) == "1/2"
    assert codec.fill_value == 0


def test_inline_threshold_depends_on_codec() -> None:
    fast = ZARR_FORMAT.chunk_codec(_metadata(compressor={"id": "blosc"}))
    slow = ZARR_FORMAT.chunk_codec(_metadata(compressor={"id": "bz2"}))
    assert fast.inline_codec_bytes > slow.inline_codec_bytes > 0


@pytest.mark.parametrize(
    ("compressor", "data", "message"),
    [
        (None, b"\0" * 10, r"^Uncompressed chunk is 10 bytes, but should be 80 bytes$"),
        ({"id": "blosc"}, b"abc", r"^Error decoding blosc chunk: 3 bytes is too short$"),
        ({"id": "blosc"}, b"garbage!" * 4, r"^Error decoding blosc chunk: header says \d+ compressed bytes, but the chunk has 32$"),
        ({"id": "zlib"}, b"not zlib at all", r"^Error decoding zlib chunk: .+"),
        ({"id": "zstd"}, b"not zstd at all", r"^Error decoding zstd chunk: .+"),
    ],
)
def test_corrupt_chunks(compressor: Any, data: bytes, message: str) -> None:
    codec = ZARR_FORMAT.chunk_codec(_metadata("<u4", compressor=compressor))
    with pytest.raises(DataLossError, match=message):
        codec.decode(data)


@pytest.mark.parametrize("compressor", [{"id": "blosc"}, {"id": "zlib"}, {"id": "zstd"}, {"id": "bz2"}])
def test_wrong_decoded_size(compressor: Any) -> None:
    small = ZARR_FORMAT.chunk_codec(_metadata("<u4", chunks=(2, 2), compressor=compressor))
    large = ZARR_FORMAT.chunk_codec(_metadata("<u4", compressor=compressor))
    data = small.encode(np.zeros((2, 2), np.uint32))
    with pytest.raises(DataLossError, match=r"^(Uncompressed chunk is 16 bytes, but should be 80 bytes|Error decoding .*)$"):
        large.decode(data)


def test_truncated_blosc_chunk() -> None:
    codec = ZARR_FORMAT.chunk_codec(_metadata("<u4", compressor={"id": "blosc"}))
    data = codec.encode(_sample(codec.dtype, codec.chunk_shape))
    with pytest.raises(DataLossError, match=r"^Error decoding blosc chunk: header says"):
        codec.decode(data[:-3])


def test_encode_rejects_wrong_shape() -> None:
    codec = ZARR_FORMAT.chunk_codec(_metadata())
    with pytest.raises(InvalidArgumentError, match=r"^zarr chunk must have shape \[4, 5\], got \[4, 4\]$"):
        codec.encode(np.zeros((4, 4), np.float32))


# --- interoperability: chunk files shared with zarr-python and tensorstore


def _read_dir(path: Path) -> np.ndarray:
    """Assemble a whole array from a zarr v2 directory with our metadata and codec only."""
    metadata = ZARR_FORMAT.decode_metadata((path / ".zarray").read_bytes())
    codec = ZARR_FORMAT.chunk_codec(metadata)
    out = np.empty(metadata.shape, dtype=codec.dtype)
    grid = [range(-(-n // c)) for n, c in zip(metadata.shape, metadata.chunks, strict=True)]
    for cell in itertools.product(*grid):
        key = path / codec.chunk_key(cell)
        chunk = codec.decode(key.read_bytes()) if key.exists() else np.full(codec.chunk_shape, codec.fill_value)
        box = tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(cell, metadata.chunks, metadata.shape, strict=True))
        out[box] = chunk[tuple(slice(0, s.stop - s.start) for s in box)]
    return out


def _write_dir(path: Path, metadata: ZarrMetadata, data: np.ndarray) -> None:
    """Write ``.zarray`` and every chunk of ``data`` with our metadata and codec only."""
    codec = ZARR_FORMAT.chunk_codec(metadata)
    path.mkdir(parents=True)
    (path / ".zarray").write_bytes(ZARR_FORMAT.encode_metadata(metadata))
    grid = [range(-(-n // c)) for n, c in zip(metadata.shape, metadata.chunks, strict=True)]
    for cell in itertools.product(*grid):
        chunk = np.full(codec.chunk_shape, codec.fill_value)
        box = tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(cell, metadata.chunks, metadata.shape, strict=True))
        chunk[tuple(slice(0, s.stop - s.start) for s in box)] = data[box]
        key = path / codec.chunk_key(cell)
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_bytes(codec.encode(chunk))


ZARR_CASES: list[dict[str, Any]] = [
    {"dtype": "<f4", "compressors": numcodecs.Blosc("lz4", 5, -1), "order": "C"},
    {"dtype": ">i4", "compressors": numcodecs.Zlib(level=3), "order": "F", "separator": "/"},
    {"dtype": "<u2", "compressors": numcodecs.Zstd(level=1), "order": "C"},
    {"dtype": "<c16", "compressors": None, "order": "F"},
    {"dtype": "|b1", "compressors": numcodecs.GZip(level=2), "order": "C"},
    {"dtype": ">f8", "compressors": numcodecs.LZMA(), "order": "C"},
    {"dtype": "<i8", "compressors": numcodecs.BZ2(), "order": "F"},
]


@pytest.mark.parametrize("case", ZARR_CASES, ids=lambda c: f"{c['dtype']}-{c['order']}")
def test_decode_zarr_python_chunks(tmp_path: Path, case: dict[str, Any]) -> None:
    expected = _sample(np.dtype(case["dtype"]).newbyteorder("="), (7, 9))
    array = zarr.create_array(
        str(tmp_path / "a"),
        shape=(7, 9),
        chunks=(4, 4),
        dtype=case["dtype"],
        zarr_format=2,
        compressors=case["compressors"],
        order=case["order"],
        chunk_key_encoding={"name": "v2", "separator": case.get("separator", ".")},
    )
    array[:] = expected
    np.testing.assert_array_equal(_read_dir(tmp_path / "a"), expected)


@pytest.mark.parametrize("case", ZARR_CASES, ids=lambda c: f"{c['dtype']}-{c['order']}")
def test_zarr_python_reads_our_chunks(tmp_path: Path, case: dict[str, Any]) -> None:
    compressor = case["compressors"]
    metadata = _metadata(
        case["dtype"],
        chunks=(4, 4),
        compressor=None if compressor is None else compressor.get_config(),
        order=case["order"],
        separator=case.get("separator", "."),
    )
    expected = _sample(metadata.dtype.native, (7, 9))
    _write_dir(tmp_path / "a", metadata, expected)
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "a"), mode="r")[:], expected)


TS_CASES: list[dict[str, Any]] = [
    {"dtype": "<f4", "compressor": {"id": "blosc"}, "order": "C"},
    {"dtype": ">u2", "compressor": {"id": "zlib", "level": 4}, "order": "F", "dimension_separator": "/"},
    {"dtype": "<c8", "compressor": {"id": "zstd", "level": 2}, "order": "C"},
    {"dtype": "bfloat16", "compressor": {"id": "bz2"}, "order": "F"},
    {"dtype": ">i8", "compressor": None, "order": "C", "fill_value": -1},
    {"dtype": "|b1", "compressor": {"id": "gzip"}, "order": "C"},
]


@pytest.mark.parametrize("case", TS_CASES, ids=lambda c: f"{c['dtype']}-{c['order']}")
def test_tensorstore_roundtrip_both_ways(tmp_path: Path, case: dict[str, Any]) -> None:
    spec_metadata = {"shape": [7, 9], "chunks": [4, 4], **case}
    metadata = _metadata(
        case["dtype"],
        chunks=(4, 4),
        compressor=case["compressor"],
        order=case["order"],
        fill_value=case.get("fill_value"),
        separator=case.get("dimension_separator", "."),
    )
    expected = _sample(metadata.dtype.native, (7, 9))
    # tensorstore writes, we decode.
    store = ts.open(
        {"driver": "zarr", "kvstore": {"driver": "file", "path": str(tmp_path / "t")}, "metadata": spec_metadata},
        create=True,
    ).result()
    store.write(expected).result()
    np.testing.assert_array_equal(_read_dir(tmp_path / "t"), expected)
    # We write, tensorstore decodes.
    _write_dir(tmp_path / "o", metadata, expected)
    ours = ts.open({"driver": "zarr", "kvstore": {"driver": "file", "path": str(tmp_path / "o")}}).result()
    np.testing.assert_array_equal(ours.read().result(), expected)
