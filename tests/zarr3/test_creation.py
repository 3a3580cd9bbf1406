"""New zarr.json as tensorstore writes it, for a table of schema/metadata constraints."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

import pytest

import tensortrio as ts

if TYPE_CHECKING:
    from pathlib import Path

tensorstore = pytest.importorskip("tensorstore")

CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("default", {}, {"dtype": "uint16", "shape": [2048, 2048]}),
    ("w4_sharded", {}, {"dtype": "uint16", "shape": [2048, 2048], "chunk_layout": {"read_chunk_shape": [64, 64], "write_chunk_shape": [1024, 1024]}}),
    ("read_only", {}, {"dtype": "float32", "shape": [100, 200], "chunk_layout": {"read_chunk_shape": [10, 20]}}),
    ("write_only", {}, {"dtype": "float32", "shape": [100, 200], "chunk_layout": {"write_chunk_shape": [50, 100]}}),
    ("inner_order", {}, {"dtype": "float32", "shape": [100, 200], "chunk_layout": {"inner_order": [1, 0]}}),
    ("sharded_inner_order", {}, {"dtype": "float32", "shape": [100, 200], "chunk_layout": {"read_chunk_shape": [10, 20], "write_chunk_shape": [50, 100], "inner_order": [1, 0]}}),
    ("nan_fill", {}, {"dtype": "float32", "shape": [10], "fill_value": float("nan")}),
    ("blosc_uint8", {"codecs": [{"name": "blosc"}]}, {"dtype": "uint8", "shape": [4]}),
    ("blosc_int32", {"codecs": [{"name": "blosc"}]}, {"dtype": "int32", "shape": [10, 20]}),
    ("compressors", {"codecs": [{"name": "zstd"}, {"name": "gzip"}, "crc32c"]}, {"dtype": "int16", "shape": [8]}),
    ("v2_keys_attrs", {"data_type": "float64", "fill_value": "Infinity", "attributes": {"a": 1}, "chunk_key_encoding": {"name": "v2"}}, {"shape": [4]}),
    ("dot_keys_bool", {"data_type": "bool", "fill_value": True, "chunk_key_encoding": {"name": "default", "configuration": {"separator": "."}}}, {"shape": [4]}),
    ("complex", {"data_type": "complex64", "fill_value": ["NaN", 1.5]}, {"shape": [4]}),
    ("sharding_start", {"codecs": [{"name": "sharding_indexed", "configuration": {"chunk_shape": [2], "index_location": "start"}}]}, {"dtype": "int16", "shape": [8]}),
    ("codec_spec_sharded", {}, {"dtype": "int16", "shape": [8], "chunk_layout": {"write_chunk_shape": [8], "read_chunk_shape": [4]}, "codec": {"driver": "zarr3", "codecs": ["zstd"]}}),
    ("dimension_names", {"dimension_names": ["x", None]}, {"dtype": "int32", "shape": [3, 4]}),
    ("labels", {}, {"dtype": "int32", "domain": {"labels": ["x", ""], "shape": [3, 4]}}),
    ("bfloat16_rank0", {}, {"dtype": "bfloat16", "shape": []}),
    # A codec spec's sharding codec may leave its chunk_shape to the layout's read chunks.
    ("sharding_shape_from_layout", {}, {"dtype": "uint16", "shape": [100, 80], "chunk_layout": {"read_chunk_shape": [10, 20], "write_chunk_shape": [50, 40]}, "codec": {"driver": "zarr3", "codecs": [{"name": "sharding_indexed", "configuration": {"index_location": "start"}}]}}),
    ("sharding_shape_transposed", {}, {"dtype": "uint16", "shape": [100, 80], "chunk_layout": {"read_chunk_shape": [10, 20], "write_chunk_shape": [50, 40]}, "codec": {"driver": "zarr3", "codecs": [{"name": "transpose", "configuration": {"order": [1, 0]}}, {"name": "sharding_indexed", "configuration": {}}]}}),
    ("sharding_shape_whole_chunk", {}, {"dtype": "uint16", "shape": [100, 80], "codec": {"driver": "zarr3", "codecs": [{"name": "sharding_indexed", "configuration": {}}]}}),
    ("noshuffle_typesize", {"codecs": ["bytes", {"name": "blosc", "configuration": {"cname": "lz4", "shuffle": "noshuffle", "typesize": 4}}]}, {"dtype": "int32", "shape": [4]}),
    ("empty_attributes_end_index", {"attributes": {}, "codecs": [{"name": "sharding_indexed", "configuration": {"chunk_shape": [2], "index_location": "end"}}]}, {"dtype": "int16", "shape": [8]}),
]


def _open(module: Any, path: Path, metadata: dict[str, Any], kwargs: dict[str, Any]) -> None:
    kw = dict(kwargs)
    if "chunk_layout" in kw:
        kw["chunk_layout"] = module.ChunkLayout(**kw["chunk_layout"])
    if "codec" in kw:
        kw["codec"] = module.CodecSpec(kw["codec"])
    if "domain" in kw:
        kw["domain"] = module.IndexDomain(**kw["domain"])
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path)}, "metadata": metadata}
    module.open(spec, create=True, **kw).result()


@pytest.mark.parametrize(("name", "metadata", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_creation_matches_tensorstore(
    tmp_path: Path, name: str, metadata: dict[str, Any], kwargs: dict[str, Any]
) -> None:
    _open(tensorstore, tmp_path / "theirs", metadata, kwargs)
    _open(ts, tmp_path / "mine", metadata, kwargs)
    theirs = json.loads((tmp_path / "theirs" / "zarr.json").read_text())
    mine = json.loads((tmp_path / "mine" / "zarr.json").read_text())
    assert mine == theirs


def test_schema_of_sharded_array(tmp_path: Path) -> None:
    metadata, kwargs = CASES[5][1], CASES[5][2]
    _open(ts, tmp_path / "a", metadata, kwargs)
    store = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path / "a")}}).result()
    theirs = tensorstore.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path / "a")}}).result()
    assert store.chunk_layout.to_json() == theirs.chunk_layout.to_json()
    assert store.codec.to_json() == theirs.codec.to_json()
    assert store.schema.to_json()["fill_value"] == theirs.schema.to_json()["fill_value"]


def test_create_errors(tmp_path: Path) -> None:
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path / "x")}}
    with pytest.raises(ValueError, match=r'"dtype" must be specified'):
        ts.open(spec, create=True, shape=[4]).result()
    with pytest.raises(ValueError, match=r"Incompatible chunk size constraints for dimension 0"):
        ts.open(
            spec, create=True, dtype="int16", shape=[20],
            chunk_layout=ts.ChunkLayout(read_chunk_shape=[3], write_chunk_shape=[10]),
        ).result()


@pytest.mark.parametrize("index", [0, 1, 5, 10, 16])
def test_spec_matches_tensorstore(tmp_path: Path, index: int) -> None:
    _, metadata, kwargs = CASES[index]
    _open(tensorstore, tmp_path / "a", metadata, kwargs)
    kvstore = {"driver": "file", "path": str(tmp_path / "a") + "/"}
    mine = ts.open({"driver": "zarr3", "kvstore": kvstore}).result()
    theirs = tensorstore.open({"driver": "zarr3", "kvstore": kvstore}).result()
    assert mine.spec().to_json() == theirs.spec().to_json()
    assert mine.domain.labels == tuple(theirs.domain.labels)


_BYTES: Final = {"name": "bytes"}


def _sharded(inner: list[int]) -> list[dict[str, Any]]:
    index = [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]
    config = {"chunk_shape": inner, "codecs": [_BYTES], "index_codecs": index}
    return [{"name": "sharding_indexed", "configuration": config}]


@pytest.mark.parametrize(
    ("chunks", "data_type", "codecs", "message"),
    [
        ([2**31, 2**32], "uint8", [_BYTES], r"Integer overflow computing encoded size of array of shape \{2147483648, 4294967296\}"),
        ([2**30, 2**31], "float32", [{"name": "bytes", "configuration": {"endian": "little"}}], r"Integer overflow computing encoded size of array of shape \{1073741824, 2147483648\}"),
        # The bytes codec sees the transposed shape, and names it.
        ([2**30, 2**34], "uint8", [{"name": "transpose", "configuration": {"order": [1, 0]}}, _BYTES], r"shape \{17179869184, 1073741824\}"),
        ([2**32, 2**31], "uint8", _sharded([2**32, 2**31]), r"Integer overflow computing encoded size of array of shape \{4294967296, 2147483648\}"),
        ([2**15, 2**15 + 1], "uint8", _sharded([1, 1]), r"grid shape of \{32768, 32769\} has more than 1073741824 entries"),
    ],
)
def test_chunks_too_large_to_count_are_refused_as_tensorstore_refuses_them(
    tmp_path: Path, chunks: list[int], data_type: str, codecs: list[Any], message: str
) -> None:
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path)}}
    grid = {"name": "regular", "configuration": {"chunk_shape": chunks}}
    metadata = {"shape": chunks, "data_type": data_type, "chunk_grid": grid, "codecs": codecs}
    for lib in (ts, tensorstore):
        with pytest.raises(ValueError, match=message):
            lib.open({**spec, "metadata": metadata}, create=True).result()
    assert list(tmp_path.iterdir()) == []
    # The same metadata stored by someone else is refused when opened.
    stored = {
        "zarr_format": 3, "node_type": "array", "fill_value": 0,
        "chunk_key_encoding": {"name": "default"}, **metadata,
    }
    (tmp_path / "zarr.json").write_text(json.dumps(stored))
    for lib in (ts, tensorstore):
        with pytest.raises(ValueError, match=message):
            lib.open(spec).result()


def test_a_shard_of_a_million_inner_chunks_opens_without_listing_them(tmp_path: Path) -> None:
    # [1024, 1024] inner chunks of one element: opening used to build a region per chunk (seconds).
    store = ts.open(
        {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path)}},
        create=True, dtype="uint8", shape=[1024, 1024],
        chunk_layout=ts.ChunkLayout(read_chunk_shape=[1, 1], write_chunk_shape=[1024, 1024]),
    ).result()
    store[1000, 3] = 7
    assert store[999:1001, 3].read().result().tolist() == [0, 7]
    theirs = tensorstore.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path)}}).result()
    assert theirs[999:1001, 3].read().result().tolist() == [0, 7]
