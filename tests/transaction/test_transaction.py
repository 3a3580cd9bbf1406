"""ts.Transaction on chunked arrays: isolation, commit, abort, atomicity, context managers."""

from __future__ import annotations

import asyncio
import os
import pickle
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import tensortrio as ts
from tensortrio.errors import CancelledError, InvalidArgumentError

if TYPE_CHECKING:
    from pathlib import Path


def _spec(kvstore: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"driver": "zarr", "kvstore": kvstore or {"driver": "memory"}}


async def _open(kvstore: dict[str, Any] | None = None, **kwargs: Any) -> ts.TensorStore:
    return await ts.open(
        _spec(kvstore),
        create=True,
        dtype=ts.uint16,
        shape=[8, 8],
        chunk_layout=ts.ChunkLayout(chunk_shape=[4, 4]),
        **kwargs,
    )


async def test_fresh_transaction_flags() -> None:
    txn = ts.Transaction()
    assert (txn.open, txn.commit_started, txn.aborted, txn.atomic) == (True, False, False, False)
    assert ts.Transaction(atomic=True).atomic is True
    assert not txn.future.done()
    assert repr(txn).startswith("<tensortrio.Transaction object at 0x")


async def test_isolation_until_commit_and_views_keep_the_transaction() -> None:
    store = await _open()
    txn = ts.Transaction()
    bound = store.with_transaction(txn)
    assert bound.transaction is txn
    assert store.transaction is None
    assert bound[1:3].transaction is txn
    assert bound.T.transaction is txn
    # As in tensorstore, a view stays in its transaction until that commits.
    for other in (None, txn, ts.Transaction()):
        with pytest.raises(
            InvalidArgumentError,
            match=r"^Cannot rebind transaction when existing transaction is uncommitted$",
        ):
            bound.with_transaction(other)
    with pytest.raises(
        InvalidArgumentError, match=r"^Cannot serialize TensorStore with bound transaction$"
    ):
        pickle.dumps(bound)
    await bound[1:3, 2:6].write(7)
    await bound[2, :].write(np.arange(8, dtype=np.uint16))
    expected = np.zeros((8, 8), np.uint16)
    expected[1:3, 2:6] = 7
    expected[2, :] = np.arange(8)
    np.testing.assert_array_equal(await bound.read(), expected)
    np.testing.assert_array_equal(await bound.T[2:4].read(), expected.T[2:4])
    np.testing.assert_array_equal(await store.read(), np.zeros((8, 8), np.uint16))
    assert store.kvstore is not None
    assert await store.kvstore.list() == [b".zarray"]
    await txn.commit_async()
    assert (txn.open, txn.commit_started, txn.aborted) == (False, True, False)
    assert txn.future.done()
    np.testing.assert_array_equal(await store.read(), expected)


async def test_repeated_writes_to_one_chunk_cost_one_writeback() -> None:
    store = await _open()
    assert store.kvstore is not None
    before = store.kvstore.statistics().writes
    txn = ts.Transaction()
    for i in range(4):
        for j in range(4):
            await store.with_transaction(txn)[i, j].write(i * 4 + j + 1)
    await txn.commit_async()
    assert store.kvstore.statistics().writes - before == 1
    np.testing.assert_array_equal(
        (await store[0:4, 0:4].read()).ravel(), np.arange(1, 17, dtype=np.uint16)
    )


async def test_partial_chunk_commit_merges_over_stored_data_written_meanwhile() -> None:
    store = await _open()
    await store[0:4, 0:4].write(1)
    txn = ts.Transaction()
    await store.with_transaction(txn)[0, 0].write(9)
    # Another writer changes the same chunk after the transaction staged its write.
    await store[3, 3].write(5)
    await txn.commit_async()
    expected = np.ones((4, 4), np.uint16)
    expected[0, 0], expected[3, 3] = 9, 5
    np.testing.assert_array_equal(await store[0:4, 0:4].read(), expected)


async def test_abort_drops_staged_writes() -> None:
    store = await _open()
    txn = ts.Transaction()
    await store.with_transaction(txn)[:, :].write(3)
    txn.abort()
    assert (txn.open, txn.commit_started, txn.aborted) == (False, False, True)
    np.testing.assert_array_equal(await store.read(), np.zeros((8, 8), np.uint16))
    assert txn.total_bytes == 0
    with pytest.raises(CancelledError, match=r"^Transaction aborted$"):
        await txn.commit_async()
    with pytest.raises(CancelledError, match=r"^Transaction aborted$"):
        txn.commit_sync()
    with pytest.raises(InvalidArgumentError, match=r"^Transaction not open \(aborted\)$"):
        await store.with_transaction(txn)[0, 0].write(1)
    with pytest.raises(InvalidArgumentError, match=r"^Transaction not open \(aborted\)$"):
        await store.with_transaction(txn).read()


