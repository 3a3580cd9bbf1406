"""``tensortrio demo``: ingest a synthetic stream locally, read it back, verify it, report speeds.

The array is a zarr3 sharded array on the local ``file`` kvstore (no server):
frame ``i`` holds the value ``i`` (cast to the dtype), so the read-back check
knows every element. A directory that already holds a demo array (its
attributes say ``tensortrio_demo``) is replaced; any other non-empty directory
is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from typing import Any

import numpy as np

import tensortrio as ts

from ..errors import AlreadyExistsError, DataLossError, InvalidArgumentError
from .ingest import IngestOptions, ingest
from .progress import Progress
from .target import parse_target

__all__ = ["DEFAULT_DEMO_DIR", "DEMO_ATTRIBUTE", "run_demo"]

DEFAULT_DEMO_DIR = "./tensortrio-demo"
DEMO_ATTRIBUTE = "tensortrio_demo"


def directory_path(directory: str) -> str:
    """``directory`` as an absolute path without a trailing slash."""
    return os.path.abspath(directory).rstrip("/") or "/"


def _is_demo_array(path: str) -> bool:
    try:
        with open(os.path.join(path, "zarr.json"), "rb") as file:
            metadata = json.load(file)
    except (OSError, ValueError):
        return False
    return isinstance(metadata, dict) and DEMO_ATTRIBUTE in metadata.get("attributes", {})


def _prepare(path: str) -> None:
    if not os.path.exists(path):
        return
    if not os.path.isdir(path):
        raise AlreadyExistsError(f"{path!r} exists and is not a directory")
    if not os.listdir(path):
        return
    if not _is_demo_array(path):
        raise AlreadyExistsError(
            f"{path!r} is not empty and holds no earlier demo array; give another directory"
        )
    shutil.rmtree(path)


async def _verify(
    path: str, frames: int, shard_frames: int, progress_enabled: bool
) -> tuple[float, float]:
    """Reads the array back a shard slab at a time; returns (seconds, MB read)."""
    store = await ts.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": path + "/"}})
    if store.shape[0] != frames:
        raise DataLossError(f"demo array has {store.shape[0]} frames, expected {frames}")
    dtype = store.dtype.numpy_dtype
    frame_bytes = int(np.prod(store.shape[1:], dtype=np.int64)) * dtype.itemsize
    with Progress(
        "verify", "frames", frame_bytes, total=frames, enabled=progress_enabled
    ) as progress:
        for start in range(0, frames, shard_frames):
            stop = min(frames, start + shard_frames)
            data = await store[start:stop].read()
            expected = np.arange(start, stop).astype(dtype)
            flat = data.reshape(stop - start, -1)
            bad = np.flatnonzero((flat != expected[:, None]).any(axis=1))
            if len(bad):
                raise DataLossError(f"demo frame {start + int(bad[0])} does not hold its index")
            progress.advance(stop - start)
        throughput = progress.throughput()
    return throughput.seconds, throughput.nbytes / 1e6


async def run_demo(
    directory: str,
    *,
    frames: int = 256,
    frame_shape: tuple[int, ...] = (512, 512),
    dtype: str = "uint16",
    progress: bool = False,
) -> list[str]:
    """Runs the demo into ``directory``; returns the lines to print.

    Raises:
        AlreadyExistsError: ``directory`` holds something other than an earlier demo.
        DataLossError: the data read back differs from what was written.
    """
    if frames < 1:
        raise InvalidArgumentError(f"--frames must be at least 1, got {frames}")
    path = directory_path(directory)
    _prepare(path)
    began = time.perf_counter()
    result = await ingest(
        f"synthetic:{frames}",
        parse_target(path),
        IngestOptions(
            frame_shape=frame_shape,
            dtype=dtype,
            progress=progress,
            attributes={DEMO_ATTRIBUTE: {"frames": frames}},
        ),
    )
    seconds, megabytes = await _verify(path, frames, result.shard_frames, progress)
    total = time.perf_counter() - began
    shape = "x".join(map(str, frame_shape))
    kvstore_json: dict[str, Any] = {"driver": "file", "path": path + "/"}
    return [
        f"tensortrio demo: {frames} frames of {shape} {dtype} into {path}",
        f"  array:  zarr3, shards of {result.shard_frames} frames, one frame per inner chunk, "
        f"shape {list(result.shape)}",
        f"  ingest: {result.throughput.describe('frames')}",
        f"  verify: read back {megabytes:.1f} MB in {seconds:.2f} s "
        f"({megabytes / seconds if seconds else 0:.1f} MB/s): every frame holds its index",
        f"  total:  {total:.2f} s",
        "  open it with tensorstore.open("
        + json.dumps({"driver": "zarr3", "kvstore": kvstore_json})
        + f").result() or zarr.open_array({path!r})",
    ]
