"""tensortrio vs tensorstore vs zarr-python on the same zarr v2 workloads, interleaved.

Workloads (each written then read, every library in turn, repeated):

- W0: latency of small operations: 1,000 sequential ``store[i, 0:10]`` writes
  (each waited for before the next), then 1,000 such reads, on a [1000, 100]
  uint16 array in [64, 64] chunks, memory and file kvstores: operations/s.
- W1: a 512 MiB float32 array in 8 MiB chunks, on the memory and file kvstores,
  raw and blosc (lz4, clevel 5, shuffle): throughput in MiB/s.
- W2: a [4096, 4096] uint16 array in [64, 64] chunks (4,096 chunks of 8 KiB),
  raw, memory and file: throughput in MiB/s.
- W3: 1,000 concurrent writes of random small unaligned, non-overlapping boxes
  into a [2048, 2048] uint8 array with [256, 256] chunks (file kvstore), then a
  read checked against a NumPy reference: writes/s and lost elements (elements
  that differ from the reference; a correct library loses none).
- W3 txn: the same 1,000 writes inside one transaction, committed at once
  (memory and file kvstores; zarr-python has no transactions): writes/s
  including the commit, and lost elements.
- W6: 1,000 reads of distinct [32, 32] inner chunks of one [1024, 1024]
  zarr3 shard (file kvstore), one after another (``read``) and all in one
  ``ts.Batch`` (``batch``): reads/s, and the kvstore reads each issued
  (``kvrd``/``bkvrd``; tensortrio: ``KvStore.statistics().io_reads``,
  tensorstore: its ``/tensorstore/kvstore/file/read`` metric).
- W4: a [2048, 2048] uint16 zarr3 array in [1024, 1024] shards of [64, 64]
  inner chunks (256 per shard), memory and file, raw and blosc (lz4): full
  write and full read (MiB/s), and 1,000 reads of random single inner chunks
  issued together (``rand``, reads/s).  ``W4 rewrite``: one [2048, 2048]
  shard of 1,024 inner chunks, filled, then one inner chunk rewritten
  (``rw1``: rewrites/s) and the bytes that rewrite encoded (``encKiB``;
  tensortrio: its shard statistics, tensorstore: its chunk cache writes
  metric; zarr-python re-encodes the whole shard and has no counter: '-').
- W5: ``virtual_chunked`` over a [4096, 4096] float32 array in [256, 256] read
  chunks whose read function fills each chunk with NumPy; one full read
  (after an untimed warm-up read) in MiB/s (tensortrio and tensorstore only).

Memory warm-up: on this project's VMs, memory freed for more than about a
second is handed back to the hypervisor (free page reporting), and touching
it again costs about 1.2 ms per MiB, ten times the cost of the copies being
measured. Without a warm-up, a phase's figure mostly says whether the
library before it had just freed enough memory. So right before every timed
phase that allocates in proportion to the array (W1, W2, W4, W5), the
harness touches and frees twice the array's size, the same for every
library; ``--cold`` turns this off.

Order: the libraries take turns in an order rotated from one repeat to the
next, so that over a multiple of the number of libraries (the default: three
repeats of three libraries) each runs first, in the middle and last equally
often; with an odd number of repeats of two libraries, the first one named
runs first once more than the other. After each case its scratch directory
is deleted and the filesystem synced (``os.sync``), untimed: deleting
hundreds of MiB keeps ext4 busy (journal, discards) for a while, which
otherwise slowed whichever library ran next, always the same one.

Run ``python bench/compare.py [--repeats 3] [--quick] [--libs ...] [--workloads ...] [--cold]``.
Medians over the repeats are printed, with tensortrio's ratio to each other
library (> 1: tensortrio is faster): the ratio of the medians (``tt/...``),
then the median of the ratios within each repeat (``pair/...``). This
machine's speed drifts by 10-30% during a run; the libraries of one repeat
run back to back, so the paired figure cancels the drift that slows both
alike.  A library that fails a workload is
reported as FAILED with its error, and the others still run.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

MIB = 1024 * 1024
LIBRARIES = ("tensortrio", "tensorstore", "zarr")


@attrs.frozen
class ArrayCase:
    """One array workload: shape, chunking, dtype, storage and compression."""

    name: str
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: str
    kvstore: str  # "memory" or "file"
    blosc: bool

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize


@attrs.frozen
class BoxCase:
    """W3: many concurrent small writes into shared chunks."""

    name: str
    shape: tuple[int, int]
    chunks: tuple[int, int]
    writes: int
    max_box: int
    kvstore: str = "file"
    transaction: bool = False


@attrs.frozen
class VirtualCase:
    """W5: a virtual_chunked array computed by a NumPy-filling read function."""

    name: str
    shape: tuple[int, int]
    chunks: tuple[int, int]
    dtype: str = "float32"

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize


@attrs.frozen
class ShardCase:
    """W6: many inner-chunk reads of one shard, with and without a Batch."""

    name: str
    shape: tuple[int, int]
    inner: tuple[int, int]
    reads: int


@attrs.frozen
class LatencyCase:
    """W0: sequential small reads and writes, each waited for before the next."""

    name: str
    shape: tuple[int, int]
    chunks: tuple[int, int]
    ops: int
    kvstore: str
    dtype: str = "uint16"


@attrs.frozen
class ShardedCase:
    """W4: a sharded zarr3 array: full write and read, random inner-chunk reads, one-chunk rewrite."""

    name: str
    shape: tuple[int, int]
    shard: tuple[int, int]
    inner: tuple[int, int]
    kvstore: str
    blosc: bool
    reads: int
    rewrite: bool = False
    """Only the rewrite of one inner chunk of a full shard is timed."""
    dtype: str = "uint16"

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize

    @property
    def inner_nbytes(self) -> int:
        return int(np.prod(self.inner)) * np.dtype(self.dtype).itemsize


Case = ArrayCase | BoxCase | VirtualCase | ShardCase | LatencyCase | ShardedCase


def cases(quick: bool, workloads: set[str]) -> list[Case]:
    """The workload cases at full or ``--quick`` (smoke test) size."""
    out: list[Case] = []
    if "W0" in workloads:
        for kvstore in ("memory", "file"):
            ops = 100 if quick else 1000
            out.append(LatencyCase(f"W0 {kvstore}", (1000, 100), (64, 64), ops, kvstore))
    if "W1" in workloads:
        shape, chunks = ((256, 512), (64, 128)) if quick else ((8192, 16384), (1024, 2048))
        for kvstore in ("memory", "file"):
            for blosc in (False, True):
                label = f"W1 {kvstore} {'blosc' if blosc else 'raw'}"
                out.append(ArrayCase(label, shape, chunks, "float32", kvstore, blosc))
    if "W2" in workloads:
        shape2 = (256, 256) if quick else (4096, 4096)
        for kvstore in ("memory", "file"):
            out.append(ArrayCase(f"W2 {kvstore}", shape2, (64, 64), "uint16", kvstore, False))
    if "W3" in workloads:
        if quick:
            out.append(BoxCase("W3 file", (256, 256), (64, 64), 50, 24))
        else:
            out.append(BoxCase("W3 file", (2048, 2048), (256, 256), 1000, 48))
        size = (256, 256) if quick else (2048, 2048)
        chunks3 = (64, 64) if quick else (256, 256)
        count, box = (50, 24) if quick else (1000, 48)
        for kvstore in ("memory", "file"):
            out.append(BoxCase(f"W3 txn {kvstore}", size, chunks3, count, box, kvstore, True))
    if "W4" in workloads:
        shape4, shard4, inner4, reads4 = (
            ((256, 256), (128, 128), (32, 32), 50) if quick else ((2048, 2048), (1024, 1024), (64, 64), 1000)
        )
        for kvstore in ("memory", "file"):
            for blosc in (False, True):
                label = f"W4 {kvstore} {'blosc' if blosc else 'raw'}"
                out.append(ShardedCase(label, shape4, shard4, inner4, kvstore, blosc, reads4))
        for kvstore in ("memory", "file"):
            out.append(
                ShardedCase(f"W4 rewrite {kvstore}", shape4, shape4, inner4, kvstore, False, 0, True)
            )
    if "W6" in workloads:
        if quick:
            out.append(ShardCase("W6 shard", (256, 256), (32, 32), 64))
        else:
            out.append(ShardCase("W6 shard", (1024, 1024), (32, 32), 1000))
    if "W5" in workloads:
        shape5 = (512, 512) if quick else (4096, 4096)
        out.append(VirtualCase("W5 virtual", shape5, (256, 256)))
    return out


def array_data(case: ArrayCase) -> np.ndarray[Any, Any]:
    """Deterministic data that blosc can compress somewhat (few distinct values)."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 64, size=case.shape, dtype=np.uint8)
    return (small.astype(case.dtype) / 4).astype(case.dtype)


