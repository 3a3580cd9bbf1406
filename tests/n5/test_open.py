"""ts.open end to end on n5: the seed example, read/write/resize on memory and file, edge blocks, errors."""

from __future__ import annotations

import json
import struct
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import tensortrio as ts
from tensortrio.errors import DataLossError

if TYPE_CHECKING:
    from pathlib import Path

SEED_REPR = """\
TensorStore({
  'context': {
    'cache_pool': {},
    'data_copy_concurrency': {},
    'memory_key_value_store': {},
  },
  'driver': 'n5',
  'dtype': 'float32',
  'kvstore': {'driver': 'memory'},
  'metadata': {
    'blockSize': [10, 1414, 707],
    'compression': {
      'blocksize': 0,
      'clevel': 5,
      'cname': 'lz4',
      'shuffle': 1,
      'type': 'blosc',
    },
    'dataType': 'float32',
    'dimensions': [1000, 2000, 3000],
  },
  'transform': {
    'input_exclusive_max': [[1000], [2000], [3000]],
    'input_inclusive_min': [0, 0, 0],
  },
})"""


async def test_seed_002_n5_example() -> None:
    # Verbatim from the ``tensorstore.open`` documentation (seed 002).
    store = await ts.open(
        {
            'driver': 'n5',
            'kvstore': {
                'driver': 'memory'
            },
        },
        create=True,
        dtype=ts.float32,
        shape=[1000, 2000, 3000],
        chunk_layout=ts.ChunkLayout(
            chunk_shape=[10, None, None],
            chunk_aspect_ratio=[None, 2, 1],
            chunk_elements=10000000,
        ),
    )  # fmt: skip
    assert repr(store) == SEED_REPR


def _kvstore(tmp_path: Path, kind: str) -> dict[str, Any]:
    return {"driver": "memory"} if kind == "memory" else {"driver": "file", "path": str(tmp_path / "ds") + "/"}


def _header_shape(data: bytes) -> tuple[int, ...]:
    rank = struct.unpack(">H", data[2:4])[0]
    return struct.unpack(f">{rank}I", data[4 : 4 + 4 * rank])


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_write_read_resize(tmp_path: Path, kind: str) -> None:
    context = ts.Context()
    kvstore = _kvstore(tmp_path, kind)
    store = ts.open(
        {"driver": "n5", "kvstore": kvstore, "metadata": {"compression": {"type": "gzip"}, "note": [1]}},
        create=True, dtype="float32", shape=[20, 30], chunk_layout=ts.ChunkLayout(chunk_shape=[8, 7]),
        context=context,
    ).result()
    assert store.fill_value is None
    assert store.chunk_layout.inner_order == (1, 0)
    data = np.arange(600, dtype=np.float32).reshape(20, 30)
    store[3:17, 2:29] = data[3:17, 2:29]
    expected = np.zeros((20, 30), np.float32)
    expected[3:17, 2:29] = data[3:17, 2:29]
    np.testing.assert_array_equal(store.read().result(), expected)
    np.testing.assert_array_equal(store.T[5:9].read().result(), expected.T[5:9])
    raw = ts.KvStore.open(kvstore, context=context).result()
    assert _header_shape(raw["2/4"]) == (4, 2)  # the corner edge block, truncated
    resized = store.resize(exclusive_max=[12, 40]).result()
    assert resized.shape == (12, 40)
    np.testing.assert_array_equal(resized[:, :30].read().result(), expected[:12])
    np.testing.assert_array_equal(resized[:, 30:].read().result(), np.zeros((12, 10), np.float32))
    resized[10:12, 30:40] = 7
    again = ts.open({"driver": "n5", "kvstore": kvstore}, context=context).result()
    assert again.shape == (12, 40)
    assert again.spec().to_json()["metadata"]["note"] == [1]
    np.testing.assert_array_equal(again[10:12, 28:40].read().result(), np.concatenate([expected[10:12, 28:30], np.full((2, 10), 7, np.float32)], axis=1))
    stored = json.loads(raw["attributes.json"])
    assert stored["dimensions"] == [12, 40]
    assert stored["note"] == [1]
    assert sorted(k.decode() for k in raw.list().result())[-1] == "attributes.json"
    assert b"2/0" not in raw.list().result()  # entirely outside the shrunk rows


def test_growing_keeps_data_written_past_the_old_bounds(tmp_path: Path) -> None:
    # A store's codec knows the bounds at open: after a grow (its own or another
    # writer's), data past them is stored in full-size blocks rather than cut off.
    spec = {"driver": "n5", "kvstore": {"driver": "file", "path": str(tmp_path) + "/"}}
    create = {"metadata": {"compression": {"type": "raw"}}}
    store = ts.open({**spec, **create}, create=True, dtype="int32", shape=[5], chunk_layout=ts.ChunkLayout(chunk_shape=[4])).result()
    store[...] = np.arange(1, 6, dtype=np.int32)
    stale = ts.open(spec).result()  # another context, which will keep believing the old bounds
    np.testing.assert_array_equal(stale.read().result(), np.arange(1, 6))
    grown = store.resize(exclusive_max=[8]).result()
    grown[5:8] = [6, 7, 8]
    np.testing.assert_array_equal(grown.read().result(), np.arange(1, 9))
    assert _header_shape((tmp_path / "1").read_bytes()) == (4,)
    stale[4] = 50  # rewrites the edge block that now holds data past its bounds
    expected = np.array([1, 2, 3, 4, 50, 6, 7, 8])
    np.testing.assert_array_equal(ts.open(spec).result().read().result(), expected)
    shrunk = ts.open(spec).result().resize(exclusive_max=[6]).result()
    shrunk[5] = 0  # what the shrink left past the bounds (7) stays with the block
    assert _header_shape((tmp_path / "1").read_bytes()) == (4,)
    np.testing.assert_array_equal(shrunk.resize(exclusive_max=[8]).result().read().result(), [1, 2, 3, 4, 50, 0, 7, 8])


