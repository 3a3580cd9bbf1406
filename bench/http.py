"""tensortrio vs tensorstore reading over HTTP from the same local server, interleaved.

The server runs in a process of its own over a temporary directory, so
that its Python does not share a GIL with the clients: an asyncio protocol
answering ``GET``/``HEAD`` with keep-alive, ``Range`` (206 with
``Content-Range``) and a strong ``ETag``, values kept in memory after their
first read. (The tests' threaded server, one thread per connection, spends
about 1.2 ms a request once 32 connections contend for its GIL: both
libraries then measure the server.) The workloads are written once, by tensortrio onto local files:

- ``zarr2 8K``: a [1024, 1024] uint16 zarr v2 array in [64, 64] chunks
  (256 chunks of 8 KiB, no compressor), read whole;
- ``zarr3 shard``: the same array as zarr3 in [256, 256] shards of [64, 64]
  inner chunks (16 shards of 16), read whole: 16 shard-index reads, then
  the inner chunks by byte range;
- ``zarr2 512K``: the same array in [512, 512] chunks (4 of 512 KiB);
- ``seq 8K``: one 8 KiB key read through ``KvStore.read`` 200 times, each
  waited for before the next (the figure is per read);
- ``conc 8K``: 1,000 different 8 KiB keys, every read issued before the
  first is waited for.

Arrays are opened untimed with the chunk cache off (``total_bytes_limit``
0), so every timed read goes to the server; each library gets one untimed
warm-up read first (connections opened, code paths imported).

Order: the two libraries alternate which runs first from one repeat to the
next. Printed: the median time of each (ms), the ratio of the medians
``tt/ts`` (tensortrio's time over tensorstore's: < 1 means tensortrio is
faster), and ``pair``, the median over repeats of the same ratio within
each repeat, which cancels the drift of this machine's speed.

Run ``flock /tmp/bench.lock python bench/http.py [--repeats 7] [--cases ...]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

LIBRARIES = ("tensortrio", "tensorstore")
SHAPE = (1024, 1024)
SEQUENTIAL_READS = 200
CONCURRENT_KEYS = 1000
VALUE_BYTES = 8192
NO_CACHE = {"cache_pool": {"total_bytes_limit": 0}}



@attrs.frozen
class ArrayCase:
    """A whole-array read of an array written once under ``name``."""

    name: str
    spec: dict[str, Any]


@attrs.frozen
class KeyCase:
    """Reads of 8 KiB keys through ``KvStore.read``: sequential or all at once."""

    name: str
    concurrent: bool


Case = ArrayCase | KeyCase


def _sharded() -> dict[str, Any]:
    raw = [{"name": "bytes", "configuration": {"endian": "little"}}]
    return {
        "driver": "zarr3",
        "metadata": {
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [256, 256]}},
            "codecs": [
                {
                    "name": "sharding_indexed",
                    "configuration": {
                        "chunk_shape": [64, 64],
                        "codecs": raw,
                        "index_codecs": [*raw, {"name": "crc32c"}],
                    },
                }
            ],
        },
    }


CASES: tuple[Case, ...] = (
    ArrayCase("zarr2 8K", {"driver": "zarr", "metadata": {"chunks": [64, 64], "compressor": None}}),
    ArrayCase("zarr3 shard", _sharded()),
    ArrayCase("zarr2 512K", {"driver": "zarr", "metadata": {"chunks": [512, 512], "compressor": None}}),
    KeyCase("seq 8K", concurrent=False),
    KeyCase("conc 8K", concurrent=True),
)


def _dirname(name: str) -> str:
    return name.replace(" ", "_")


def write_workloads(root: Path, data: np.ndarray[Any, Any]) -> None:
    """Every case's data onto local files under ``root`` (by tensortrio)."""
    import tensortrio

    for case in CASES:
        if isinstance(case, ArrayCase):
            path = f"{root}/{_dirname(case.name)}/"
            spec = {**case.spec, "kvstore": {"driver": "file", "path": path}}
            store = tensortrio.open(spec, create=True, dtype="uint16", shape=SHAPE).result()
            store.write(data).result()
    keys = root / "keys"
    keys.mkdir()
    rng = np.random.default_rng(1)
    for i in range(CONCURRENT_KEYS):
        (keys / f"k{i}").write_bytes(rng.bytes(VALUE_BYTES))


