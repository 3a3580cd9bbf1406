"""KvStore.with_transaction: staged keys, isolation, commit, abort, atomicity."""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

import pytest

import tensortrio as ts
from tensortrio.errors import CancelledError, FailedPreconditionError, InvalidArgumentError

if TYPE_CHECKING:
    from pathlib import Path


async def test_staged_keys_are_isolated_until_commit() -> None:
    kv = await ts.KvStore.open({"driver": "memory"})
    await kv.write("gone", b"old")
    txn = ts.Transaction()
    bound = kv.with_transaction(txn)
    assert bound.transaction is txn
    assert kv.transaction is None
    assert (bound / "sub").transaction is txn
    assert bound.copy().transaction is txn
    stamp = await bound.write("a", b"123456")
    # As tensorstore's: the staged ("dirty") generation reads report, stamped now.
    assert stamp.generation == b"\x04\x01" + bytes(7)
    assert stamp.time < math.inf
    assert (await bound.read("a")).stamp.generation == stamp.generation
    assert (await bound.write("a", b"123456")).generation == b"\x04\x02" + bytes(7)
    await bound.write("gone", None)
    result = await bound.read("a")
    assert (result.state, result.value) == ("value", b"123456")
    assert (await bound.read("a", byte_range=slice(1, 3))).value == b"23"
    assert (await bound.read("gone")).state == "missing"
    assert (await bound.read("other")).state == "missing"  # not staged: read from the store
    assert (await kv.read("a")).state == "missing"
    assert (await kv.read("gone")).value == b"old"
    await txn.commit_async()
    assert (await kv.read("a")).value == b"123456"
    assert (await kv.read("gone")).state == "missing"


async def test_abort_and_bad_transactions() -> None:
    kv = await ts.KvStore.open({"driver": "memory"})
    txn = ts.Transaction()
    bound = kv.with_transaction(txn)
    await bound.write("a", b"1")
    txn.abort()
    with pytest.raises(CancelledError, match=r"^Transaction aborted$"):
        await txn.commit_async()
    with pytest.raises(InvalidArgumentError, match=r"^Transaction not open \(aborted\)$"):
        await bound.read("a")
    assert (await kv.read("a")).state == "missing"
    with pytest.raises(TypeError, match=r"^KvStore\.with_transaction: transaction must be a"):
        kv.with_transaction("txn")  # type: ignore[arg-type]


async def test_atomic_memory_commits_keys_in_one_atomic_write() -> None:
    kv = await ts.KvStore.open({"driver": "memory"})
    txn = ts.Transaction(atomic=True)
    for key in "abc":
        await kv.with_transaction(txn).write(key, key.encode())
    before = kv.statistics().atomic_commits
    await txn.commit_async()
    assert kv.statistics().atomic_commits == before + 1
    assert await kv.list() == [b"a", b"b", b"c"]


async def test_atomic_file_second_key_fails_and_nothing_is_written(tmp_path: Path) -> None:
    path = str(tmp_path) + "/"
    kv = await ts.KvStore.open({"driver": "file", "path": path})
    txn = ts.Transaction(atomic=True)
    await kv.with_transaction(txn).write("a", b"1")
    await kv.with_transaction(txn).write("a", b"2")  # the same key again is fine
    with pytest.raises(
        InvalidArgumentError,
        match=rf'^Cannot read/write local file "{path}a" and read/write local file "{path}b" '
        r"as single atomic transaction$",
    ):
        await kv.with_transaction(txn).write("b", b"1")
    assert txn.aborted
    with pytest.raises(InvalidArgumentError, match=r"^Cannot read/write local file .* atomic"):
        txn.commit_sync()
    with pytest.raises(InvalidArgumentError, match=r"^Cannot read/write local file .* atomic"):
        await txn.future
    assert os.listdir(tmp_path) == []


async def test_transaction_spans_a_kvstore_and_an_array() -> None:
    context = ts.Context()
    store = await ts.open(
        {"driver": "zarr", "kvstore": {"driver": "memory"}},
        context=context,
        create=True,
        dtype=ts.int8,
        shape=[4],
    )
    assert store.kvstore is not None
    txn = ts.Transaction(atomic=True)
    await store.with_transaction(txn)[0].write(5)
    await store.kvstore.with_transaction(txn).write("done", b"yes")
    assert (await store.kvstore.read("done")).state == "missing"
    await txn.commit_async()
    assert (await store.kvstore.read("done")).value == b"yes"
    assert (await store[0].read()) == 5


