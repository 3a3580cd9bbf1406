"""ts.downsample: tensortrio vs tensorstore on the same workloads, interleaved, in one process.

Each case reads ``ts.downsample(base, factors, method)`` whole (``read``), or
writes it into a second array of the same kind (``--write``: the pipeline of
``dst.write(ts.downsample(src, ...))``). Cases are every combination of:

- base: ``array`` (``ts.array`` of the data: the reduction alone), ``memory``
  (zarr3 on the memory kvstore) and ``file`` (zarr3 on the file kvstore, in a
  scratch directory; after the first read the pages are in the OS cache);
  raw chunks of [512, 512] (2-D) or [64, 64, 64] (3-D);
- shape and factors: [4096, 4096] by [2, 2] (``2d``) and [256, 256, 256] by
  [2, 2, 2] (``3d``);
- dtype: uint8, uint16, int32, float32 (integers uniform in [0, 1000) or the
  type's range if smaller, floats normal with scale 100);
- method: mean, min, max, median, mode, stride.

The bases are written once per (base, shape, dtype), untimed, and each
library reads each case once untimed before its timed runs. Then the two
libraries take turns, ``--repeats`` times, the first one alternating; before
each timed run the harness touches and frees twice the base's bytes (see
``compare.py``: freed memory is handed back to the hypervisor on these
VMs). Printed per case: each library's median milliseconds, and tensortrio's
time over tensorstore's (above 1: tensortrio is slower) as the ratio of the
medians (``tt/ts``) and the median of the ratios within each turn
(``pair``), which cancels the drift of a machine shared with other work.

    python bench/downsample.py [--repeats 5] [--bases array,memory,file]
        [--shapes 2d,3d] [--dtypes uint8,...] [--methods mean,...] [--write] [--quick]

Run it under ``flock /tmp/bench.lock`` on the shared machine.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

import compare  # the sibling script: scratch directories, memory warm-up

if TYPE_CHECKING:
    from collections.abc import Iterator

LIBRARIES = ("tensortrio", "tensorstore")
BASES = ("array", "memory", "file")
SHAPES = {"2d": ((4096, 4096), (2, 2), (512, 512)), "3d": ((256, 256, 256), (2, 2, 2), (64, 64, 64))}
QUICK_SHAPES = {"2d": ((512, 512), (2, 2), (128, 128)), "3d": ((64, 64, 64), (2, 2, 2), (32, 32, 32))}
DTYPES = ("uint8", "uint16", "int32", "float32")
METHODS = ("mean", "min", "max", "median", "mode", "stride")


@attrs.frozen
class Case:
    """One timed read (or write) of a downsampled view."""

    base: str
    shape_name: str
    shape: tuple[int, ...]
    factors: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: str
    method: str

    @property
    def name(self) -> str:
        return f"{self.base} {self.shape_name} {self.dtype} {self.method}"

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize


def data_for(shape: tuple[int, ...], dtype: str) -> np.ndarray[Any, Any]:
    """Deterministic base data: integers below 1000 (or the type's range), floats normal."""
    rng = np.random.default_rng(0)
    if dtype.startswith("float"):
        return (rng.standard_normal(shape) * 100).astype(dtype)
    high = min(1000, int(np.iinfo(dtype).max) + 1)
    return rng.integers(0, high, size=shape).astype(dtype)


def zarr3_spec(base: str, path: str, shape: tuple[int, ...], chunks: tuple[int, ...], dtype: str) -> dict[str, Any]:
    """A raw zarr3 array on the memory or file kvstore (both libraries)."""
    store: dict[str, Any] = {"driver": "memory"} if base == "memory" else {"driver": "file", "path": path}
    return {
        "driver": "zarr3",
        "kvstore": store,
        "metadata": {
            "shape": list(shape),
            "data_type": dtype,
            "fill_value": 0,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
        },
    }


def open_base(ts: Any, case: Case, path: str, data: np.ndarray[Any, Any]) -> Any:
    """The base array holding ``data``: a ts.array, or a zarr3 array written (untimed)."""
    if case.base == "array":
        return ts.array(data)
    spec = zarr3_spec(case.base, path, case.shape, case.chunks, case.dtype)
    store = ts.open(spec, create=True, context=ts.Context()).result()
    store.write(data).result()
    return store


def destination(ts: Any, case: Case, path: str, serial: int) -> Any:
    """A fresh array of the downsampled shape, for ``--write`` (a ts.array for an array base)."""
    shape = tuple(-(-n // f) for n, f in zip(case.shape, case.factors, strict=True))
    if case.base == "array":
        return ts.array(np.zeros(shape, dtype=case.dtype))
    chunks = tuple(min(c, n) for c, n in zip(case.chunks, shape, strict=True))
    spec = zarr3_spec(case.base, f"{path}/dst{serial}", shape, chunks, case.dtype)
    return ts.open(spec, create=True, context=ts.Context()).result()


def timed(ts: Any, base: Any, case: Case, write: bool, path: str, serial: int) -> float:
    """Seconds for one read (or write into a fresh array) of the downsampled view."""
    view = ts.downsample(base, list(case.factors), case.method)
    target = destination(ts, case, path, serial) if write else None
    compare.warm_memory(case.nbytes)
    start = time.perf_counter()
    if target is None:
        view.read().result()
    else:
        target.write(view).result()
    return time.perf_counter() - start


def groups(args: argparse.Namespace) -> Iterator[list[Case]]:
    """The cases, grouped by the base they share (one write of the data per group)."""
    shapes = QUICK_SHAPES if args.quick else SHAPES
    for base in args.bases:
        for shape_name in args.shapes:
            shape, factors, chunks = shapes[shape_name]
            for dtype in args.dtypes:
                yield [Case(base, shape_name, shape, factors, chunks, dtype, m) for m in args.methods]


def run_group(
    cases: list[Case], modules: dict[str, Any], repeats: int, write: bool
) -> dict[tuple[str, str], list[float]]:
    """Every case of one group, both libraries taking turns: seconds per (case, library)."""
    samples: dict[tuple[str, str], list[float]] = {}
    first = cases[0]
    data = data_for(first.shape, first.dtype)
    with compare.scratch_dir() as path:
        bases = {lib: open_base(ts, first, f"{path}/{lib}", data) for lib, ts in modules.items()}
        serial = 0
        for case in cases:
            for lib, ts in modules.items():  # warm-up: imports, first-use caches, page cache
                serial += 1
                timed(ts, bases[lib], case, write, f"{path}/{lib}", serial)
            for repeat in range(repeats):
                order = list(modules) if repeat % 2 == 0 else list(modules)[::-1]
                for lib in order:
                    serial += 1
                    seconds = timed(modules[lib], bases[lib], case, write, f"{path}/{lib}", serial)
                    samples.setdefault((case.name, lib), []).append(seconds)
                    gc.collect()
        del bases
    return samples


def report_line(case: Case, samples: dict[tuple[str, str], list[float]]) -> str:
    mine, theirs = samples[(case.name, "tensortrio")], samples[(case.name, "tensorstore")]
    tt, ts = statistics.median(mine), statistics.median(theirs)
    pair = statistics.median(a / b for a, b in zip(mine, theirs, strict=True))
    return f"{case.name:<28} {tt * 1000:9.1f} {ts * 1000:9.1f} {tt / ts:7.2f} {pair:7.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per library and case")
    parser.add_argument("--bases", default=",".join(BASES), help="comma-separated: " + ",".join(BASES))
    parser.add_argument("--shapes", default="2d,3d", help="comma-separated: 2d,3d")
    parser.add_argument("--dtypes", default=",".join(DTYPES), help="comma-separated dtypes")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods")
    parser.add_argument("--write", action="store_true", help="time writing the view into a second array")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args(argv)
    for name in ("bases", "shapes", "dtypes", "methods"):
        setattr(args, name, [v for v in getattr(args, name).split(",") if v])
    import tensorstore

    import tensortrio

    modules = {"tensortrio": tensortrio, "tensorstore": tensorstore}
    phase = "write into a second array" if args.write else "read"
    print(f"ts.downsample {phase}: medians of {args.repeats} runs (ms); tt/ts > 1: tensortrio slower")
    print(f"{'case':<28} {'tensortrio':>9} {'tensorstore':>9} {'tt/ts':>7} {'pair':>7}", flush=True)
    ratios: list[float] = []
    for cases in groups(args):
        samples = run_group(cases, modules, args.repeats, args.write)
        for case in cases:
            print(report_line(case, samples), flush=True)
            mine, theirs = samples[(case.name, "tensortrio")], samples[(case.name, "tensorstore")]
            ratios.append(statistics.median(a / b for a, b in zip(mine, theirs, strict=True)))
    if ratios:
        geometric = float(np.exp(np.mean(np.log(ratios))))
        print(f"geometric mean of the paired ratios over {len(ratios)} cases: {geometric:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
