"""Codec chain round trips and the pure shard functions used for partial shard I/O."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tensortrio.drivers.zarr3.codecs import ArrayInfo, ShardingCodec, parse_codec_chain
from tensortrio.drivers.zarr3.codecs.sharding import (
    MISSING,
    assemble_shard,
    decode_inner_chunk,
    decode_shard,
    decode_shard_index,
    encode_inner_chunk,
    shard_index_byte_range,
    split_shard,
)
from tensortrio.drivers.zarr3.dtype import numpy_dtype
from tensortrio.errors import DataLossError

CHAINS: list[list[Any]] = [
    ["bytes"],
    [{"name": "bytes", "configuration": {"endian": "big"}}],
    [{"name": "transpose", "configuration": {"order": [2, 0, 1]}}, "bytes", "gzip"],
    ["bytes", "blosc", "crc32c"],
    ["bytes", {"name": "zstd", "configuration": {"checksum": True}}],
    [{"name": "sharding_indexed", "configuration": {"chunk_shape": [2, 3, 2], "index_location": "start"}}],
    [{"name": "sharding_indexed", "configuration": {"chunk_shape": [4, 3, 2], "codecs": [
        {"name": "sharding_indexed", "configuration": {"chunk_shape": [2, 3, 1], "codecs": ["bytes", "zstd"]}}]}}],
]


def _info(shape: tuple[int, ...], data_type: str, fill: Any = 0) -> ArrayInfo:
    return ArrayInfo(shape, data_type, numpy_dtype(data_type), np.array(fill, dtype=numpy_dtype(data_type)))


@pytest.mark.parametrize("chain_json", CHAINS)
@pytest.mark.parametrize("data_type", ["uint16", "float64", "bfloat16", "bool", "complex64"])
def test_round_trip(chain_json: list[Any], data_type: str) -> None:
    info = _info((4, 6, 2), data_type)
    chain = parse_codec_chain(chain_json).resolve(info)
    array = (np.arange(48).reshape(4, 6, 2) % 5).astype(info.dtype)
    array[:2, :3] = 0  # leaves some inner chunks at the fill value
    decoded = chain.decode(chain.encode(array))
    assert decoded.shape == array.shape
    assert decoded.dtype == array.dtype
    np.testing.assert_array_equal(decoded, array)


def _layout(index_location: str = "end") -> Any:
    codec = ShardingCodec((2, 2), index_location=index_location)  # type: ignore[arg-type]
    resolved = codec.resolve(_info((4, 6), "int32", -1))
    assert isinstance(resolved, ShardingCodec)
    assert resolved.layout is not None
    return resolved.layout


@pytest.mark.parametrize("location", ["start", "end"])
def test_partial_shard_functions(location: str) -> None:
    layout = _layout(location)
    assert layout.grid_shape == (2, 3)
    assert layout.index_nbytes == 6 * 16 + 4
    array = np.full((4, 6), -1, np.int32)
    array[0:2, 2:4] = 7
    array[2:4, 4:6] = 9
    chunks = [encode_inner_chunk(layout, array[layout.cell_slices(c)]) for c in layout.cells()]
    assert [c is None for c in chunks] == [True, False, True, True, True, False]
    shard = assemble_shard(layout, chunks)
    rng = shard_index_byte_range(layout, len(shard))
    index = decode_shard_index(layout, shard[rng.inclusive_min : rng.exclusive_max], len(shard))
    assert index.shape == (2, 3, 2)
    assert index[0, 0].tolist() == [MISSING, MISSING]
    assert index[0, 1, 1] == 16
    unknown = shard_index_byte_range(layout)
    assert (unknown.inclusive_min, unknown.exclusive_max) == ((0, 100) if location == "start" else (-100, None))
    np.testing.assert_array_equal(decode_shard(layout, shard), array)
    # Carry over one stored inner chunk unchanged while replacing another.
    parts: list[Any] = list(split_shard(layout, shard))
    np.testing.assert_array_equal(decode_inner_chunk(layout, parts[1]), np.full((2, 2), 7))
    parts[0] = encode_inner_chunk(layout, np.full((2, 2), 3, np.int32))
    updated = decode_shard(layout, assemble_shard(layout, parts))
    array[0:2, 0:2] = 3
    np.testing.assert_array_equal(updated, array)


def test_corrupt_index() -> None:
    layout = _layout()
    shard = bytearray(assemble_shard(layout, [None] * 6))
    shard[0] ^= 1
    with pytest.raises(DataLossError, match=r"^crc32c: checksum mismatch"):
        decode_shard(layout, bytes(shard))
    with pytest.raises(DataLossError, match=r"^shard is 3 bytes, smaller than its 100-byte index$"):
        decode_shard(layout, b"abc")


@pytest.mark.parametrize(
    ("offset", "size"),
    [(110, 11), (2**64 - 4, 8), (2**63, 2**63)],  # past the end; ends that wrap around uint64
)
def test_index_entries_past_the_shard_end(offset: int, size: int) -> None:
    layout = _layout()
    index = np.full((2, 3, 2), MISSING, np.uint64)
    index[0, 1] = (offset, size)
    encoded = bytes(layout.index.encode(index))
    with pytest.raises(
        DataLossError, match=r"^shard index refers to bytes past the end of the 120-byte shard$"
    ):
        decode_shard_index(layout, encoded, 120)
    index[0, 1] = (8, 12)
    assert decode_shard_index(layout, bytes(layout.index.encode(index)), 120)[0, 1].tolist() == [8, 12]
