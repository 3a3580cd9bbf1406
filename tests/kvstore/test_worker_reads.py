"""``KvStore.worker_reads``: whole-value reads a worker thread runs itself (file)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import tensortrio as ts
from tensortrio.errors import InvalidArgumentError

if TYPE_CHECKING:
    from pathlib import Path


def test_worker_reads_only_for_plain_handles_of_stores_that_offer_them(tmp_path: Path) -> None:
    memory = ts.KvStore.open({"driver": "memory"}).result()
    assert memory.worker_reads() is None  # memory answers inline already
    kv = ts.KvStore.open({"driver": "file", "path": f"{tmp_path}/"}).result()
    kv.write("a/b", b"value").result()
    assert kv.with_transaction(ts.Transaction()).worker_reads() is None  # must see staged writes
    reads = (kv / "a/").worker_reads()
    assert reads is not None
    result = reads.read("b")
    assert isinstance(result, ts.KvStore.ReadResult)
    assert (result.state, result.value) == ("value", b"value")
    unchanged = reads.read(b"b", result.stamp.generation)
    assert isinstance(unchanged, ts.KvStore.ReadResult)
    assert unchanged.state == "unspecified"
    missing = reads.read("c")
    assert isinstance(missing, ts.KvStore.ReadResult)
    assert missing.state == "missing"
    refused = reads.read("../x")
    assert isinstance(refused, InvalidArgumentError)
    assert re.match(r"^file: invalid key b'\.\./x'", str(refused))
    before = kv.statistics().reads
    reads.count(3)
    assert kv.statistics().reads == before + 3
