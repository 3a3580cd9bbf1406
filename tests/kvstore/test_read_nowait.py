"""KvStore.read_nowait: memory stores answer at once on the runtime thread, in order."""

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
    result = on_runtime(lambda: kv.read_nowait("k"))
    assert (result.state, result.value) == ("value", b"v")
    stamp = result.stamp.generation
    unchanged = on_runtime(lambda: kv.read_nowait("k", if_not_equal=stamp))
    assert unchanged.state == "unspecified"
    assert on_runtime(lambda: kv.read_nowait("missing")).state == "missing"
    after = kv._lease.actor.statistics()
    assert (after.reads - before.reads, after.io_reads - before.io_reads) == (3, 3)


def test_a_read_behind_queued_operations_must_be_submitted() -> None:
    kv = ts.KvStore.open({"driver": "memory"}).result()

    def write_then_read() -> Any:
        kv.write("k", b"new")  # sits in the intake until the actor runs
        try:
            kv.read_nowait("k")
        except trio.WouldBlock:
            return "would block"
        return "answered"

    assert on_runtime(write_then_read) == "would block"
    assert kv.read("k").result().value == b"new"


def test_elsewhere_it_would_block(tmp_path: Path) -> None:
    memory = ts.KvStore.open({"driver": "memory"}).result()
    with pytest.raises(trio.WouldBlock):
        memory.read_nowait("k")  # not the runtime thread
    file = ts.KvStore.open({"driver": "file", "path": f"{tmp_path}/"}).result()
    with pytest.raises(trio.WouldBlock):
        on_runtime(lambda: file.read_nowait("k"))  # needs I/O
    txn = ts.Transaction()
    with pytest.raises(trio.WouldBlock):
        on_runtime(lambda: memory.with_transaction(txn).read_nowait("k"))
    txn.abort()
