"""ts.open end to end on zarr3: read, write, resize, labels, attributes, corrupt shards."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import tensortrio as ts
import tensortrio.drivers.zarr3  # registers the zarr3 driver
from tensortrio.errors import DataLossError

if TYPE_CHECKING:
    from pathlib import Path


def _kvstores(tmp_path: Path) -> list[dict[str, Any]]:
    return [{"driver": "memory"}, {"driver": "file", "path": str(tmp_path / "arr")}]


@pytest.mark.parametrize("kind", ["memory", "file"])
@pytest.mark.parametrize("sharded", [False, True])
def test_write_read_resize(tmp_path: Path, kind: str, sharded: bool) -> None:
    kvstore = _kvstores(tmp_path)[kind == "file"]
    layout = ts.ChunkLayout(read_chunk_shape=[4, 5], write_chunk_shape=[8, 10]) if sharded else ts.ChunkLayout(chunk_shape=[4, 5])
    store = ts.open(
        {"driver": "zarr3", "kvstore": kvstore, "metadata": {"attributes": {"note": "kept"}}},
        create=True, dtype="float32", shape=[20, 30], chunk_layout=layout, fill_value=-1,
    ).result()
    data = np.arange(600, dtype=np.float32).reshape(20, 30)
    store[3:17, 2:29] = data[3:17, 2:29]
    expected = np.full((20, 30), -1, np.float32)
    expected[3:17, 2:29] = data[3:17, 2:29]
    np.testing.assert_array_equal(store.read().result(), expected)
    assert store.chunk_layout.read_chunk.shape == (4, 5)
    resized = store.resize(exclusive_max=[12, 40]).result()
    assert resized.shape == (12, 40)
    np.testing.assert_array_equal(resized[:, :30].read().result(), expected[:12])
    np.testing.assert_array_equal(resized[:, 30:].read().result(), np.full((12, 10), -1, np.float32))
    again = ts.open({"driver": "zarr3", "kvstore": kvstore}).result() if kind == "file" else resized
    assert again.shape == (12, 40)
    spec = again.spec().to_json()
    assert spec["metadata"]["attributes"] == {"note": "kept"}
    if kind == "file":
        stored = json.loads((tmp_path / "arr" / "zarr.json").read_text())
        assert stored["shape"] == [12, 40]
        assert stored["attributes"] == {"note": "kept"}


def test_dimension_names_are_labels(tmp_path: Path) -> None:
    kvstore = {"driver": "file", "path": str(tmp_path / "arr")}
    store = ts.open(
        {"driver": "zarr3", "kvstore": kvstore, "metadata": {"dimension_names": ["x", None]}},
        create=True, dtype="int32", shape=[3, 4],
    ).result()
    assert store.domain.labels == ("x", "")
    store[ts.d["x"][1]] = np.arange(4, dtype=np.int32)
    np.testing.assert_array_equal(store[1].read().result(), np.arange(4))


def test_spec_url_and_registered_drivers(tmp_path: Path) -> None:
    spec = ts.Spec({"driver": "zarr3", "kvstore": {"driver": "memory"}, "metadata": {"data_type": "uint8", "shape": [5]}})
    assert spec.dtype == ts.uint8
    assert spec.rank == 1
    assert ts.CodecSpec({"driver": "zarr3", "codecs": ["gzip"]}).to_json() == {
        "codecs": [{"configuration": {"level": 6}, "name": "gzip"}],
        "driver": "zarr3",
    }
    with pytest.raises(ValueError, match=r'^Error parsing object member "metadata": Object includes extra members: "chunks"$'):
        ts.Spec({"driver": "zarr3", "kvstore": {"driver": "memory"}, "metadata": {"chunks": [1]}})


def test_open_mismatch_names_member(tmp_path: Path) -> None:
    kvstore = {"driver": "file", "path": str(tmp_path / "arr")}
    ts.open({"driver": "zarr3", "kvstore": kvstore}, create=True, dtype="int16", shape=[10]).result()
    with pytest.raises(ValueError, match=r'Expected "shape" of \[11\] but received: \[10\]'):
        ts.open({"driver": "zarr3", "kvstore": kvstore, "metadata": {"shape": [11]}}).result()
    with pytest.raises(ValueError, match=r"dtype from metadata \(int16\) does not match dtype in schema \(int32\)"):
        ts.open({"driver": "zarr3", "kvstore": kvstore}, dtype="int32").result()


def test_corrupt_shard_is_data_loss(tmp_path: Path) -> None:
    kvstore = {"driver": "file", "path": str(tmp_path / "arr")}
    store = ts.open(
        {"driver": "zarr3", "kvstore": kvstore}, create=True, dtype="int16", shape=[8],
        chunk_layout=ts.ChunkLayout(read_chunk_shape=[2], write_chunk_shape=[8]),
    ).result()
    store[...] = np.arange(8, dtype=np.int16)
    shard = tmp_path / "arr" / "c" / "0"
    raw = bytearray(shard.read_bytes())
    raw[-1] ^= 0xFF
    shard.write_bytes(bytes(raw))
    fresh = ts.open({"driver": "zarr3", "kvstore": kvstore}, recheck_cached_data=True).result()
    with pytest.raises(DataLossError, match=r"crc32c: checksum mismatch"):
        fresh.read().result()