async def test_operations_after_commit_fail_and_commit_is_idempotent() -> None:
    store = await _open()
    txn = ts.Transaction()
    await store.with_transaction(txn)[0, 0].write(1)
    txn.commit_sync()
    txn.commit_sync()  # no effect, as TensorStore
    txn.abort()  # no effect once committed
    assert not txn.aborted
    with pytest.raises(
        InvalidArgumentError, match=r"^Transaction not open \(commit already started\)$"
    ):
        await store.with_transaction(txn)[0, 0].write(2)
    assert (await store[0, 0].read()) == 1


async def test_atomic_commit_on_memory_spans_chunks_in_one_atomic_write() -> None:
    store = await _open()
    assert store.kvstore is not None
    await store[0:4, 0:4].write(1)
    before = store.kvstore.statistics()
    txn = ts.Transaction(atomic=True)
    bound = store.with_transaction(txn)
    await bound[2:6, 2:6].write(4)  # four chunks, one of them partially over stored data
    await bound[0, 0].write(8)
    await txn.commit_async()
    after = store.kvstore.statistics()
    assert after.atomic_commits - before.atomic_commits == 1
    assert after.writes == before.writes
    expected = np.zeros((8, 8), np.uint16)
    expected[0:4, 0:4] = 1
    expected[2:6, 2:6] = 4
    expected[0, 0] = 8
    np.testing.assert_array_equal(await store.read(), expected)


async def test_atomic_commit_retries_when_another_writer_changed_a_chunk() -> None:
    store = await _open()
    txn = ts.Transaction(atomic=True)
    await store.with_transaction(txn)[0:5, 0].write(2)
    await store[1, 1].write(6)  # lands between staging and commit
    await txn.commit_async()
    result = await store[0:5, 0:2].read()
    assert result[:, 0].tolist() == [2] * 5
    assert result[1, 1] == 6


async def test_atomic_on_a_non_atomic_memory_store_fails_at_the_second_chunk() -> None:
    store = await _open({"driver": "memory", "atomic": False})
    txn = ts.Transaction(atomic=True)
    await store.with_transaction(txn)[0, 0].write(1)
    with pytest.raises(
        InvalidArgumentError,
        match=r'^Cannot read/write "0\.0" and read/write "1\.1" as single '
        r"atomic transaction$",
    ):
        await store.with_transaction(txn)[5, 5].write(1)
    assert txn.aborted
    assert not txn.open
    np.testing.assert_array_equal(await store.read(), np.zeros((8, 8), np.uint16))


async def test_atomic_file_multi_key_fails_clearly_and_writes_nothing(tmp_path: Path) -> None:
    path = str(tmp_path) + "/"
    store = await _open({"driver": "file", "path": path})
    txn = ts.Transaction(atomic=True)
    # One chunk is one key: a single conditional write is atomic.
    await store.with_transaction(txn)[0:2, 0:2].write(1)
    with pytest.raises(
        InvalidArgumentError,
        match=rf'^Cannot read/write local file "{path}0\.0" and read/write local file '
        rf'"{path}0\.1" as single atomic transaction$',
    ):
        await store.with_transaction(txn)[0:2, 0:6].write(1)
    assert txn.aborted
    # The commit reports why, as TensorStore's does.
    with pytest.raises(InvalidArgumentError, match=r"^Cannot read/write local file .* atomic"):
        await txn.commit_async()
    assert sorted(os.listdir(tmp_path)) == [".zarray"]
    np.testing.assert_array_equal(await store.read(), np.zeros((8, 8), np.uint16))


async def test_atomic_file_single_chunk_commits(tmp_path: Path) -> None:
    store = await _open({"driver": "file", "path": str(tmp_path)})
    txn = ts.Transaction(atomic=True)
    await store.with_transaction(txn)[0:2, 0:2].write(5)
    await store.with_transaction(txn)[3, 3].write(6)
    await txn.commit_async()
    result = await store[0:4, 0:4].read()
    assert result[0:2, 0:2].tolist() == [[5, 5], [5, 5]]
    assert result[3, 3] == 6


async def test_open_with_transaction_and_write_from_a_store() -> None:
    context = ts.Context()
    store = await _open(context=context)
    txn = ts.Transaction()
    bound = await ts.open(_spec(), context=context, transaction=txn)
    assert bound.transaction is txn
    source = ts.array(np.full((2, 2), 11, np.uint16))
    await bound[0:2, 0:2].write(source)
    assert (await store[0, 0].read()) == 0
    assert (await bound[1, 1].read()) == 11
    await txn.commit_async()
    assert (await store[1, 1].read()) == 11


async def test_with_statement_commits_on_success_and_aborts_on_error() -> None:
    store = await _open()
    with ts.Transaction() as txn:
        await store.with_transaction(txn)[0, 0].write(1)
    assert txn.commit_started
    assert not txn.aborted
    failed = ts.Transaction()

    def fail_inside_transaction() -> None:
        with failed:
            store.with_transaction(failed)[0, 1].write(2).result()
            raise KeyError("x")

    with pytest.raises(KeyError):
        fail_inside_transaction()
    assert failed.aborted
    assert (await store[0, 0:2].read()).tolist() == [1, 0]


