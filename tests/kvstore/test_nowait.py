"""KvStore.read_many_nowait and write_owned_nowait: memory stores answer at once on the runtime thread, in order."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import trio

import tensortrio as ts
from tensortrio.runtime import get_runtime

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def on_runtime(fn: Callable[[], Any]) -> Any:
    async def call() -> Any:
        return fn()

    return get_runtime().submit(call).result()


def test_memory_reads_are_answered_at_once() -> None:
    kv = ts.KvStore.open({"driver": "memory"}).result()
    kv.write("k", b"v").result()
    before = kv._lease.actor.statistics()
    [result] = on_runtime(lambda: kv.read_many_nowait(["k"], [b""]))
    assert (result.state, result.value) == ("value", b"v")
    stamp = result.stamp.generation
    unchanged, missing, again = on_runtime(
        lambda: kv.read_many_nowait(["k", "missing", b"k"], [stamp, b"", b""])
    )
    assert unchanged.state == "unspecified"
    assert missing.state == "missing"
    assert (again.state, again.value) == ("value", b"v")
    after = kv._lease.actor.statistics()
    assert (after.reads - before.reads, after.io_reads - before.io_reads) == (4, 4)
    assert after.batches - before.batches == 2


def test_an_invalid_key_fails_alone() -> None:
    kv = ts.KvStore.open({"driver": "memory"}).result()
    kv.write("k", b"v").result()
    bad, good = on_runtime(lambda: kv.read_many_nowait([7, "k"], [b"", b""]))  # type: ignore[list-item]
    assert isinstance(bad, TypeError)
    assert str(bad) == "kvstore: key must be str or bytes, got int: 7"
    assert good.value == b"v"


def test_memory_writes_are_applied_at_once() -> None:
    kv = ts.KvStore.open({"driver": "memory"}).result()
    before = kv._lease.actor.statistics()
    stamp = on_runtime(lambda: kv.write_owned_nowait("k", b"v"))
    assert stamp.generation
    assert kv.read("k").result().value == b"v"
    # Conditions as for ``write``: a mismatch stores nothing and says so.
    stale = on_runtime(lambda: kv.write_owned_nowait("k", b"w", if_equal=b"\x00"))
    assert stale.generation == b""
    again = on_runtime(lambda: kv.write_owned_nowait("k", b"w", if_equal=stamp.generation))
    assert again.generation not in (b"", stamp.generation)
    assert on_runtime(lambda: kv.write_owned_nowait("k", None)).generation
    assert kv.read("k").result().state == "missing"
    after = kv._lease.actor.statistics()
    assert (after.writes - before.writes, after.io_writes - before.io_writes) == (4, 4)


def test_a_write_behind_queued_operations_must_be_submitted() -> None:
    kv = ts.KvStore.open({"driver": "memory"}).result()

    def write_then_write() -> Any:
        kv.write("k", b"first")  # sits in the intake until the actor runs
        try:
            kv.write_owned_nowait("k", b"second")
        except trio.WouldBlock:
            return "would block"
        return "applied"

    assert on_runtime(write_then_write) == "would block"
    assert kv.read("k").result().value == b"first"


def test_a_read_behind_queued_operations_must_be_submitted() -> None:
    kv = ts.KvStore.open({"driver": "memory"}).result()

    def write_then_read() -> Any:
        kv.write("k", b"new")  # sits in the intake until the actor runs
        try:
            kv.read_many_nowait(["k"], [b""])
        except trio.WouldBlock:
            return "would block"
        return "answered"

    assert on_runtime(write_then_read) == "would block"
    assert kv.read("k").result().value == b"new"


def test_elsewhere_it_would_block(tmp_path: Path) -> None:
    memory = ts.KvStore.open({"driver": "memory"}).result()
    with pytest.raises(trio.WouldBlock):
        memory.read_many_nowait(["k"], [b""])  # not the runtime thread
    file = ts.KvStore.open({"driver": "file", "path": f"{tmp_path}/"}).result()
    with pytest.raises(trio.WouldBlock):
        on_runtime(lambda: file.read_many_nowait(["k"], [b""]))  # needs I/O
    txn = ts.Transaction()
    with pytest.raises(trio.WouldBlock):
        on_runtime(lambda: memory.with_transaction(txn).read_many_nowait(["k"], [b""]))
    with pytest.raises(trio.WouldBlock):
        memory.write_owned_nowait("k", b"v")
    with pytest.raises(trio.WouldBlock):
        on_runtime(lambda: file.write_owned_nowait("k", b"v"))
    with pytest.raises(trio.WouldBlock):
        on_runtime(lambda: memory.with_transaction(txn).write_owned_nowait("k", b"v"))
    txn.abort()
    assert memory.read("k").result().state == "missing"
    assert file.read("k").result().state == "missing"