def boxes(case: BoxCase) -> list[tuple[tuple[slice, slice], int]]:
    """``case.writes`` non-overlapping random boxes, each with its own non-zero value."""
    rng = np.random.default_rng(1)
    taken = np.zeros(case.shape, dtype=bool)
    out: list[tuple[tuple[slice, slice], int]] = []
    while len(out) < case.writes:
        h, w = (int(v) for v in rng.integers(1, case.max_box + 1, size=2))
        y = int(rng.integers(0, case.shape[0] - h + 1))
        x = int(rng.integers(0, case.shape[1] - w + 1))
        box = (slice(y, y + h), slice(x, x + w))
        if taken[box].any():
            continue
        taken[box] = True
        out.append((box, len(out) % 255 + 1))
    return out


def reference(case: BoxCase, writes: list[tuple[tuple[slice, slice], int]]) -> np.ndarray[Any, Any]:
    expected = np.zeros(case.shape, dtype=np.uint8)
    for box, value in writes:
        expected[box] = value
    return expected


def fill_chunk(domain: Any, array: np.ndarray[Any, Any], params: Any) -> None:
    """W5's read function: each chunk holds the sum of its origin's indices."""
    array[...] = domain.inclusive_min[0] + domain.inclusive_min[1]


def shard_boxes(case: ShardCase) -> list[tuple[slice, slice]]:
    """The first ``case.reads`` inner chunks of the shard, row by row."""
    per_row = case.shape[1] // case.inner[1]
    out = []
    for i in range(case.reads):
        y, x = (i // per_row) * case.inner[0], (i % per_row) * case.inner[1]
        out.append((slice(y, y + case.inner[0]), slice(x, x + case.inner[1])))
    return out


def sharded_spec(case: ShardedCase, path: str) -> dict[str, Any]:
    """The zarr3 spec of a W4 array (tensortrio and tensorstore)."""
    inner_codecs: list[dict[str, Any]] = [{"name": "bytes", "configuration": {"endian": "little"}}]
    if case.blosc:
        inner_codecs.append(
            {
                "name": "blosc",
                "configuration": {"cname": "lz4", "clevel": 5, "shuffle": "shuffle", "typesize": 2, "blocksize": 0},
            }
        )
    store: dict[str, Any] = (
        {"driver": "memory"} if case.kvstore == "memory" else {"driver": "file", "path": path}
    )
    return {
        "driver": "zarr3",
        "kvstore": store,
        "metadata": {
            "shape": list(case.shape),
            "data_type": case.dtype,
            "fill_value": 0,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(case.shard)}},
            "codecs": [
                {
                    "name": "sharding_indexed",
                    "configuration": {
                        "chunk_shape": list(case.inner),
                        "codecs": inner_codecs,
                        "index_codecs": [
                            {"name": "bytes", "configuration": {"endian": "little"}},
                            {"name": "crc32c"},
                        ],
                    },
                }
            ],
        },
    }


