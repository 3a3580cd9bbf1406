"""zarr v2 text and bytes: ``"|O"`` with the ``vlen-utf8`` or ``vlen-bytes`` filter, and ``"<U<n>"``.

zarr-python writes ``"|O"`` for ``dtype=str`` (and its variable-length bytes
type), and ``"<U<n>"`` for arrays of NumPy strings; tensorstore has none of
these, so the other library here is zarr-python, both ways.
"""

from __future__ import annotations

import json
import pickle
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import tensortrio as ts
import zarr
from tensortrio.errors import DataLossError, InvalidArgumentError

if TYPE_CHECKING:
    from pathlib import Path

TEXT = np.array([["a", "", "héllo"], ["x" * 300, "日本", "z"]], dtype=object)


def _spec(path: Path, **metadata: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"driver": "zarr", "kvstore": {"driver": "file", "path": f"{path}/"}}
    if metadata:
        spec["metadata"] = metadata
    return spec


def _zarray(path: Path) -> dict[str, Any]:
    return json.loads((path / ".zarray").read_text())


def _chunks(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if not p.name.startswith("."))


def test_reads_and_writes_what_zarr_python_writes_for_str(tmp_path: Path) -> None:
    theirs = zarr.create_array(tmp_path / "a", shape=(4, 3), chunks=(2, 2), dtype=str, zarr_format=2)
    theirs[:2] = TEXT
    store = ts.open(_spec(tmp_path / "a")).result()
    assert store.dtype == ts.ustring
    assert store.fill_value == ""
    assert store.spec().to_json()["metadata"]["filters"] == [{"id": "vlen-utf8"}]
    expected = np.concatenate([TEXT, np.full((2, 3), "", dtype=object)])
    np.testing.assert_array_equal(store.read().result(), expected)
    store[3, 1:] = ["wrote", "ünïcode"]
    expected[3, 1:] = ["wrote", "ünïcode"]
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "a")[:], expected.astype(str))


@pytest.mark.parametrize("order", ["C", "F"])
def test_created_text_is_read_by_zarr_python(tmp_path: Path, order: str) -> None:
    store = ts.open(
        _spec(tmp_path, order=order),
        create=True,
        dtype=ts.ustring,
        shape=[5, 3],
        chunk_layout=ts.ChunkLayout(chunk_shape=[2, 2]),
    ).result()
    store[1:3] = TEXT
    assert _zarray(tmp_path)["dtype"] == "|O"
    assert _zarray(tmp_path)["filters"] == [{"id": "vlen-utf8"}]
    assert _zarray(tmp_path)["fill_value"] is None
    expected = np.full((5, 3), "", dtype=object)
    expected[1:3] = TEXT
    np.testing.assert_array_equal(zarr.open_array(tmp_path)[:], expected.astype(str))
    np.testing.assert_array_equal(ts.open(_spec(tmp_path)).result().read().result(), expected)


def test_bytes_round_trip_with_zarr_python_and_base64_fill_value(tmp_path: Path) -> None:
    store = ts.open(
        _spec(tmp_path), create=True, dtype=ts.string, shape=[3, 2], fill_value=b"q\0"
    ).result()
    store[1] = [b"\0\xffraw", b""]
    metadata = _zarray(tmp_path)
    assert (metadata["dtype"], metadata["filters"], metadata["fill_value"]) == (
        "|O",
        [{"id": "vlen-bytes"}],
        "cQA=",
    )
    expected = np.array([[b"q\0"] * 2, [b"\0\xffraw", b""], [b"q\0"] * 2], dtype=object)
    np.testing.assert_array_equal(zarr.open_array(tmp_path)[:], expected)
    theirs = zarr.open_array(tmp_path, mode="r+")
    theirs[2, :1] = np.array([b"from zarr"], dtype=object)
    expected[2, 0] = b"from zarr"
    reopened = ts.open(_spec(tmp_path)).result()
    assert reopened.dtype == ts.string
    np.testing.assert_array_equal(reopened.read().result(), expected)


def test_chunks_equal_to_the_fill_value_are_deleted(tmp_path: Path) -> None:
    store = ts.open(
        _spec(tmp_path), create=True, dtype=ts.ustring, shape=[4], fill_value="-",
        chunk_layout=ts.ChunkLayout(chunk_shape=[2]),
    ).result()
    store[...] = ["a", "b", "c", "d"]
    assert _chunks(tmp_path) == ["0", "1"]
    store[:2] = "-"
    assert _chunks(tmp_path) == ["1"]
    np.testing.assert_array_equal(store.read().result(), np.array(["-", "-", "c", "d"], object))


