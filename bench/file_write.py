"""W1's file writes in pairs: tensortrio and tensorstore alternating in one process, with CPU use.

``compare.py`` takes the median of a few runs per library; on a machine
whose disk and CPU are shared, runs of one library vary by 10-30% from
minute to minute, more than the difference being measured. This script
runs many pairs (a write by each library, in alternating order, each into a
fresh directory after the same memory warm-up as ``compare.py``) and prints:

- each library's median write time and throughput;
- the median of the per-pair ratios (tensorstore time / tensortrio time:
  above 1, tensortrio is faster), which cancels drift between pairs;
- each library's median CPU seconds per write (user and system, all
  threads) and utilisation (CPU seconds per wall second): which of the
  two explains a difference, work done or cores left idle.

    python bench/file_write.py [--pairs 12] [--compressor raw|blosc|both]
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import time
from typing import TYPE_CHECKING, Any

import compare  # the sibling script: workloads, adapters, scratch directories

if TYPE_CHECKING:
    import numpy as np

LIBRARIES = ("tensortrio", "tensorstore")


def timed_write(
    lib: Any, case: compare.ArrayCase, data: np.ndarray[Any, Any]
) -> tuple[float, float, float]:
    """One fresh-directory write of ``data``: (wall, CPU, user CPU) seconds."""
    with compare.scratch_dir() as path:
        handle = lib.create(case, path + "/a", case.kvstore, case.blosc)
        compare.warm_memory(case.nbytes)
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        lib.write_all(handle, data)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
        del handle
    gc.collect()
    user = after.ru_utime - before.ru_utime
    return wall, user + after.ru_stime - before.ru_stime, user


def run_case(case: compare.ArrayCase, pairs: int) -> None:
    data = compare.array_data(case)
    adapters = {library: compare.adapter(library) for library in LIBRARIES}
    samples: dict[str, list[tuple[float, float, float]]] = {library: [] for library in LIBRARIES}
    for pair in range(pairs):
        for library in LIBRARIES if pair % 2 == 0 else LIBRARIES[::-1]:
            samples[library].append(timed_write(adapters[library], case, data))
    mib = case.nbytes / 2**20
    print(f"{case.name} write, {pairs} pairs")
    for library, runs in samples.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        user = statistics.median(r[2] for r in runs)
        util = statistics.median(r[1] / r[0] for r in runs)
        print(
            f"  {library:<12} {wall * 1000:7.1f} ms {mib / wall:8.1f} MiB/s   "
            f"CPU {cpu:.3f} s (user {user:.3f})   utilisation {util:.2f}"
        )
    paired = statistics.median(
        theirs[0] / ours[0]
        for ours, theirs in zip(samples["tensortrio"], samples["tensorstore"], strict=True)
    )
    print(f"  tensortrio speed / tensorstore, median of pairs: {paired:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=12, help="alternating write pairs per case")
    parser.add_argument("--compressor", choices=("raw", "blosc", "both"), default="both")
    args = parser.parse_args()
    for case in compare.cases(quick=False, workloads={"W1"}):
        if not isinstance(case, compare.ArrayCase) or case.kvstore != "file":
            continue
        if args.compressor != "both" and case.blosc != (args.compressor == "blosc"):
            continue
        run_case(case, args.pairs)


if __name__ == "__main__":
    main()