def sharded_data(case: ShardedCase) -> np.ndarray[Any, Any]:
    """Deterministic W4 data (no inner chunk equal to the fill value)."""
    rng = np.random.default_rng(4)
    return rng.integers(1, 64, size=case.shape, dtype=np.uint8).astype(case.dtype)


def inner_boxes(case: ShardedCase) -> list[tuple[slice, slice]]:
    """``case.reads`` random single inner chunks (repeats allowed)."""
    rng = np.random.default_rng(40)
    grid = (case.shape[0] // case.inner[0], case.shape[1] // case.inner[1])
    out = []
    for i, j in zip(rng.integers(0, grid[0], case.reads), rng.integers(0, grid[1], case.reads), strict=True):
        y, x = int(i) * case.inner[0], int(j) * case.inner[1]
        out.append((slice(y, y + case.inner[0]), slice(x, x + case.inner[1])))
    return out


def virtual_expected(case: VirtualCase) -> np.ndarray[Any, Any]:
    rows = np.arange(case.shape[0]) // case.chunks[0] * case.chunks[0]
    cols = np.arange(case.shape[1]) // case.chunks[1] * case.chunks[1]
    return (rows[:, None] + cols[None, :]).astype(case.dtype)


# --- library adapters -------------------------------------------------------


def _ts_spec(
    case: ArrayCase | BoxCase | LatencyCase, path: str, kvstore: str, blosc: bool
) -> dict[str, Any]:
    dtype = "uint8" if isinstance(case, BoxCase) else case.dtype
    compressor = (
        {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}
        if blosc
        else None
    )
    store: dict[str, Any] = {"driver": "memory"} if kvstore == "memory" else {
        "driver": "file",
        "path": path,
    }
    return {
        "driver": "zarr",
        "kvstore": store,
        "metadata": {
            "shape": list(case.shape),
            "chunks": list(case.chunks),
            "dtype": np.dtype(dtype).str,
            "compressor": compressor,
            "order": "C",
        },
    }


class NotSupported(Exception):
    """The library has no equivalent of the workload (reported as "-", not FAILED)."""


class TensorStoreLike:
    """tensortrio and tensorstore share TensorStore's API: one adapter for both."""

    def __init__(self, module: Any) -> None:
        self.ts = module

    def create(self, case: Case, path: str, kvstore: str, blosc: bool) -> Any:
        spec = _ts_spec(case, path, kvstore, blosc)
        return self.ts.open(spec, create=True, context=self.ts.Context()).result()

    def write_all(self, store: Any, data: np.ndarray[Any, Any]) -> None:
        store.write(data).result()

    def read_all(self, store: Any) -> np.ndarray[Any, Any]:
        return np.asarray(store.read().result())

    def virtual(self, case: VirtualCase) -> Any:
        ts = self.ts
        return ts.virtual_chunked(
            fill_chunk,
            dtype=ts.dtype(case.dtype),
            shape=case.shape,
            chunk_layout=ts.ChunkLayout(read_chunk_shape=case.chunks),
            context=ts.Context(),
        )

    def write_small(self, store: Any, row: int, data: np.ndarray[Any, Any]) -> None:
        store[row, 0 : data.shape[0]].write(data).result()

    def read_small(self, store: Any, row: int, width: int) -> np.ndarray[Any, Any]:
        return np.asarray(store[row, 0:width].read().result())

    def write_boxes(
        self, store: Any, writes: list[tuple[tuple[slice, slice], int]], transaction: bool = False
    ) -> None:
        txn = self.ts.Transaction() if transaction else None
        if txn is not None:
            store = store.with_transaction(txn)
        futures = [
            store[box].write(np.full((box[0].stop - box[0].start, box[1].stop - box[1].start), value, np.uint8))
            for box, value in writes
        ]
        for future in futures:
            future.result()
        if txn is not None:
            txn.commit_sync()

    def create_shard(self, case: ShardCase, path: str) -> Any:
        ts = self.ts
        store = ts.open(
            {"driver": "zarr3", "kvstore": {"driver": "file", "path": path}},
            create=True,
            dtype=ts.uint8,
            shape=case.shape,
            chunk_layout=ts.ChunkLayout(read_chunk_shape=case.inner, write_chunk_shape=case.shape),
            context=ts.Context(),
        ).result()
        store.write(np.arange(int(np.prod(case.shape)), dtype=np.uint8).reshape(case.shape)).result()
        return store

    def kvstore_reads(self, store: Any) -> int:
        if self.ts.__name__ == "tensortrio":
            return int(store.kvstore.statistics().io_reads)
        metrics = self.ts.experimental_collect_matching_metrics("/tensorstore/kvstore/file/read")
        return int(metrics[0]["values"][0]["value"]) if metrics else 0

    def read_boxes(self, store: Any, boxes: list[tuple[slice, slice]], batched: bool) -> list[Any]:
        if not batched:
            return [store[box].read().result() for box in boxes]
        with self.ts.Batch() as batch:
            futures = [store[box].read(batch=batch) for box in boxes]
        return [future.result() for future in futures]


    def create_sharded(self, case: ShardedCase, path: str) -> Any:
        return self.ts.open(sharded_spec(case, path), create=True, context=self.ts.Context()).result()

    def read_inner(self, store: Any, boxes: list[tuple[slice, slice]]) -> list[Any]:
        futures = [store[box].read() for box in boxes]
        return [future.result() for future in futures]

    def write_inner(self, store: Any, box: tuple[slice, slice], data: np.ndarray[Any, Any]) -> None:
        store[box].write(data).result()

    def encoded_inner_chunks(self, store: Any) -> int | None:
        """Inner chunks encoded so far by ``store``'s cache."""
        if self.ts.__name__ == "tensortrio":
            return int(store._driver.cache.shard_statistics().inner_encoded)
        metrics = self.ts.experimental_collect_matching_metrics("/tensorstore/cache/chunk_cache/writes")
        return int(metrics[0]["values"][0]["value"]) if metrics else None


class ZarrPython:
    """zarr-python 3 writing zarr v2 arrays; concurrency from a thread pool."""

    def __init__(self) -> None:
        import numcodecs

        import zarr

        self.zarr = zarr
        self.numcodecs = numcodecs

    def create(self, case: Case, path: str, kvstore: str, blosc: bool) -> Any:
        zarr = self.zarr
        store = zarr.storage.MemoryStore() if kvstore == "memory" else zarr.storage.LocalStore(path)
        dtype = case.dtype if isinstance(case, ArrayCase | LatencyCase) else "uint8"
        compressor = (
            self.numcodecs.Blosc(cname="lz4", clevel=5, shuffle=self.numcodecs.Blosc.SHUFFLE)
            if blosc
            else None
        )
        return zarr.create_array(
            store=store,
            shape=case.shape,
            chunks=case.chunks,
            dtype=dtype,
            compressors=compressor,
            zarr_format=2,
            fill_value=0,
        )

    def write_all(self, array: Any, data: np.ndarray[Any, Any]) -> None:
        array[...] = data

    def read_all(self, array: Any) -> np.ndarray[Any, Any]:
        return np.asarray(array[...])

    def write_small(self, array: Any, row: int, data: np.ndarray[Any, Any]) -> None:
        array[row, 0 : data.shape[0]] = data

    def read_small(self, array: Any, row: int, width: int) -> np.ndarray[Any, Any]:
        return np.asarray(array[row, 0:width])

    def virtual(self, case: VirtualCase) -> Any:
        raise NotSupported("zarr-python has no virtual_chunked")

    def create_shard(self, case: ShardCase, path: str) -> Any:
        raise NotSupported("zarr-python has no batched reads")

    def create_sharded(self, case: ShardedCase, path: str) -> Any:
        zarr = self.zarr
        store = zarr.storage.MemoryStore() if case.kvstore == "memory" else zarr.storage.LocalStore(path)
        compressors = (
            zarr.codecs.BloscCodec(cname="lz4", clevel=5, shuffle="shuffle", typesize=2, blocksize=0)
            if case.blosc
            else None
        )
        return zarr.create_array(
            store=store,
            shape=case.shape,
            shards=case.shard,
            chunks=case.inner,
            dtype=case.dtype,
            compressors=compressors,
            zarr_format=3,
            fill_value=0,
        )

    def read_inner(self, array: Any, boxes: list[tuple[slice, slice]]) -> list[Any]:
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            return list(pool.map(array.__getitem__, boxes))

    def write_inner(self, array: Any, box: tuple[slice, slice], data: np.ndarray[Any, Any]) -> None:
        array[box] = data

    def encoded_inner_chunks(self, array: Any) -> int | None:
        return None

    def write_boxes(
        self, array: Any, writes: list[tuple[tuple[slice, slice], int]], transaction: bool = False
    ) -> None:
        if transaction:
            raise NotSupported("zarr-python has no transactions")

        def one(item: tuple[tuple[slice, slice], int]) -> None:
            box, value = item
            array[box] = value

        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(one, writes))


