"""``KvStore.keeps_written_values``: whether a written value object outlives its write."""

from __future__ import annotations

from typing import TYPE_CHECKING

import tensortrio as ts

if TYPE_CHECKING:
    from pathlib import Path


def test_only_handles_that_keep_the_written_object_say_so(tmp_path: Path) -> None:
    memory = ts.KvStore.open({"driver": "memory"}).result()
    assert memory.keeps_written_values  # the object becomes the stored value
    kv = ts.KvStore.open({"driver": "file", "path": f"{tmp_path}/"}).result()
    assert not kv.keeps_written_values  # written to a file, then dropped
    assert not (kv / "a/").keeps_written_values
    assert kv.with_transaction(ts.Transaction()).keeps_written_values  # staged until the commit
