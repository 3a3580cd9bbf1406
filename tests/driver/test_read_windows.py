"""Large reads: chunks in windows of a bounded count, the result in reused (pooled) memory."""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import pytest

import tensortrio as ts
from tensortrio.actors.chunk_cache import ChunkCache
from tensortrio.drivers.chunked_io import READ_WINDOW_CHUNKS
from tensortrio.drivers.kvstore import warm_buffers

MIB = 1 << 20


def open_zarr(shape: list[int], chunks: list[int], dtype: str) -> Any:
    spec = {
        "driver": "zarr",
        "kvstore": {"driver": "memory"},
        "metadata": {"shape": shape, "chunks": chunks, "dtype": dtype, "compressor": None},
    }
    return ts.open(spec, create=True, context=ts.Context()).result()


def test_a_read_of_many_small_chunks_takes_them_a_window_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = open_zarr([64, 64], [2, 2], "<u2")  # 1,024 chunks
    data = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    store.write(data).result()
    windows: list[int] = []
    read_into = ChunkCache.read_into

    async def spy(self: ChunkCache, entries: Any, *args: Any) -> Any:
        windows.append(len(entries))
        return await read_into(self, entries, *args)

    monkeypatch.setattr(ChunkCache, "read_into", spy)
    assert np.array_equal(store[3:61, 1:64].read().result(), data[3:61, 1:64])
    assert max(windows) == READ_WINDOW_CHUNKS
    assert sum(windows) == 30 * 32  # chunk rows 1-30, every chunk column


@pytest.mark.usefixtures("empty_warm_pool")
def test_a_large_read_result_is_pooled_memory_given_back_when_dropped() -> None:
    store = open_zarr([1024, 1024], [256, 256], "|u1")
    data = np.random.default_rng(0).integers(0, 255, (1024, 1024), dtype=np.uint8)
    store.write(data).result()
    first = store.read().result()
    assert np.array_equal(first, data)
    assert first.flags.c_contiguous
    assert first.flags.writeable
    where = first.ctypes.data
    first[0, 0] ^= 1  # the caller's to modify
    del first
    gc.collect()
    assert warm_buffers.free_bytes() >= MIB
    again = store.read().result()
    assert again.ctypes.data == where  # the same block, already paged in
    assert np.array_equal(again, data)


def test_large_chunks_of_a_memory_store_are_decoded_and_copied_by_one_job_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = {
        "driver": "zarr",
        "kvstore": {"driver": "memory"},
        "metadata": {
            "shape": [1024, 2048],
            "chunks": [512, 1024],  # 2 MiB chunks
            "dtype": "<f4",
            "compressor": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1},
        },
    }
    store = ts.open(spec, create=True, context=ts.Context()).result()
    data = np.arange(1024 * 2048, dtype=np.float32).reshape(1024, 2048)
    store[:, :1024].write(data[:, :1024]).result()
    store[:512, 1024:].write(data[:512, 1024:]).result()  # chunk 1.1 stays missing
    expected = data.copy()
    expected[512:, 1024:] = 0
    decoded: list[str] = []
    fetched: list[int] = []
    decode_copy, fetch = ChunkCache._decode_copy, ChunkCache._fetch

    def spy_decode_copy(self: ChunkCache, out: Any, entry: Any, *args: Any) -> Any:
        decoded.append(entry.key)
        return decode_copy(self, out, entry, *args)

    async def spy_fetch(self: ChunkCache, entries: Any, **kwargs: Any) -> Any:
        fetched.append(len(entries))
        return await fetch(self, entries, **kwargs)

    monkeypatch.setattr(ChunkCache, "_decode_copy", spy_decode_copy)
    monkeypatch.setattr(ChunkCache, "_fetch", spy_fetch)
    assert np.array_equal(store.read().result(), expected)
    assert sorted(decoded) == ["0.0", "0.1", "1.0"]  # the missing chunk is the fill value
    assert fetched == []  # nothing went the ensure_fresh way
    assert np.array_equal(store[500:530, 1000:1030].read().result(), expected[500:530, 1000:1030])
    store.kvstore.write("0.1", b"garbage").result()
    with pytest.raises(
        ts.DataLossError,
        match=r"^zarr: cannot decode chunk '0\.1': Error decoding blosc chunk: 7 bytes is too short$",
    ):
        store.read().result()
