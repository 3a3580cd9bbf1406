"""Streaming ingestion: ``tensortrio ingest`` next to a plain ``tensorstore`` append loop.

Both append the same synthetic stream (frame ``i`` filled with ``i``) along
axis 0 of a zarr3 array on the local ``file`` kvstore, sharded by
``--shard-frames`` frames, one frame per inner chunk:

- tensortrio: the ingest the ``tensortrio demo`` runs (data first, then the
  shape; ``--in-flight`` shard slabs in flight);
- tensorstore: for each shard slab, ``resize`` then ``write(...).result()``,
  the loop a tensorstore user writes.

Each is run ``--runs`` times into a fresh directory; the medians are printed
in MB/s (10**6 bytes) with the ratio tensortrio / tensorstore, and each
library's first run in the process (cold: tensortrio starts its runtime
thread, worker threads and codecs then, as ``tensortrio demo`` does):

    python bench/ingest.py [--frames 256] [--frame-shape 512,512] [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorstore
import trio

from tensortrio.cli.ingest import IngestOptions, ingest
from tensortrio.cli.target import parse_target


def run_tensortrio(path: Path, frames: int, shape: tuple[int, ...], dtype: str, shard: int) -> float:
    options = IngestOptions(frame_shape=shape, dtype=dtype, shard_frames=shard)
    start = time.perf_counter()
    result = trio.run(ingest, f"synthetic:{frames}", parse_target(str(path)), options)
    seconds = time.perf_counter() - start
    assert result.shape[0] == frames
    return seconds


def run_tensorstore(path: Path, frames: int, shape: tuple[int, ...], dtype: str, shard: int) -> float:
    start = time.perf_counter()
    store = tensorstore.open(
        {"driver": "zarr3", "kvstore": {"driver": "file", "path": f"{path}/"}},
        create=True,
        dtype=dtype,
        shape=[0, *shape],
        chunk_layout=tensorstore.ChunkLayout(
            read_chunk_shape=[1, *shape], write_chunk_shape=[shard, *shape]
        ),
    ).result()
    for begin in range(0, frames, shard):
        end = min(frames, begin + shard)
        slab = np.empty((end - begin, *shape), dtype)
        for i in range(begin, end):
            slab[i - begin] = np.asarray(i).astype(dtype)
        store = store.resize(exclusive_max=[end, *([None] * len(shape))]).result()
        store[begin:end].write(slab).result()
    seconds = time.perf_counter() - start
    assert store.shape[0] == frames
    return seconds


def verify(path: Path, frames: int) -> None:
    store = tensorstore.open({"driver": "zarr3", "kvstore": f"file://{path}/"}).result()
    column = store[:, 0, 0].read().result()
    expected = np.arange(frames).astype(column.dtype)
    if store.shape[0] != frames or not (column == expected).all():
        raise SystemExit(f"FAILED: {path} does not hold frames 0..{frames - 1}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=256)
    parser.add_argument("--frame-shape", default="512,512")
    parser.add_argument("--dtype", default="uint16")
    parser.add_argument("--shard-frames", type=int, default=32)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    shape = tuple(int(n) for n in args.frame_shape.split(","))
    nbytes = args.frames * int(np.prod(shape)) * np.dtype(args.dtype).itemsize
    runners = {"tensortrio": run_tensortrio, "tensorstore": run_tensorstore}
    times: dict[str, list[float]] = {name: [] for name in runners}
    root = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        for run in range(args.runs):
            # Alternate the order so neither library always meets a warmer page cache.
            order = list(runners) if run % 2 == 0 else list(reversed(runners))
            for name in order:
                path = root / f"{name}-{run}"
                times[name].append(
                    runners[name](path, args.frames, shape, args.dtype, args.shard_frames)
                )
                verify(path, args.frames)
                shutil.rmtree(path)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"ingest {args.frames} frames of {args.frame_shape} {args.dtype} "
        f"({nbytes / 1e6:.1f} MB), shards of {args.shard_frames} frames, "
        f"median of {args.runs} runs"
    )
    rates = {}
    for name, samples in times.items():
        median = statistics.median(samples)
        rates[name] = nbytes / 1e6 / median
        print(
            f"  {name:<12} {rates[name]:8.1f} MB/s  ({median:.3f} s; "
            f"first run in the process {nbytes / 1e6 / samples[0]:.1f} MB/s)"
        )
    print(f"  ratio tensortrio / tensorstore: {rates['tensortrio'] / rates['tensorstore']:.2f}")


if __name__ == "__main__":
    main()
