"""Datasets written by tensortrio are read by tensorstore, and the reverse, for every compression."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import tensortrio as ts

if TYPE_CHECKING:
    from pathlib import Path

tensorstore = pytest.importorskip("tensorstore")

COMPRESSIONS: list[tuple[str, dict[str, Any]]] = [
    ("raw", {"type": "raw"}),
    ("gzip", {"type": "gzip"}),
    ("zlib", {"type": "gzip", "level": 3, "useZlib": True}),
    ("bzip2", {"type": "bzip2", "blockSize": 2}),
    ("xz", {"type": "xz", "preset": 1}),
    ("zstd", {"type": "zstd", "level": 1}),
    ("blosc", {"type": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1}),
    ("blosc_bitshuffle_zstd", {"type": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2}),
]
# Shapes that are not multiples of the block size, so edge blocks are partial.
SHAPE = [11, 7, 5]
BLOCK = [4, 3, 5]


def _spec(path: Path, compression: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"driver": "n5", "kvstore": {"driver": "file", "path": str(path)}}
    if compression is not None:
        spec["metadata"] = {"compression": compression, "blockSize": BLOCK}
    return spec


def _data(dtype: str) -> np.ndarray:
    values = np.arange(np.prod(SHAPE)).reshape(SHAPE) * 7 - 50
    return values.astype(dtype)


def _header_shape(path: Path) -> tuple[int, ...]:
    data = path.read_bytes()
    rank = struct.unpack(">H", data[2:4])[0]
    return struct.unpack(f">{rank}I", data[4 : 4 + 4 * rank])


@pytest.mark.parametrize(("name", "compression"), COMPRESSIONS, ids=[c[0] for c in COMPRESSIONS])
@pytest.mark.parametrize("dtype", ["int16", "float64", "uint8"])
def test_tensortrio_writes_tensorstore_reads(tmp_path: Path, name: str, compression: dict[str, Any], dtype: str) -> None:
    data = _data(dtype)
    mine = ts.open(_spec(tmp_path, compression), create=True, dtype=dtype, shape=SHAPE).result()
    mine[...] = data
    mine[1:3, 2:4, 0] = data[1:3, 2:4, 0] + 1  # a partial block rewrite
    expected = data.copy()
    expected[1:3, 2:4, 0] += 1
    theirs = tensorstore.open(_spec(tmp_path)).result()
    np.testing.assert_array_equal(theirs.read().result(), expected)
    np.testing.assert_array_equal(theirs[3:9, 1:6, 2:4].read().result(), expected[3:9, 1:6, 2:4])
    # Edge blocks are stored truncated, as n5-java writes them.
    assert _header_shape(tmp_path / "2" / "2" / "0") == (3, 1, 5)
    assert _header_shape(tmp_path / "0" / "0" / "0") == (4, 3, 5)


@pytest.mark.parametrize(("name", "compression"), COMPRESSIONS, ids=[c[0] for c in COMPRESSIONS])
@pytest.mark.parametrize("dtype", ["uint32", "float32", "int64"])
def test_tensorstore_writes_tensortrio_reads(tmp_path: Path, name: str, compression: dict[str, Any], dtype: str) -> None:
    data = _data(dtype)
    theirs = tensorstore.open(_spec(tmp_path, compression), create=True, dtype=dtype, shape=SHAPE).result()
    theirs[...] = data
    assert _header_shape(tmp_path / "2" / "2" / "0") == (4, 3, 5)  # tensorstore stores full blocks
    mine = ts.open(_spec(tmp_path)).result()
    assert mine.spec().to_json() == theirs.spec().to_json()
    np.testing.assert_array_equal(mine.read().result(), data)
    np.testing.assert_array_equal(mine[10, 6].read().result(), data[10, 6])
    # And tensortrio updating tensorstore's full-size edge block keeps it readable by both.
    mine[9:, 5:, :] = 3
    data[9:, 5:, :] = 3
    np.testing.assert_array_equal(tensorstore.open(_spec(tmp_path)).result().read().result(), data)
    np.testing.assert_array_equal(ts.open(_spec(tmp_path)).result().read().result(), data)


def test_attributes_written_by_each_are_opened_by_the_other(tmp_path: Path) -> None:
    metadata = {"axes": ["z", "y", "x"], "units": ["um", "nm", "nm"], "resolution": [1.5, 4, 4], "note": {"by": "test"}}
    mine = ts.open(
        {"driver": "n5", "kvstore": {"driver": "file", "path": str(tmp_path / "a")}, "metadata": metadata},
        create=True, dtype="uint16", shape=SHAPE,
    ).result()
    theirs = tensorstore.open({"driver": "n5", "kvstore": {"driver": "file", "path": str(tmp_path / "a")}}).result()
    assert list(theirs.domain.labels) == ["z", "y", "x"]
    assert [str(u) for u in theirs.dimension_units] == ["1.5 um", "4 nm", "4 nm"]
    assert theirs.spec().to_json()["metadata"]["note"] == {"by": "test"}
    assert mine.spec().to_json() == theirs.spec().to_json()


def test_resize_is_seen_by_tensorstore(tmp_path: Path) -> None:
    store = ts.open(_spec(tmp_path, {"type": "raw"}), create=True, dtype="int16", shape=SHAPE).result()
    data = _data("int16")
    store[...] = data
    grown = store.resize(exclusive_max=[13, 7, 5]).result()
    grown[11:13] = 5
    theirs = tensorstore.open(_spec(tmp_path)).result()
    assert theirs.shape == (13, 7, 5)
    expected = np.concatenate([data, np.full((2, 7, 5), 5, np.int16)])
    np.testing.assert_array_equal(theirs.read().result(), expected)
    shrunk = grown.resize(exclusive_max=[3, 7, 5]).result()
    assert shrunk.shape == (3, 7, 5)
    theirs = tensorstore.open(_spec(tmp_path)).result()
    np.testing.assert_array_equal(theirs.read().result(), expected[:3])
    # Blocks entirely outside the new bounds are deleted.
    blocks = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert blocks == ["0/0/0", "0/1/0", "0/2/0", "attributes.json"]
