"""Cost of partitioning a request over a chunk grid, in µs per touched chunk cell.

Run: ``python bench/index_partition.py``.  Each case partitions the request's
``IndexTransform`` and iterates every cell's selections (what a chunked driver
does per read or write); the figure is the median of several runs divided by
the number of cells touched.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import tensortrio as ts
from tensortrio.index.partition import partition_index_transform

CHUNK = (64, 64)


def _per_cell(transform: ts.IndexTransform, runs: int = 7) -> tuple[float, int]:
    samples = []
    cells = 0
    for _ in range(runs):
        start = time.perf_counter()
        part = partition_index_transform(transform, CHUNK)
        cells = sum(1 for _sel in part)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6 / max(cells, 1), cells


def main() -> None:
    array = ts.IndexTransform(input_shape=[16384, 16384])
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(4096, size=1024, replace=False))
    points = rng.integers(0, 4096, size=(2, 100_000))
    cases = [
        ("plain slices [0:4096, 0:4096]", array[0:4096, 0:4096]),
        ("plain slices, unaligned [10:4106, 7:4103]", array[10:4106, 7:4103]),
        ("strided slices [0:12288:3, 8191::-2]", array[0:12288:3, 8191::-2]),
        ("transposed view [0:4096, 0:4096].T", array[0:4096, 0:4096].T),
        ("index array rows[1024] x [0:4096]", array[rows, 0:4096]),
        ("vindex 100k random points", array.vindex[points[0], points[1]]),
    ]
    print(f"chunk shape {list(CHUNK)}; median of 7 runs")
    for name, transform in cases:
        per_cell, cells = _per_cell(transform)
        print(f"{name:45s} {cells:6d} cells  {per_cell:7.2f} µs/cell")


if __name__ == "__main__":
    main()
