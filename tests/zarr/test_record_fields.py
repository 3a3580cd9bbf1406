"""zarr v2 structured data types of several fields, opened one ``"field"`` at a time.

The records are stored packed; each field is a view with the field's data
type and its inner dimensions after the array's own. Where tensorstore can
run the same case, the test runs it there too and compares what both show,
read and store.
"""

from __future__ import annotations

import base64
import pickle
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorstore
import trio

import tensortrio as ts
import zarr
from tensortrio.errors import FailedPreconditionError, InvalidArgumentError

RECORD = [["a", "<i2"], ["b", ">f4", [2]], ["c", "|S3"], ["d", "|b1"]]
RECORD_DTYPE = np.dtype([("a", "<i2"), ("b", ">f4", (2,)), ("c", "S3"), ("d", "?")])
FILL = np.array((1, (0.5, -2.0), b"xy", True), RECORD_DTYPE)


def _metadata(**changes: Any) -> dict[str, Any]:
    metadata = {
        "zarr_format": 2,
        "shape": [5, 7],
        "chunks": [2, 3],
        "dtype": RECORD,
        "compressor": None,
        "fill_value": base64.b64encode(FILL.tobytes()).decode(),
        "order": "C",
        "filters": None,
    }
    metadata.update(changes)
    return metadata


def _spec(path: Any, field: str | None, **changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "driver": "zarr",
        "kvstore": {"driver": "file", "path": f"{path}/"},
        "metadata": _metadata(**changes),
    }
    if field is not None:
        spec["field"] = field
    return spec


def _stored(path: Any) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(Path(path).iterdir()) if p.name != ".zarray"}


def _writes(lib: Any, path: Any, context: Any) -> dict[str, Any]:
    """Create through field ``a``, write through every field, read every field back."""
    a = lib.open(_spec(path, "a"), create=True, context=context).result()
    opened = {
        name: lib.open(
            {"driver": "zarr", "kvstore": {"driver": "file", "path": f"{path}/"}, "field": name},
            context=context,
        ).result()
        for name in ("b", "c", "d")
    }
    opened["a"] = a
    a[1:4, 2:5].write(np.arange(9, dtype=np.int16).reshape(3, 3)).result()
    opened["b"][0:3, 1:6, 1].write(2.5).result()
    opened["b"][4, 6].write([7.0, 8.0]).result()
    opened["c"][2, 0:3].write(np.frombuffer(b"abcdefghi", "S1").reshape(3, 3)).result()
    opened["d"][::2, ::3].write(False).result()
    return {name: store.read().result() for name, store in sorted(opened.items())}


def test_fields_read_and_store_as_tensorstore(tmp_path: Any) -> None:
    """Writes through four fields of one record type: same values and same chunk bytes as tensorstore."""
    ours = _writes(ts, tmp_path / "tt", ts.Context())
    theirs = _writes(tensorstore, tmp_path / "ts", tensorstore.Context())
    # tensorstore 0.1.86 reads a char field of such records as empty ``|S0`` values
    # (it stores them right): the stored bytes are compared below.
    assert theirs.pop("c").dtype == np.dtype("S0")
    expected_c = np.frombuffer(FILL.tobytes()[10:13] * 35, "S1").reshape(5, 7, 3).copy()
    expected_c[2, 0:3] = np.frombuffer(b"abcdefghi", "S1").reshape(3, 3)
    np.testing.assert_array_equal(ours.pop("c"), expected_c)
    for name in ours:
        assert ours[name].dtype == theirs[name].dtype, name
        np.testing.assert_array_equal(ours[name], theirs[name])
    assert _stored(tmp_path / "tt") == _stored(tmp_path / "ts")
    # Each reads what the other stored.
    for name in ours:
        spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": f"{tmp_path}/ts/"}, "field": name}
        np.testing.assert_array_equal(ts.open(spec).result().read().result(), theirs[name])
        spec["kvstore"]["path"] = f"{tmp_path}/tt/"
        np.testing.assert_array_equal(tensorstore.open(spec).result().read().result(), ours[name])