async def test_async_with_in_trio() -> None:
    store = await _open()
    async with ts.Transaction() as txn:
        await store.with_transaction(txn)[1, 1].write(4)
    assert (await store[1, 1].read()) == 4
    failed = ts.Transaction()

    async def fail_inside_transaction() -> None:
        async with failed:
            await store.with_transaction(failed)[1, 1].write(5)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match=r"^boom$"):
        await fail_inside_transaction()
    assert failed.aborted
    assert (await store[1, 1].read()) == 4


def test_async_with_in_asyncio() -> None:
    async def main() -> tuple[int, int, bool]:
        store = await _open()
        async with ts.Transaction() as txn:
            await store.with_transaction(txn)[2, 2].write(3)
        committed = int(await store[2, 2].read())
        try:
            async with ts.Transaction() as failed:
                await store.with_transaction(failed)[2, 2].write(9)
                raise ValueError("stop")
        except ValueError:
            pass
        return committed, int(await store[2, 2].read()), failed.aborted

    assert asyncio.run(main()) == (3, 3, True)


async def test_commit_failure_is_reported_and_leaves_the_commit_started(tmp_path: Path) -> None:
    store = await _open({"driver": "file", "path": str(tmp_path)})
    txn = ts.Transaction()
    await store.with_transaction(txn)[0, 0].write(1)
    (tmp_path / "0.0").mkdir()  # the chunk's file cannot be written
    with pytest.raises(IsADirectoryError, match=r"^\[Errno 21\] file: cannot write '.*0\.0': Is a directory$"):
        await txn.commit_async()
    # As tensorstore's: started and not open, but not "aborted".
    assert txn.commit_started
    assert not txn.aborted
    assert not txn.open
    with pytest.raises(ValueError, match=r"^Transaction not open \(commit already started\)$"):
        await store.with_transaction(txn)[0, 0].read()


async def test_driver_without_chunk_cache_rejects_transactions() -> None:
    array = ts.array(np.zeros(4, np.int32))
    txn = ts.Transaction()
    # A NotImplementedError, as tensorstore raises it.
    with pytest.raises(
        NotImplementedError, match=r"^write: the 'array' driver does not support transactions$"
    ):
        await array.with_transaction(txn).write(1)


async def test_commit_includes_writes_issued_before_it_and_not_awaited() -> None:
    store = await _open()
    txn = ts.Transaction()
    futures = [store.with_transaction(txn)[i, :].write(i + 1) for i in range(8)]
    await txn.commit_async()
    for future in futures:
        await future
    expected = np.repeat(np.arange(1, 9, dtype=np.uint16)[:, None], 8, axis=1)
    np.testing.assert_array_equal(await store.read(), expected)


def test_sync_with_block_of_unawaited_writes() -> None:
    store = asyncio.run(_open())
    with ts.Transaction() as txn:
        store.with_transaction(txn)[0:4, 0:4] = 6
        store.with_transaction(txn)[4:8, 4:8].write(7)
    result = store.read().result()
    assert result[0, 0] == 6
    assert result[7, 7] == 7


async def test_bad_source_does_not_block_the_commit() -> None:
    store = await _open()
    txn = ts.Transaction()
    with pytest.raises(ValueError, match=r"^Error aligning dimensions"):
        await store.with_transaction(txn).write(np.zeros((3, 3), np.uint16))
    with pytest.raises(TypeError, match=r"^Cannot cast array data"):
        store.with_transaction(txn).write(np.zeros((3, 3), np.float64))
    await txn.commit_async()
    assert txn.commit_started


async def test_large_write_is_staged_in_a_worker_thread_and_read_back() -> None:
    store = await ts.open(
        _spec(),
        create=True,
        dtype=ts.float32,
        shape=[1024, 1024],
        chunk_layout=ts.ChunkLayout(chunk_shape=[256, 512]),
    )
    data = np.arange(1024 * 1024, dtype=np.float32).reshape(1024, 1024)
    txn = ts.Transaction()
    await store.with_transaction(txn)[1:1001, 3:1003].write(data[:1000, :1000])
    assert txn.total_bytes > 1 << 20
    np.testing.assert_array_equal(
        await store.with_transaction(txn)[1:1001, 3:1003].read(), data[:1000, :1000]
    )
    await txn.commit_async()
    np.testing.assert_array_equal(await store[1:1001, 3:1003].read(), data[:1000, :1000])


async def test_sharded_array_atomic_commit_across_shards() -> None:
    store = await ts.open(
        {"driver": "zarr3", "kvstore": {"driver": "memory"}},
        create=True,
        dtype=ts.uint8,
        shape=[64, 64],
        chunk_layout=ts.ChunkLayout(read_chunk_shape=[8, 8], write_chunk_shape=[32, 32]),
    )
    await store[0:40, 0:40].write(1)
    txn = ts.Transaction(atomic=True)
    await store.with_transaction(txn)[30:35, 30:35].write(3)  # four shards, each partial
    await txn.commit_async()
    expected = np.zeros((64, 64), np.uint8)
    expected[0:40, 0:40] = 1
    expected[30:35, 30:35] = 3
    np.testing.assert_array_equal(await store.read(), expected)
