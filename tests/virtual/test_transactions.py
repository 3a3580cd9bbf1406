"""virtual_chunked in a transaction: writes are staged and reach write_function on commit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tensortrio as ts


class Backing:
    """A NumPy array behind read and write functions that log the write calls."""

    def __init__(self) -> None:
        self.array = np.zeros((4, 5), np.uint32)
        self.writes: list[tuple[list[int], bytes]] = []

    def read(self, domain: ts.IndexDomain, chunk: np.ndarray, params: Any) -> None:
        chunk[...] = self.array[domain.index_exp]

    def write(self, domain: ts.IndexDomain, chunk: np.ndarray, params: Any) -> None:
        self.writes.append((list(domain.inclusive_min), params.if_equal))
        self.array[domain.index_exp] = chunk

    def store(self, transaction: ts.Transaction | None) -> ts.TensorStore:
        return ts.virtual_chunked(
            self.read,
            self.write,
            dtype=ts.uint32,
            shape=[4, 5],
            chunk_layout=ts.ChunkLayout(read_chunk_shape=[2, 3]),
            transaction=transaction,
        )


def test_writes_are_staged_until_the_commit() -> None:
    backing = Backing()
    txn = ts.Transaction()
    store = backing.store(txn)
    assert store.transaction is txn
    store[1:3, 1:4] = 42
    assert backing.writes == []
    assert not backing.array.any()
    expected = np.zeros((4, 5), np.uint32)
    expected[1:3, 1:4] = 42
    np.testing.assert_array_equal(store.read().result(), expected)
    txn.commit_sync()
    # One call per chunk written, unconditional (as TensorStore: if_equal is empty).
    assert sorted(backing.writes) == [([0, 0], b""), ([0, 3], b""), ([2, 0], b""), ([2, 3], b"")]
    np.testing.assert_array_equal(backing.array, expected)


def test_an_aborted_transaction_calls_no_write_function() -> None:
    backing = Backing()
    txn = ts.Transaction()
    backing.store(txn)[0:4, 0:5] = 7
    txn.abort()
    assert backing.writes == []
    assert not backing.array.any()
    np.testing.assert_array_equal(backing.store(None).read().result(), backing.array)


def test_an_atomic_transaction_cannot_span_chunks() -> None:
    # Each chunk is a separate call of the write function: TensorStore refuses too.
    backing = Backing()
    txn = ts.Transaction(atomic=True)
    store = backing.store(txn)
    store[0:2, 0:3] = 5  # one chunk: fine
    with pytest.raises(
        ts.InvalidArgumentError,
        match=r"^Cannot read/write chunk '0/0' and read/write chunk '0/1' as single atomic",
    ):
        store[0:2, 3:5] = 6
    with pytest.raises(ts.InvalidArgumentError, match=r"^Cannot read/write chunk '0/0' and"):
        txn.commit_sync()
    assert backing.writes == []
    assert not backing.array.any()
