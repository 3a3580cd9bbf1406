"""A plain script: blocking ``.result()`` calls and ordinary threads, no event loop at all.

Four threads each write a quarter of the rows of an array at the same time;
writes to the same chunks from different threads are never lost. Then the
array is grown, and read back.

    python examples/plain_script.py [DIRECTORY]
"""

from __future__ import annotations

import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import tensortrio as ts


def main(directory: str) -> None:
    store = ts.open(
        {"driver": "zarr", "kvstore": {"driver": "file", "path": f"{directory}/plain/"}},
        create=True,
        dtype=ts.int32,
        shape=[100, 60],
        chunk_layout=ts.ChunkLayout(chunk_shape=[50, 30]),
    ).result()
    expected = np.arange(100 * 60, dtype=np.int32).reshape(100, 60)

    def write_rows(first: int) -> None:
        # Rows first, first+4, first+8, ...: every thread touches every chunk.
        store[first::4].write(expected[first::4]).result()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write_rows, range(4)))

    assert np.array_equal(store.read().result(), expected)
    grown = store.resize(exclusive_max=[120, None]).result()
    grown[100:].write(np.full((20, 60), -1, np.int32)).result()
    print(
        f"plain script: 4 threads wrote {store.shape}, grown to {grown.shape}, sum {int(grown.read().result().sum())}"
    )


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()))