def test_other_writers_edge_blocks_and_missing_blocks_read_as_zero() -> None:
    context = ts.Context()
    raw = ts.KvStore.open({"driver": "memory"}, context=context).result()
    raw["attributes.json"] = json.dumps(
        {"dimensions": [5, 7], "blockSize": [2, 3], "dataType": "uint16", "compression": {"type": "raw"}}
    ).encode()
    raw["2/2"] = struct.pack(">HHIIH", 0, 2, 1, 1, 77)
    raw["0/0"] = struct.pack(">HHII4H", 0, 2, 2, 2, 1, 2, 3, 4)
    store = ts.open({"driver": "n5", "kvstore": {"driver": "memory"}}, context=context).result()
    expected = np.zeros((5, 7), np.uint16)
    expected[:2, :2] = [[1, 3], [2, 4]]
    expected[4, 6] = 77
    np.testing.assert_array_equal(store.read().result(), expected)
    raw["0/1"] = struct.pack(">HHII", 0, 2, 3, 3) + b"\x00" * 18
    with pytest.raises(DataLossError, match=r"'0/1'.*Received chunk of size \{3, 3\} which exceeds blockSize of \{2, 3\}$"):
        store.read().result()


def test_labels_units_and_url(tmp_path: Path) -> None:
    path = tmp_path / "labelled"
    store = ts.open(
        f"file://{path}/|n5:", create=True, dtype="uint8",
        domain=ts.IndexDomain(shape=[4, 6], labels=["y", "x"]), dimension_units=["4nm", "8nm"],
    ).result()
    assert store.url == f"file://{path}/|n5:"
    assert store.domain.labels == ("y", "x")
    assert store.dimension_units == (ts.Unit(4, "nm"), ts.Unit(8, "nm"))
    store[ts.d["x"][2:4]] = 9
    stored = json.loads((path / "attributes.json").read_text())
    assert stored["axes"] == ["y", "x"]
    assert stored["units"] == ["nm", "nm"]
    assert stored["resolution"] == [4.0, 8.0]
    np.testing.assert_array_equal(ts.open(f"file://{path}/|n5:").result()[:, 1:5].read().result(), np.tile([0, 9, 9, 0], (4, 1)))


def test_rank_zero_and_assume_metadata() -> None:
    context = ts.Context()
    spec = {"driver": "n5", "kvstore": {"driver": "memory"}}
    scalar = ts.open(spec, create=True, dtype="int64", shape=[], context=context).result()
    scalar.write(-3).result()
    assert scalar.read().result() == -3
    assert ts.KvStore.open({"driver": "memory"}, context=context).result().list().result() == [b"0", b"attributes.json"]
    other = ts.Context()
    assumed = ts.open(spec, dtype="uint16", shape=[10], context=other, open=True, create=True, assume_metadata=True).result()
    assumed[2:4] = 5
    assert ts.KvStore.open({"driver": "memory"}, context=other).result().list().result() == [b"0"]


@pytest.mark.parametrize("driver", ["n5", "zarr"])
def test_a_blosc_compressor_missing_here_is_refused_before_anything_is_stored(
    tmp_path: Any, driver: str
) -> None:
    import tensortrio

    path = tmp_path / "array"
    if driver == "n5":
        metadata: dict[str, Any] = {
            "dimensions": [4], "blockSize": [4], "dataType": "uint16",
            "compression": {"type": "blosc", "cname": "snappy", "clevel": 5, "shuffle": 1},
        }  # fmt: skip
    else:
        metadata = {
            "shape": [4], "chunks": [4], "dtype": "<u2",
            "compressor": {"id": "blosc", "cname": "snappy", "clevel": 5, "shuffle": 1},
        }  # fmt: skip
    spec = {"driver": driver, "kvstore": {"driver": "file", "path": str(path)}}
    message = r'blosc compressor "snappy" is not available in this numcodecs build$'
    with pytest.raises(ValueError, match=f'^{driver}: Cannot create using specified "metadata" and schema: {message}'):
        tensortrio.open({**spec, "metadata": metadata}, create=True).result()
    assert not path.exists()
    # An array tensorstore wrote with it is refused at open, not at the first write.
    tensorstore = pytest.importorskip("tensorstore")
    tensorstore.open({**spec, "metadata": metadata}, create=True).result()
    with pytest.raises(ValueError, match=f"^{message}"):
        tensortrio.open(spec).result()
