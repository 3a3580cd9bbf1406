"""Compare ``tensortrio.KvStore`` with ``tensorstore.KvStore``: 4 KiB writes and reads.

One interleaved run per round: for each library (order alternating between
rounds) and each driver (memory, file with fsync, TensorStore's default), a
fresh store gets N writes of 4 KiB values, then N reads of them. Two forms:

- ``batch``: issue all N operations, then ``.result()`` each (the form the
  goals are set for: file >= 1.0x, memory >= 0.25x tensorstore);
- ``serial``: ``.result()`` right after each operation (latency-bound).

For file reads it also times the floor: a bare Python loop of the four
system calls a read needs, over the same files.

Prints the median ops/s of each library and their ratio.

    python bench/kvstore.py [--n 10000] [--rounds 5] [--serial-n 1000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from typing import Any

import tensorstore

import tensortrio

VALUE = os.urandom(4096)
GOALS = {"memory": 0.25, "file": 1.0}


def _spec(driver: str, directory: str) -> dict[str, Any]:
    if driver == "memory":
        return {"driver": "memory"}
    return {"driver": "file", "path": f"{directory}/"}


def _batch(store: Any, n: int) -> tuple[float, float]:
    keys = [f"k{i}" for i in range(n)]
    start = time.perf_counter()
    futures = [store.write(k, VALUE) for k in keys]
    for f in futures:
        f.result()
    middle = time.perf_counter()
    futures = [store.read(k) for k in keys]
    for f in futures:
        assert f.result().value == VALUE
    end = time.perf_counter()
    return n / (middle - start), n / (end - middle)


def _bare_reads(directory: str, n: int) -> float:
    """Reads/s of a bare Python loop of open, fstat, read, close over the batch's files.

    The least any Python file kvstore does per read, without an API call,
    a future or a thread hop: the floor for ``batch file read``.
    """
    paths = [os.path.join(directory, f"k{i}").encode() for i in range(n)]
    start = time.perf_counter()
    for path in paths:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            value = os.read(fd, os.fstat(fd).st_size)
        finally:
            os.close(fd)
        assert value == VALUE
    return n / (time.perf_counter() - start)


def _serial(store: Any, n_writes: int, n_reads: int) -> tuple[float, float]:
    start = time.perf_counter()
    for i in range(n_writes):
        store.write(f"s{i}", VALUE).result()
    middle = time.perf_counter()
    for i in range(n_reads):
        assert store.read(f"s{i % n_writes}").result().value == VALUE
    end = time.perf_counter()
    return n_writes / (middle - start), n_reads / (end - middle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--serial-n", type=int, default=1000)
    parser.add_argument("--dir", default=None, help="where file stores are created")
    args = parser.parse_args()

    libraries = {"tensortrio": tensortrio, "tensorstore": tensorstore}
    results: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    for round_ in range(args.rounds):
        order = list(libraries) if round_ % 2 == 0 else list(reversed(libraries))
        for name in order:
            ts = libraries[name]
            for driver in ("memory", "file"):
                directory = tempfile.mkdtemp(prefix=f"bench-{name}-", dir=args.dir)
                try:
                    store = ts.KvStore.open(_spec(driver, directory)).result()
                    w, r = _batch(store, args.n)
                    results[("batch", driver, "write", name)].append(w)
                    results[("batch", driver, "read", name)].append(r)
                    if driver == "file" and name == "tensortrio":
                        results[("floor", driver, "read", name)].append(
                            _bare_reads(directory, args.n)
                        )
                    n_writes = args.serial_n if driver == "memory" else max(args.serial_n // 5, 1)
                    w, r = _serial(store, n_writes, args.serial_n)
                    results[("serial", driver, "write", name)].append(w)
                    results[("serial", driver, "read", name)].append(r)
                    del store
                finally:
                    shutil.rmtree(directory, ignore_errors=True)
        print(f"round {round_ + 1}/{args.rounds} done", flush=True)

    print()
    print(f"4 KiB values; batch: {args.n} ops issued, then .result() each;")
    print(f"serial: .result() after each op ({args.serial_n} reads; file writes with fsync: fewer)")
    print(f"medians of {args.rounds} interleaved rounds (ops/s)")
    print()
    print(f"{'form':<7}{'driver':<8}{'op':<7}{'tensortrio':>12}{'tensorstore':>13}{'ratio':>8}  goal")
    for form in ("batch", "serial"):
        for driver in ("memory", "file"):
            for op in ("write", "read"):
                ours = statistics.median(results[(form, driver, op, "tensortrio")])
                theirs = statistics.median(results[(form, driver, op, "tensorstore")])
                ratio = ours / theirs
                goal = ""
                if form == "batch":
                    target = GOALS[driver]
                    goal = f">= {target:.2f}x {'met' if ratio >= target else 'MISSED'}"
                print(
                    f"{form:<7}{driver:<8}{op:<7}{ours:>12,.0f}{theirs:>13,.0f}{ratio:>7.2f}x  {goal}"
                )
    floor = statistics.median(results[("floor", "file", "read", "tensortrio")])
    theirs = statistics.median(results[("batch", "file", "read", "tensorstore")])
    print()
    print(
        f"floor: a bare Python loop of open/fstat/read/close over the same files does "
        f"{floor:,.0f} reads/s, {floor / theirs:.2f}x tensorstore's batch file read"
    )


if __name__ == "__main__":
    main()