async def test_file_store_commit_writes_the_staged_keys(tmp_path: Path) -> None:
    # Staged keys are held under their full path; the commit must write them as such.
    kv = await ts.KvStore.open({"driver": "file", "path": str(tmp_path) + "/"})
    txn = ts.Transaction()
    await (kv / "sub/").with_transaction(txn).write("a", b"1")
    await kv.with_transaction(txn).write("b", b"2")
    assert os.listdir(tmp_path) == []
    await txn.commit_async()
    assert (await kv.read("sub/a")).value == b"1"
    assert (await kv.read("b")).value == b"2"


async def test_list_and_delete_range_see_and_stage_the_transactions_writes() -> None:
    kv = await ts.KvStore.open({"driver": "memory"})
    for key in ("a", "b", "c/x"):
        await kv.write(key, b"1")
    txn = ts.Transaction()
    bound = kv.with_transaction(txn)
    await bound.write("d", b"4")
    await bound.write("a", None)
    assert await bound.list() == [b"b", b"c/x", b"d"]
    await bound.delete_range(ts.KvStore.KeyRange("b", "c0"))
    assert await bound.list() == [b"d"]
    assert await bound.list(strip_prefix_length=0) == [b"d"]
    assert await kv.list() == [b"a", b"b", b"c/x"]  # nothing stored before the commit
    await txn.commit_async()
    assert await kv.list() == [b"d"]


async def test_delete_range_in_a_transaction_on_files(tmp_path: Path) -> None:
    # The listed keys carry the store's path: staging them must not add it again.
    kv = await ts.KvStore.open({"driver": "file", "path": f"{tmp_path}/d/"})
    for key in ("a", "b", "c"):
        await kv.write(key, b"1")
    txn = ts.Transaction()
    bound = kv.with_transaction(txn)
    await bound.delete_range(ts.KvStore.KeyRange("a", "b0"))
    assert await bound.list() == [b"c"]
    assert (await bound.read("a")).state == "missing"
    await txn.commit_async()
    assert await kv.list() == [b"c"]


async def test_a_conditional_write_in_a_transaction_is_checked_at_commit() -> None:
    kv = await ts.KvStore.open({"driver": "memory"})
    await kv.write("b", b"old")
    txn = ts.Transaction()
    bound = kv.with_transaction(txn)
    generation = (await kv.read("b")).stamp.generation
    await bound.write("b", b"new", if_equal=generation)
    await bound.write("z", b"z")
    await kv.write("b", b"outside")
    with pytest.raises(
        FailedPreconditionError,
        match=r'^Error writing "b": it changed outside the transaction before the commit',
    ):
        await txn.commit_async()
    assert (await kv.read("b")).value == b"outside"
    assert (await kv.read("z")).state == "missing"
    txn = ts.Transaction()
    generation = (await kv.read("b")).stamp.generation
    await kv.with_transaction(txn).write("b", b"newer", if_equal=generation)
    await txn.commit_async()
    assert (await kv.read("b")).value == b"newer"


@pytest.mark.parametrize("conditional", [True, False])
async def test_a_memory_stores_keys_commit_all_or_none(conditional: bool) -> None:
    # A second conditional key that did hold was written while the failing one was not.
    tensorstore = pytest.importorskip("tensorstore")
    for lib in (ts, tensorstore):
        kv = lib.KvStore.open("memory://").result()
        kv["a"] = b"1"
        txn = lib.Transaction()
        bound = kv.with_transaction(txn)
        if conditional:
            bound.write("new", b"1", if_equal=b"\x02").result()
        else:
            bound["new"] = b"1"
        bound.write("a", b"2", if_equal=b"\x02").result()  # "a" exists: fails at commit
        bound["other"] = b"3"
        with pytest.raises(ValueError, match=r'Error writing "a"'):
            txn.commit_sync()
        assert (kv.list().result(), kv["a"]) == ([b"a"], b"1")


def test_a_staged_value_has_a_generation_that_if_not_equal_matches() -> None:
    tensorstore = pytest.importorskip("tensorstore")
    for lib in (ts, tensorstore):
        kv = lib.KvStore.open("memory://").result()
        bound = kv.with_transaction(lib.Transaction())
        bound["a"] = b"new"
        first = bound.read("a").result().stamp
        # tensorstore's staged ("dirty") generation: 0x04 and a count, 9 bytes.
        assert (first.generation[:1], len(first.generation), first.time) == (b"\x04", 9, math.inf)
        assert bound.read("a", if_not_equal=first.generation).result().state == "unspecified"
        bound["a"] = b"newer"
        second = bound.read("a").result().stamp.generation
        assert second[:1] == b"\x04"
        assert second != first.generation
        assert bound.read("a", if_not_equal=first.generation).result().value == b"newer"
        bound["c"] = None
        gone = bound.read("c").result()
        assert (gone.state, gone.stamp.generation) == ("missing", b"\x04" + bytes(8))
