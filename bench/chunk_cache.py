"""Micro-benchmark of the chunk cache with the raw codec on the memory kvstore.

Measures, on the runtime thread, what one chunk costs in whole-array writes and
reads of many small chunks (W2-like), large chunks (W1-like), and many
concurrent small unaligned writes into shared chunks (W3-like):

    python bench/chunk_cache.py [--small 4096] [--rounds 3]
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np
import trio

import tensortrio as ts
from tensortrio.actors.cache_pool import CachePool
from tensortrio.actors.chunk_cache import ChunkCache
from tensortrio.drivers.chunked_io import read_chunked, write_chunked_async
from tensortrio.drivers.raw_chunk_codec import RawChunkCodec
from tensortrio.index import IndexTransform
from tensortrio.runtime import get_runtime


async def _cache(chunk_shape: tuple[int, ...]) -> ChunkCache:
    kv = await ts.KvStore.open({"driver": "memory"})
    codec = RawChunkCodec(chunk_shape, np.float32)
    return ChunkCache(kv, codec, CachePool(0), trio.CapacityLimiter(2))


async def _whole(cache: ChunkCache, shape: tuple[int, ...], rounds: int) -> tuple[float, float]:
    transform = IndexTransform(input_shape=list(shape))
    data = np.random.default_rng(0).random(shape, dtype=np.float32)
    best_w = best_r = math.inf
    for _ in range(rounds):
        start = time.perf_counter()
        await write_chunked_async(cache, transform, data)
        middle = time.perf_counter()
        out = await read_chunked(cache, transform, staleness_bound=time.time())
        end = time.perf_counter()
        assert np.array_equal(out, data)
        best_w = min(best_w, middle - start)
        best_r = min(best_r, end - middle)
    return best_w, best_r


async def _concurrent(cache: ChunkCache, n: int) -> tuple[float, Any]:
    shape = (256, 256)
    transform = IndexTransform(input_shape=list(shape))
    rng = np.random.default_rng(1)
    boxes = []
    for _ in range(n):
        i, j = rng.integers(0, 250, 2)
        boxes.append((int(i), int(j)))
    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for k, (i, j) in enumerate(boxes):
            src = np.full((3, 5), k, np.float32)
            nursery.start_soon(write_chunked_async, cache, transform[i : i + 3, j : j + 5], src)
    elapsed = time.perf_counter() - start
    return elapsed, cache.statistics()


async def main(args: argparse.Namespace) -> None:
    n = args.small
    cache = await _cache((32, 64))
    w, r = await _whole(cache, (32 * n // 64, 64 * 64), args.rounds)
    print(
        f"W2-like {n} chunks of 8 KiB: write {n / w:,.0f} chunks/s ({w / n * 1e6:.1f} us/chunk), "
        f"read {n / r:,.0f} chunks/s ({r / n * 1e6:.1f} us/chunk)"
    )
    cache = await _cache((2 * 1024 * 1024,))
    w, r = await _whole(cache, (128 * 1024 * 1024,), args.rounds)
    print(f"W1-like 512 MiB in 8 MiB chunks: write {512 / w:,.0f} MiB/s, read {512 / r:,.0f} MiB/s")
    cache = await _cache((64, 64))
    elapsed, stats = await _concurrent(cache, 1000)
    print(
        f"W3-like 1000 concurrent unaligned 3x5 writes: {1000 / elapsed:,.0f} writes/s; "
        f"writebacks {stats.writebacks}, coalesced {stats.coalesced_writes}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=3)
    get_runtime().submit(main, parser.parse_args()).result()