_RANGE = re.compile(rb"bytes=(\d*)-(\d*)")


class _Connection(asyncio.Protocol):
    """One client connection of the benchmark's server: HTTP/1.1 GET and HEAD, keep-alive."""

    def __init__(self, root: Path, files: dict[bytes, tuple[bytes, bytes] | None]) -> None:
        self.root = root
        self.files = files
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        out = []
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            out.append(self.answer(head))
        if out and self.transport is not None:
            self.transport.write(b"".join(out))

    def value(self, target: bytes) -> tuple[bytes, bytes] | None:
        path = urllib.parse.unquote_to_bytes(target.split(b"?", 1)[0])
        if path not in self.files:
            file = self.root / path.decode().lstrip("/")
            found = None
            if file.is_file():
                data = file.read_bytes()
                found = (data, b'"%s"' % hashlib.blake2b(data, digest_size=8).hexdigest().encode())
            self.files[path] = found
        return self.files[path]

    def answer(self, head: bytes) -> bytes:
        lines = head.split(b"\r\n")
        method, target, _ = lines[0].split(b" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        found = self.value(target)
        body_wanted = method != b"HEAD"
        if found is None:
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        data, etag = found
        status, extra, body = b"200 OK", b"", data
        match = _RANGE.fullmatch(headers.get(b"range", b""))
        if match is not None:
            first, last = match.groups()
            size = len(data)
            if first:
                start, stop = int(first), size if not last else min(size, int(last) + 1)
            else:
                start, stop = max(0, size - int(last)), size
            if start >= stop:
                return b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */%d\r\nContent-Length: 0\r\n\r\n" % size
            status, body = b"206 Partial Content", data[start:stop]
            extra = b"Content-Range: bytes %d-%d/%d\r\n" % (start, stop - 1, size)
        head_out = b"HTTP/1.1 %s\r\nETag: %s\r\n%sContent-Length: %d\r\n\r\n" % (
            status, etag, extra, len(body)
        )
        return head_out + body if body_wanted else head_out


def serve_forever(root: Path) -> None:
    """Serve ``root`` on 127.0.0.1 (one asyncio thread), print the URL, stop when stdin closes."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        files: dict[bytes, tuple[bytes, bytes] | None] = {}
        server = await loop.create_server(lambda: _Connection(root, files), "127.0.0.1", 0, backlog=1024)
        port = server.sockets[0].getsockname()[1]
        print(f"http://127.0.0.1:{port}", flush=True)
        await loop.run_in_executor(None, sys.stdin.read)
        server.close()

    asyncio.run(main())


@contextlib.contextmanager
def served(root: Path) -> Iterator[str]:
    """``root`` served over HTTP by a process of its own; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.kill()
        process.wait()


def run_array(lib: Any, case: ArrayCase, url: str, data: np.ndarray[Any, Any]) -> dict[str, float]:
    spec = {"driver": case.spec["driver"], "kvstore": url, "context": NO_CACHE}
    store = lib.open(spec).result()
    store.read().result()  # warm-up
    start = time.perf_counter()
    out = store.read().result()
    elapsed = time.perf_counter() - start
    if not np.array_equal(out, data):
        raise AssertionError(f"{case.name}: data read over HTTP differs from data written")
    return {"read": elapsed}


def run_keys(lib: Any, case: KeyCase, url: str, root: Path) -> dict[str, float]:
    store = lib.KvStore.open(url).result()
    if not case.concurrent:
        expected = (root / "keys" / "k0").read_bytes()
        store.read("k0").result()
        start = time.perf_counter()
        for _ in range(SEQUENTIAL_READS):
            value = store.read("k0").result().value
        elapsed = (time.perf_counter() - start) / SEQUENTIAL_READS
        if value != expected:
            raise AssertionError(f"{case.name}: value read differs")
        return {"read": elapsed}
    keys = [f"k{i}" for i in range(CONCURRENT_KEYS)]
    store.read(keys[0]).result()
    start = time.perf_counter()
    futures = [store.read(key) for key in keys]
    values = [future.result().value for future in futures]
    elapsed = time.perf_counter() - start
    for i in (0, CONCURRENT_KEYS // 2, CONCURRENT_KEYS - 1):
        if values[i] != (root / "keys" / keys[i]).read_bytes():
            raise AssertionError(f"{case.name}: value of {keys[i]} read differs")
    return {"read": elapsed}


def run(
    cases: list[Case], libraries: list[str], repeats: int, log: Callable[[str], None]
) -> dict[tuple[str, str], list[float]]:
    """Seconds per (case, library), one sample per repeat, libraries interleaved."""
    modules = {lib: __import__(lib) for lib in libraries}
    samples: dict[tuple[str, str], list[float]] = {}
    data = np.random.default_rng(0).integers(0, 1000, SHAPE, dtype=np.uint16)
    root = Path(tempfile.mkdtemp(prefix="tensortrio-http-bench-"))
    try:
        write_workloads(root, data)
        with served(root) as base:
            for repeat in range(repeats):
                shift = repeat % len(libraries)
                order = libraries[shift:] + libraries[:shift]
                for case in cases:
                    for library in order:
                        lib = modules[library]
                        if isinstance(case, ArrayCase):
                            url = f"{base}/{_dirname(case.name)}/"
                            metrics = run_array(lib, case, url, data)
                        else:
                            metrics = run_keys(lib, case, f"{base}/keys/", root)
                        samples.setdefault((case.name, library), []).append(metrics["read"])
                        log(f"[{repeat + 1}/{repeats}] {case.name:<12} {library:<12} "
                            f"{metrics['read'] * 1e3:.3f} ms")
                        gc.collect()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return samples


def report(cases: list[Case], libraries: list[str], samples: dict[tuple[str, str], list[float]]) -> str:
    """Medians (ms) and tensortrio's time ratio to tensorstore (< 1: tensortrio faster)."""
    lines = [f"{'case':<12}" + "".join(f" {lib + ' ms':>15}" for lib in libraries)]
    paired = "tensortrio" in libraries and "tensorstore" in libraries
    if paired:
        lines[0] += f" {'tt/ts':>7} {'pair':>7}"
    for case in cases:
        row = f"{case.name:<12}"
        for library in libraries:
            row += f" {statistics.median(samples[(case.name, library)]) * 1e3:>15.3f}"
        if paired:
            mine, theirs = samples[(case.name, "tensortrio")], samples[(case.name, "tensorstore")]
            row += f" {statistics.median(mine) / statistics.median(theirs):>7.2f}"
            row += f" {statistics.median(a / b for a, b in zip(mine, theirs, strict=True)):>7.2f}"
        lines.append(row)
    lines.append(f"(seq 8K: ms per read of {SEQUENTIAL_READS}; conc 8K: {CONCURRENT_KEYS} reads at once)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs per case (medians printed)")
    parser.add_argument("--libs", default=",".join(LIBRARIES), help="comma-separated libraries")
    parser.add_argument(
        "--cases", default=",".join(c.name for c in CASES), help="comma-separated case names"
    )
    parser.add_argument("--verbose", action="store_true", help="print every sample")
    parser.add_argument("--serve", metavar="DIR", help=argparse.SUPPRESS)  # the server process
    args = parser.parse_args(argv)
    if args.serve:
        serve_forever(Path(args.serve))
        return 0
    # Run as ``python bench/http.py``, this file's directory comes first on the
    # path, and this module would shadow the standard library's ``http``.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    libraries = [lib for lib in args.libs.split(",") if lib]
    wanted = set(args.cases.split(","))
    cases = [case for case in CASES if case.name in wanted]

    def log(text: str) -> None:
        if args.verbose:
            print(text, file=sys.stderr, flush=True)

    samples = run(cases, libraries, args.repeats, log)
    print(report(cases, libraries, samples))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
