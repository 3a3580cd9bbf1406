"""The file kvstore's ``file_io_locking``, ``file_io_mode`` and ``file_io_retries`` resources.

Their JSON is checked against tensorstore's; the locking modes and retries
against what they promise: who is excluded, what is written where, what is
tried again.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, Any

import pytest

import tensortrio as tt
from tensortrio.drivers.kvstore import file_io
from tensortrio.drivers.kvstore.file_retry import run_with_retries
from tensortrio.drivers.kvstore.operations import WriteRequest
from tensortrio.schema.duration import format_duration, parse_duration
from tensortrio.schema.file_io_resources import FileIoRetriesConfig

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

tensorstore = pytest.importorskip("tensorstore")

GOOD = [
    {"file_io_locking": {}},
    {"file_io_locking": {"mode": "os", "acquire_timeout": "60s"}},
    {"file_io_locking": {"mode": "lockfile"}},
    {"file_io_locking": {"mode": "none"}},
    {"file_io_locking": {"mode": "non_atomic"}},
    {"file_io_locking": {"acquire_timeout": "90s"}},
    {"file_io_locking": {"acquire_timeout": "0.0015s"}},
    {"file_io_locking": {"acquire_timeout": "3600.5s"}},
    {"file_io_locking": {"acquire_timeout": "1h1ns"}},
    {"file_io_locking": {"acquire_timeout": ".5s"}},
    {"file_io_locking": {"acquire_timeout": "5.s"}},
    {"file_io_locking": {"acquire_timeout": "+2s"}},
    {"file_io_locking": {"acquire_timeout": "-1s"}},
    {"file_io_locking": {"acquire_timeout": "-inf"}},
    {"file_io_locking": {"acquire_timeout": "0"}},
    {"file_io_locking": {"acquire_timeout": "1500ms"}},
    {"file_io_locking": {"acquire_timeout": "0.5us"}},
    {"file_io_mode": {}},
    {"file_io_mode": {"mode": "default"}},
    {"file_io_mode": {"mode": "memmap"}},
    {"file_io_mode": {"mode": "direct"}},
    {"file_io_retries": {}},
    {"file_io_retries": {"max_retries": 3.0}},
    {"file_io_retries": {"max_retries": 3, "initial_delay": "1ms", "max_delay": "5ms"}},
    {"file_io_retries": {"max_retries": 2**63 - 1}},
]

BAD = [
    {"file_io_locking": {"mode": "bad"}},
    {"file_io_locking": {"acquire_timeout": 5}},
    {"file_io_locking": {"acquire_timeout": "1e3s"}},
    {"file_io_locking": {"acquire_timeout": "2"}},
    {"file_io_locking": {"acquire_timeout": " 1s"}},
    {"file_io_locking": {"acquire_timeout": "1S"}},
    {"file_io_locking": {"x": 1}},
    {"file_io_locking": True},
    {"file_io_mode": {"mode": "x"}},
    {"file_io_mode": "direct"},
    {"file_io_retries": {"max_retries": -1}},
    {"file_io_retries": {"max_retries": True}},
    {"file_io_retries": {"x": 1}},
    {"file_io_retries": {"initial_delay": 5}},
]


@pytest.mark.parametrize("json", GOOD)
def test_resource_json_is_tensorstores(json: dict[str, Any]) -> None:
    ours, theirs = tt.Context(json), tensorstore.Context(json)
    assert ours.spec.to_json() == theirs.spec.to_json()
    [name] = json
    assert ours[name].to_json(include_defaults=True) == theirs[name].to_json(include_defaults=True)


@pytest.mark.parametrize("json", BAD)
def test_bad_resource_json_is_refused_as_by_tensorstore(json: dict[str, Any]) -> None:
    [name] = json
    with pytest.raises(ValueError, match=f'^Error parsing object member "{name}": ') as ours:
        tt.Context(json)
    with pytest.raises(ValueError, match=r"^(Error parsing|Expected|Object|Invalid)") as theirs:
        tensorstore.Context(json)
    assert str(ours.value).endswith(str(theirs.value))


@pytest.mark.parametrize(
    ("text", "nanoseconds", "formatted"),
    [
        ("1m30s", 90 * 10**9, "1m30s"),
        ("1.5ms", 1_500_000, "1.5ms"),
        ("1h0.5s", 3600 * 10**9 + 5 * 10**8, "1h0.5s"),
        ("-2us", -2000, "-2us"),
        ("0", 0, "0"),
    ],
)
def test_durations_parse_and_print_as_abseil(text: str, nanoseconds: int, formatted: str) -> None:
    assert parse_duration(text) == nanoseconds
    assert format_duration(nanoseconds) == formatted


def test_an_opened_file_store_shows_its_settings(tmp_path: Path) -> None:
    spec = {
        "driver": "file",
        "path": f"{tmp_path}/",
        "file_io_locking": {"mode": "none", "acquire_timeout": "5s"},
        "file_io_retries": {"max_retries": 2},
    }
    ours = tt.KvStore.open(spec).result(timeout=30)
    theirs = tensorstore.KvStore.open(spec).result(timeout=30)
    assert ours.spec(unbind_context=True).to_json() == theirs.spec(unbind_context=True).to_json()
    assert ours.spec().to_json() == theirs.spec().to_json() == {"driver": "file", "path": f"{tmp_path}/"}


def _store(path: Path, mode: str, **locking: Any) -> tt.KvStore:
    spec = {"driver": "file", "path": f"{path}/", "file_io_locking": {"mode": mode, **locking}}
    return tt.KvStore.open(spec).result(timeout=30)


def test_lockfile_mode_waits_for_another_writers_lock_file_then_gives_up(tmp_path: Path) -> None:
    kv = _store(tmp_path, "lockfile", acquire_timeout="50ms")
    kv["k"] = b"old"
    (tmp_path / "k.__lock").write_bytes(b"")  # another writer holds the key
    with pytest.raises(TimeoutError, match=r"k\.__lock' of another writer stayed for 0\.05 s"):
        kv.write("k", b"new").result(timeout=30)
    assert kv["k"] == b"old"
    (tmp_path / "k.__lock").unlink()
    kv["k"] = b"new"
    assert kv["k"] == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k"]


@pytest.mark.parametrize("mode", ["none", "lockfile", "non_atomic"])
def test_every_mode_writes_conditionally_and_tensorstore_reads_it(tmp_path: Path, mode: str) -> None:
    kv = _store(tmp_path, mode)
    stamp = kv.write("a/k", b"1").result(timeout=30)
    assert kv.write("a/k", b"2", if_equal=b"\x01").result(timeout=30).generation == b""
    assert kv.write("a/k", b"3", if_equal=stamp.generation).result(timeout=30).generation
    theirs = tensorstore.KvStore.open(
        {"driver": "file", "path": f"{tmp_path}/", "file_io_locking": {"mode": mode}}
    ).result(timeout=30)
    assert theirs.read("a/k").result(timeout=30).stamp.generation == kv.read("a/k").result(
        timeout=30
    ).stamp.generation
    assert theirs["a/k"] == b"3"
    del kv["a/k"]
    assert kv.read("a/k").result(timeout=30).state == "missing"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == []


@pytest.mark.parametrize("mode", ["non_atomic", "os"])
def test_only_non_atomic_mode_writes_the_value_file_in_place(tmp_path: Path, mode: str) -> None:
    kv = _store(tmp_path, mode)
    kv["k"] = b"first, long"
    os.link(tmp_path / "k", tmp_path / "link")  # the same file as the value, until it is replaced
    kv["k"] = b"short"
    assert kv["k"] == b"short"
    assert (tmp_path / "link").read_bytes() == (b"short" if mode == "non_atomic" else b"first, long")


def _fsync_failing(times: int, code: int) -> tuple[list[int], Any]:
    calls: list[int] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) <= times:
            raise OSError(code, os.strerror(code))
        real(fd)

    return calls, fsync


@pytest.mark.parametrize(("retries", "code", "stored"), [(2, errno.EIO, True), (0, errno.EIO, False), (2, errno.EACCES, False)])
def test_transient_errors_are_retried_as_file_io_retries_allows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, retries: int, code: int, stored: bool
) -> None:
    spec = {
        "driver": "file",
        "path": f"{tmp_path}/",
        "file_io_retries": {"max_retries": retries, "initial_delay": "1ms"},
        "file_io_sync": True,
    }
    kv = tt.KvStore.open(spec).result(timeout=30)
    kv["k"] = b"old"
    _, fsync = _fsync_failing(2, code)
    monkeypatch.setattr(file_io.os, "fsync", fsync)
    if stored:
        kv["k"] = b"new"
    else:
        with pytest.raises(OSError, match=r"file: cannot write '.*k': ") as caught:
            kv.write("k", b"new").result(timeout=30)
        assert caught.value.errno == code
    monkeypatch.undo()
    assert kv["k"] == (b"new" if stored else b"old")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k"]


@pytest.mark.parametrize(("retries", "code", "listed"), [(2, errno.EIO, True), (1, errno.EIO, False), (2, errno.EACCES, False)])
def test_listing_and_delete_range_are_retried_as_file_io_retries_allows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, retries: int, code: int, listed: bool
) -> None:
    spec = {"driver": "file", "path": f"{tmp_path}/", "file_io_retries": {"max_retries": retries, "initial_delay": "1ms"}}
    kv = tt.KvStore.open(spec).result(timeout=30)
    kv["d/a"] = b"1"
    kv["d/b"] = b"2"
    real = file_io.os.scandir
    failures = {"left": 2}

    def scandir(path: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise OSError(code, os.strerror(code))
        return real(path)

    monkeypatch.setattr(file_io.os, "scandir", scandir)
    if listed:
        assert kv.list().result(timeout=30) == [b"d/a", b"d/b"]
        failures["left"] = 2
        kv.delete_range(tt.KvStore.KeyRange("d/", "d0")).result(timeout=30)
        assert kv.list().result(timeout=30) == []
    else:
        with pytest.raises(OSError, match=rf"^\[Errno {code}\] file: cannot list '.*': ") as caught:
            kv.list().result(timeout=30)
        assert caught.value.errno == code
        monkeypatch.undo()
        assert kv.list().result(timeout=30) == [b"d/a", b"d/b"]


def test_a_failed_write_overtaken_in_its_batch_is_not_retried() -> None:
    ops = [WriteRequest(b"/k", b"1"), WriteRequest(b"/j", b"2"), WriteRequest(b"/k", b"3")]
    runs: list[list[bytes]] = []

    def run(batch: Sequence[Any]) -> list[Any]:
        runs.append([op.value for op in batch])
        failing = len(runs) == 1
        return [OSError(errno.EIO, "EIO") if failing and op.value != b"3" else b"ok" for op in batch]

    outcomes = run_with_retries(ops, run, FileIoRetriesConfig(1, 0, 0))
    assert runs == [[b"1", b"2", b"3"], [b"2"]]
    assert isinstance(outcomes[0], OSError)
    assert outcomes[1:] == [b"ok", b"ok"]


def test_a_retained_spec_reopens_the_same_resources() -> None:
    for lib in (tt, tensorstore):
        kv = lib.KvStore.open("memory://x/").result(timeout=30)
        kv["a"] = b"1"
        kv["sub/b"] = b"2"
        retained = kv.spec(retain_context=True)
        assert retained.to_json() == kv.spec(unbind_context=True).to_json()
        assert retained != kv.spec(unbind_context=True)
        assert lib.KvStore.open(retained, context=lib.Context()).result(timeout=30)["a"] == b"1"
        assert lib.KvStore.open(retained / "sub/").result(timeout=30)["b"] == b"2"
        unbound = kv.spec(unbind_context=True)
        assert lib.KvStore.open(unbound).result(timeout=30).read("a").result(timeout=30).state == (
            "missing"
        )
        assert kv.spec(retain_context=False).to_json() == {"driver": "memory", "path": "x/"}