def test_each_field_is_a_view_with_its_type_and_inner_dimensions(tmp_path: Any) -> None:
    """dtype, domain, fill value, schema, chunk layout and spec as tensorstore shows them."""
    ts.open(_spec(tmp_path / "tt", "a"), create=True).result()
    tensorstore.open(_spec(tmp_path / "ts", "a"), create=True).result()
    for name in ("a", "b", "c", "d"):
        ours = ts.open({"driver": "zarr", "kvstore": {"driver": "file", "path": f"{tmp_path}/tt/"}, "field": name}).result()
        theirs = tensorstore.open(
            {"driver": "zarr", "kvstore": {"driver": "file", "path": f"{tmp_path}/ts/"}, "field": name}
        ).result()
        assert ours.dtype.name == theirs.dtype.name
        assert str(ours.domain) == str(theirs.domain)
        if name != "c":  # tensorstore shows a char field's values as empty |S0 (see above)
            np.testing.assert_array_equal(ours.fill_value, theirs.fill_value)
            assert ours.schema.to_json() == theirs.schema.to_json()
        assert ours.chunk_layout.to_json() == theirs.chunk_layout.to_json()
        spec_ours, spec_theirs = ours.spec().to_json(), theirs.spec().to_json()
        for spec in (spec_ours, spec_theirs):
            spec["kvstore"].pop("path")
        assert spec_ours == spec_theirs