def test_schema_spec_pickle_transaction_and_resize(tmp_path: Path) -> None:
    store = ts.open(_spec(tmp_path), create=True, dtype=ts.ustring, shape=[3]).result()
    assert store.schema.dtype == ts.ustring
    assert store.codec.to_json()["filters"] == [{"id": "vlen-utf8"}]
    again = pickle.loads(pickle.dumps(store))
    with ts.Transaction() as txn:
        again.with_transaction(txn)[1] = "staged"
        assert store.read().result()[1] == ""
        np.testing.assert_array_equal(
            again.with_transaction(txn).read().result(), np.array(["", "staged", ""], object)
        )
    resized = store.resize(exclusive_max=[5]).result()
    resized[4] = "end"
    np.testing.assert_array_equal(
        resized.read().result(), np.array(["", "staged", "", "", "end"], object)
    )


def test_metadata_dtype_without_filters_takes_the_schema_type(tmp_path: Path) -> None:
    store = ts.open(
        _spec(tmp_path, dtype="|O", shape=[2]), create=True, dtype=ts.string
    ).result()
    assert store.dtype == ts.string
    assert _zarray(tmp_path)["filters"] == [{"id": "vlen-bytes"}]
    spec = ts.Spec(_spec(tmp_path, dtype="|O", filters=[{"id": "vlen-bytes"}]))
    assert spec.dtype == ts.string