def adapter(library: str) -> Any:
    """The adapter for ``library``; raises if the library (or its open) is unavailable."""
    if library == "tensortrio":
        import tensortrio

        if not hasattr(tensortrio, "open"):
            raise RuntimeError("tensortrio has no ts.open yet")
        return TensorStoreLike(tensortrio)
    if library == "tensorstore":
        import tensorstore

        return TensorStoreLike(tensorstore)
    if library == "zarr":
        return ZarrPython()
    raise ValueError(f"unknown library {library!r} (choose from {', '.join(LIBRARIES)})")


# --- running ------------------------------------------------------------------


@contextmanager
def scratch_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="tensortrio-bench-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        # Deleting hundreds of MiB leaves the filesystem busy for a while (the
        # journal, discards): flush that now, untimed, so that it does not slow
        # whichever library's phase comes next.
        os.sync()


#: Bytes touched and freed before each timed phase, per byte of the array (0: ``--cold``).
WARM_FACTOR = 2


def warm_memory(nbytes: int) -> None:
    """Touch ``WARM_FACTOR * nbytes`` of fresh memory and free it (see the module docstring)."""
    size = WARM_FACTOR * nbytes
    if size:
        block = np.empty(size, dtype=np.uint8)
        block[::4096] = 1
        del block


def run_array(lib: Any, case: ArrayCase, data: np.ndarray[Any, Any]) -> dict[str, float]:
    with scratch_dir() as path:
        handle = lib.create(case, path + "/a", case.kvstore, case.blosc)
        warm_memory(case.nbytes)
        start = time.perf_counter()
        lib.write_all(handle, data)
        wrote = time.perf_counter() - start
        warm_memory(case.nbytes)
        start = time.perf_counter()
        out = lib.read_all(handle)
        read = time.perf_counter() - start
        if not np.array_equal(out, data):
            raise AssertionError(f"{case.name}: data read back differs from data written")
        del handle, out
        return {"write": wrote, "read": read}


