"""ShardIO.load of raw and blosc inner chunks: decoded straight into the shard, errors as the codec chain's."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import tensortrio as ts
from tensortrio.drivers.zarr3.codecs.sharding import decode_inner_chunk
from tensortrio.errors import DataLossError

from .conftest import cache_of, pattern, sharded_spec

BLOSC = ["bytes", {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5}}]


@pytest.fixture(scope="module")
def io() -> Any:
    spec = sharded_spec({"driver": "memory"}, inner_codecs=BLOSC)
    store = ts.open(spec, create=True, context=ts.Context()).result()
    io = cache_of(store)._io
    assert io._blosc is not None
    return io


def encoded(io: Any, seed: int = 0) -> tuple[np.ndarray, bytes]:
    chunk = pattern(io.layout.chunk_shape, seed=seed)
    return chunk, bytes(io.layout.inner.encode(chunk))


def test_load_decodes_into_the_inner_chunk_region(io: Any) -> None:
    chunk, data = encoded(io)
    buffer = np.zeros(io.layout.shard_shape, io.layout.info.dtype)
    io.load(buffer, 5, data)  # row 1, column 1 of the 4x4 grid
    assert np.array_equal(buffer[8:16, 8:16], chunk)
    assert not buffer[:8].any()
    assert not buffer[16:].any()


def _chain_error(io: Any, data: bytes) -> str:
    with pytest.raises(DataLossError) as info:
        decode_inner_chunk(io.layout, data)
    return str(info.value)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda data: data[:10],  # shorter than a header
        lambda data: data[:-3],  # truncated: the header says more
        lambda data: data[:4] + (1000).to_bytes(4, "little") + data[8:],  # another decoded size
    ],
)
def test_corrupt_inner_chunks_fail_as_the_codec_chain_says(io: Any, corrupt: Any) -> None:
    _, data = encoded(io)
    bad = corrupt(data)
    message = _chain_error(io, bad)
    buffer = np.zeros(io.layout.shard_shape, io.layout.info.dtype)
    with pytest.raises(DataLossError, match="^" + re.escape(f"inner chunk [0, 1]: {message}") + "$"):
        io.load(buffer, 1, bad)


def test_what_blosc_accepts_decodes_as_the_codec_chain_decodes(io: Any) -> None:
    _, data = encoded(io)
    odd = data[:16] + bytes(i % 256 for i in range(len(data) - 16))  # a sound header, then anything
    buffer = np.zeros(io.layout.shard_shape, io.layout.info.dtype)
    io.load(buffer, 0, odd)
    assert np.array_equal(buffer[0:8, 0:8], decode_inner_chunk(io.layout, odd))


def test_partial_reads_of_a_blosc_shard() -> None:
    data = pattern((64, 64))
    spec = sharded_spec({"driver": "memory"}, inner_codecs=BLOSC)
    store = ts.open(spec, create=True, context=ts.Context()).result()
    store.write(data).result()
    assert np.array_equal(store[8:16, 40:48].read().result(), data[8:16, 40:48])
    with ts.Batch() as batch:
        futures = [store[8 * i : 8 * i + 8, 0:8].read(batch=batch) for i in range(6)]
    for i, future in enumerate(futures):
        assert np.array_equal(future.result(), data[8 * i : 8 * i + 8, 0:8])


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "int64"])
def test_raw_inner_chunks_load_as_the_codec_chain_decodes(dtype: str) -> None:
    spec = sharded_spec({"driver": "memory"}, dtype=dtype)
    store = ts.open(spec, create=True, context=ts.Context()).result()
    io = cache_of(store)._io
    assert io._raw
    chunk = pattern(io.layout.chunk_shape, dtype=dtype, seed=3)
    data = bytes(io.layout.inner.encode(chunk))
    buffer = np.zeros(io.layout.shard_shape, io.layout.info.dtype)
    io.load(buffer, 6, data)  # row 1, column 2
    assert np.array_equal(buffer[8:16, 16:24], decode_inner_chunk(io.layout, data))
    assert np.array_equal(buffer[8:16, 16:24], chunk)
    short = data[:-1]
    with pytest.raises(DataLossError, match=r"^inner chunk \[1, 2\]: bytes codec: chunk is"):
        io.load(buffer, 6, short)


def test_big_endian_inner_chunks_take_the_codec_chain() -> None:
    spec = sharded_spec(
        {"driver": "memory"}, inner_codecs=[{"name": "bytes", "configuration": {"endian": "big"}}]
    )
    store = ts.open(spec, create=True, context=ts.Context()).result()
    assert not cache_of(store)._io._raw
    data = pattern((64, 64))
    store.write(data).result()
    assert np.array_equal(store[8:16, 16:24].read().result(), data[8:16, 16:24])


@pytest.mark.parametrize(
    ("shard", "inner", "dtype"),
    [((32, 32), (8, 8), "uint16"), ((8, 12, 16), (4, 3, 8), "float32"), ((16, 32), (16, 8), "int8")],
)
def test_decode_all_places_every_inner_chunk_and_fills_missing_ones(
    shard: tuple[int, ...], inner: tuple[int, ...], dtype: str
) -> None:
    spec = sharded_spec(
        {"driver": "memory"}, shape=shard, shard=shard, inner=inner, dtype=dtype, inner_codecs=BLOSC
    )
    store = ts.open(spec, create=True, context=ts.Context()).result()
    io = cache_of(store)._io
    assert io._blosc is not None
    data = pattern(shard, dtype)
    # Zero (the fill value) some inner chunks, so the shard leaves them out.
    data[tuple(slice(0, n) for n in inner)] = 0
    data[tuple(slice(s - n, s) for s, n in zip(shard, inner, strict=True))] = 0
    encoded, stored = io.encode_all(data)
    assert stored == io.layout.num_chunks - 2
    assert np.array_equal(io.decode_all(bytes(encoded)), data)
    # A corrupt body names its inner chunk, as before (compressible data: a
    # frame blosc stored uncompressed has no structure left to be corrupt).
    encoded, _ = io.encode_all(np.full(shard, 7, dtype))
    index = io.shard_index(memoryview(bytes(encoded)))
    cell = int(np.flatnonzero(index[:, 0] != 2**64 - 1)[0])
    offset = int(index[cell, 0])
    broken = bytearray(encoded)
    broken[offset + 16 : offset + 20] = b"\xff" * 4  # the first block starts past the end
    where = [int(i) for i in np.unravel_index(cell, io.layout.grid_shape)]
    with pytest.raises(DataLossError, match=rf"^inner chunk {re.escape(str(where))}: blosc: "):
        io.decode_all(bytes(broken))


@pytest.mark.parametrize(
    ("dtype", "fill", "chunk_value", "left_out"),
    [
        ("uint16", 5, 5, True),
        ("uint16", 5, 0, False),
        ("float32", "NaN", float("nan"), True),
        ("float32", 0, -0.0, False),  # not the fill value bit for bit, as TensorStore compares
        ("float32", 0, float("nan"), False),
    ],
)
def test_inner_chunks_equal_to_the_fill_value_are_left_out(
    dtype: str, fill: Any, chunk_value: float, left_out: bool
) -> None:
    spec = sharded_spec(
        {"driver": "memory"},
        shape=(32, 32),
        shard=(32, 32),
        inner=(16, 16),
        dtype=dtype,
        inner_codecs=BLOSC,
        fill_value=fill,
    )
    io = cache_of(ts.open(spec, create=True, context=ts.Context()).result())._io
    data = pattern((32, 32), dtype)
    data[:16, :16] = chunk_value
    encoded, stored = io.encode_all(data)
    assert stored == (3 if left_out else 4)
    decoded = io.decode_all(bytes(encoded))
    assert np.array_equal(decoded[16:], data[16:])
    # A left-out chunk reads as the fill value, which equals what was written.
    assert np.array_equal(decoded[:16, :16], data[:16, :16], equal_nan=True)
