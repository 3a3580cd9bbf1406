"""Reads issued together run as one operation (drivers/read_burst.py): same results, shared loads."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import tensortrio as ts
from tensortrio.errors import DataLossError, OutOfRangeError
from tensortrio.runtime import get_runtime

from .conftest import cache_of, pattern, sharded_spec

if TYPE_CHECKING:
    from collections.abc import Callable

MEMORY = {"driver": "memory"}


def written(spec: dict[str, Any], data: np.ndarray) -> Any:
    store = ts.open(spec, create=True, context=ts.Context()).result()
    store.write(data).result()
    return store


def burst(issue: Callable[[], list[Any]]) -> list[Any]:
    """Outcomes (array or exception) of the reads ``issue()`` starts in one step of the runtime.

    Issued on the runtime thread, no read's operation starts before the last
    one is issued: they all join the first one's burst.
    """

    async def run() -> list[Any]:
        futures = issue()
        out: list[Any] = []
        for future in futures:
            try:
                out.append(await future)
            except BaseException as exc:
                out.append(exc)
        return out

    return get_runtime().submit(run).result()


def test_inner_chunks_of_one_shard_load_together() -> None:
    data = pattern((64, 64))
    store = written(sharded_spec(MEMORY), data)
    boxes = [(slice(8 * i, 8 * i + 8), slice(8 * j, 8 * j + 8)) for i in range(4) for j in range(4)]
    cache = cache_of(store)
    before = cache.shard_statistics()
    out = burst(lambda: [store[box].read() for box in boxes])
    after = cache.shard_statistics()
    for box, array in zip(boxes, out, strict=True):
        assert np.array_equal(array, data[box])
    # Every inner chunk of one shard: one read of the whole shard, not one per read.
    assert after.shard_reads - before.shard_reads == 1
    assert after.index_reads == before.index_reads


def test_each_read_keeps_its_own_outcome() -> None:
    data = pattern((64, 64))
    store = written(sharded_spec(MEMORY), data)
    out = burst(
        lambda: [
            store[0:8, 0:8].read(),
            store[60:70, 0:8].read(),  # outside the domain
            store[3:5, 40:50].read(order="F"),
            store[...].read(),  # every shard: read on its own
            store[5, 7].read(),
        ]
    )
    assert np.array_equal(out[0], data[0:8, 0:8])
    assert isinstance(out[1], OutOfRangeError)
    assert np.array_equal(out[2], data[3:5, 40:50])
    assert out[2].flags.f_contiguous
    assert np.array_equal(out[3], data)
    assert out[4] == data[5, 7]


def test_missing_chunks_fail_only_the_reads_that_touch_them() -> None:
    spec = {**sharded_spec(MEMORY), "fill_missing_data_reads": False}
    store = ts.open(spec, create=True, context=ts.Context()).result()
    store[0:8, 0:8].write(np.ones((8, 8), np.uint16)).result()
    out = burst(lambda: [store[0:8, 0:8].read(), store[40:48, 40:48].read(), store[1, 1].read()])
    assert np.array_equal(out[0], np.ones((8, 8), np.uint16))
    assert isinstance(out[1], ValueError)
    assert out[2] == 1


def test_a_corrupt_shard_fails_each_read_of_it_with_its_own_error() -> None:
    data = pattern((64, 64))
    store = written(sharded_spec(MEMORY), data)
    store.kvstore["c/0/0"] = b"\x00" * 40  # shorter than the shard index
    out = burst(lambda: [store[0:8, 0:8].read(), store[8:16, 0:8].read(), store[40:48, 40:48].read()])
    assert isinstance(out[0], DataLossError)
    assert isinstance(out[1], DataLossError)
    assert out[0] is not out[1]
    assert np.array_equal(out[2], data[40:48, 40:48])


def test_cancelling_a_joined_read_leaves_the_others() -> None:
    data = pattern((64, 64))
    store = written(sharded_spec(MEMORY), data)

    def issue() -> list[Any]:
        futures = [store[0:8, 8 * j : 8 * j + 8].read() for j in range(4)]
        assert futures[2].cancel()
        return futures

    out = burst(issue)
    assert isinstance(out[2], asyncio.CancelledError)
    for j in (0, 1, 3):
        assert np.array_equal(out[j], data[0:8, 8 * j : 8 * j + 8])


def test_reads_joined_to_a_first_read_cancelled_before_it_started_still_run() -> None:
    data = pattern((64, 64))
    store = written(sharded_spec(MEMORY), data)

    def issue() -> list[Any]:
        futures = [store[0:8, 8 * j : 8 * j + 8].read() for j in range(4)]
        assert futures[0].cancel()  # its operation never starts
        return futures

    out = burst(issue)
    assert isinstance(out[0], asyncio.CancelledError)
    for j in (1, 2, 3):
        assert np.array_equal(out[j], data[0:8, 8 * j : 8 * j + 8])


@pytest.mark.parametrize("driver", ["zarr", "zarr3"])
def test_unsharded_reads_in_a_burst(driver: str) -> None:
    data = pattern((64, 64))
    store = ts.open(
        {"driver": driver, "kvstore": MEMORY},
        create=True,
        dtype=ts.uint16,
        shape=[64, 64],
        chunk_layout=ts.ChunkLayout(chunk_shape=[16, 16]),
        context=ts.Context(),
    ).result()
    store.write(data).result()
    boxes = [(slice(5 * i, 5 * i + 9), slice(7 * i, 7 * i + 3)) for i in range(8)]
    out = burst(lambda: [store[box].read() for box in boxes])
    for box, array in zip(boxes, out, strict=True):
        assert np.array_equal(array, data[box])


def test_batch_reads_of_one_shard_load_it_once() -> None:
    data = pattern((64, 64))
    store = written(sharded_spec(MEMORY), data)
    boxes = [(slice(0, 8), slice(8 * j, 8 * j + 8)) for j in range(4)]
    cache = cache_of(store)
    before = cache.shard_statistics()
    with ts.Batch() as batch:
        futures = [store[box].read(batch=batch) for box in boxes]
        bad = store[0:8, 60:70].read(batch=batch)
    for box, future in zip(boxes, futures, strict=True):
        assert np.array_equal(future.result(), data[box])
    with pytest.raises(OutOfRangeError):
        bad.result()
    after = cache.shard_statistics()
    assert after.index_reads - before.index_reads == 1
    assert after.range_reads - before.range_reads == 1


def test_batch_reads_joined_to_a_cancelled_first_read_still_wait_for_the_submit() -> None:
    data = pattern((64, 64))
    store = written(sharded_spec(MEMORY), data)
    cache = cache_of(store)
    before = cache.shard_statistics()
    batch = ts.Batch()
    futures = [store[0:8, 8 * j : 8 * j + 8].read(batch=batch) for j in range(3)]
    assert futures[0].cancel()
    # Nothing starts before the submit, not even the reads the first one gathered.
    assert cache.shard_statistics() == before
    assert not any(future.done() for future in futures[1:])
    batch.submit()
    for j in (1, 2):
        assert np.array_equal(futures[j].result(), data[0:8, 8 * j : 8 * j + 8])
    with pytest.raises(ValueError, match=r"^batch was already submitted$"):
        store[8:16, 0:8].read(batch=batch)


def test_a_batch_is_a_burst_of_its_own() -> None:
    data = pattern((64, 64))
    store = written(sharded_spec(MEMORY), data)
    first, second = ts.Batch(), ts.Batch()
    a = store[0:8, 0:8].read(batch=first)
    b = store[0:8, 8:16].read(batch=second)
    second.submit()
    assert np.array_equal(b.result(), data[0:8, 8:16])
    assert not a.done()
    first.submit()
    assert np.array_equal(a.result(), data[0:8, 0:8])


def test_a_dropped_batch_still_starts_its_reads() -> None:
    data = pattern((64, 64))
    store = written(sharded_spec(MEMORY), data)
    batch = ts.Batch()
    futures = [store[0:8, 8 * j : 8 * j + 8].read(batch=batch) for j in range(2)]
    del batch  # as TensorStore users forget to submit: dropping it submits
    for j, future in enumerate(futures):
        assert np.array_equal(future.result(timeout=30), data[0:8, 8 * j : 8 * j + 8])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_reads_of_a_burst_in_flight_at_fork_fail_in_the_child() -> None:
    code = """
        import os, sys, threading
        import tensortrio as ts
        from tensortrio.runtime import get_runtime

        store = ts.open({"driver": "zarr", "kvstore": {"driver": "memory"}}, create=True,
                        dtype=ts.uint8, shape=[8], context=ts.Context()).result()
        blocked, release = threading.Event(), threading.Event()

        async def hold():
            # Blocks the runtime thread: the burst's operation cannot start before the fork.
            blocked.set()
            release.wait()

        blocker = get_runtime().submit(hold)
        blocked.wait()
        futures = [store[i : i + 1].read() for i in range(3)]
        child = os.fork()
        if child == 0:
            try:
                for future in futures:
                    error = future.exception(timeout=30)
                    assert "running in the parent process when it forked" in str(error), error
                print("child ok", flush=True)
            except BaseException as exc:
                print("child failed", repr(exc), flush=True)
                os._exit(1)
            sys.exit(0)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        release.set()
        assert [int(f.result()[0]) for f in futures] == [0, 0, 0]
        print("parent ok", flush=True)
    """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr + out.stdout
    assert out.stdout.splitlines() == ["child ok", "parent ok"]