def test_refused_inputs_leave_stored_data_as_it_was(tmp_path: Path) -> None:
    store = ts.open(_spec(tmp_path), create=True, dtype=ts.ustring, shape=[2]).result()
    store[...] = ["kept", "too"]
    with pytest.raises(TypeError, match=r"^bad argument type for built-in operation$"):
        store[0] = 5
    with pytest.raises(UnicodeEncodeError, match=r"surrogates not allowed"):
        store[0] = "\ud800"
    np.testing.assert_array_equal(store.read().result(), np.array(["kept", "too"], object))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"filters": None},
            r'.*"filters": zarr dtype "\|O" needs an object codec '
            r'as its first filter: "vlen-utf8" \(text\) or "vlen-bytes" \(bytes\); '
            r"tensortrio supports no other, but the first filter is null",
        ),
        (
            {"filters": [{"id": "zlib", "level": 1}, {"id": "vlen-utf8"}]},
            r'.*but the first filter is "zlib"$',
        ),
        ({"fill_value": 3}, r'.*"fill_value": Expected string, but received: 3$'),
        (
            {"dtype": [["a", "|O"], ["b", "<i2"]]},
            r'.*"dtype": Error parsing value at position 0: Error parsing value at position 1: '
            r'Unsupported zarr dtype: "\|O"$',
        ),
    ],
)
def test_bad_metadata_names_the_member(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    metadata = {
        "zarr_format": 2,
        "shape": [2],
        "chunks": [2],
        "dtype": "|O",
        "compressor": None,
        "fill_value": "",
        "order": "C",
        "filters": [{"id": "vlen-utf8"}],
        **changes,
    }
    tmp_path.joinpath(".zarray").write_text(json.dumps(metadata))
    with pytest.raises(DataLossError, match=message):
        ts.open(_spec(tmp_path)).result()


def test_schema_type_must_match_the_object_codec(tmp_path: Path) -> None:
    ts.open(_spec(tmp_path), create=True, dtype=ts.string, shape=[2]).result()
    with pytest.raises(ValueError, match=r"dtype"):
        ts.open(_spec(tmp_path), dtype=ts.ustring).result()


def test_corrupt_chunk_is_a_data_loss_error(tmp_path: Path) -> None:
    store = ts.open(
        _spec(tmp_path, compressor=None), create=True, dtype=ts.ustring, shape=[2]
    ).result()
    store[...] = ["a", "b"]
    # One element where the chunk has two.
    (tmp_path / "0").write_bytes(b"\x01\x00\x00\x00\x01\x00\x00\x00a")
    with pytest.raises(DataLossError, match=r"Chunk has 1 elements, but should have 2"):
        store.read().result()


@pytest.mark.parametrize("typestr", ["<U3", ">U3"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_fixed_length_text_both_ways(tmp_path: Path, typestr: str, order: str) -> None:
    data = np.array([["ab", "c"], ["déf", ""], ["x", "yz"]], dtype=typestr)
    zarr.create_array(tmp_path, data=data, chunks=(2, 1), zarr_format=2, order=order)
    store = ts.open(_spec(tmp_path)).result()
    assert (store.dtype, store.fill_value) == (ts.ustring, "")
    np.testing.assert_array_equal(store.read().result(), data.astype(object))
    store[2] = ["new", ""]
    data[2] = ["new", ""]
    assert _zarray(tmp_path)["dtype"] == typestr
    np.testing.assert_array_equal(zarr.open_array(tmp_path)[:], data)


def test_fixed_length_text_longer_than_the_type_is_refused(tmp_path: Path) -> None:
    store = ts.open(
        _spec(tmp_path, dtype="<U2", fill_value="ab"), create=True, shape=[3]
    ).result()
    assert store.dtype == ts.ustring
    store[0] = "é"
    with pytest.raises(
        InvalidArgumentError,
        match=r'^Text "long" has 4 characters, but the data type holds at most 2$',
    ):
        store[1:] = ["ok", "long"]
    np.testing.assert_array_equal(store.read().result(), np.array(["é", "ab", "ab"], object))
    np.testing.assert_array_equal(zarr.open_array(tmp_path)[:], np.array(["é", "ab", "ab"]))
    with pytest.raises(InvalidArgumentError, match=r'.*Text "abc" has 3 characters'):
        ts.open(_spec(tmp_path / "b", dtype="<U2", fill_value="abc"), create=True, shape=[3]).result()


@pytest.mark.parametrize(("dtype", "value"), [(ts.ustring, "x"), (ts.string, b"x")])
def test_a_scalar_fills_a_one_element_chunk(tmp_path: Path, dtype: ts.dtype, value: Any) -> None:
    store = ts.open(
        _spec(tmp_path), create=True, dtype=dtype, shape=[2], chunk_layout=ts.ChunkLayout(chunk_shape=[1])
    ).result()
    store[0] = value
    store[1:2] = value  # a broadcast (read-only) source
    assert store.read().result().tolist() == [value, value]
    rank0 = ts.open(_spec(tmp_path / "r0"), create=True, dtype=dtype, shape=[]).result()
    rank0[...] = value
    assert rank0.read().result() == value


def test_one_character_text_and_the_null_fill_value(tmp_path: Path) -> None:
    zarr.create_array(tmp_path / "a", shape=(2,), dtype="<U1", zarr_format=2)
    store = ts.open(_spec(tmp_path / "a")).result()
    store[0] = "é"
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "a")[:], np.array(["é", ""]))
    # No fill value (null): unwritten text reads as "", as zarr-python reads it.
    created = ts.open(_spec(tmp_path / "b", dtype="<U3"), create=True, dtype=ts.ustring, shape=[2]).result()
    assert _zarray(tmp_path / "b")["fill_value"] is None
    assert created.read().result().tolist() == ["", ""]


def test_too_long_text_is_refused_before_any_chunk_changes(tmp_path: Path) -> None:
    store = ts.open(
        _spec(tmp_path, dtype="<U2"), create=True, shape=[4], fill_value="",
        chunk_layout=ts.ChunkLayout(chunk_shape=[2]),
    ).result()
    with pytest.raises(InvalidArgumentError, match=r'^Text "toolong" has 7 characters'):
        store.write(["ok", "ok", "ok", "toolong"])
    assert store.read().result().tolist() == ["", "", "", ""]
    assert _chunks(tmp_path) == []


@pytest.mark.parametrize("fill", ["a\0", "\0"])
def test_fill_values_ending_in_nul_are_recognised(tmp_path: Path, fill: str) -> None:
    store = ts.open(
        _spec(tmp_path), create=True, dtype=ts.ustring, shape=[4], fill_value=fill,
        chunk_layout=ts.ChunkLayout(chunk_shape=[2]),
    ).result()
    store[1] = "x"
    assert _chunks(tmp_path) == ["0"]
    store[...] = fill
    assert _chunks(tmp_path) == []


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"filters": [{"id": "vlen-utf8"}]}, r'.*filter "vlen-utf8" encodes the objects of zarr dtype "\|O", not "<i4"$'),
        (
            {"dtype": "|O", "filters": [{"id": "vlen-bytes"}, {"id": "vlen-utf8"}]},
            r'.*zarr dtype "\|O" takes one object codec, but the filters have 2: \["vlen-bytes","vlen-utf8"\]$',
        ),
    ],
)
def test_object_codecs_only_for_one_object_type(tmp_path: Path, metadata: dict[str, Any], message: str) -> None:
    dtype = ts.string if "dtype" in metadata else ts.int32
    with pytest.raises(InvalidArgumentError, match=message):
        ts.open(_spec(tmp_path, **metadata), create=True, dtype=dtype, shape=[2]).result()
    assert not (tmp_path / ".zarray").exists()


@pytest.mark.parametrize("fill", ["", "f"])
def test_rank_0_text(tmp_path: Path, fill: str) -> None:
    store = ts.open(_spec(tmp_path), create=True, dtype=ts.ustring, shape=[], fill_value=fill).result()
    store[...] = "x"
    assert _chunks(tmp_path) == ["0"]
    store[...] = fill
    assert _chunks(tmp_path) == []
    assert store.read().result() == fill
