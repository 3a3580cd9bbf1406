"""Block headers, edge blocks, varlength blocks and every compression, on the codec alone."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest

from tensortrio.drivers.n5.block_header import N5BlockHeader, decode_block_header
from tensortrio.drivers.n5.codec import N5ChunkCodec, chunk_codec_for
from tensortrio.drivers.n5.compression import parse_compression
from tensortrio.drivers.n5.metadata import parse_n5_metadata
from tensortrio.errors import DataLossError

COMPRESSIONS: list[dict[str, Any]] = [
    {"type": "raw"},
    {"type": "gzip"},
    {"type": "gzip", "level": 9, "useZlib": True},
    {"type": "bzip2", "blockSize": 1},
    {"type": "xz", "preset": 1},
    {"type": "zstd"},
    {"type": "zstd", "level": -3},
    {"type": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1},
    {"type": "blosc", "cname": "zstd", "clevel": 9, "shuffle": 2, "blocksize": 256},
    {"type": "blosc", "cname": "blosclz", "clevel": 0, "shuffle": 0},
]


def _codec(
    shape: list[int], block: list[int], data_type: str = "uint16", compression: dict[str, Any] | None = None
) -> N5ChunkCodec:
    return chunk_codec_for(
        parse_n5_metadata(
            {
                "dimensions": shape,
                "blockSize": block,
                "dataType": data_type,
                "compression": compression or {"type": "raw"},
            }
        )
    )


def _block(mode: int, dims: list[int], data: bytes, count: int | None = None) -> bytes:
    header = struct.pack(">HH", mode, len(dims)) + b"".join(struct.pack(">I", d) for d in dims)
    if count is not None:
        header += struct.pack(">I", count)
    return header + data


def test_header_is_the_n5_spec_example() -> None:
    # The N5 README's 1x2x3 uint16 block of raw values 1..6.
    codec = _codec([1, 2, 3], [1, 2, 3])
    chunk = np.arange(1, 7, dtype=np.uint16).reshape(3, 2, 1).T  # Fortran order: 1, 2, 3, ...
    encoded = codec.encode(chunk)
    assert encoded[:16] == bytes.fromhex("0000 0003 00000001 00000002 00000003".replace(" ", ""))
    assert encoded[16:] == bytes.fromhex("000100020003000400050006")
    np.testing.assert_array_equal(codec.decode(encoded), chunk)
    assert N5BlockHeader((1, 2, 3)).nbytes == 16
    assert N5BlockHeader((1, 2, 3), mode=1, num_elements=6).encode() == encoded[:16].replace(
        b"\x00\x00\x00\x03", b"\x00\x01\x00\x03", 1
    ) + b"\x00\x00\x00\x06"


def test_keys_are_slash_separated_in_dimension_order() -> None:
    assert _codec([10, 10, 10], [2, 3, 4]).chunk_key((1, 2, 3)) == "1/2/3"
    assert _codec([], []).chunk_key(()) == "0"


def test_rank_zero_block() -> None:
    codec = _codec([], [], "uint8")
    encoded = codec.encode(np.array(5, np.uint8))
    assert encoded == b"\x00\x00\x00\x00\x05"
    assert codec.decode(encoded)[()] == 5


def test_decoded_block_is_fortran_ordered_and_native() -> None:
    codec = _codec([4, 3], [4, 3], "int32")
    chunk = np.arange(12, dtype=np.int32).reshape(4, 3)
    encoded = codec.encode(chunk)
    assert encoded[12:16] == struct.pack(">i", 0)
    assert encoded[16:20] == struct.pack(">i", 3)  # the first dimension varies fastest
    decoded = codec.decode(encoded)
    assert decoded.dtype == np.dtype(np.int32)
    assert decoded.flags.f_contiguous
    np.testing.assert_array_equal(decoded, chunk)


def test_edge_block_is_stored_truncated_to_the_bounds() -> None:
    codec = _codec([5, 7], [4, 3])
    chunk = np.zeros((4, 3), np.uint16)
    chunk[0, 0] = 34
    encoded = codec.encode_cell(chunk, (1, 2))
    assert encoded == _block(0, [1, 1], struct.pack(">H", 34))
    np.testing.assert_array_equal(codec.decode(encoded), chunk)
    assert codec.stored_shape((1, 0)) == (1, 3)
    assert codec.stored_shape((0, 0)) == (4, 3)
    assert codec.stored_shape((5, 0)) == (4, 3)  # outside the bounds: full size
    inner = np.ones((4, 3), np.uint16)
    assert codec.encode_cell(inner, (0, 0)) == codec.encode(inner)


def test_edge_block_keeps_data_beyond_the_bounds() -> None:
    # Data beyond the bounds (a concurrent grow, or left by a shrink) is never cut off.
    codec = _codec([5, 7], [4, 3])
    chunk = np.zeros((4, 3), np.uint16)
    chunk[3, 0] = 9
    encoded = codec.encode_cell(chunk, (1, 2))
    assert decode_block_header(memoryview(encoded), (4, 3)).shape == (4, 3)
    np.testing.assert_array_equal(codec.decode(encoded), chunk)
    negative_zero = np.zeros((4, 3), np.float32)
    negative_zero[2, 2] = -0.0
    float_codec = _codec([5, 7], [4, 3], "float32")
    stored = float_codec.encode_cell(negative_zero, (1, 2))
    assert np.signbit(float_codec.decode(stored)[2, 2])


def test_truncated_edge_block_from_another_writer_decodes_padded() -> None:
    codec = _codec([5, 7], [2, 3], "int16")
    stored = _block(0, [1, 2], struct.pack(">2h", -1, 2))
    np.testing.assert_array_equal(codec.decode(stored), [[-1, 2, 0], [0, 0, 0]])


def test_varlength_block_of_array_data_is_read() -> None:
    codec = _codec([2, 3], [2, 3], "uint16")
    values = np.arange(6, dtype=">u2").tobytes()
    decoded = codec.decode(_block(1, [2, 3], values, 6))
    np.testing.assert_array_equal(decoded, np.arange(6).reshape(3, 2).T)
    truncated = codec.decode(_block(1, [1, 3], values[:6], 3))
    np.testing.assert_array_equal(truncated, [[0, 1, 2], [0, 0, 0]])


_CORRUPT: list[tuple[bytes, str]] = [
    (b"\x00\x00", r"^Expected header of length 12, but chunk has size 2$"),
    (_block(2, [2, 3], b"\x00" * 12), r"^Unexpected N5 chunk mode: 2$"),
    (_block(0, [2], b"\x00" * 12), r"^Received chunk with 1 dimensions but expected 2$"),
    (_block(0, [3, 3], b"\x00" * 18), r"^Received chunk of size \{3, 3\} which exceeds blockSize of \{2, 3\}$"),
    (_block(1, [2, 3], b""), r"^Expected header of length 16, but chunk has size 12$"),
    (_block(1, [2, 3], b"\x00" * 8, 4), r"^varlength chunk has 4 elements, but its shape \{2, 3\} holds 6; only array blocks can be read$"),
    (_block(0, [2, 3], b"\x00" * 11), r"^raw block data is 11 bytes, but its header's shape needs 12$"),
    (_block(0, [2, 3], b"\x00" * 13), r"^raw block data is 13 bytes, but its header's shape needs 12$"),
]


@pytest.mark.parametrize(("data", "message"), _CORRUPT)
def test_corrupt_blocks(data: bytes, message: str) -> None:
    with pytest.raises(DataLossError, match=message):
        _codec([4, 6], [2, 3]).decode(data)


@pytest.mark.parametrize("compression", COMPRESSIONS, ids=lambda c: "_".join(map(str, c.values())))
@pytest.mark.parametrize("data_type", ["uint8", "int16", "uint32", "int64", "float32", "float64"])
def test_every_compression_round_trips(compression: dict[str, Any], data_type: str) -> None:
    codec = _codec([9, 10], [4, 5], data_type, compression)
    rng = np.random.default_rng(0)
    chunk = (rng.random((4, 5)) * 100).astype(codec.dtype)
    encoded = codec.encode(chunk)
    np.testing.assert_array_equal(codec.decode(encoded), chunk)
    edge = np.zeros((4, 5), codec.dtype)
    edge[0, :] = chunk[0, :]
    encoded = codec.encode_cell(edge, (2, 1))
    assert decode_block_header(memoryview(encoded), (4, 5)).shape == (1, 5)
    np.testing.assert_array_equal(codec.decode(encoded), edge)


@pytest.mark.parametrize("compression", COMPRESSIONS[1:], ids=lambda c: "_".join(map(str, c.values())))
def test_corrupt_compressed_data_is_data_loss(compression: dict[str, Any]) -> None:
    codec = _codec([4, 5], [4, 5], "uint16", compression)
    encoded = codec.encode(np.ones((4, 5), np.uint16))
    with pytest.raises(DataLossError, match=r"(^Error decoding \w+ block: |block data is \d+ bytes)"):
        codec.decode(encoded[:12] + encoded[12:-3])
    with pytest.raises(DataLossError, match=r"(^Error decoding \w+ block: |block data is \d+ bytes)"):
        codec.decode(encoded[:12] + b"\x00" * 40)


def test_compressed_block_decoding_to_the_wrong_size_is_data_loss() -> None:
    codec = _codec([4, 5], [4, 5], "uint16", {"type": "gzip"})
    other = _codec([4, 6], [4, 6], "uint16", {"type": "gzip"})
    encoded = other.encode(np.ones((4, 6), np.uint16))
    relabelled = _block(0, [4, 5], encoded[12:])
    with pytest.raises(DataLossError, match=r"^gzip block data is 41 bytes, but its header's shape needs 40$"):
        codec.decode(relabelled)


def test_compression_is_only_applied_to_the_data() -> None:
    compression = parse_compression({"type": "gzip"})
    codec = _codec([3], [3], "uint8", {"type": "gzip"})
    encoded = codec.encode(np.array([1, 2, 3], np.uint8))
    assert encoded[:8] == _block(0, [3], b"")
    assert encoded[8:10] == b"\x1f\x8b"  # a gzip header by default
    assert bytes(compression.decompress(memoryview(encoded[8:]), 3)) == b"\x01\x02\x03"
    zlib_codec = _codec([3], [3], "uint8", {"type": "gzip", "useZlib": True})
    assert zlib_codec.encode(np.array([1, 2, 3], np.uint8))[8] == 0x78  # a zlib header


def test_chunk_shape_is_checked_on_encode() -> None:
    with pytest.raises(ValueError, match=r"^n5 block must have shape \[4, 5\], got \[4, 4\]$"):
        _codec([4, 5], [4, 5]).encode(np.zeros((4, 4), np.uint16))
