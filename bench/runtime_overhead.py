"""Round-trip cost of a trivial operation through the runtime, from each kind of caller.

Run: ``python bench/runtime_overhead.py [--ops N] [--runs R]``. Prints the
median over runs of microseconds per ``submit(noop)`` awaited or waited on
from a plain thread, from trio and from asyncio (target: at most 60 µs each),
and, for comparison, the floor: a bare thread -> trio task -> thread round trip
with no Future at all. On a loaded machine all four move together.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time

import trio

from tensortrio.runtime import get_runtime


async def noop() -> int:
    return 1


def from_thread(ops: int) -> float:
    submit = get_runtime().submit
    start = time.perf_counter()
    for _ in range(ops):
        submit(noop).result()
    return (time.perf_counter() - start) / ops


async def from_async(ops: int) -> float:
    submit = get_runtime().submit
    start = time.perf_counter()
    for _ in range(ops):
        await submit(noop)
    return (time.perf_counter() - start) / ops


def from_trio(ops: int) -> float:
    return trio.run(from_async, ops)


def from_asyncio(ops: int) -> float:
    return asyncio.run(from_async(ops))


def trio_floor(ops: int) -> float:
    """The least any design on trio pays: hop in with run_sync_soon, spawn a task, wake the caller."""
    runtime = get_runtime()

    async def release(gate: threading.Lock) -> None:
        gate.release()

    def spawn(gate: threading.Lock) -> None:
        runtime.service_nursery.start_soon(release, gate)

    token = runtime.trio_token
    start = time.perf_counter()
    for _ in range(ops):
        gate = threading.Lock()
        gate.acquire()
        token.run_sync_soon(spawn, gate)
        gate.acquire()
    return (time.perf_counter() - start) / ops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=2000, help="operations per run")
    parser.add_argument("--runs", type=int, default=7, help="runs per caller")
    args = parser.parse_args()
    get_runtime().submit(noop).result()  # start the runtime outside the timings
    callers = {
        "thread": from_thread,
        "trio": from_trio,
        "asyncio": from_asyncio,
        "floor": trio_floor,  # a thread's bare hop into trio and back, for comparison
    }
    timings: dict[str, list[float]] = {name: [] for name in callers}
    for _ in range(args.runs):  # interleaved, so machine noise spreads over all callers
        for name, caller in callers.items():
            timings[name].append(caller(args.ops))
    for name, runs in timings.items():
        print(
            f"{name:8s} median {statistics.median(runs) * 1e6:6.1f} µs/op  (min {min(runs) * 1e6:.1f})"
        )


if __name__ == "__main__":
    main()