def test_writes_to_several_fields_of_one_chunk_coalesce_and_keep_each_other(tmp_path: Any) -> None:
    """Concurrent writes of two fields into one chunk: one writeback, neither field lost."""
    context = ts.Context()
    a = ts.open(_spec(tmp_path, "a", fill_value=None), create=True, context=context).result()
    b = ts.open({**_spec(tmp_path, "b", fill_value=None)}, context=context).result()
    cache = a._driver.base.cache
    assert cache is b._driver.base.cache  # one cache of records per array and context
    before = cache.statistics().writebacks

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for i in range(2):
                for j in range(3):
                    nursery.start_soon(_write, a[i, j], i * 3 + j)
                    nursery.start_soon(_write, b[i, j], [i, j])

    trio.run(main)
    # Twelve writes: the first starts a writeback, the rest coalesce into the next one.
    statistics = cache.statistics()
    assert statistics.writebacks - before <= 2
    assert statistics.coalesced_writes >= 10
    np.testing.assert_array_equal(a[0:2, 0:3].read().result(), np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(b[0:2, 0:3].read().result(), np.indices((2, 3)).transpose(1, 2, 0))
    # Every field's part of every record written is stored; the others keep null fill (zeros).
    stored = np.frombuffer(_stored(tmp_path)["0.0"], RECORD_DTYPE).reshape(2, 3)
    np.testing.assert_array_equal(stored["a"], np.arange(6).reshape(2, 3))
    assert stored["c"].tolist() == [[b""] * 3] * 2


async def _write(view: Any, value: Any) -> None:
    await view.write(value)


def test_a_field_write_keeps_another_writers_fields(tmp_path: Any) -> None:
    """A whole-chunk write of one field keeps what tensorstore stored in the other fields."""
    theirs = tensorstore.open(_spec(tmp_path, "b"), create=True).result()
    theirs[0:2, 0:3].write(np.full((2, 3, 2), 9.0, np.float32)).result()
    ours = ts.open({"driver": "zarr", "kvstore": {"driver": "file", "path": f"{tmp_path}/"}, "field": "a"}).result()
    ours[0:2, 0:3].write(np.int16(-4)).result()
    b = tensorstore.open({"driver": "zarr", "kvstore": {"driver": "file", "path": f"{tmp_path}/"}, "field": "b"}).result()
    np.testing.assert_array_equal(b[0:2, 0:3].read().result(), np.full((2, 3, 2), 9.0))
    np.testing.assert_array_equal(ours[0:2, 0:3].read().result(), np.full((2, 3), -4))


def test_indexing_a_field_with_inner_dimensions(tmp_path: Any) -> None:
    """oindex, vindex and strided views of a field's inner dimension read what NumPy would."""
    b = ts.open(_spec(tmp_path, "b"), create=True).result()
    values = np.arange(70, dtype=np.float32).reshape(5, 7, 2)
    b.write(values).result()
    np.testing.assert_array_equal(b[..., 1].read().result(), values[..., 1])
    np.testing.assert_array_equal(b.oindex[[0, 4], [1, 6], :].read().result(), values[np.ix_([0, 4], [1, 6])])
    np.testing.assert_array_equal(b.vindex[[0, 4], [1, 6], [1, 0]].read().result(), values[[0, 4], [1, 6], [1, 0]])
    np.testing.assert_array_equal(b[::-2, 1::3].read().result(), values[::-2, 1::3])
    b.vindex[[1, 3], [2, 2], [0, 1]].write([-1, -2]).result()
    values[[1, 3], [2, 2], [0, 1]] = [-1, -2]
    np.testing.assert_array_equal(b.read().result(), values)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("compressor", [None, {"id": "zlib", "level": 1}, {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}])
def test_orders_and_compressors_match_tensorstore(tmp_path: Any, order: str, compressor: Any) -> None:
    changes = {"order": order, "compressor": compressor}
    for lib, where in ((ts, "tt"), (tensorstore, "ts")):
        b = lib.open(_spec(tmp_path / where, "b", **changes), create=True).result()
        b[1:5, 2:7].write(np.arange(40, dtype=np.float32).reshape(4, 5, 2)).result()
        c = lib.open({"driver": "zarr", "kvstore": {"driver": "file", "path": f"{tmp_path / where}/"}, "field": "c"}).result()
        c[0, :, 1].write(b"q").result()
    ours, theirs = _stored(tmp_path / "tt"), _stored(tmp_path / "ts")
    if compressor is not None and compressor["id"] == "zlib":
        # (zlib's bytes differ between the two libraries' zlib builds)
        ours = {k: zlib.decompress(v) for k, v in ours.items()}
        theirs = {k: zlib.decompress(v) for k, v in theirs.items()}
    assert ours == theirs


def test_open_errors_name_the_field(tmp_path: Any) -> None:
    """As tensorstore: a field must be named, must exist, and the schema constrains its view."""
    tensorstore.open(_spec(tmp_path, "a"), create=True).result()
    path = {"driver": "zarr", "kvstore": {"driver": "file", "path": f"{tmp_path}/"}}
    with pytest.raises(FailedPreconditionError, match=r'^.*Must specify a "field" that is one of: \["a","b","c","d"\]$'):
        ts.open(path).result()
    with pytest.raises(FailedPreconditionError, match=r'Requested field "e" is not one of: \["a","b","c","d"\]'):
        ts.open({**path, "field": "e"}).result()
    with pytest.raises(FailedPreconditionError, match=r"dtype from metadata \(float32\) does not match dtype in schema \(int32\)"):
        ts.open({**path, "field": "b"}, dtype=ts.int32).result()
    with pytest.raises(FailedPreconditionError, match=r"Rank is 3, but schema specifies rank of 2"):
        ts.open({**path, "field": "b"}, rank=2).result()
    assert ts.open({**path, "field": "b"}, rank=3, dtype=ts.float32).result().shape == (5, 7, 2)
    new = _spec(tmp_path / "new", "a")
    del new["metadata"]["fill_value"]
    with pytest.raises(
        InvalidArgumentError,
        match=r"Invalid fill_value: Cannot specify fill_value through schema for structured zarr data type",
    ):
        ts.open(new, create=True, fill_value=5).result()
    with pytest.raises(
        InvalidArgumentError, match=r"schema requires fill value of 5, but metadata specifies no fill value"
    ):
        ts.open(_spec(tmp_path / "new", "a", fill_value=None), create=True, fill_value=5).result()
    del new["metadata"]["dtype"]
    with pytest.raises(
        InvalidArgumentError, match=r'"dtype" must be specified in "metadata" if "field" is specified'
    ):
        ts.open(new, create=True, dtype=ts.int16).result()
    assert not (tmp_path / "new").exists()


def test_transaction_stages_fields_in_the_records(tmp_path: Any) -> None:
    """Two fields written in a transaction: seen through it, stored together at commit, or not at all."""
    a = ts.open(_spec(tmp_path, "a"), create=True).result()
    b = ts.open({"driver": "zarr", "kvstore": {"driver": "file", "path": f"{tmp_path}/"}, "field": "b"}).result()
    txn = ts.Transaction()
    a.with_transaction(txn)[0, 0:2].write([5, 6]).result()
    b.with_transaction(txn)[0, 1].write([1.5, 2.5]).result()
    np.testing.assert_array_equal(a.with_transaction(txn)[0, 0:3].read().result(), [5, 6, 1])
    np.testing.assert_array_equal(b.with_transaction(txn)[0, 0:2].read().result(), [[0.5, -2.0], [1.5, 2.5]])
    assert _stored(tmp_path) == {}
    txn.commit_sync()
    theirs = tensorstore.open({"driver": "zarr", "kvstore": {"driver": "file", "path": f"{tmp_path}/"}, "field": "b"}).result()
    np.testing.assert_array_equal(theirs[0, 1].read().result(), [1.5, 2.5])
    aborted = ts.Transaction()
    a.with_transaction(aborted)[0, 0].write(0).result()
    aborted.abort()
    assert a[0, 0].read().result() == 5


def test_resize_through_a_field(tmp_path: Any) -> None:
    """As tensorstore: the array's dimensions resize through any field with ``resize_tied_bounds``
    (every field changes); the field's inner dimensions never do."""
    b = ts.open(_spec(tmp_path, "b"), create=True).result()
    b.write(np.ones((5, 7, 2), np.float32)).result()
    for options in ({}, {"expand_only": True}):
        with pytest.raises(
            FailedPreconditionError,
            match=r"^Resize operation would affect other fields but `resize_tied_bounds` was not specified$",
        ):
            b.resize(exclusive_max=[5, 9, None], **options).result()
    resized = b.resize(exclusive_max=[3, 9, None], resize_tied_bounds=True).result()
    assert resized.shape == (3, 9, 2)
    theirs = tensorstore.open({"driver": "zarr", "kvstore": {"driver": "file", "path": f"{tmp_path}/"}, "field": "a"}).result()
    assert theirs.shape == (3, 9)
    for inner in (3, 2):
        with pytest.raises(
            InvalidArgumentError,
            match=r"^Invalid resize request for input dimension 2: Cannot change explicit upper bound$",
        ):
            b.resize(exclusive_max=[None, None, inner], resize_tied_bounds=True).result()


def test_pickled_field_view_reopens_the_field(tmp_path: Any) -> None:
    b = ts.open(_spec(tmp_path, "b"), create=True).result()
    b[1, 1].write([3.0, 4.0]).result()
    again = pickle.loads(pickle.dumps(b[1:3]))
    np.testing.assert_array_equal(again[1, 1].read().result(), [3.0, 4.0])
    assert again.dtype == ts.float32


def test_zarr_python_reads_our_records_and_we_read_its(tmp_path: Any) -> None:
    """Scalar fields both ways (zarr-python 3.1 does not round-trip fields with a shape)."""
    dtype = np.dtype([("x", "<i4"), ("y", "<f8")])
    fill = np.zeros((), dtype)
    meta = _metadata(dtype=[["x", "<i4"], ["y", "<f8"]], fill_value=base64.b64encode(fill.tobytes()).decode())
    spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": f"{tmp_path}/ours/"}, "metadata": meta}
    x = ts.open({**spec, "field": "x"}, create=True).result()
    y = ts.open({**spec, "field": "y"}).result()
    x[1:3, 2:6].write(np.arange(8, dtype=np.int32).reshape(2, 4)).result()
    y[0:5, 5].write(0.25).result()
    records = zarr.open_array(str(tmp_path / "ours"), mode="r")[...]
    np.testing.assert_array_equal(records["x"], x.read().result())
    np.testing.assert_array_equal(records["y"], y.read().result())

    theirs = zarr.create_array(
        str(tmp_path / "theirs"),
        shape=(5, 7),
        chunks=(2, 3),
        dtype=dtype,
        zarr_format=2,
        compressors=None,
        fill_value=fill.tobytes(),
        config={"write_empty_chunks": True},
    )
    values = np.zeros((5, 7), dtype)
    values["x"] = np.arange(35).reshape(5, 7)
    values["y"] = -np.arange(35).reshape(5, 7) / 4
    theirs[...] = values
    for name in ("x", "y"):
        view = ts.open({"driver": "zarr", "kvstore": {"driver": "file", "path": f"{tmp_path}/theirs/"}, "field": name}).result()
        np.testing.assert_array_equal(view.read().result(), values[name])
