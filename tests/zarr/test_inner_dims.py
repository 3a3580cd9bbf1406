"""zarr v2 data types with inner dimensions: raw bytes (``|S4``, ``|V3``) and one-field structured types.

Each element of such a type is several values, which TensorStore exposes as
inner dimensions after the array's own (``|S4``: ``char`` with ``[0, 4)``).
Where tensorstore can run the same case, the test runs it there too and
compares what both show and store.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorstore

import tensortrio as ts
import zarr
from tensortrio.errors import FailedPreconditionError, InvalidArgumentError

SHAPE = [5, 4]
CHUNKS = [2, 3]

# (zarr dtype, TensorStore dtype, inner shape, NumPy dtype of the values)
TYPES: list[tuple[Any, str, tuple[int, ...], str]] = [
    ("|S4", "char", (4,), "S1"),
    ("<S3", "char", (3,), "S1"),
    ("|V3", "byte", (3,), "V1"),
    ([["x", "<u2"]], "uint16", (), "<u2"),
    ([["x", ">f4", [2, 3]]], "float32", (2, 3), "<f4"),
    ([["x", "|S2", [3]]], "char", (3, 2), "S1"),
]
COMPRESSORS: list[dict[str, Any] | None] = [
    None,
    {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": -1, "blocksize": 0},
    {"id": "zlib", "level": 3},
]


def _spec(path: str, dtype: Any, order: str = "C", compressor: Any = None, **metadata: Any) -> dict[str, Any]:
    return {
        "driver": "zarr",
        "kvstore": {"driver": "file", "path": path},
        "metadata": {
            "shape": SHAPE,
            "chunks": CHUNKS,
            "dtype": dtype,
            "order": order,
            "compressor": compressor,
            **metadata,
        },
    }


def _values(shape: tuple[int, ...], numpy_dtype: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    raw = rng.integers(1, 255, shape, dtype=np.uint8)
    if numpy_dtype in ("S1", "V1"):
        return raw.view(numpy_dtype)
    return rng.integers(1, 1000, shape).astype(numpy_dtype)


def _stored(path: str) -> dict[str, bytes]:
    kv = tensorstore.KvStore.open({"driver": "file", "path": path}).result()
    return {key.decode(): kv.read(key).result().value for key in kv.list().result()}


@pytest.mark.parametrize("compressor", COMPRESSORS, ids=["raw", "blosc", "zlib"])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize(("zarr_dtype", "name", "inner", "numpy_dtype"), TYPES, ids=str)
def test_written_like_tensorstore(
    tmp_path: Any, zarr_dtype: Any, name: str, inner: tuple[int, ...], numpy_dtype: str, order: str, compressor: Any
) -> None:
    """The same partial writes give the same schema, reads and stored bytes as tensorstore's."""
    ours = ts.open(_spec(f"{tmp_path}/ours/", zarr_dtype, order, compressor), create=True).result()
    theirs = tensorstore.open(_spec(f"{tmp_path}/theirs/", zarr_dtype, order, compressor), create=True).result()
    assert ours.dtype.name == name == theirs.dtype.name
    assert ours.domain.shape == theirs.domain.shape == (*SHAPE, *inner)
    assert ours.schema.to_json() == theirs.schema.to_json()
    assert {**ours.spec().to_json(), "kvstore": None} == {**theirs.spec().to_json(), "kvstore": None}
    model = np.zeros((*SHAPE, *inner), numpy_dtype)
    for seed, region in enumerate([np.s_[1:4, 0:3], np.s_[0, :], np.s_[3:5, 2:4]]):
        values = _values(model[region].shape, numpy_dtype, seed)
        model[region] = values
        ours[region].write(values).result()
        if numpy_dtype not in ("S1", "V1"):  # tensorstore's char/byte arrays are |S0 under NumPy 2
            theirs[region].write(values).result()
    np.testing.assert_array_equal(ours.read().result(), model)
    if numpy_dtype not in ("S1", "V1") and (compressor is None or compressor["id"] == "blosc"):
        # (zlib's bytes differ between the two libraries' zlib builds)
        assert _stored(f"{tmp_path}/ours/") == _stored(f"{tmp_path}/theirs/")
    # tensorstore reads what tensortrio wrote (as raw bytes for char/byte, see above).
    reopened = tensorstore.open(_spec(f"{tmp_path}/ours/", zarr_dtype, order, compressor)).result()
    assert reopened.domain.shape == (*SHAPE, *inner)
    if numpy_dtype not in ("S1", "V1"):
        np.testing.assert_array_equal(reopened.read().result(), model)
        # ... and tensortrio reads what tensorstore wrote.
        written = ts.open(_spec(f"{tmp_path}/theirs/", zarr_dtype, order, compressor)).result()
        np.testing.assert_array_equal(written.read().result(), model)


