"""Stores pickled into other processes write unaligned parts of shared chunks; nothing is lost."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

import tensortrio as ts


def _write_rows(pickled: bytes, rows: list[int]) -> None:
    store = pickle.loads(pickled)
    futures = [store[row].write(row + 1) for row in rows]
    for future in futures:
        future.result()


def test_processes_writing_one_chunk_lose_nothing(tmp_path: Any) -> None:
    store = ts.open(
        {
            "driver": "zarr",
            "kvstore": {"driver": "file", "path": f"{tmp_path}/a/"},
            "metadata": {"chunks": [8, 4]},  # every row touches the same two chunks
        },
        create=True,
        dtype=ts.uint16,
        shape=[8, 8],
    ).result()
    pickled = pickle.dumps(store)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        jobs = [pool.submit(_write_rows, pickled, rows) for rows in ([0, 2, 4, 6], [1, 3, 5, 7])]
        for job in jobs:
            job.result()
    expected = np.repeat(np.arange(1, 9, dtype=np.uint16)[:, None], 8, axis=1)
    np.testing.assert_array_equal(store.read().result(), expected)
