"""Reads and writes of a box inside one chunk take a direct path (chunked_io._one_chunk_part): same results."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tensortrio as ts
from tensortrio.drivers.chunked_io import _one_chunk_part

DATA = np.arange(64 * 48, dtype=np.uint16).reshape(64, 48)
VIEWS: list[Any] = [
    (slice(16, 32), slice(0, 16)),  # a whole chunk
    (slice(17, 19), slice(3, 9)),  # part of one
    (5, slice(0, 10)),  # an integer term (a constant map)
    (slice(0, 3), 47),
    (slice(10, 30), slice(0, 4)),  # two chunks: the general path
    (slice(3, 9, 2), slice(0, 4)),  # a stride: the general path
]


@pytest.fixture(params=["zarr", "zarr3", "zarr3 sharded"])
def store(request: Any) -> Any:
    driver = request.param.split()[0]
    layout = (
        ts.ChunkLayout(read_chunk_shape=[16, 16], write_chunk_shape=[32, 48])
        if request.param.endswith("sharded")
        else ts.ChunkLayout(chunk_shape=[16, 16])
    )
    store = ts.open(
        {"driver": driver, "kvstore": {"driver": "memory"}},
        create=True,
        dtype=ts.uint16,
        shape=[64, 48],
        chunk_layout=layout,
        context=ts.Context(),
    ).result()
    store.write(DATA).result()
    return store


@pytest.mark.parametrize("view", VIEWS)
def test_reads_agree_with_numpy(store: Any, view: Any) -> None:
    out = store[view].read().result()
    assert np.array_equal(out, DATA[view])
    assert out.flags.c_contiguous
    assert out.flags.writeable


def test_translated_and_transposed_views(store: Any) -> None:
    moved = store[ts.d[:].translate_by[100, -7]]
    assert np.array_equal(moved[117:119, -4:2].read().result(), DATA[17:19, 3:9])
    assert np.array_equal(store.T[3:9, 17:19].read().result(), DATA[17:19, 3:9].T)


def test_one_chunk_part_of_views() -> None:
    t = ts.IndexTransform(input_shape=[64, 48])
    assert _one_chunk_part(t[17:19, 3:9], (16, 16), None, 2) == ((1, 0), (slice(1, 3), slice(3, 9)))
    assert _one_chunk_part(t[5, 0:10], (16, 16), None, 2) == ((0, 0), (5, slice(0, 10)))
    assert _one_chunk_part(t[5, 0:10], (16, 16), (2, 0), 2) == ((0, 0), (3, slice(0, 10)))
    assert _one_chunk_part(t[10:30, 0:4], (16, 16), None, 2) is None  # two chunks
    assert _one_chunk_part(t.T[0:4, 0:4], (16, 16), None, 2) is None  # a permutation
    assert _one_chunk_part(t[5, 7], (16, 16), None, 2) is None  # rank 0
    big = ts.IndexTransform(input_shape=[4096, 4096])
    assert _one_chunk_part(big[0:1024, 0:1024], (1024, 1024), None, 4) is None  # copied in a worker


def test_missing_chunks() -> None:
    missing = ts.open(
        {"driver": "zarr", "kvstore": {"driver": "memory"}, "fill_missing_data_reads": False},
        create=True,
        dtype=ts.uint16,
        shape=[64, 48],
        chunk_layout=ts.ChunkLayout(chunk_shape=[16, 16]),
        context=ts.Context(),
    ).result()
    with pytest.raises(ValueError, match=r"chunk \[1, 0\] stored at '1\.0' is missing \(fill_missing_data_reads is false\)$"):
        missing[17:19, 3:9].read().result()
    filled = ts.open(
        {"driver": "zarr", "kvstore": {"driver": "memory"}},
        create=True,
        dtype=ts.uint16,
        shape=[64, 48],
        chunk_layout=ts.ChunkLayout(chunk_shape=[16, 16]),
        fill_value=7,
        context=ts.Context(),
    ).result()
    assert np.array_equal(filled[5, 0:10].read().result(), np.full(10, 7, np.uint16))


@pytest.mark.parametrize("view", VIEWS)
def test_writes_agree_with_numpy(store: Any, view: Any) -> None:
    expected = DATA.copy()
    value = np.arange(expected[view].size, dtype=np.uint16).reshape(expected[view].shape) + 5000
    expected[view] = value
    store[view].write(value).result()
    assert np.array_equal(store.read().result(), expected)


def test_a_one_chunk_write_checks_the_source_shape(store: Any) -> None:
    from tensortrio.drivers.chunked_io import write_chunked_async
    from tensortrio.runtime import get_runtime

    view = store[17:19, 3:9]
    with pytest.raises(ValueError, match=r"source shape \[3, 6\] does not match the write domain shape \[2, 6\]$"):
        get_runtime().submit(
            write_chunked_async, store._driver.cache, view._transform, np.zeros((3, 6), np.uint16)
        ).result()
