"""A transaction's staged bytes are bounded by the cache pool limit (see actors/transaction)."""

from __future__ import annotations

import numpy as np
import pytest

import tensortrio as ts
from tensortrio.actors.transaction import DEFAULT_LIMIT_BYTES
from tensortrio.errors import ResourceExhaustedError


async def _open(limit: int) -> ts.TensorStore:
    return await ts.open(
        {
            "driver": "zarr",
            "kvstore": {"driver": "memory"},
            "context": {"cache_pool": {"total_bytes_limit": limit}},
        },
        create=True,
        dtype=ts.uint8,
        shape=[64, 64],
        chunk_layout=ts.ChunkLayout(chunk_shape=[16, 16]),
    )


async def test_write_past_the_pool_limit_fails_and_keeps_earlier_writes() -> None:
    store = await _open(4 * 256)  # four full chunks of 256 bytes
    txn = ts.Transaction()
    bound = store.with_transaction(txn)
    await bound[0:32, 0:32].write(1)  # four chunks, fully written: no masks
    assert txn.total_bytes == 4 * 256
    await bound[0:16, 0:16].write(2)  # an existing node: no new bytes
    with pytest.raises(
        ResourceExhaustedError,
        match=r"^zarr: transaction would stage 1280 bytes \(1024 staged \+ 256 for this write\), "
        r"more than its limit of 1024 bytes \(the cache_pool total_bytes_limit\); commit it and "
        r"continue in a new transaction, or raise the limit$",
    ):
        await bound[32:48, 0:16].write(3)
    assert txn.open
    assert txn.total_bytes == 4 * 256
    await txn.commit_async()
    expected = np.zeros((64, 64), np.uint8)
    expected[0:32, 0:32] = 1
    expected[0:16, 0:16] = 2
    np.testing.assert_array_equal(await store.read(), expected)


async def test_partial_chunks_count_their_masks() -> None:
    store = await _open(1000)
    txn = ts.Transaction()
    await store.with_transaction(txn)[0, 0].write(1)
    assert txn.total_bytes == 256 + 256  # values and mask
    await store.with_transaction(txn)[0:16, 0:16].write(1)  # the chunk is now full: mask dropped
    assert txn.total_bytes == 256
    txn.abort()
    assert txn.total_bytes == 0


async def test_default_limit_applies_when_the_pool_has_none() -> None:
    store = await ts.open(
        {"driver": "zarr", "kvstore": {"driver": "memory"}},
        create=True,
        dtype=ts.uint8,
        shape=[DEFAULT_LIMIT_BYTES + 1],
        chunk_layout=ts.ChunkLayout(chunk_shape=[DEFAULT_LIMIT_BYTES // 2]),
    )
    txn = ts.Transaction()
    with pytest.raises(ResourceExhaustedError, match=rf"limit of {DEFAULT_LIMIT_BYTES} bytes"):
        await store.with_transaction(txn).write(1)
    assert txn.total_bytes == 0