def run_latency(lib: Any, case: LatencyCase) -> dict[str, float]:
    rows = case.shape[0]
    data = np.arange(10, dtype=case.dtype)
    with scratch_dir() as path:
        handle = lib.create(case, path + "/a", case.kvstore, False)
        for i in range(10):  # warm-up: first-use costs are not latency
            lib.write_small(handle, i, data)
            lib.read_small(handle, i, 10)
        start = time.perf_counter()
        for i in range(case.ops):
            lib.write_small(handle, (i * 7) % rows, data)
        written = time.perf_counter()
        for i in range(case.ops):
            out = lib.read_small(handle, (i * 7) % rows, 10)
        done = time.perf_counter()
        if not np.array_equal(out, data):
            raise AssertionError(f"{case.name}: data read back differs from data written")
        del handle
        return {"write": written - start, "read": done - written}


def run_boxes(lib: Any, case: BoxCase, writes: list[Any], expected: np.ndarray[Any, Any]) -> dict[str, float]:
    with scratch_dir() as path:
        handle = lib.create(case, path + "/a", case.kvstore, False)
        start = time.perf_counter()
        lib.write_boxes(handle, writes, case.transaction)
        written = time.perf_counter()
        out = lib.read_all(handle)
        lost = int(np.count_nonzero(out != expected))
        del handle
        return {"write": written - start, "lost": float(lost)}


