"""Seed 000: ``TensorStore.write`` examples from TensorStore's documentation, run verbatim.

Each example runs in an asyncio form (``asyncio.run``) and a trio form
(pytest-trio), with ``import tensortrio as ts``. The transactional example
belongs to the transactions issue.
"""

from __future__ import annotations

import asyncio

import numpy as np

import tensortrio as ts

EXPECTED_42 = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 42, 42, 0, 0],
        [0, 0, 0, 0, 0, 0, 42, 42, 0, 0],
        [0, 0, 0, 0, 0, 0, 42, 42, 0, 0],
        [0, 0, 0, 0, 0, 0, 42, 42, 0, 0],
        [0, 0, 0, 0, 0, 0, 42, 42, 0, 0],
    ],
    dtype=np.uint32,
)
EXPECTED_12 = np.array([[1, 2], [1, 2], [1, 2], [1, 2], [1, 2]], dtype=np.uint32)


def _check(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.dtype == expected.dtype
    np.testing.assert_array_equal(actual, expected)
    # The doctest output is the array's repr.
    assert repr(actual) == repr(expected)


async def _write_example() -> None:
    dataset = await ts.open(
        {"driver": "zarr", "kvstore": {"driver": "memory"}},
        dtype=ts.uint32,
        shape=[70, 80],
        create=True,
    )
    await dataset[5:10, 6:8].write(42)
    _check(await dataset[0:10, 0:10].read(), EXPECTED_42)
    await dataset[5:10, 6:8].write([1, 2])
    _check(await dataset[5:10, 6:8].read(), EXPECTED_12)


def test_write_example_asyncio() -> None:
    asyncio.run(_write_example())


async def test_write_example_trio() -> None:
    await _write_example()


def _rows_expected() -> np.ndarray:
    expected = np.zeros((70, 80), dtype=np.uint32)
    for i in range(10):
        expected[i * 5] = i
    return expected


def test_concurrent_writes_asyncio_wait() -> None:
    async def main() -> np.ndarray:
        dataset = await ts.open(
            {"driver": "zarr", "kvstore": {"driver": "memory"}},
            dtype=ts.uint32,
            shape=[70, 80],
            create=True,
        )
        await asyncio.wait([asyncio.ensure_future(dataset[i * 5].write(i)) for i in range(10)])
        return await dataset.read()

    np.testing.assert_array_equal(asyncio.run(main()), _rows_expected())


def test_concurrent_writes_blocking() -> None:
    dataset = ts.open(
        {"driver": "zarr", "kvstore": {"driver": "memory"}},
        dtype=ts.uint32,
        shape=[70, 80],
        create=True,
    ).result()
    futures = [dataset[i * 5].write(i) for i in range(10)]
    for f in futures:
        f.result()
    np.testing.assert_array_equal(dataset.read().result(), _rows_expected())


async def test_concurrent_writes_trio() -> None:
    import trio

    dataset = await ts.open(
        {"driver": "zarr", "kvstore": {"driver": "memory"}},
        dtype=ts.uint32,
        shape=[70, 80],
        create=True,
    )
    async with trio.open_nursery() as nursery:
        for i in range(10):

            async def write(i: int = i) -> None:
                await dataset[i * 5].write(i)

            nursery.start_soon(write)
    np.testing.assert_array_equal(await dataset.read(), _rows_expected())


async def test_write_futures_copy_then_commit() -> None:
    dataset = await ts.open(
        {"driver": "zarr", "kvstore": {"driver": "memory"}},
        dtype=ts.uint32,
        shape=[70, 80],
        create=True,
    )
    source = np.arange(10, dtype=np.uint32)
    futures = dataset[3, 0:10].write(source)
    await futures.copy
    source[:] = 0  # the write no longer reads the source once copy is done
    await futures.commit
    np.testing.assert_array_equal(await dataset[3, 0:10].read(), np.arange(10, dtype=np.uint32))
