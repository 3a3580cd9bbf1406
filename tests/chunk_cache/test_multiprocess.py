"""Several processes write disjoint boxes that share chunks of one file-backed array: nothing is lost."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import numpy as np

import tensortrio as ts
from tensortrio.actors.cache_pool import CachePool
from tensortrio.actors.chunk_cache import ChunkCache
from tensortrio.drivers.chunked_io import read_chunked
from tensortrio.drivers.raw_chunk_codec import RawChunkCodec
from tensortrio.index import IndexTransform
from tensortrio.runtime import get_runtime

if TYPE_CHECKING:
    from pathlib import Path

SHAPE = (24, 30)
CHUNKS = (8, 10)
WORKERS = 4

# Each worker owns the rows r with r % WORKERS == worker and writes them in
# unaligned pieces, one write at a time, so the workers keep colliding on
# every chunk (conditional writes fail and are retried).
CHILD = """
import json, sys
import numpy as np
import tensortrio as ts
from tensortrio.actors.cache_pool import CachePool
from tensortrio.actors.chunk_cache import ChunkCache
from tensortrio.drivers.chunked_io import write_chunked
from tensortrio.drivers.raw_chunk_codec import RawChunkCodec
from tensortrio.index import IndexTransform

path, worker, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
shape, chunks = (24, 30), (8, 10)
kv = ts.KvStore.open({"driver": "file", "path": path}).result()
cache = ChunkCache(kv, RawChunkCodec(chunks, np.int32), CachePool(0))
t = IndexTransform(input_shape=list(shape))
expected = np.arange(1, shape[0] * shape[1] + 1, dtype=np.int32).reshape(shape)
for row in range(worker, shape[0], workers):
    for lo, hi in [(0, 13), (13, 22), (22, 30)]:
        write_chunked(cache, t[row : row + 1, lo:hi], expected[row : row + 1, lo:hi]).result()
print(json.dumps({"retries": cache.statistics().write_retries}))
"""


def test_processes_writing_disjoint_boxes_lose_nothing(tmp_path: Path) -> None:
    path = f"{tmp_path}/array/"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, path, str(w), str(WORKERS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WORKERS)
    ]
    for child in children:
        out, err = child.communicate(timeout=100)
        assert child.returncode == 0, err
        # How often the workers collided (retries) depends on scheduling; any count is fine.
        assert json.loads(out)["retries"] >= 0
    kv = ts.KvStore.open({"driver": "file", "path": path}).result()
    cache = ChunkCache(kv, RawChunkCodec(CHUNKS, np.int32), CachePool(0))
    transform = IndexTransform(input_shape=list(SHAPE))

    async def read() -> np.ndarray:
        return await read_chunked(cache, transform, staleness_bound=time.time())

    out = get_runtime().submit(read).result()
    expected = np.arange(1, SHAPE[0] * SHAPE[1] + 1, dtype=np.int32).reshape(SHAPE)
    assert np.array_equal(out, expected), np.argwhere(out != expected)
    assert len(kv.list().result()) == 9