def run_shard(lib: Any, case: ShardCase) -> dict[str, float]:
    with scratch_dir() as path:
        handle = lib.create_shard(case, path + "/a")
        expected = np.arange(int(np.prod(case.shape)), dtype=np.uint8).reshape(case.shape)
        boxes = shard_boxes(case)
        metrics: dict[str, float] = {}
        for batched, phase, count in ((False, "read", "kvrd"), (True, "batch", "bkvrd")):
            before = lib.kvstore_reads(handle)
            start = time.perf_counter()
            out = lib.read_boxes(handle, boxes, batched)
            metrics[phase] = time.perf_counter() - start
            metrics[count] = float(lib.kvstore_reads(handle) - before)
            for box, array in zip(boxes, out, strict=True):
                if not np.array_equal(array, expected[box]):
                    raise AssertionError(f"{case.name}: inner chunk {box} read back wrong")
        del handle
        return metrics


def run_sharded(lib: Any, case: ShardedCase, data: np.ndarray[Any, Any]) -> dict[str, float]:
    with scratch_dir() as path:
        handle = lib.create_sharded(case, path + "/a")
        warm_memory(case.nbytes)
        began = time.perf_counter()
        lib.write_all(handle, data)
        wrote = time.perf_counter() - began
        if case.rewrite:
            # One inner chunk of the full shard, rewritten a few times: the median rewrite.
            times, encoded = [], []
            for k in range(5):
                box = (slice(0, case.inner[0]), slice(case.inner[1] * k, case.inner[1] * (k + 1)))
                before = lib.encoded_inner_chunks(handle)
                start = time.perf_counter()
                lib.write_inner(handle, box, np.full(case.inner, 100 + k, case.dtype))
                times.append(time.perf_counter() - start)
                after = lib.encoded_inner_chunks(handle)
                if before is not None and after is not None:
                    encoded.append((after - before) * case.inner_nbytes / 1024)
                data[box] = 100 + k
            if not np.array_equal(lib.read_all(handle), data):
                raise AssertionError(f"{case.name}: data read back differs from data written")
            metrics = {"rw1": statistics.median(times)}
            if encoded:
                metrics["encKiB"] = statistics.median(encoded)
            return metrics
        warm_memory(case.nbytes)
        began = time.perf_counter()
        out = lib.read_all(handle)
        read = time.perf_counter() - began
        if not np.array_equal(out, data):
            raise AssertionError(f"{case.name}: data read back differs from data written")
        boxes = inner_boxes(case)
        start = time.perf_counter()
        chunks = lib.read_inner(handle, boxes)
        finished = time.perf_counter()
        for box, chunk in zip(boxes, chunks, strict=True):
            if not np.array_equal(chunk, data[box]):
                raise AssertionError(f"{case.name}: inner chunk {box} read back wrong")
        del handle, out
        return {"write": wrote, "read": read, "rand": finished - start}


