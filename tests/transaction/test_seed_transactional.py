"""Seed 000's transactional example (``TensorStore.write``), verbatim under asyncio and trio."""

from __future__ import annotations

import asyncio

import numpy as np

import tensortrio as ts

ONES_TWOS = np.array([[1, 2]] * 5, dtype=np.uint32)
ZEROS = np.zeros((5, 2), dtype=np.uint32)


async def _example() -> list[np.ndarray]:
    seen: list[np.ndarray] = []
    txn = ts.Transaction()
    dataset = await ts.open(
        {
            'driver': 'zarr',
            'kvstore': {
                'driver': 'memory'
            }
        },
        dtype=ts.uint32,
        shape=[70, 80],
        create=True)
    await dataset.with_transaction(txn)[5:10, 6:8].write([1, 2])
    # Transactional read reflects uncommitted write
    seen.append(await dataset.with_transaction(txn)[5:10, 6:8].read())
    # Non-transactional read does not reflect uncommitted write
    seen.append(await dataset[5:10, 6:8].read())
    await txn.commit_async()
    # Now, non-transactional read reflects committed write
    seen.append(await dataset[5:10, 6:8].read())
    return seen


def _check(seen: list[np.ndarray]) -> None:
    in_txn, outside, committed = seen
    for array, expected in ((in_txn, ONES_TWOS), (outside, ZEROS), (committed, ONES_TWOS)):
        assert array.dtype == np.uint32
        np.testing.assert_array_equal(array, expected)


def test_seed_transactional_asyncio() -> None:
    _check(asyncio.run(_example()))


async def test_seed_transactional_trio() -> None:
    _check(await _example())
