"""ts.open(create=True, transaction=txn): the new array's metadata is staged in the transaction."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import tensortrio as ts
from tensortrio.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)

if TYPE_CHECKING:
    from pathlib import Path


def _file_spec(tmp_path: Path) -> dict[str, Any]:
    return {"driver": "zarr", "kvstore": {"driver": "file", "path": str(tmp_path) + "/"}}


async def _create(spec: dict[str, Any], txn: ts.Transaction | None, **kwargs: Any) -> ts.TensorStore:
    return await ts.open(
        spec,
        create=True,
        dtype=ts.uint16,
        shape=[8, 8],
        chunk_layout=ts.ChunkLayout(chunk_shape=[4, 4]),
        transaction=txn,
        **kwargs,
    )


async def test_nothing_is_stored_before_the_commit_and_an_abort_leaves_nothing(
    tmp_path: Path,
) -> None:
    txn = ts.Transaction()
    store = await _create(_file_spec(tmp_path), txn)
    await store[1:3, 2:6].write(7)
    assert (await store[1, 2].read()) == 7
    assert os.listdir(tmp_path) == []
    with pytest.raises(NotFoundError, match=r'^zarr: Metadata at ".*/\.zarray" does not exist'):
        await ts.open(_file_spec(tmp_path))
    txn.abort()
    assert os.listdir(tmp_path) == []


async def test_the_commit_writes_metadata_and_chunks(tmp_path: Path) -> None:
    txn = ts.Transaction()
    store = await _create(_file_spec(tmp_path), txn)
    await store[1:3, 2:6].write(7)
    await txn.commit_async()
    assert sorted(os.listdir(tmp_path)) == [".zarray", "0.0", "0.1"]
    assert json.loads((tmp_path / ".zarray").read_text())["shape"] == [8, 8]
    reopened = await ts.open(_file_spec(tmp_path))
    expected = np.zeros((8, 8), np.uint16)
    expected[1:3, 2:6] = 7
    np.testing.assert_array_equal(await reopened.read(), expected)
    # Once committed, the array exists outside the transaction too.
    np.testing.assert_array_equal(await store.with_transaction(None).read(), expected)


async def test_a_second_open_in_the_transaction_sees_the_staged_metadata(tmp_path: Path) -> None:
    context = ts.Context()
    txn = ts.Transaction()
    first = await _create(_file_spec(tmp_path), txn, context=context)
    await first[0, 0].write(3)
    again = await ts.open(_file_spec(tmp_path), context=context, transaction=txn)
    assert again.shape == (8, 8)
    assert again.dtype == ts.uint16
    assert (await again[0, 0].read()) == 3
    with pytest.raises(AlreadyExistsError, match=r"^zarr: Error writing .*metadata already exists"):
        await _create(_file_spec(tmp_path), txn, context=context)
    with pytest.raises(ValueError, match=r"dtype"):
        await ts.open(_file_spec(tmp_path), context=context, transaction=txn, dtype=ts.float32)
    # As in TensorStore, another context has its own metadata cache: it sees storage only.
    with pytest.raises(NotFoundError, match=r'^zarr: Metadata at ".*/\.zarray" does not exist'):
        await ts.open(_file_spec(tmp_path), context=ts.Context(), transaction=txn)
    assert os.listdir(tmp_path) == []


async def test_creating_what_exists_outside_fails_at_open(tmp_path: Path) -> None:
    stored = await _create(_file_spec(tmp_path), None)
    await stored[0, 0].write(9)
    txn = ts.Transaction()
    with pytest.raises(AlreadyExistsError, match=r"^zarr: Error writing .*metadata already exists"):
        await _create(_file_spec(tmp_path), txn)
    opened = await _create(_file_spec(tmp_path), txn, open=True)
    assert (await opened[0, 0].read()) == 9


async def test_a_creation_outside_before_the_commit_fails_the_commit(tmp_path: Path) -> None:
    txn = ts.Transaction()
    staged = await _create(_file_spec(tmp_path), txn)
    await staged[0, 0].write(1)
    outside = await ts.open(_file_spec(tmp_path), create=True, dtype=ts.int8, shape=[3])
    with pytest.raises(
        AlreadyExistsError,
        match=r'^Error writing ".*/\.zarray": it was created outside the transaction before',
    ):
        await txn.commit_async()
    assert sorted(os.listdir(tmp_path)) == [".zarray"]  # the staged chunk was not written
    assert json.loads((tmp_path / ".zarray").read_text())["shape"] == [3]
    assert (await outside.read()).tolist() == [0, 0, 0]


async def test_atomic_memory_transaction_creates_metadata_and_chunks_in_one_write() -> None:
    kv = await ts.KvStore.open({"driver": "memory"})
    spec: dict[str, Any] = {"driver": "zarr"}  # the kvstore is the opened one (kvstore=kv)
    txn = ts.Transaction(atomic=True)
    store = await _create(spec, txn, kvstore=kv)
    await store[0:8, 0:8].write(np.arange(64, dtype=np.uint16).reshape(8, 8))
    assert await kv.list() == []
    before = kv.statistics().atomic_commits
    await txn.commit_async()
    assert kv.statistics().atomic_commits == before + 1
    assert await kv.list() == [b".zarray", b"0.0", b"0.1", b"1.0", b"1.1"]


async def test_atomic_commit_fails_whole_when_the_array_was_created_meanwhile() -> None:
    kv = await ts.KvStore.open({"driver": "memory"})
    spec: dict[str, Any] = {"driver": "zarr"}  # the kvstore is the opened one (kvstore=kv)
    txn = ts.Transaction(atomic=True)
    store = await _create(spec, txn, kvstore=kv)
    await store[0, 0].write(1)
    await kv.write(".zarray", b"{}")
    with pytest.raises(AlreadyExistsError, match=r'^Error writing "\.zarray": it was created'):
        await txn.commit_async()
    assert await kv.list() == [b".zarray"]
    assert (await kv.read(".zarray")).value == b"{}"


async def test_delete_existing_in_a_transaction_is_refused_and_deletes_nothing(
    tmp_path: Path,
) -> None:
    await _create(_file_spec(tmp_path), None)
    txn = ts.Transaction()
    with pytest.raises(
        InvalidArgumentError,
        match=r"^zarr: delete_existing=True is not supported in a transaction",
    ):
        await _create(_file_spec(tmp_path), txn, delete_existing=True)
    assert os.listdir(tmp_path) == [".zarray"]


async def test_the_array_exists_only_in_its_transaction_until_the_commit(tmp_path: Path) -> None:
    txn = ts.Transaction()
    store = await _create(_file_spec(tmp_path), txn)
    for other in (None, ts.Transaction()):
        with pytest.raises(
            FailedPreconditionError,
            match=r"^TensorStore\.with_transaction: this array was created in a transaction",
        ):
            store.with_transaction(other)
    await txn.commit_async()
    assert store.with_transaction(None).transaction is None


async def test_open_in_a_finished_transaction_is_refused(tmp_path: Path) -> None:
    txn = ts.Transaction()
    txn.abort()
    with pytest.raises(InvalidArgumentError, match=r"^Transaction not open \(aborted\)$"):
        await _create(_file_spec(tmp_path), txn)
    assert os.listdir(tmp_path) == []
