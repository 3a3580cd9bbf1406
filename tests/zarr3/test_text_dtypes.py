"""zarr v3 text and bytes: ``"string"``, ``"variable_length_bytes"`` and ``fixed_length_utf32``.

zarr-python writes ``"string"`` with the ``vlen-utf8`` codec for
``dtype=str``, and ``fixed_length_utf32`` for arrays of NumPy strings;
tensorstore has none of these types, so the other library here is
zarr-python, both ways, with and without sharding.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from zarr.core.dtype import VariableLengthBytes

import tensortrio as ts
import zarr

if TYPE_CHECKING:
    from pathlib import Path

# zarr-python warns that these types have no zarr v3 specification yet.
pytestmark = pytest.mark.filterwarnings("ignore::zarr.errors.UnstableSpecificationWarning")

TEXT = np.array([["a", "", "héllo"], ["x" * 300, "日本", "z"]], dtype=object)


def _spec(path: Path, **metadata: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"driver": "zarr3", "kvstore": {"driver": "file", "path": f"{path}/"}}
    if metadata:
        spec["metadata"] = metadata
    return spec


def _zarr_json(path: Path) -> dict[str, Any]:
    return json.loads((path / "zarr.json").read_text())


def test_reads_and_writes_what_zarr_python_writes_for_str(tmp_path: Path) -> None:
    theirs = zarr.create_array(tmp_path, shape=(4, 3), chunks=(2, 2), dtype=str, zarr_format=3)
    theirs[:2] = TEXT
    store = ts.open(_spec(tmp_path)).result()
    assert store.dtype == ts.ustring
    assert store.fill_value == ""
    assert store.codec.to_json()["codecs"][0] == {"configuration": {}, "name": "vlen-utf8"}
    expected = np.concatenate([TEXT, np.full((2, 3), "", dtype=object)])
    np.testing.assert_array_equal(store.read().result(), expected)
    store[3, 1:] = ["wrote", "ünïcode"]
    expected[3, 1:] = ["wrote", "ünïcode"]
    np.testing.assert_array_equal(zarr.open_array(tmp_path)[:], expected.astype(str))


def test_reads_zarr_python_variable_length_bytes(tmp_path: Path) -> None:
    theirs = zarr.create_array(
        tmp_path, shape=(3,), chunks=(2,), dtype=VariableLengthBytes(), zarr_format=3,
        fill_value=b"q\0",
    )
    theirs[:2] = np.array([b"ab", b"c\0d"], dtype=object)
    store = ts.open(_spec(tmp_path)).result()
    assert store.dtype == ts.string
    assert _zarr_json(tmp_path)["fill_value"] == "cQA="
    np.testing.assert_array_equal(
        store.read().result(), np.array([b"ab", b"c\0d", b"q\0"], dtype=object)
    )


@pytest.mark.parametrize("inner_order", [None, [1, 0]])
def test_created_text_is_read_by_zarr_python(tmp_path: Path, inner_order: list[int] | None) -> None:
    store = ts.open(
        _spec(tmp_path),
        create=True,
        dtype=ts.ustring,
        shape=[5, 3],
        chunk_layout=ts.ChunkLayout(chunk_shape=[2, 2], inner_order=inner_order),
    ).result()
    store[1:3] = TEXT
    metadata = _zarr_json(tmp_path)
    assert (metadata["data_type"], metadata["fill_value"]) == ("string", "")
    assert metadata["codecs"][-1] == {"configuration": {}, "name": "vlen-utf8"}
    expected = np.full((5, 3), "", dtype=object)
    expected[1:3] = TEXT
    np.testing.assert_array_equal(zarr.open_array(tmp_path)[:], expected.astype(str))
    np.testing.assert_array_equal(ts.open(_spec(tmp_path)).result().read().result(), expected)


def test_sharded_bytes_round_trip_and_fill_shards_deleted(tmp_path: Path) -> None:
    store = ts.open(
        _spec(tmp_path),
        create=True,
        dtype=ts.string,
        shape=[6, 4],
        fill_value=b"q",
        chunk_layout=ts.ChunkLayout(read_chunk_shape=[2, 2], write_chunk_shape=[4, 4]),
    ).result()
    store[1:5, 1] = [b"a", b"bb", b"", b"\0"]
    sharding = _zarr_json(tmp_path)["codecs"][0]
    assert sharding["configuration"]["codecs"] == [{"configuration": {}, "name": "vlen-bytes"}]
    assert _zarr_json(tmp_path)["data_type"] == "variable_length_bytes"
    expected = np.full((6, 4), b"q", dtype=object)
    expected[1:5, 1] = [b"a", b"bb", b"", b"\0"]
    np.testing.assert_array_equal(zarr.open_array(tmp_path)[:], expected)
    store[:4] = b"q"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "c/1/0",
        "zarr.json",
    ]


@pytest.mark.parametrize(
    ("codecs", "dtype", "message"),
    [
        (
            [{"name": "bytes"}],
            ts.ustring,
            r'.*"bytes" codec does not support data type "string" \(variable-length elements\): '
            r'use "vlen-utf8" or "vlen-bytes"$',
        ),
        (
            [{"name": "vlen-utf8"}],
            ts.string,
            r'.*"vlen-utf8" codec does not support data type "variable_length_bytes", only "string"$',
        ),
        (
            [{"name": "vlen-bytes", "configuration": {"x": 1}}],
            ts.string,
            r'.*Object includes extra members: "x"$',
        ),
    ],
)
def test_codecs_that_do_not_fit_are_refused(
    tmp_path: Path, codecs: list[Any], dtype: ts.dtype, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ts.open(_spec(tmp_path, codecs=codecs), create=True, dtype=dtype, shape=[2]).result()
    assert not tmp_path.joinpath("zarr.json").exists()


def test_bad_fill_value_names_the_member(tmp_path: Path) -> None:
    metadata = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": [2],
        "data_type": "variable_length_bytes",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
        "chunk_key_encoding": {"name": "default"},
        "fill_value": "not base64!",
        "codecs": [{"name": "vlen-bytes"}],
    }
    tmp_path.joinpath("zarr.json").write_text(json.dumps(metadata))
    with pytest.raises(
        ValueError,
        match=r'.*"fill_value": Expected base64-encoded bytes, but received: "not base64!"$',
    ):
        ts.open(_spec(tmp_path)).result()


@pytest.mark.parametrize("endian", ["<", ">"])
def test_fixed_length_text_both_ways(tmp_path: Path, endian: str) -> None:
    data = np.array(["ab", "c", "déf"], dtype=f"{endian}U3")
    zarr.create_array(tmp_path, data=data, chunks=(2,), zarr_format=3, fill_value="zz")
    assert _zarr_json(tmp_path)["data_type"] == {
        "name": "fixed_length_utf32",
        "configuration": {"length_bytes": 12},
    }
    store = ts.open(_spec(tmp_path)).result()
    assert (store.dtype, store.fill_value) == (ts.ustring, "zz")
    assert store.spec().to_json()["metadata"]["data_type"] == {
        "configuration": {"length_bytes": 12},
        "name": "fixed_length_utf32",
    }
    np.testing.assert_array_equal(store.read().result(), data.astype(object))
    store[2] = "xyz"
    with pytest.raises(ValueError, match=r'^Text "long" has 4 characters, but the data type holds at most 3$'):
        store[1] = "long"
    np.testing.assert_array_equal(zarr.open_array(tmp_path)[:], np.array(["ab", "c", "xyz"]))


def test_creates_sharded_big_endian_fixed_length_text(tmp_path: Path) -> None:
    codecs = [
        {
            "name": "sharding_indexed",
            "configuration": {
                "chunk_shape": [2],
                "codecs": [{"name": "bytes", "configuration": {"endian": "big"}}],
            },
        }
    ]
    data_type = {"name": "fixed_length_utf32", "configuration": {"length_bytes": 8}}
    store = ts.open(
        _spec(tmp_path, data_type=data_type, fill_value="hi", codecs=codecs), create=True, shape=[4]
    ).result()
    store[1:3] = ["é", "ab"]
    np.testing.assert_array_equal(zarr.open_array(tmp_path)[:], np.array(["hi", "é", "ab", "hi"]))


@pytest.mark.parametrize(
    "data_type",
    [
        {"name": "fixed_length_utf32", "configuration": {"length_bytes": 6}},
        {"name": "fixed_length_utf32"},
        {"name": "numpy.datetime64", "configuration": {"unit": "s", "scale_factor": 1}},
    ],
)
def test_unsupported_data_type_objects_are_named(tmp_path: Path, data_type: Any) -> None:
    with pytest.raises(ValueError, match=r'.*"data_type": Unsupported zarr v3 data type: \{"name":'):
        ts.open(_spec(tmp_path, data_type=data_type), create=True, shape=[4]).result()


@pytest.mark.parametrize("inner", [[], [{"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5, "shuffle": "shuffle", "typesize": 4, "blocksize": 0}}]])
def test_sharded_fixed_length_text(tmp_path: Path, inner: list[Any]) -> None:
    little = [{"name": "bytes", "configuration": {"endian": "little"}}]
    codecs = [
        {
            "name": "sharding_indexed",
            "configuration": {"chunk_shape": [1], "codecs": little + inner, "index_codecs": little},
        }
    ]
    data_type = {"name": "fixed_length_utf32", "configuration": {"length_bytes": 8}}
    store = ts.open(_spec(tmp_path, data_type=data_type, codecs=codecs), create=True, shape=[4]).result()
    for value in (["a", "b", "c", "d"], "z", np.array(["q", "r", "s", "t"])):
        store[...] = value
        expected = np.broadcast_to(np.asarray(value), (4,))
        np.testing.assert_array_equal(zarr.open_array(tmp_path)[:], expected)
        np.testing.assert_array_equal(store[1:3].read().result(), expected[1:3].astype(object))
    with pytest.raises(ValueError, match=r'^Text "toolong" has 7 characters, but the data type holds at most 2$'):
        store[...] = ["ok", "ok", "ok", "toolong"]
    np.testing.assert_array_equal(zarr.open_array(tmp_path)[:], np.array(["q", "r", "s", "t"]))


def test_one_character_fixed_text_and_sharded_text_fill_deletion(tmp_path: Path) -> None:
    zarr.create_array(tmp_path / "a", shape=(2,), dtype="<U1", zarr_format=3)
    store = ts.open(_spec(tmp_path / "a")).result()
    store[0] = "é"
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "a")[:], np.array(["é", ""]))
    sharded = ts.open(
        _spec(tmp_path / "b"),
        create=True,
        dtype=ts.string,
        shape=[4],
        fill_value=b"\0",
        chunk_layout=ts.ChunkLayout(read_chunk_shape=[2], write_chunk_shape=[4]),
    ).result()
    sharded[1] = b"x"
    assert (tmp_path / "b" / "c" / "0").exists()
    sharded[...] = b"\0"
    assert not (tmp_path / "b" / "c" / "0").exists()