@pytest.mark.parametrize(("zarr_dtype", "numpy_dtype"), [("|S4", "S4"), ("|V3", "V3")])
def test_zarr_python_reads_and_writes_raw_bytes(tmp_path: Any, zarr_dtype: str, numpy_dtype: str) -> None:
    path = f"{tmp_path}/a/"
    store = ts.open(_spec(path, zarr_dtype, compressor={"id": "zlib", "level": 1}), create=True).result()
    size = np.dtype(numpy_dtype).itemsize
    values = _values((3, 2, size), "S1" if numpy_dtype[0] == "S" else "V1", 7)
    store[1:4, 1:3].write(values).result()
    theirs = zarr.open_array(path, mode="r+")
    read = theirs[...]
    assert read.dtype == np.dtype(numpy_dtype)
    np.testing.assert_array_equal(read[1:4, 1:3].view(np.uint8), values.view(np.uint8).reshape(3, 2 * size))
    theirs[0, 0] = np.frombuffer(b"wxyz"[:size], numpy_dtype)[0]
    assert store[0, 0].read().result().tobytes() == b"wxyz"[:size]


def test_zarr_python_short_string_fill_value(tmp_path: Any) -> None:
    """zarr-python stores a ``|S4`` fill value without its trailing zero bytes; it still opens."""
    path = f"{tmp_path}/s4"
    zarr.create_array(path, shape=(5,), chunks=(2,), dtype="S4", zarr_format=2, fill_value=b"ab", compressors=None)
    assert json.loads(Path(f"{path}/.zarray").read_text())["fill_value"] == "YWI="
    store = ts.open({"driver": "zarr", "kvstore": {"driver": "file", "path": path}}).result()
    assert store.fill_value.tobytes() == b"ab\0\0"
    assert store[4].read().result().tobytes() == b"ab\0\0"
    with pytest.raises(ValueError, match="Expected 4 base64-encoded bytes"):
        tensorstore.open({"driver": "zarr", "kvstore": {"driver": "file", "path": path}}).result()


def test_fill_value_base64(tmp_path: Any) -> None:
    fill = base64.b64encode(b"abcd").decode()
    store = ts.open(_spec(f"{tmp_path}/a/", "|S4", fill_value=fill), create=True).result()
    assert store.fill_value.tobytes() == b"abcd"
    assert store[2, 3].read().result().tobytes() == b"abcd"
    # A chunk written back to all fill values is not stored.
    store[0:2, 0:3].write(np.frombuffer(b"wxyz", "S1")).result()
    assert "0.0" in _stored(f"{tmp_path}/a/")
    store[0:2, 0:3].write(np.frombuffer(b"abcd", "S1")).result()
    assert "0.0" not in _stored(f"{tmp_path}/a/")
    struct = ts.open(
        {**_spec(f"{tmp_path}/b/", [["x", ">f4", [2]]], fill_value="P4AAAEAAAAA="), "field": "x"},
        create=True,
    ).result()
    np.testing.assert_array_equal(struct.fill_value, [1.0, 2.0])
    np.testing.assert_array_equal(struct[4, 3].read().result(), [1.0, 2.0])


def test_resize_changes_the_element_dimensions_only(tmp_path: Any) -> None:
    store = ts.open(_spec(f"{tmp_path}/a/", "|S4"), create=True).result()
    store[4, 3].write(np.frombuffer(b"abcd", "S1")).result()
    smaller = store.resize(exclusive_max=[3, 2, None]).result()
    assert smaller.domain.shape == (3, 2, 4)
    assert json.loads(Path(f"{tmp_path}/a/.zarray").read_text())["shape"] == [3, 2]
    assert sorted(_stored(f"{tmp_path}/a/")) == [".zarray"]
    with pytest.raises(ValueError, match="Cannot change explicit upper bound"):
        store.resize(exclusive_max=[None, None, 5]).result()


