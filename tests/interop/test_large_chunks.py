"""Chunks of at least a MiB travel as NumPy-backed buffers (``value_buffer``), not ``bytes``.

Round trips through every format and both kvstores, reading by tensorstore,
and the guarantee that makes zero-copy decoding safe: nothing a reader gets
back can change what is stored.
"""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tensorstore

import tensortrio as ts
from tensortrio.drivers.kvstore.value_buffer import LARGE_VALUE

if TYPE_CHECKING:
    from pathlib import Path

# [1024, 1024] chunks of 4- and 8-byte elements: 4 and 8 MiB, so stored raw values are "large".
SHAPE = (2048, 1024)
CHUNKS = [1024, 1024]


def _data(dtype: str) -> np.ndarray:
    values = np.arange(SHAPE[0] * SHAPE[1], dtype=np.int64) % 1000
    return values.reshape(SHAPE).astype(dtype)


def _kvstore(kind: str, tmp_path: Path) -> dict[str, Any]:
    return {"driver": "memory"} if kind == "memory" else {"driver": "file", "path": f"{tmp_path}/"}


def _zarr(dtype: str, compressor: dict[str, Any] | None, order: str = "C") -> dict[str, Any]:
    return {
        "driver": "zarr",
        "metadata": {
            "shape": list(SHAPE),
            "chunks": CHUNKS,
            "dtype": dtype,
            "compressor": compressor,
            "order": order,
        },
    }


def _zarr3_sharded(dtype: str) -> dict[str, Any]:
    return {
        "driver": "zarr3",
        "metadata": {
            "shape": list(SHAPE),
            "data_type": dtype,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": CHUNKS}},
            "codecs": [
                {
                    "name": "sharding_indexed",
                    "configuration": {
                        "chunk_shape": [64, 64],
                        "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
                        "index_codecs": [
                            {"name": "bytes", "configuration": {"endian": "little"}},
                            {"name": "crc32c"},
                        ],
                    },
                }
            ],
        },
    }


def _n5(dtype: str) -> dict[str, Any]:
    return {
        "driver": "n5",
        "metadata": {
            "dimensions": list(SHAPE),
            "blockSize": CHUNKS,
            "dataType": dtype,
            "compression": {"type": "raw"},
        },
    }


SPECS = {
    "zarr <f4 raw": (_zarr("<f4", None), "float32"),
    "zarr >f8 raw": (_zarr(">f8", None), "float64"),
    "zarr <i4 raw F": (_zarr("<i4", None, "F"), "int32"),
    "zarr <u2 zlib": (_zarr("<u2", {"id": "zlib", "level": 1}), "uint16"),
    "zarr3 sharded": (_zarr3_sharded("float32"), "float32"),
    "n5 raw": (_n5("int32"), "int32"),
}


@pytest.mark.parametrize("kind", ["memory", "file"])
@pytest.mark.parametrize("name", list(SPECS))
def test_large_chunks_round_trip(name: str, kind: str, tmp_path: Path) -> None:
    spec, dtype = SPECS[name]
    data = _data(dtype)
    store = ts.open({**spec, "kvstore": _kvstore(kind, tmp_path)}, create=True).result()
    store.write(data).result()
    first = store.read().result()
    np.testing.assert_array_equal(first, data)
    # What a reader gets is its own: changing it changes nothing stored.
    first[...] = 7
    np.testing.assert_array_equal(store.read().result(), data)
    # A partial write over a stored large chunk merges with it.
    store[5:1100, 100:900].write(np.full((1095, 800), 3, dtype)).result()
    expected = data.copy()
    expected[5:1100, 100:900] = 3
    np.testing.assert_array_equal(store.read().result(), expected)
    if kind == "file":
        theirs = tensorstore.open({**spec, "kvstore": _kvstore(kind, tmp_path)}).result()
        np.testing.assert_array_equal(theirs.read().result(), expected)


@pytest.mark.parametrize("name", ["zarr <f4 raw", "zarr >f8 raw", "zarr3 sharded", "n5 raw"])
def test_large_chunks_written_by_tensorstore(name: str, tmp_path: Path) -> None:
    spec, dtype = SPECS[name]
    data = _data(dtype)
    full = {**spec, "kvstore": _kvstore("file", tmp_path)}
    tensorstore.open(full, create=True).result().write(data).result()
    ours = ts.open(full).result()
    np.testing.assert_array_equal(ours.read().result(), data)
    np.testing.assert_array_equal(
        ours[1023:1025, 500:530].read().result(), data[1023:1025, 500:530]
    )


async def test_large_value_read_result(tmp_path: Path) -> None:
    value = bytes(range(256)) * (LARGE_VALUE // 256 + 3)
    for spec in ({"driver": "memory"}, {"driver": "file", "path": f"{tmp_path}/"}):
        kv = await ts.KvStore.open(spec)
        await kv.write("big", value)
        result = await kv.read("big")
        assert type(result.value) is bytes
        assert result.value == value
        assert result == ts.KvStore.ReadResult("value", value, result.stamp)
        ranged = await kv.read("big", byte_range=slice(LARGE_VALUE, LARGE_VALUE + 10))
        assert ranged.value == value[LARGE_VALUE : LARGE_VALUE + 10]
    # A file value read whole arrives as a read-only view of a fresh buffer.
    assert isinstance(result.buffer, memoryview)
    assert result.buffer.readonly
    again = pickle.loads(pickle.dumps(result))
    assert type(again.value) is bytes
    assert again == result


async def test_owned_write_is_stored_without_copy() -> None:
    kv = await ts.KvStore.open({"driver": "memory"})
    owned = np.arange(LARGE_VALUE, dtype=np.uint8).data.toreadonly()
    await kv.write_owned("k", owned)
    result = await kv.read("k")
    assert result.buffer is owned
    assert result.value == owned.tobytes()
    # The public write copies what it is given: later changes do not reach the store.
    mutable = bytearray(b"abc")
    await kv.write("m", memoryview(mutable))
    mutable[0] = ord("x")
    assert (await kv.read("m")).value == b"abc"
