"""Cancelling a write's futures stops the caller waiting; the write is carried out, as in tensorstore."""

from __future__ import annotations

import contextlib
import os
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from tensortrio.drivers.kvstore.file_lock import acquire_file_lock

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

_SPEC = {"driver": "zarr3", "kvstore": {"driver": "memory"}, "dtype": "int32", "schema": {"domain": {"shape": [4]}}}


def _wait_for(store: Any, expected: list[int]) -> list[int]:
    for _ in range(200):
        got: list[int] = store.read().result().tolist()
        if got == expected:
            break
        time.sleep(0.01)
    return got


def _file_spec(path: Path) -> dict[str, Any]:
    return {**_SPEC, "kvstore": {"driver": "file", "path": f"{path}/"}}


@contextlib.contextmanager
def _chunk_locked(path: Path) -> Iterator[None]:
    """Hold the write lock of the store's only chunk: its writeback waits (both libraries lock alike)."""
    (path / "c").mkdir(parents=True, exist_ok=True)
    lock = acquire_file_lock(os.fsencode(path / "c" / "0.__lock"))
    try:
        yield
    finally:
        lock.release()


@pytest.mark.parametrize("library", ["tensortrio", "tensorstore"])
def test_a_cancelled_write_is_still_carried_out(library: str, tmp_path: Path) -> None:
    lib: Any = pytest.importorskip(library)
    store = lib.open(_file_spec(tmp_path), create=True).result()
    with _chunk_locked(tmp_path):
        write = store.write(np.arange(4, dtype=np.int32))
        assert write.commit.cancel()  # pending: its writeback waits for the lock
        assert write.copy.result() is None
    assert _wait_for(store, [0, 1, 2, 3]) == [0, 1, 2, 3]


def test_cancelling_the_write_futures_cancels_the_commit_future_only(tmp_path: Path) -> None:
    import tensortrio as ts

    store = ts.open(_file_spec(tmp_path), create=True).result()
    with _chunk_locked(tmp_path):
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