def test_field_member(tmp_path: Any) -> None:
    spec = {**_spec(f"{tmp_path}/a/", [["x", "<u2", [2]]]), "field": "x"}
    store = ts.open(spec, create=True).result()
    assert store.spec(minimal_spec=True).to_json()["field"] == "x"
    again = ts.open(store.spec(minimal_spec=True)).result()
    assert again.domain.shape == (5, 4, 2)
    with pytest.raises(FailedPreconditionError, match=r'^Requested field "y" is not one of: \["x"\]$'):
        ts.open({**spec, "field": "y"}).result()
    tensorstore.open(_spec(f"{tmp_path}/b/", "<u2"), create=True).result()
    with pytest.raises(
        FailedPreconditionError, match=r'^Requested field "y" but dtype does not have named fields$'
    ):
        ts.open({**_spec(f"{tmp_path}/b/", "<u2"), "field": "y"}).result()
    with pytest.raises(
        InvalidArgumentError, match=r'Requested field "y" but dtype does not have named fields$'
    ):
        ts.open({**_spec(f"{tmp_path}/c/", "<u2"), "field": "y"}, create=True).result()


def test_bytes_write_into_the_inner_dimension(tmp_path: Any) -> None:
    """``bytes`` and arrays of ``|S<n>`` write their bytes along a ``char`` array's inner dimension."""
    store = ts.open(_spec(f"{tmp_path}/a/", "|S3"), create=True).result()
    store[0, 0].write(b"xyz").result()
    store[1, 0:2].write(np.array([b"abc", b"de"])).result()
    assert store[0, 0].read().result().tobytes() == b"xyz"
    assert store[1, 0:2].read().result().tobytes() == b"abcde\0"
    assert store[0:2, 0].read().result().view("S3").ravel().tolist() == [b"xyz", b"abc"]
    with pytest.raises(
        InvalidArgumentError, match=r"source dimension 0 \[0, 4\) mismatch with target dimension 0 \[0, 3\)"
    ):
        store[0, 0].write(b"wxyz").result()


def test_bool_fill_bytes_are_stored_as_true(tmp_path: Any) -> None:
    """A nonzero fill byte of a boolean field is true, and stored as 1 (tensorstore reads no other)."""
    spec = _spec(f"{tmp_path}/a/", [["x", "|b1"]], fill_value="NQ==")
    store = ts.open(spec, create=True).result()
    assert json.loads(Path(f"{tmp_path}/a/.zarray").read_text())["fill_value"] == "AQ=="
    store[1, 0:2].write(False).result()
    assert _stored(f"{tmp_path}/a/")["0.0"][:6] == b"\x01\x01\x01\x00\x00\x01"
    theirs = tensorstore.open({"driver": "zarr", "kvstore": {"driver": "file", "path": f"{tmp_path}/a/"}}).result()
    np.testing.assert_array_equal(theirs.read().result(), store.read().result())


@pytest.mark.parametrize(
    ("field_shape", "shown"), [([1], ()), ([1, 2], (2,)), ([2, 1], (2, 1)), ([1, 1], ())]
)
def test_fill_value_shown_without_leading_unit_dimensions(
    tmp_path: Any, field_shape: list[int], shown: tuple[int, ...]
) -> None:
    fill = base64.b64encode(np.arange(1, 1 + int(np.prod(field_shape)), dtype="<f4").tobytes()).decode()
    spec = _spec(f"{tmp_path}/a/", [["x", "<f4", field_shape]], fill_value=fill)
    store = ts.open(spec, create=True).result()
    theirs = tensorstore.open({**spec, "kvstore": {"driver": "memory"}}, create=True).result()
    assert store.fill_value.shape == shown == theirs.fill_value.shape
    np.testing.assert_array_equal(store.fill_value, theirs.fill_value)
    assert store.schema.to_json()["fill_value"] == theirs.schema.to_json()["fill_value"]


@pytest.mark.parametrize("zarr_dtype", ["|S2", "|V2"])
def test_schema_json_of_raw_fill_values_is_refused_as_tensorstore(tmp_path: Any, zarr_dtype: str) -> None:
    """char and byte data has no JSON form: ``schema.to_json()`` says so rather than return bytes."""
    spec = _spec(f"{tmp_path}/a/", zarr_dtype, fill_value="YWI=")
    for lib in (ts, tensorstore):
        store = lib.open(spec, create=True, delete_existing=True).result()
        name = "char" if zarr_dtype == "|S2" else "byte"
        with pytest.raises(
            ValueError,
            match=rf'^Error converting object member "fill_value": Conversion from {name} to JSON is not implemented$',
        ):
            store.schema.to_json()