def run_virtual(lib: Any, case: VirtualCase, expected: np.ndarray[Any, Any]) -> dict[str, float]:
    handle = lib.virtual(case)
    lib.read_all(handle)  # warm-up: worker threads started
    warm_memory(case.nbytes)
    start = time.perf_counter()
    out = lib.read_all(handle)
    done = time.perf_counter()
    if not np.array_equal(out, expected):
        raise AssertionError(f"{case.name}: data read differs from the read function's")
    del handle, out
    return {"read": done - start}


@attrs.define
class Results:
    """Samples per (case, library, metric), and the first error per (case, library)."""

    samples: dict[tuple[str, str, str], list[float]] = attrs.field(factory=dict)
    errors: dict[tuple[str, str], str] = attrs.field(factory=dict)

    def add(self, case: str, library: str, metrics: dict[str, float]) -> None:
        for metric, value in metrics.items():
            self.samples.setdefault((case, library, metric), []).append(value)

    def median(self, case: str, library: str, metric: str) -> float | None:
        values = self.samples.get((case, library, metric))
        return statistics.median(values) if values else None

    def paired_ratio(self, case: str, mine: str, theirs: str, metric: str) -> float | None:
        """The median over repeats of ``theirs``'s time over ``mine``'s in the same repeat.

        Both ran the case back to back in each repeat, so a slow stretch of
        the machine weighs on both sides of each ratio alike.
        """
        a = self.samples.get((case, mine, metric))
        b = self.samples.get((case, theirs, metric))
        if not a or not b or len(a) != len(b) or not all(a):
            return None
        return statistics.median(y / x for x, y in zip(a, b, strict=True))


def run(
    all_cases: list[Case], libraries: list[str], repeats: int, log: Callable[[str], None]
) -> Results:
    """Run every case for every library, interleaved, ``repeats`` times."""
    results = Results()
    adapters: dict[str, Any] = {}
    for library in libraries:
        try:
            adapters[library] = adapter(library)
        except Exception as exc:
            for case in all_cases:
                results.errors[(case.name, library)] = f"{type(exc).__name__}: {exc}"
    for repeat in range(repeats):
        for case in all_cases:
            if isinstance(case, ArrayCase):
                data = array_data(case)
            elif isinstance(case, VirtualCase):
                expected = virtual_expected(case)
            elif isinstance(case, ShardCase | LatencyCase):
                pass
            elif isinstance(case, ShardedCase):
                data = sharded_data(case)
            else:
                writes = boxes(case)
                expected = reference(case, writes)
            # Rotate the order: over a multiple of len(libraries) repeats, each
            # library runs in each position equally often (with three, plain
            # alternation kept the middle one always in the middle).
            shift = repeat % len(libraries)
            order = libraries[shift:] + libraries[:shift]
            for library in order:
                if (case.name, library) in results.errors:
                    continue
                lib = adapters[library]
                try:
                    if isinstance(case, ArrayCase):
                        metrics = run_array(lib, case, data)
                    elif isinstance(case, VirtualCase):
                        metrics = run_virtual(lib, case, expected)
                    elif isinstance(case, ShardCase):
                        metrics = run_shard(lib, case)
                    elif isinstance(case, LatencyCase):
                        metrics = run_latency(lib, case)
                    elif isinstance(case, ShardedCase):
                        metrics = run_sharded(lib, case, data.copy())
                    else:
                        metrics = run_boxes(lib, case, writes, expected)
                except NotSupported:
                    continue
                except Exception as exc:
                    results.errors[(case.name, library)] = f"{type(exc).__name__}: {exc}"
                    log(f"{case.name} {library}: FAILED\n{traceback.format_exc()}")
                    continue
                results.add(case.name, library, metrics)
                log(f"[{repeat + 1}/{repeats}] {case.name:<18} {library:<12} "
                    + " ".join(f"{k}={v:.3f}" for k, v in metrics.items()))
                gc.collect()
    return results


