"""The file driver's phased write batches: order per key, lock order, bounded locks, failures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import threading
from typing import TYPE_CHECKING, Any

from tensortrio.drivers.kvstore import file_io, file_lock
from tensortrio.drivers.kvstore.driver import ReadGroup
from tensortrio.drivers.kvstore.generation import NO_VALUE, UNKNOWN, TimestampedStorageGeneration
from tensortrio.drivers.kvstore.operations import ReadRequest, WriteRequest
from tensortrio.drivers.kvstore.read_result import ReadResult

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def _key(root: Path, name: str) -> bytes:
    return os.fsencode(root / name)


def _generation(outcome: Any) -> bytes:
    assert isinstance(outcome, TimestampedStorageGeneration), outcome
    return outcome.generation


def _mtime(generation: bytes) -> int:
    return int.from_bytes(generation[17:25], "little")


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_writes_of_one_key_apply_in_submission_order(tmp_path: Path) -> None:
    a, b = _key(tmp_path, "a"), _key(tmp_path, "b")
    outcomes = file_io.run_batch(
        [
            WriteRequest(a, b"1", if_equal=NO_VALUE),
            WriteRequest(b, b"x"),
            WriteRequest(a, b"2", if_equal=NO_VALUE),  # a exists by now: refused
            WriteRequest(a, b"3"),
            WriteRequest(a, None),
            WriteRequest(a, b"4"),
        ],
        sync=True,
    )
    first, second, third, fourth = (_generation(outcomes[i]) for i in (0, 3, 4, 5))
    assert _generation(outcomes[2]) == UNKNOWN
    assert third == NO_VALUE
    assert _mtime(first) < _mtime(second) < _mtime(fourth)
    assert (tmp_path / "a").read_bytes() == b"4"
    assert (tmp_path / "b").read_bytes() == b"x"
    assert _files(tmp_path) == ["a", "b"]


def test_a_read_sees_the_writes_before_it_in_its_batch(tmp_path: Path) -> None:
    a = _key(tmp_path, "a")
    outcomes = file_io.run_batch(
        [WriteRequest(a, b"old"), ReadGroup(a, (ReadRequest(a),)), WriteRequest(a, b"new")],
        sync=True,
    )
    [read] = outcomes[1]
    assert isinstance(read, ReadResult)
    assert (read.state, bytes(read.value)) == ("value", b"old")
    assert read.stamp.generation == _generation(outcomes[0])
    assert (tmp_path / "a").read_bytes() == b"new"


def test_locks_are_taken_in_path_order_and_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"k{i:02}" for i in range(10)]
    held: list[bytes] = []
    most = 0
    acquired: list[bytes] = []
    real_acquire = file_lock.acquire_file_lock
    real_release = file_lock.FileLock.release

    def acquire(lock_path: bytes, *mode_and_timeout: Any) -> file_lock.FileLock:
        nonlocal most
        lock = real_acquire(lock_path, *mode_and_timeout)
        acquired.append(lock_path)
        held.append(lock_path)
        most = max(most, len(held))
        return lock

    def release(self: file_lock.FileLock) -> None:
        if self.fd >= 0:
            held.remove(self.lock_path)
        real_release(self)

    monkeypatch.setattr(file_io, "acquire_file_lock", acquire)
    monkeypatch.setattr(file_lock.FileLock, "release", release)
    monkeypatch.setattr(file_io, "MAX_HELD_LOCKS", 4)
    requests = [WriteRequest(_key(tmp_path, name), name.encode()) for name in reversed(names)]
    outcomes = file_io.run_batch(requests, sync=True)
    assert all(isinstance(o, TimestampedStorageGeneration) for o in outcomes)
    assert most == 4
    assert held == []
    assert acquired == sorted(acquired)
    assert _files(tmp_path) == names
    assert [(tmp_path / n).read_bytes() for n in names] == [n.encode() for n in names]


def test_failures_in_a_batch_leave_other_keys_right_and_no_lock_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_bytes(b"a file, not a directory")
    (tmp_path / "cond").write_bytes(b"kept")
    (tmp_path / "unsynced").write_bytes(b"before")
    (tmp_path / "unrenamed").write_bytes(b"before")
    key = {
        name: _key(tmp_path, name) for name in ("a", "file/x", "cond", "d", "unsynced", "unrenamed")
    }
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("unsynced.__lock"):
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    def rename(source: Any, target: Any) -> None:
        if os.fsdecode(target).endswith("unrenamed"):
            raise OSError(28, "No space left on device")
        real_rename(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    outcomes = file_io.run_batch(
        [
            WriteRequest(key["a"], b"A"),
            WriteRequest(key["file/x"], b"X"),
            WriteRequest(key["cond"], b"lost", if_equal=b"\x01" + bytes(24)),
            WriteRequest(key["unsynced"], b"after"),
            WriteRequest(key["unrenamed"], b"after"),
            WriteRequest(key["d"], b"D"),
        ],
        sync=True,
    )
    assert _generation(outcomes[0]) not in (UNKNOWN, NO_VALUE)
    assert _generation(outcomes[2]) == UNKNOWN
    assert _generation(outcomes[5]) not in (UNKNOWN, NO_VALUE)
    errors = {i: outcomes[i] for i in (1, 3, 4)}
    assert isinstance(errors[1], NotADirectoryError)
    assert isinstance(errors[3], OSError)
    assert isinstance(errors[4], OSError)
    assert re.match(r"^\[Errno 20\] file: cannot write '.*/file/x': Not a directory$", str(errors[1]))
    assert re.match(r"^\[Errno 5\] file: cannot write '.*/unsynced': Input/output error$", str(errors[3]))
    assert re.match(r"^\[Errno 28\] file: cannot write '.*/unrenamed': No space left on device$", str(errors[4]))
    assert _files(tmp_path) == ["a", "cond", "d", "file", "unrenamed", "unsynced"]
    contents = {name: (tmp_path / name).read_bytes() for name in _files(tmp_path)}
    assert contents == {
        "a": b"A",
        "cond": b"kept",
        "d": b"D",
        "file": b"a file, not a directory",
        "unrenamed": b"before",
        "unsynced": b"before",
    }


def test_a_partial_value_left_in_the_lock_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "k.__lock").write_bytes(b"a much longer partial value left by a killed writer")
    [outcome] = file_io.run_batch([WriteRequest(_key(tmp_path, "k"), b"short")], sync=True)
    assert isinstance(outcome, TimestampedStorageGeneration)
    assert (tmp_path / "k").read_bytes() == b"short"
    assert _files(tmp_path) == ["k"]


_INCREMENTER = textwrap.dedent(
    """
    import sys
    from tensortrio.drivers.kvstore import file_io
    from tensortrio.drivers.kvstore.driver import ReadGroup
    from tensortrio.drivers.kvstore.generation import NO_VALUE, UNKNOWN
    from tensortrio.drivers.kvstore.operations import ReadRequest, WriteRequest

    root, order, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    keys = [f"{root}/k{i:02}".encode() for i in range(12)]
    if order == "down":
        keys.reverse()
    for _ in range(rounds):
        pending = list(keys)
        while pending:
            reads = file_io.run_batch([ReadGroup(k, (ReadRequest(k),)) for k in pending], sync=True)
            writes = []
            for key, [result] in zip(pending, reads):
                count = int(bytes(result.value)) if result.state == "value" else 0
                generation = result.stamp.generation
                writes.append(WriteRequest(key, b"%d" % (count + 1), if_equal=generation))
            outcomes = file_io.run_batch(writes, sync=False)
            for outcome in outcomes:
                assert not isinstance(outcome, Exception), outcome
            pending = [w.key for w, o in zip(writes, outcomes) if o.generation == UNKNOWN]
    """
)


def test_processes_writing_overlapping_keys_in_opposite_orders_finish_and_lose_nothing(
    tmp_path: Path,
) -> None:
    rounds = 25
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _INCREMENTER, str(tmp_path), order, str(rounds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for order in ("up", "down", "up", "down")
    ]
    try:
        for worker in workers:
            _, err = worker.communicate(timeout=100)
            assert worker.returncode == 0, err.decode()
    finally:
        # Deadlocked workers would otherwise outlive the test.
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    names = [f"k{i:02}" for i in range(12)]
    assert _files(tmp_path) == names
    assert {(tmp_path / n).read_bytes() for n in names} == {b"%d" % (4 * rounds)}


def test_threads_writing_overlapping_keys_in_opposite_orders_finish(tmp_path: Path) -> None:
    keys = [_key(tmp_path, f"k{i:02}") for i in range(16)]
    errors: list[BaseException] = []

    def writer(order: list[bytes], tag: bytes) -> None:
        try:
            for _ in range(20):
                outcomes = file_io.run_batch([WriteRequest(k, tag) for k in order], sync=False)
                assert all(isinstance(o, TimestampedStorageGeneration) for o in outcomes)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    threads = [
        threading.Thread(target=writer, args=(order, tag), daemon=True)
        for order, tag in ((keys, b"up"), (keys[::-1], b"down"), (keys[5:] + keys[:5], b"mid"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "writers deadlocked"
    assert errors == []
    assert _files(tmp_path) == [f"k{i:02}" for i in range(16)]
