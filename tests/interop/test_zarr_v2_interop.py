"""Arrays written by tensortrio are read by tensorstore and zarr-python, and the reverse.

File kvstore; several dtypes, compressors, memory orders and key separators.
"""

from __future__ import annotations

from typing import Any

import numcodecs
import numpy as np
import pytest
import tensorstore

import tensortrio as ts
import zarr

SHAPE = (7, 9)
CHUNKS = [3, 4]

# (dtype, compressor JSON or None, order, separator)
CASES: list[tuple[str, dict[str, Any] | None, str, str]] = [
    ("|u1", {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": -1, "blocksize": 0}, "C", "."),
    ("<i2", {"id": "zlib", "level": 3}, "F", "/"),
    ("<i4", None, "C", "/"),
    (">i8", {"id": "gzip", "level": 5}, "F", "."),
    ("<f4", {"id": "zstd", "level": 1}, "C", "."),
    (">f8", {"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2, "blocksize": 0}, "C", "/"),
    ("<c8", {"id": "bz2", "level": 9}, "F", "."),
    ("|b1", None, "F", "/"),
    ("<u2", {"id": "lzma", "preset": 1, "format": 1, "check": -1, "filters": None}, "C", "."),
    ("<i8", {"id": "lz4", "acceleration": 3}, "F", "/"),
]


def _data(dtype: str) -> np.ndarray:
    rng = np.random.default_rng(sum(map(ord, dtype)))
    np_dtype = np.dtype(dtype)
    if np_dtype.kind == "b":
        return rng.random(SHAPE) > 0.5
    if np_dtype.kind == "c":
        return (rng.random(SHAPE) + 1j * rng.random(SHAPE)).astype(np_dtype)
    if np_dtype.kind == "f":
        return rng.standard_normal(SHAPE).astype(np_dtype)
    info = np.iinfo(np_dtype)
    return rng.integers(info.min, info.max, SHAPE, endpoint=True, dtype=np_dtype.newbyteorder("="))


def _metadata(dtype: str, compressor: dict[str, Any] | None, order: str, sep: str) -> dict[str, Any]:
    return {
        "chunks": CHUNKS,
        "dtype": dtype,
        "compressor": compressor,
        "order": order,
        "dimension_separator": sep,
    }


@pytest.mark.parametrize(("dtype", "compressor", "order", "sep"), CASES)
def test_tensortrio_writes_others_read(
    tmp_path: Any, dtype: str, compressor: dict[str, Any] | None, order: str, sep: str
) -> None:
    path = f"{tmp_path}/arr/"
    spec = {
        "driver": "zarr",
        "kvstore": {"driver": "file", "path": path},
        "metadata": _metadata(dtype, compressor, order, sep),
    }
    data = _data(dtype)
    store = ts.open(spec, create=True, shape=SHAPE).result()
    # Partial, unaligned writes, then one more overwrite through a strided view.
    store[1:6, 2:8].write(data[1:6, 2:8]).result()
    store[::2].write(data[::2]).result()
    store[:, 1::3].write(data[:, 1::3]).result()
    expected = np.zeros(SHAPE, data.dtype)
    expected[1:6, 2:8] = data[1:6, 2:8]
    expected[::2] = data[::2]
    expected[:, 1::3] = data[:, 1::3]

    if compressor is None or compressor["id"] not in ("lzma", "lz4"):  # tensorstore has neither
        theirs = tensorstore.open(
            {"driver": "zarr", "kvstore": {"driver": "file", "path": path}}
        ).result()
        np.testing.assert_array_equal(theirs.read().result(), expected)
        assert theirs.dtype.name == store.dtype.name
    array = zarr.open_array(path, mode="r")
    np.testing.assert_array_equal(array[...], expected)
    assert array.order == order


def _zarr_compressor(compressor: dict[str, Any] | None) -> Any:
    return None if compressor is None else numcodecs.get_codec(compressor)


@pytest.mark.parametrize(("dtype", "compressor", "order", "sep"), CASES)
def test_zarr_python_writes_tensortrio_reads(
    tmp_path: Any, dtype: str, compressor: dict[str, Any] | None, order: str, sep: str
) -> None:
    path = f"{tmp_path}/z"
    data = _data(dtype)
    array = zarr.create_array(
        path,
        shape=SHAPE,
        chunks=tuple(CHUNKS),
        dtype=dtype,
        zarr_format=2,
        compressors=_zarr_compressor(compressor),
        order=order,  # type: ignore[arg-type]
        chunk_key_encoding={"name": "v2", "separator": sep},
        fill_value=data.flat[0],
    )
    array[1:, :5] = data[1:, :5]
    expected = np.full(SHAPE, data.flat[0], data.dtype)
    expected[1:, :5] = data[1:, :5]
    store = ts.open({"driver": "zarr", "kvstore": {"driver": "file", "path": path}}).result()
    np.testing.assert_array_equal(store.read().result(), expected)
    # And tensortrio's writes into zarr-python's array read back in zarr-python.
    store[0].write(data[0]).result()
    expected[0] = data[0]
    np.testing.assert_array_equal(zarr.open_array(path, mode="r")[...], expected)


@pytest.mark.parametrize(("dtype", "compressor", "order", "sep"), CASES[:4])
def test_tensorstore_writes_tensortrio_reads(
    tmp_path: Any, dtype: str, compressor: dict[str, Any] | None, order: str, sep: str
) -> None:
    path = f"{tmp_path}/t/"
    spec = {
        "driver": "zarr",
        "kvstore": {"driver": "file", "path": path},
        "metadata": _metadata(dtype, compressor, order, sep),
    }
    data = _data(dtype)
    theirs = tensorstore.open(spec, create=True, shape=SHAPE).result()
    theirs[2:, 3:].write(data[2:, 3:]).result()
    expected = np.zeros(SHAPE, data.dtype)
    expected[2:, 3:] = data[2:, 3:]
    ours = ts.open({"driver": "zarr", "kvstore": {"driver": "file", "path": path}}).result()
    assert ours.spec().to_json() == theirs.spec().to_json()
    np.testing.assert_array_equal(ours.read().result(), expected)
    ours[0, :].write(data[0]).result()
    expected[0] = data[0]
    np.testing.assert_array_equal(theirs.read().result(), expected)