def report(all_cases: list[Case], libraries: list[str], results: Results) -> str:
    """The table of medians and tensortrio's ratios."""
    lines = []
    others = [lib for lib in libraries if lib != "tensortrio"]
    header = f"{'workload':<18} {'phase':<6}" + "".join(f" {lib:>12}" for lib in libraries)
    if "tensortrio" in libraries:
        header += "".join(f" {'tt/' + lib[:5]:>10}" for lib in others)
        header += "".join(f" {'pair/' + lib[:5]:>10}" for lib in others)
    lines.append(header)
    for case in all_cases:
        if isinstance(case, ArrayCase | LatencyCase):
            phases: tuple[str, ...] = ("write", "read")
        elif isinstance(case, VirtualCase):
            phases = ("read",)
        elif isinstance(case, ShardCase):
            phases = ("read", "kvrd", "batch", "bkvrd")
        elif isinstance(case, ShardedCase):
            phases = ("rw1", "encKiB") if case.rewrite else ("write", "read", "rand")
        else:
            phases = ("write", "lost")
        for phase in phases:
            row = f"{case.name:<18} {phase:<6}"
            rates: dict[str, float | None] = {}
            for library in libraries:
                if (case.name, library) in results.errors:
                    row += f" {'FAILED':>12}"
                    rates[library] = None
                    continue
                seconds = results.median(case.name, library, phase)
                if seconds is None:
                    row += f" {'-':>12}"
                    rates[library] = None
                elif phase in ("lost", "kvrd", "bkvrd", "encKiB"):
                    row += f" {int(seconds):>12d}"
                    rates[library] = None
                else:
                    sized = isinstance(case, ArrayCase | VirtualCase | ShardedCase)
                    if isinstance(case, ShardedCase) and phase == "rand":
                        amount, unit = float(case.reads), "r/s"
                    elif phase == "rw1":
                        amount, unit = 1.0, "rw/s"
                    elif isinstance(case, ShardCase):
                        amount, unit = float(case.reads), "r/s"
                    elif isinstance(case, LatencyCase):
                        amount, unit = float(case.ops), "op/s"
                    elif sized:
                        amount, unit = case.nbytes / MIB, "MiB/s"  # type: ignore[union-attr]
                    else:
                        amount, unit = float(case.writes), "w/s"  # type: ignore[union-attr]
                    rates[library] = amount / seconds if seconds > 0 else float("inf")
                    row += f" {rates[library]:>8.1f}{unit:>4}"[-13:]
            if "tensortrio" in libraries:
                for other in others:
                    mine, theirs = rates.get("tensortrio"), rates.get(other)
                    row += f" {mine / theirs:>10.2f}" if mine and theirs else f" {'-':>10}"
                for other in others:
                    paired = None
                    if rates.get("tensortrio") and rates.get(other):
                        paired = results.paired_ratio(case.name, "tensortrio", other, phase)
                    row += f" {paired:>10.2f}" if paired is not None else f" {'-':>10}"
            lines.append(row)
    for (case_name, library), error in sorted(results.errors.items()):
        lines.append(f"FAILED {case_name} {library}: {error.splitlines()[0][:200]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per case (medians printed)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--libs", default=",".join(LIBRARIES), help="comma-separated libraries")
    parser.add_argument(
        "--workloads", default="W0,W1,W2,W3,W4,W5,W6", help="comma-separated: W0,W1,W2,W3,W4,W5,W6"
    )
    parser.add_argument("--verbose", action="store_true", help="print every sample")
    parser.add_argument(
        "--cold", action="store_true", help="no memory warm-up before timed phases"
    )
    args = parser.parse_args(argv)
    global WARM_FACTOR  # a run-wide harness setting
    WARM_FACTOR = 0 if args.cold else WARM_FACTOR
    libraries = [lib for lib in args.libs.split(",") if lib]
    all_cases = cases(args.quick, set(args.workloads.split(",")))

    def log(text: str) -> None:
        if args.verbose or "FAILED" in text:
            print(text, file=sys.stderr, flush=True)

    results = run(all_cases, libraries, args.repeats, log)
    print(report(all_cases, libraries, results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
