"""Cancelling a write's futures stops the caller waiting; the write is carried out, as in tensorstore."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

_SPEC = {"driver": "zarr3", "kvstore": {"driver": "memory"}, "dtype": "int32", "schema": {"domain": {"shape": [4]}}}


def _wait_for(store: Any, expected: list[int]) -> list[int]:
    for _ in range(200):
        got: list[int] = store.read().result().tolist()
        if got == expected:
            break
        time.sleep(0.01)
    return got


@pytest.mark.parametrize("library", ["tensortrio", "tensorstore"])
def test_a_cancelled_write_is_still_carried_out(library: str) -> None:
    lib: Any = pytest.importorskip(library)
    store = lib.open(_SPEC, create=True).result()
    write = store.write(np.arange(4, dtype=np.int32))
    # tensorstore may have committed a memory write already (then cancel() is False).
    assert write.commit.cancel() or (library == "tensorstore" and write.commit.done())
    assert write.copy.result() is None
    assert _wait_for(store, [0, 1, 2, 3]) == [0, 1, 2, 3]


def test_cancelling_the_write_futures_cancels_the_commit_future_only() -> None:
    import tensortrio as ts

    store = ts.open(_SPEC, create=True).result()
    write = store.write(np.arange(4, dtype=np.int32))
    assert write.cancel()
    assert write.cancelled()
    assert write.copy.result() is None  # tensorstore may cancel its copy future too (timing)
    assert _wait_for(store, [0, 1, 2, 3]) == [0, 1, 2, 3]


@pytest.mark.parametrize("library", ["tensortrio", "tensorstore"])
def test_a_cancelled_write_in_a_transaction_is_staged_and_committed(library: str) -> None:
    # The write registered with the transaction: dropping it would leave the commit waiting.
    lib: Any = pytest.importorskip(library)
    store = lib.open(_SPEC, create=True).result()
    txn = lib.Transaction()
    write = store.with_transaction(txn).write(lib.array(np.arange(4, dtype=np.int32)))
    write.commit.cancel()
    write.copy.result()
    txn.commit_sync()
    assert store.read().result().tolist() == [0, 1, 2, 3]
