"""ts.open end to end on zarr3: read, write, resize, labels, attributes, corrupt shards."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import tensortrio as ts
from tensortrio.errors import DataLossError, FailedPreconditionError

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
    # As tensorstore: a codec constraint is kept as given (no level: any level).
    assert ts.CodecSpec({"driver": "zarr3", "codecs": ["gzip"]}).to_json() == {
        "codecs": [{"name": "gzip"}],
        "driver": "zarr3",
    }
    with pytest.raises(ValueError, match=r'^Error parsing object member "metadata": Unsupported metadata field "chunks" is not marked \{"must_understand": false\}$'):
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


def test_dimension_units_in_attributes(tmp_path: Path) -> None:
    tensorstore = pytest.importorskip("tensorstore")
    kvstore = {"driver": "file", "path": str(tmp_path / "arr")}
    store = ts.open(
        {"driver": "zarr3", "kvstore": kvstore, "metadata": {"attributes": {"a": 1}}},
        create=True, dtype="uint8", shape=[3, 2, 2], dimension_units=["4nm", None, "1.5 s"],
    ).result()
    assert store.dimension_units == (ts.Unit(4, "nm"), None, ts.Unit(1.5, "s"))
    stored = json.loads((tmp_path / "arr" / "zarr.json").read_text())
    assert stored["attributes"] == {"a": 1, "dimension_units": ["4 nm", None, "1.5 s"]}
    theirs = tensorstore.open({"driver": "zarr3", "kvstore": kvstore}).result()
    assert [None if u is None else (u.multiplier, u.base_unit) for u in theirs.dimension_units] == [
        (4, "nm"), None, (1.5, "s")
    ]
    with pytest.raises(ValueError, match=r"dimension_units from metadata \(4 nm\) does not match dimension_units in schema \(5 nm\) for dimension 0"):
        ts.open({"driver": "zarr3", "kvstore": kvstore}, dimension_units=["5nm", None, None]).result()


def test_zarr_python_array_resized_by_tensortrio(tmp_path: Path) -> None:
    zarr = pytest.importorskip("zarr")
    path = str(tmp_path / "zp")
    array = zarr.create_array(
        path, shape=(20, 18), chunks=(5, 3), shards=(10, 6), dtype="float32",
        fill_value=float("nan"), compressors=[zarr.codecs.BloscCodec(), zarr.codecs.ZstdCodec()],
        dimension_names=["y", "x"], attributes={"k": "v"},
    )
    data = np.arange(360, dtype=np.float32).reshape(20, 18)
    array[1:19, 2:] = data[1:19, 2:]
    store = ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": path}}).result()
    assert store.domain.labels == ("y", "x")
    np.testing.assert_array_equal(store[1:19, 2:].read().result(), data[1:19, 2:])
    assert np.isnan(store[0].read().result()).all()
    store = store.resize(exclusive_max=[20, 24]).result()
    store[:, 18:] = np.full((20, 6), 5, np.float32)
    reopened = zarr.open_array(path, mode="r")
    assert reopened.shape == (20, 24)
    assert dict(reopened.attrs) == {"k": "v"}
    np.testing.assert_array_equal(reopened[:, 18:], np.full((20, 6), 5, np.float32))
    np.testing.assert_array_equal(reopened[1:19, 2:18], data[1:19, 2:])


@pytest.mark.parametrize(
    "codecs",
    [
        [{"name": "sharding_indexed", "configuration": {"chunk_shape": [2, 2]}}],
        [{"name": "sharding_indexed", "configuration": {"chunk_shape": [2, 2], "index_location": "end"}}],
        [{"name": "sharding_indexed", "configuration": {"chunk_shape": [2, 2], "index_location": "start"}}],
        [{"name": "transpose", "configuration": {"order": [1, 0]}}, {"name": "bytes"}, {"name": "gzip"}],
    ],
    ids=["index-location-omitted", "index-location-end", "index-location-start", "transpose-gzip"],
)
def test_an_array_reopens_from_its_own_spec(codecs: list[dict[str, Any]]) -> None:
    context = ts.Context()
    store = ts.open(
        {"driver": "zarr3", "kvstore": "memory://a/", "metadata": {"codecs": codecs}},
        create=True, dtype=ts.int32, shape=[4, 4], context=context,
    ).result()
    store[1:3, 1:3] = 5
    again = ts.open(store.spec(), context=context).result()
    np.testing.assert_array_equal(again.read().result(), store.read().result())


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"q": 1}, None),
        ({"q": 1.0, "r": [1, 2], "dimension_units": ["m"]}, None),
        ({}, None),
        ({"q": 2}, r'^Mismatch in "attributes": Expected "q" of 2 but received: 1$'),
        ({"z": 1}, r'^Mismatch in "attributes": Expected "z" of 1 but received: <discarded>$'),
        ({"dimension_units": ["s"]}, r'^Expected "dimension_units" of \["s"\] but received: \["m"\]$'),
    ],
)
def test_attributes_in_the_open_spec_must_be_stored_as_given(
    tmp_path: Path, attributes: dict[str, Any], message: str | None
) -> None:
    tensorstore = pytest.importorskip("tensorstore")
    kvstore = {"driver": "file", "path": str(tmp_path)}
    stored = {"q": 1, "r": [1, 2], "dimension_units": ["m"]}
    ts.open({"driver": "zarr3", "kvstore": kvstore, "metadata": {"shape": [4], "data_type": "int16", "attributes": stored}}, create=True).result()
    spec = {"driver": "zarr3", "kvstore": kvstore, "metadata": {"attributes": attributes}}
    if message is None:
        assert ts.open(spec).result().shape == (4,)
        tensorstore.open(spec).result()
        return
    with pytest.raises(ValueError, match=message.strip("^$")):
        tensorstore.open(spec).result()
    with pytest.raises(FailedPreconditionError, match=message):
        ts.open(spec).result()


@pytest.mark.parametrize(
    "extension", [{"must_understand": False}, {"must_understand": False, "x": [1, 2]}]
)
def test_extension_members_not_to_be_understood_are_kept(tmp_path: Path, extension: dict[str, Any]) -> None:
    tensorstore = pytest.importorskip("tensorstore")
    for lib in (ts, tensorstore):
        path = tmp_path / lib.__name__
        spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(path)}}
        store = lib.open(
            {**spec, "metadata": {"shape": [4], "data_type": "uint8", "myext": extension}}, create=True
        ).result()
        assert store.spec().to_json()["metadata"]["myext"] == extension
        store = lib.open(spec).result()
        store.resize(exclusive_max=[8]).result()  # rewrites zarr.json
        stored = json.loads((path / "zarr.json").read_text())
        assert (stored["shape"], stored["myext"]) == ([8], extension)
    assert (tmp_path / "tensortrio" / "zarr.json").read_bytes() == (tmp_path / "tensorstore" / "zarr.json").read_bytes()


@pytest.mark.parametrize("extension", [{"must_understand": True}, {"x": 1}, 5])
def test_other_unknown_members_are_refused(tmp_path: Path, extension: Any) -> None:
    message = r'Unsupported metadata field "myext" is not marked \{"must_understand": false\}'
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path)}}
    with pytest.raises(ValueError, match=message):
        ts.open({**spec, "metadata": {"shape": [4], "data_type": "uint8", "myext": extension}}, create=True).result()
    ts.open({**spec, "metadata": {"shape": [4], "data_type": "uint8"}}, create=True).result()
    stored = json.loads((tmp_path / "zarr.json").read_text())
    (tmp_path / "zarr.json").write_text(json.dumps({**stored, "myext": extension}))
    with pytest.raises(ValueError, match=message):
        ts.open(spec).result()


_LITTLE = {"name": "bytes", "configuration": {"endian": "little"}}


@pytest.mark.parametrize(
    ("overrides", "refused"),
    [
        ({"codecs": [{"name": "bytes"}]}, True),  # int16 without endian: the byte order is unknown
        ({"codecs": [{"name": "bytes"}], "data_type": "uint8"}, False),
        ({"codecs": [_LITTLE, {"name": "gzip"}]}, True),
        ({"codecs": [_LITTLE, {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 1, "shuffle": "shuffle"}}]}, True),
        ({"codecs": [_LITTLE, {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 1, "shuffle": "noshuffle", "blocksize": 0}}]}, False),
        ({"codecs": [{"name": "sharding_indexed", "configuration": {"chunk_shape": [1], "codecs": [_LITTLE]}}]}, True),
        ({"codecs": [{"name": "sharding_indexed", "configuration": {"codecs": [_LITTLE], "index_codecs": [_LITTLE]}}]}, True),
        ({"codecs": [{"name": "sharding_indexed", "configuration": {"chunk_shape": [1], "codecs": [_LITTLE], "index_codecs": [{"name": "bytes"}]}}]}, True),
        ({"codecs": [{"name": "sharding_indexed", "configuration": {"chunk_shape": [1], "codecs": [_LITTLE], "index_codecs": [_LITTLE, {"name": "crc32c"}]}}]}, False),
        ({"codecs": ["bytes"]}, True),
        ({"codecs": []}, True),
        ({"chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2], "x": 1}}}, True),
    ],
)
def test_stored_metadata_must_spell_out_its_codecs_as_tensorstore_requires(
    tmp_path: Path, overrides: dict[str, Any], refused: bool
) -> None:
    tensorstore = pytest.importorskip("tensorstore")
    stored = {
        "zarr_format": 3, "node_type": "array", "shape": [4], "data_type": "int16", "fill_value": 0,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
        "chunk_key_encoding": {"name": "default"}, "codecs": [_LITTLE], **overrides,
    }
    (tmp_path / "zarr.json").write_text(json.dumps(stored))
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path)}}
    for lib in (ts, tensorstore):
        if refused:
            with pytest.raises(ValueError, match=r"codec|chunk_grid"):
                lib.open(spec).result()
        else:
            assert lib.open(spec).result().shape == (4,)


def test_shapes_may_be_integral_floats_as_in_tensorstore(tmp_path: Path) -> None:
    tensorstore = pytest.importorskip("tensorstore")
    grid = {"name": "regular", "configuration": {"chunk_shape": [2.0, 2]}}
    for lib in (ts, tensorstore):
        store = lib.open(
            {"driver": "zarr3", "kvstore": {"driver": "memory"}, "metadata": {"shape": [4.0, 4], "data_type": "uint8", "chunk_grid": grid}},
            create=True,
        ).result()
        assert (store.shape, store.chunk_layout.write_chunk.shape) == ((4, 4), (2, 2))
        with pytest.raises(ValueError, match=r"Expected integer in the range \[0, \d+\], but received: 4\.5"):
            lib.open({"driver": "zarr3", "kvstore": {"driver": "memory"}, "metadata": {"shape": [4.5, 4], "data_type": "uint8"}}, create=True).result()
    stored = {
        "zarr_format": 3, "node_type": "array", "shape": [4.0, 4], "data_type": "uint8", "fill_value": 0,
        "chunk_grid": grid, "chunk_key_encoding": {"name": "default"}, "codecs": [{"name": "bytes"}],
    }
    (tmp_path / "zarr.json").write_text(json.dumps(stored))
    for lib in (ts, tensorstore):
        assert lib.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path)}}).result().shape == (4, 4)
