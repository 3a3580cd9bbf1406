"""The file driver: conformance suite, path safety, crash safety, processes, TensorStore interop."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
import tensorstore

import tensortrio as ts
from tensortrio.drivers.kvstore.file import FileDriver
from tensortrio.testing import KvStoreTests
from tensortrio.testing.kvstore import COUNTER_WORKER, run_counter_processes

if TYPE_CHECKING:
    from pathlib import Path


class TestFileKvStore(KvStoreTests):
    shared_across_processes: ClassVar[bool] = True

    @pytest.fixture
    def spec(self, tmp_path: Path) -> Any:
        return {"driver": "file", "path": f"{tmp_path}/"}

    def set_raw(self, store: ts.KvStore, key: bytes, value: bytes) -> None:
        path = store.path.encode() + key
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(value)

    def get_raw(self, store: ts.KvStore, key: bytes) -> bytes | None:
        try:
            with open(store.path.encode() + key, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None


@pytest.fixture
def root(tmp_path: Path) -> Path:
    directory = tmp_path / "root"
    directory.mkdir()
    return directory


@pytest.fixture
def store(root: Path) -> ts.KvStore:
    return ts.KvStore.open({"driver": "file", "path": f"{root}/"}).result()


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_repr_spec_and_url(store: ts.KvStore, root: Path) -> None:
    assert repr(store) == (
        "KvStore({\n"
        "  'context': {'file_io_concurrency': {}},\n"
        "  'driver': 'file',\n"
        "  'file_io_locking': {},\n"
        "  'file_io_mode': {},\n"
        "  'file_io_retries': {},\n"
        "  'file_io_sync': True,\n"
        f"  'path': '{root}/',\n"
        "})"
    )  # as tensorstore's
    assert store.spec() == ts.KvStore.Spec({"driver": "file", "path": f"{root}/"})
    assert store.url == f"file://{root}/"
    assert ts.KvStore.open(f"file://{root}/").result().spec() == store.spec()


def test_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = ts.KvStore.open({"driver": "file", "path": "data/"}).result()
    store["a/b"] = b"rel"
    assert (tmp_path / "data" / "a" / "b").read_bytes() == b"rel"
    with pytest.raises(
        ts.InvalidArgumentError, match=r"^file: a relative path has no URL representation"
    ):
        store.url


def test_context_resources(root: Path) -> None:
    spec = {"driver": "file", "path": f"{root}/", "file_io_concurrency": {"limit": 2}}
    store = ts.KvStore.open(spec).result()
    driver = store._driver
    assert isinstance(driver, FileDriver)
    assert driver.concurrency == 2
    unsynced = ts.KvStore.open({**spec, "file_io_sync": False}).result()
    unsynced["k"] = b"v"
    assert store["k"] == b"v"
    assert "'file_io_sync': False" in repr(unsynced)


# --- keys that could escape the root


BAD_KEYS = [
    ("../x", r"it has a '\.\.' path component, which could escape the root"),
    ("a/../../x", r"it has a '\.\.' path component, which could escape the root"),
    ("./x", r"it has a '\.' path component, which could escape the root"),
    ("/etc/passwd", r"it has an empty path component"),
    ("a//b", r"it has an empty path component"),
    ("", r"it ends with a path separator"),
    ("a/", r"it ends with a path separator"),
    ("..", r"it has a '\.\.' path component, which could escape the root"),
    ("a\x00b", r"it contains a NUL byte"),
    ("x.__lock", r"a path component ends with '\.__lock', reserved for lock files"),
    ("d.__lock/x", r"a path component ends with '\.__lock', reserved for lock files"),
    ("..\\x", r"it has a '\.\.' path component, which could escape the root"),
]


@pytest.mark.parametrize(("key", "reason"), BAD_KEYS)
def test_escaping_keys_are_refused_and_touch_nothing(
    store: ts.KvStore, root: Path, key: str, reason: str
) -> None:
    (root / "keep").write_bytes(b"k")
    before_root = _tree(root.parent)
    message = rf"^file: invalid key {re.escape(repr(key.encode()))} \(path b'.*'\): {reason}"
    for attempt in (
        lambda: store.read(key).result(),
        lambda: store.write(key, b"evil").result(),
        lambda: store.write(key, None).result(),
        lambda: store.write(key, b"evil", if_equal=b"\x02").result(),
        lambda: store[key],
        lambda: store.__setitem__(key, b"evil"),
        lambda: store.__delitem__(key),
    ):
        with pytest.raises(ts.InvalidArgumentError, match=message):
            attempt()
    assert _tree(root.parent) == before_root
    assert store.statistics().writes == 0


def test_absolute_key_under_an_empty_root_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = ts.KvStore.open({"driver": "file"}).result()
    with pytest.raises(ts.InvalidArgumentError, match=r"^file: invalid key b'/etc/passwd'"):
        store.read("/etc/passwd").result()


@pytest.mark.parametrize(
    "range_", [ts.KvStore.KeyRange(b"../", b"../\xff"), ts.KvStore.KeyRange.prefix(b"a/../../")]
)
def test_escaping_ranges_are_refused(store: ts.KvStore, root: Path, range_: Any) -> None:
    (root.parent / "outside").write_bytes(b"o")
    with pytest.raises(ts.InvalidArgumentError, match=r"^file: invalid key .*'\.\.'"):
        store.delete_range(range_).result()
    with pytest.raises(ts.InvalidArgumentError, match=r"^file: invalid key .*'\.\.'"):
        store.list(range_).result()
    assert (root.parent / "outside").read_bytes() == b"o"


def test_escaping_paths_are_refused(store: ts.KvStore) -> None:
    with pytest.raises(ts.InvalidArgumentError, match=r"^file: invalid 'path' '/.*/\.\./': "):
        store / "../"
    with pytest.raises(ts.InvalidArgumentError, match=r"^file: invalid 'path' 'a/\.\./b'"):
        ts.KvStore.Spec({"driver": "file", "path": "a/../b"})


# --- lock files and crashes


def test_lock_files_are_not_keys(store: ts.KvStore, root: Path) -> None:
    store["k"] = b"committed"
    # What a writer killed mid-write leaves behind: a partial value in the lock file.
    (root / "k.__lock").write_bytes(b"torn partial val")
    assert store["k"] == b"committed"
    assert store.list().result() == [b"k"]
    store["k"] = b"next"
    assert store["k"] == b"next"
    assert sorted(os.listdir(root)) == ["k"]


def test_directory_in_place_of_a_key(store: ts.KvStore, root: Path) -> None:
    store["d/x"] = b"1"
    assert store.read("d").result().state == "missing"
    with pytest.raises(IsADirectoryError, match=r"^\[Errno 21\] file: cannot write '/.*/d': Is a"):
        store["d"] = b"2"
    # A ValueError too, as tensorstore raises for it (FAILED_PRECONDITION); deleting
    # the directory as if it were a value is refused the same way.
    with pytest.raises(ValueError, match=r"^\[Errno 21\] file: cannot delete '/.*/d': Is a"):
        del store["d"]
    with pytest.raises(NotADirectoryError, match=r"^\[Errno 20\] .* '/.*/d/x/y'"):
        store["d/x/y"] = b"3"
    assert store.list().result() == [b"d/x"]


def test_generations_never_repeat_across_delete_and_rewrite(store: ts.KvStore) -> None:
    # Deleting frees the inode; the next write may get the same inode number
    # within one clock tick. The generation must still be new.
    seen = set()
    for _ in range(50):
        seen.add(store.write("k", b"v").result().generation)
        del store["k"]
    assert len(seen) == 50


WRITER = """
import hashlib, sys
import tensortrio as ts
kv = ts.KvStore.open(sys.argv[1]).result()
size = int(sys.argv[2])
i = 0
while True:
    i += 1
    body = (b"%08d" % i) * (size // 8)
    kv["big"] = hashlib.sha256(body).digest() + body
    print(i, flush=True)
"""


def _check_value(value: bytes, size: int) -> None:
    import hashlib

    digest, body = value[:32], value[32:]
    assert len(body) == size
    assert hashlib.sha256(body).digest() == digest


def test_sigkill_during_large_writes_never_exposes_a_torn_value(root: Path) -> None:
    size = 8 << 20
    url = f"file://{root}/"
    lock = root / "big.__lock"
    partial_kills = 0
    for _attempt in range(4):
        with subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(size)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        ) as writer:
            assert writer.stdout is not None
            writer.stdout.readline()  # one complete write, so the next ones overwrite it
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                # Kill only while a write is in progress: its lock file holds part of the value.
                try:
                    current = lock.stat().st_size
                except FileNotFoundError:
                    continue
                if current < size + 32:
                    os.kill(writer.pid, signal.SIGKILL)
                    partial_kills += 1
                    break
            else:
                writer.kill()
        store = ts.KvStore.open(url).result()
        _check_value(store["big"], size)
        assert store.list().result() == [b"big"]
    assert partial_kills >= 1
    # A write after the crash reuses the stale lock file and succeeds.
    store = ts.KvStore.open(url).result()
    store["big"] = b"\x00" * 32 + b"x"
    assert store["big"].endswith(b"x")
    assert sorted(os.listdir(root)) == ["big"]


# --- other processes


def test_eight_processes_increment_one_counter(root: Path) -> None:
    spec = json.dumps({"driver": "file", "path": f"{root}/"})
    run_counter_processes(spec, "counter", processes=8, increments=200)
    store = ts.KvStore.open(f"file://{root}/").result()
    assert store["counter"] == b"1600"


TENSORSTORE_COUNTER = COUNTER_WORKER.replace("import tensortrio as ts", "import tensorstore as ts")


def test_tensorstore_and_tensortrio_processes_share_the_lock_protocol(root: Path) -> None:
    spec = json.dumps({"driver": "file", "path": f"{root}/"})
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", code, spec, "n", "50"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for code in (COUNTER_WORKER, TENSORSTORE_COUNTER) * 2
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=110)
        assert worker.returncode == 0, err.decode()
    assert ts.KvStore.open(f"file://{root}/").result()["n"] == b"200"


# --- interoperability with TensorStore


def test_tensorstore_reads_what_we_write(store: ts.KvStore, root: Path) -> None:
    store["a/b/c"] = b"ours"
    stamp = store.write("x", b"\x00\xff" * 1000).result()
    theirs = tensorstore.KvStore.open({"driver": "file", "path": f"{root}/"}).result()
    assert theirs["a/b/c"] == b"ours"
    result = theirs.read("x").result()
    assert result.value == b"\x00\xff" * 1000
    assert result.stamp.generation == stamp.generation
    assert sorted(theirs.list().result()) == [b"a/b/c", b"x"]
    # Their conditional write accepts our generation.
    assert theirs.write("x", b"t", if_equal=stamp.generation).result().generation


def test_we_read_what_tensorstore_writes(store: ts.KvStore, root: Path) -> None:
    theirs = tensorstore.KvStore.open({"driver": "file", "path": f"{root}/"}).result()
    theirs["p/q"] = b"theirs"
    their_stamp = theirs.write("y", b"1").result()
    assert store["p/q"] == b"theirs"
    ours = store.read("y").result()
    assert ours.stamp.generation == their_stamp.generation
    assert store.list().result() == [b"p/q", b"y"]
    assert store.write("y", b"2", if_equal=their_stamp.generation).result().generation
    assert theirs["y"] == b"2"
    assert store.write("y", b"3", if_equal=their_stamp.generation).result().generation == b""
