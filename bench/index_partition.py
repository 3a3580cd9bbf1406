"""Cost of partitioning a request over a chunk grid, in µs per touched chunk cell.

Run: ``python bench/index_partition.py``.  Each case partitions the request and
iterates every cell's selections (what a driver does per read/write); the
figure is the median over several runs divided by the number of cells.
"""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING

import numpy as np

from tensortrio.index.partition import IndexTransformPartition, OutputMap, partition_output_maps

if TYPE_CHECKING:
    from collections.abc import Callable


def _time(make: Callable[[], IndexTransformPartition], runs: int = 7) -> tuple[float, int]:
    samples = []
    cells = 0
    for _ in range(runs):
        start = time.perf_counter()
        part = make()
        cells = 0
        for _sel in part:
            cells += 1
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6 / max(cells, 1), cells


def main() -> None:
    ident = [OutputMap(input_dimension=0), OutputMap(input_dimension=1)]
    cases: list[tuple[str, Callable[[], IndexTransformPartition]]] = [
        (
            "plain slices [4096,4096] over [64,64]",
            lambda: partition_output_maps((0, 0), (4096, 4096), ident, (64, 64)),
        ),
        (
            "plain slices, unaligned [10:4106, 7:4103]",
            lambda: partition_output_maps((10, 7), (4096, 4096), ident, (64, 64)),
        ),
        (
            "strided slices [::3, ::-2] of [12288, 8192] over [64,64]",
            lambda: partition_output_maps(
                (0, 0),
                (4096, 4096),
                [
                    OutputMap(stride=3, input_dimension=0),
                    OutputMap(offset=8191, stride=-2, input_dimension=1),
                ],
                (64, 64),
            ),
        ),
        (
            "transposed [4096,4096] over [64,64]",
            lambda: partition_output_maps(
                (0, 0),
                (4096, 4096),
                [OutputMap(input_dimension=1), OutputMap(input_dimension=0)],
                (64, 64),
            ),
        ),
    ]
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(4096, size=1024, replace=False)).astype(np.int64).reshape(1024, 1)
    cases.append(
        (
            "index array (1024 rows) x slice 4096 over [64,64]",
            lambda: partition_output_maps(
                (0, 0),
                (1024, 4096),
                [OutputMap(index_array=idx), OutputMap(input_dimension=1)],
                (64, 64),
            ),
        )
    )
    pts = rng.integers(0, 4096, size=(100_000, 2)).astype(np.int64)
    cases.append(
        (
            "vindex 100k random points over [64,64]",
            lambda: partition_output_maps(
                (0,),
                (100_000,),
                [OutputMap(index_array=pts[:, 0].copy()), OutputMap(index_array=pts[:, 1].copy())],
                (64, 64),
            ),
        )
    )
    for name, make in cases:
        per_cell, cells = _time(make)
        print(f"{name:58s} {cells:6d} cells  {per_cell:7.2f} µs/cell")


if __name__ == "__main__":
    main()
