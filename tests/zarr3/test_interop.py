"""Chunks and shards interoperate with tensorstore and zarr-python for every codec, both ways."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tensortrio as ts

tensorstore = pytest.importorskip("tensorstore")
zarr = pytest.importorskip("zarr")

_SHARD_INNER_GZIP = {
    "name": "sharding_indexed",
    "configuration": {
        "chunk_shape": [3, 4],
        "codecs": [{"name": "bytes", "configuration": {"endian": "big"}}, {"name": "gzip"}],
        "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
        "index_location": "start",
    },
}
_NESTED = {
    "name": "sharding_indexed",
    "configuration": {
        "chunk_shape": [6, 4],
        "codecs": [{"name": "sharding_indexed", "configuration": {"chunk_shape": [3, 2]}}],
    },
}
_TRANSPOSED_SHARD = {
    "name": "sharding_indexed",
    "configuration": {
        "chunk_shape": [3, 4],
        "codecs": [
            {"name": "transpose", "configuration": {"order": [1, 0]}},
            "bytes",
            {"name": "blosc", "configuration": {"cname": "zstd", "clevel": 3}},
        ],
    },
}
CODECS: list[tuple[str, list[Any]]] = [
    ("bytes_little", [{"name": "bytes", "configuration": {"endian": "little"}}]),
    ("bytes_big", [{"name": "bytes", "configuration": {"endian": "big"}}]),
    ("transpose", [{"name": "transpose", "configuration": {"order": [1, 0]}}, "bytes"]),
    ("blosc", ["bytes", {"name": "blosc"}]),
    ("blosc_noshuffle", ["bytes", {"name": "blosc", "configuration": {"cname": "lz4", "shuffle": "noshuffle"}}]),
    ("gzip", ["bytes", {"name": "gzip", "configuration": {"level": 1}}]),
    ("zstd", ["bytes", {"name": "zstd", "configuration": {"level": 1, "checksum": True}}]),
    ("crc32c", ["bytes", {"name": "crc32c"}]),
    ("zstd_crc32c", ["bytes", "zstd", "crc32c"]),
    ("sharded", [{"name": "sharding_indexed", "configuration": {"chunk_shape": [3, 4]}}]),
    ("sharded_start_gzip", [_SHARD_INNER_GZIP]),
    ("sharded_nested", [_NESTED]),
    ("sharded_transposed_blosc", [_TRANSPOSED_SHARD]),
]
SHAPE = (14, 17)
CHUNKS = [6, 8]


def _spec(path: Path, codecs: list[Any], dtype: str = "int16", fill: Any = 0) -> dict[str, Any]:
    return {
        "driver": "zarr3",
        "kvstore": {"driver": "file", "path": str(path)},
        "metadata": {
            "shape": list(SHAPE),
            "data_type": dtype,
            "fill_value": fill,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": CHUNKS}},
            "codecs": codecs,
        },
    }


def _data(dtype: str = "int16") -> np.ndarray:
    return (np.arange(np.prod(SHAPE)).reshape(SHAPE) * 7 % 1000 - 300).astype(dtype)


@pytest.mark.parametrize(("name", "codecs"), CODECS, ids=[c[0] for c in CODECS])
def test_tensortrio_writes_others_read(tmp_path: Path, name: str, codecs: list[Any]) -> None:
    data = _data()
    store = ts.open(_spec(tmp_path / "a", codecs), create=True).result()
    store[1:13, 2:16] = data[1:13, 2:16]
    expected = np.zeros(SHAPE, np.int16)
    expected[1:13, 2:16] = data[1:13, 2:16]
    other = tensorstore.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path / "a")}}).result()
    np.testing.assert_array_equal(other.read().result(), expected)
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "a"), mode="r")[...], expected)
    assert json.loads((tmp_path / "a" / "zarr.json").read_text()) == json.loads(
        json.dumps(other.spec().to_json()["metadata"])
    ) or name.startswith("sharded")


@pytest.mark.parametrize(("name", "codecs"), CODECS, ids=[c[0] for c in CODECS])
def test_others_write_tensortrio_reads(tmp_path: Path, name: str, codecs: list[Any]) -> None:
    data = _data()
    writer = tensorstore.open(_spec(tmp_path / "t", codecs), create=True).result()
    writer[0:11, 3:17] = data[0:11, 3:17]
    expected = np.zeros(SHAPE, np.int16)
    expected[0:11, 3:17] = data[0:11, 3:17]
    mine = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path / "t")}}).result()
    np.testing.assert_array_equal(mine.read().result(), expected)
    # zarr-python writes into an array created by tensorstore with the same codecs.
    tensorstore.open(_spec(tmp_path / "z", codecs), create=True).result()
    array = zarr.open_array(str(tmp_path / "z"), mode="r+")
    array[2:14, 0:9] = data[2:14, 0:9]
    expected = np.zeros(SHAPE, np.int16)
    expected[2:14, 0:9] = data[2:14, 0:9]
    mine = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path / "z")}}).result()
    np.testing.assert_array_equal(mine.read().result(), expected)


@pytest.mark.parametrize(
    "name", ["bytes_big", "crc32c", "gzip", "sharded", "sharded_nested", "sharded_start_gzip"]
)
def test_deterministic_chunks_match_tensorstore_bytes(tmp_path: Path, name: str) -> None:
    codecs = dict(CODECS)[name]
    data = _data()
    ts.open(_spec(tmp_path / "a", codecs), create=True).result()[...] = data
    tensorstore.open(_spec(tmp_path / "b", codecs), create=True).result()[...].write(data).result()
    keys = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b" / "c").rglob("*") if p.is_file())
    assert keys
    # zarr.json too: no default index_location, no empty attributes; gzip stamps no time.
    keys.append(Path("zarr.json"))
    for key in keys:
        assert (tmp_path / "a" / key).read_bytes() == (tmp_path / "b" / key).read_bytes(), key


def test_nan_fill_and_missing_inner_chunks(tmp_path: Path) -> None:
    codecs = dict(CODECS)["sharded"]
    store = ts.open(_spec(tmp_path / "a", codecs, dtype="float32", fill="NaN"), create=True).result()
    store[0:3, 0:4] = np.ones((3, 4), np.float32)
    other = tensorstore.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path / "a")}}).result()
    result = other.read().result()
    assert (result[0:3, 0:4] == 1).all()
    assert np.isnan(result[3:, :]).all()
    assert np.isnan(result[:, 4:]).all()


def test_blosc_snappy_reads_but_is_refused_for_writing_when_this_build_lacks_it(tmp_path: Path) -> None:
    from tensortrio.drivers.blosc_codec import check_cname_available

    try:
        check_cname_available("snappy")
    except ValueError:
        pass
    else:
        pytest.skip("this numcodecs build has snappy")
    codecs = ["bytes", {"name": "blosc", "configuration": {"cname": "snappy", "shuffle": "shuffle"}}]
    message = r'blosc compressor "snappy" is not available in this numcodecs build'
    with pytest.raises(ValueError, match=message):
        ts.open(_spec(tmp_path / "mine", codecs), create=True).result()
    assert not (tmp_path / "mine").exists()
    data = _data()
    tensorstore.open(_spec(tmp_path / "t", codecs), create=True).result()[...].write(data).result()
    store = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path / "t")}}).result()
    np.testing.assert_array_equal(store.read().result(), data)
    with pytest.raises(ValueError, match=message):
        store[0, 0:3].write([1, 2, 3]).result()
    np.testing.assert_array_equal(store.read().result(), data)
