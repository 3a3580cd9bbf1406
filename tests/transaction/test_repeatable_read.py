"""ts.Transaction(repeatable_read=True): chunks read in the transaction must not change before it commits.

Each scenario also runs on the real ``tensorstore`` (``test_same_outcome_as_tensorstore``).
"""

from __future__ import annotations

import re
import shutil
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tensorstore

import tensortrio as ts
from tensortrio.errors import AbortedError, InvalidArgumentError

if TYPE_CHECKING:
    from pathlib import Path
    from types import ModuleType

MISMATCH = r'^Error (reading|writing) local file ".*/0": Generation mismatch$'


def _spec(tmp_path: Path, driver: str = "zarr") -> dict[str, Any]:
    return {"driver": driver, "kvstore": {"driver": "file", "path": str(tmp_path / "a") + "/"}}


def _open(lib: ModuleType, spec: dict[str, Any], *, fill: bool = True, **kwargs: Any) -> Any:
    """An int32 array of shape [8] in chunks [4] (0..7 unless ``fill`` is false), opened with ``lib``."""
    layout = kwargs.pop("chunk_layout", None) or lib.ChunkLayout(chunk_shape=[4])
    store = lib.open(
        spec, create=True, dtype="int32", shape=[8], chunk_layout=layout, **kwargs
    ).result()
    if fill:
        store[:] = np.arange(8, dtype=np.int32)
    return store


def test_a_changed_chunk_fails_the_next_read_and_the_commit(tmp_path: Path) -> None:
    store = _open(ts, _spec(tmp_path))
    txn = ts.Transaction(repeatable_read=True)
    view = store.with_transaction(txn)
    assert view[0:2].read().result().tolist() == [0, 1]
    ts.open(_spec(tmp_path)).result()[0] = 100  # another writer
    with pytest.raises(AbortedError, match=MISMATCH):
        view[0:2].read().result()
    with pytest.raises(AbortedError, match=MISMATCH):
        txn.commit_sync()
    assert store.read().result().tolist() == [100, 1, 2, 3, 4, 5, 6, 7]


def test_the_mismatch_is_a_value_error_as_in_tensorstore(tmp_path: Path) -> None:
    store = _open(ts, _spec(tmp_path))
    txn = ts.Transaction(repeatable_read=True)
    store.with_transaction(txn)[0].read().result()
    store[1] = 5
    with pytest.raises(ValueError, match=MISMATCH):
        txn.commit_sync()


@pytest.mark.parametrize("full", [False, True], ids=["partial", "full"])
def test_unchanged_reads_commit_and_the_writes_land(tmp_path: Path, full: bool) -> None:
    store = _open(ts, _spec(tmp_path))
    txn = ts.Transaction(repeatable_read=True)
    view = store.with_transaction(txn)
    assert view[0:4].read().result().tolist() == [0, 1, 2, 3]
    if full:
        view[0:4] = 9
    else:
        view[1] = 7
    assert view[0:2].read().result().tolist() == ([9, 9] if full else [0, 7])
    store[6] = 60  # a chunk the transaction did not read
    txn.commit_sync()
    expected = [9, 9, 9, 9] if full else [0, 7, 2, 3]
    assert store.read().result().tolist() == [*expected, 4, 5, 60, 7]


@pytest.mark.parametrize("full", [False, True], ids=["partial", "full"])
def test_a_write_over_a_changed_chunk_is_not_made(tmp_path: Path, full: bool) -> None:
    # Without repeatable_read the write would be re-applied over the new
    # chunk; here it must fail and leave the other writer's data, even for a
    # full overwrite (whose write is conditional on the generation read).
    store = _open(ts, _spec(tmp_path))
    txn = ts.Transaction(repeatable_read=True)
    view = store.with_transaction(txn)
    view[0:2].read().result()
    if full:
        view[0:4] = 9
    else:
        view[1] = 7
    store[2] = 200
    with pytest.raises(AbortedError, match=r'^Error writing local file ".*/0": Generation mismatch$'):
        txn.commit_sync()
    assert store.read().result().tolist() == [0, 1, 200, 3, 4, 5, 6, 7]


def test_a_stale_cached_chunk_is_caught_by_the_conditional_write(tmp_path: Path) -> None:
    # With a cache pool the entry still holds the generation read: the merge
    # needs no read, so the conditional write is what finds the change.
    context = ts.Context({"cache_pool": {"total_bytes_limit": 1 << 20}})
    store = _open(ts, _spec(tmp_path), context=context)
    txn = ts.Transaction(repeatable_read=True)
    view = store.with_transaction(txn)
    view[0:2].read().result()
    view[1] = 7
    other = ts.open(_spec(tmp_path)).result()  # its own context: our cache does not see this
    other[3] = 300
    with pytest.raises(AbortedError, match=MISMATCH):
        txn.commit_sync()
    assert other.read().result().tolist() == [0, 1, 2, 300, 4, 5, 6, 7]


def test_a_chunk_read_as_missing_must_still_be_missing(tmp_path: Path) -> None:
    store = _open(ts, _spec(tmp_path), fill=False)
    txn = ts.Transaction(repeatable_read=True)
    view = store.with_transaction(txn)
    assert view[0:2].read().result().tolist() == [0, 0]
    store[3] = 3
    with pytest.raises(AbortedError, match=MISMATCH):
        view[0].read().result()
    with pytest.raises(AbortedError, match=MISMATCH):
        txn.commit_sync()


def test_without_repeatable_read_changes_are_seen_and_merged(tmp_path: Path) -> None:
    store = _open(ts, _spec(tmp_path))
    txn = ts.Transaction()
    view = store.with_transaction(txn)
    assert view[0:2].read().result().tolist() == [0, 1]
    store[0] = 100
    assert view[0:2].read().result().tolist() == [100, 1]
    view[1] = 7
    txn.commit_sync()
    assert store.read().result().tolist() == [100, 7, 2, 3, 4, 5, 6, 7]


def test_a_sharded_array_checks_the_shard(tmp_path: Path) -> None:
    layout = ts.ChunkLayout(read_chunk_shape=[2], write_chunk_shape=[4])
    spec = _spec(tmp_path, "zarr3")
    store = _open(ts, spec, chunk_layout=layout)
    txn = ts.Transaction(repeatable_read=True)
    view = store.with_transaction(txn)
    view[0].read().result()
    view[5] = 50  # another shard, not read
    store[3] = 30  # the shard read, another inner chunk
    with pytest.raises(AbortedError, match=r'^Error writing local file ".*/c/0": Generation mismatch$'):
        txn.commit_sync()
    assert store.read().result().tolist() == [0, 1, 2, 30, 4, 50, 6, 7]


def test_an_atomic_commit_writes_nothing_when_a_chunk_read_changed() -> None:
    store = _open(ts, {"driver": "zarr", "kvstore": "memory://"})
    txn = ts.Transaction(atomic=True, repeatable_read=True)
    view = store.with_transaction(txn)
    view[0].read().result()
    view[5] = 50
    view[6] = 60
    store[2] = 20
    with pytest.raises(AbortedError, match=r'^Error writing "0": Generation mismatch$'):
        txn.commit_sync()
    assert store.read().result().tolist() == [0, 1, 20, 3, 4, 5, 6, 7]


def test_an_atomic_transaction_on_files_counts_the_chunks_it_read(tmp_path: Path) -> None:
    # Checking a chunk read is part of the commit, so reading one file and
    # writing another cannot be atomic (tensorstore refuses already the read,
    # with the metadata file as the other key).
    store = _open(ts, _spec(tmp_path))
    txn = ts.Transaction(atomic=True, repeatable_read=True)
    view = store.with_transaction(txn)
    view[0].read().result()
    with pytest.raises(
        InvalidArgumentError,
        match=r'^Cannot read/write local file ".*/0" and read/write local file ".*/1" as '
        r"single atomic transaction$",
    ):
        view[5].write(1).result()
    assert txn.aborted


def test_a_virtual_chunked_view_checks_the_generations_its_read_function_gives() -> None:
    # tensorstore ignores repeatable_read here (the second read gives 2s and commits).
    generation = [1]

    def read(domain: ts.IndexDomain, array: np.ndarray, params: Any) -> Any:
        array[...] = generation[0]
        return ts.KvStore.TimestampedStorageGeneration(str(generation[0]).encode(), 0.0)

    view = ts.virtual_chunked(
        read, dtype=ts.int32, shape=[8], chunk_layout=ts.ChunkLayout(read_chunk_shape=[4])
    )
    txn = ts.Transaction(repeatable_read=True)
    assert view.with_transaction(txn)[0:2].read().result().tolist() == [1, 1]
    assert view.with_transaction(txn)[0:2].read().result().tolist() == [1, 1]
    generation[0] = 2
    with pytest.raises(AbortedError, match=r"^Error reading chunk '0': Generation mismatch$"):
        view.with_transaction(txn)[0:2].read().result()
    with pytest.raises(AbortedError, match=r"^Error writing chunk '0': Generation mismatch$"):
        txn.commit_sync()


def test_a_chunk_overwritten_whole_is_not_read_from_storage(tmp_path: Path) -> None:
    store = _open(ts, _spec(tmp_path))
    txn = ts.Transaction(repeatable_read=True)
    view = store.with_transaction(txn)
    view[0:4] = 9
    assert view[0:2].read().result().tolist() == [9, 9]  # the staged values, not storage
    store[0] = 5
    assert view[0:2].read().result().tolist() == [9, 9]
    txn.commit_sync()
    assert store.read().result().tolist() == [9, 9, 9, 9, 4, 5, 6, 7]


@pytest.mark.parametrize("kvstore", ["memory", "file"])
def test_an_atomic_transaction_that_only_read_commits(tmp_path: Path, kvstore: str) -> None:
    spec = _spec(tmp_path) if kvstore == "file" else {"driver": "zarr", "kvstore": "memory://"}
    store = _open(ts, spec)
    txn = ts.Transaction(atomic=True, repeatable_read=True)
    view = store.with_transaction(txn)
    view[0].read().result()
    if kvstore == "memory":
        view[6].read().result()  # two chunks: only a memory store commits them together
    txn.commit_sync()
    txn = ts.Transaction(atomic=True, repeatable_read=True)
    store.with_transaction(txn)[0].read().result()
    store[1] = 10
    with pytest.raises(AbortedError, match=r'^Error writing (local file ".*/0"|"0"): Generation mismatch$'):
        txn.commit_sync()


def test_a_kvstore_listing_is_refused_as_in_tensorstore() -> None:
    kv = ts.KvStore.open("memory://").result()
    txn = ts.Transaction(repeatable_read=True)
    with pytest.raises(
        NotImplementedError,
        match=r"^repeatable_read mode not supported for transactional list operations$",
    ):
        kv.with_transaction(txn).list().result()
    assert kv.with_transaction(ts.Transaction()).list().result() == []


# --- the same scenarios on tensorstore

_SCENARIOS = [
    ("unchanged", None, None),
    ("unchanged, write read chunk", None, (1, 7)),
    ("changed read chunk", 0, None),
    ("changed read chunk, write it", 0, (1, 7)),
    ("changed read chunk, write another", 0, (5, 7)),
    ("changed another chunk, write it", 6, (5, 7)),
]


def _scenario(lib: ModuleType, path: Path, change: int | None, write: tuple[int, int] | None) -> list[Any]:
    shutil.rmtree(path, ignore_errors=True)
    store = _open(lib, _spec(path))
    txn = lib.Transaction(repeatable_read=True)
    view = store.with_transaction(txn)
    seen: list[Any] = [view[0:2].read().result().tolist()]
    if change is not None:
        lib.open(_spec(path)).result()[change] = 100
    try:
        seen.append(view[0:2].read().result().tolist())
    except ValueError as exc:
        seen.append(str(exc).rsplit(": ", 1)[-1])
    if write is not None:
        view[write[0]] = write[1]
    try:
        txn.commit_sync()
        seen.append("committed")
    except ValueError as exc:
        seen.append(str(exc).rsplit(": ", 1)[-1])
    seen.append(store.read().result().tolist())
    return seen


@pytest.mark.parametrize(("change", "write"), [s[1:] for s in _SCENARIOS], ids=[s[0] for s in _SCENARIOS])
def test_same_outcome_as_tensorstore(
    tmp_path: Path, change: int | None, write: tuple[int, int] | None
) -> None:
    theirs = _scenario(tensorstore, tmp_path / "theirs", change, write)
    ours = _scenario(ts, tmp_path / "ours", change, write)
    assert ours == theirs


# --- transaction-bound KvStore reads

_KV_SCENARIOS = [
    # (name, key read, key changed outside, key written in the transaction, second read)
    ("unchanged, write the key read", "a", None, "a", True),
    ("unchanged, write another", "a", None, "b", False),
    ("changed, read again", "a", "a", None, True),
    ("changed, not read again", "a", "a", None, False),
    ("changed, write it", "a", "a", "a", False),
    ("changed, write another", "a", "a", "b", False),
    ("read missing, created outside", "c", "c", None, False),
    ("another key changed", "a", "b", "a", False),
]


def _message(exc: Exception) -> str:
    """The error's message without tensorstore's status prefix (``ABORTED: ``)."""
    return re.sub(r"^[A-Z_]+: ", "", str(exc))


def _kv_scenario(
    lib: ModuleType,
    spec: dict[str, Any],
    atomic: bool,
    read: str,
    change: str | None,
    write: str | None,
    again: bool,
) -> list[Any]:
    kv = lib.KvStore.open(spec).result()
    kv["a"] = b"1"
    kv["b"] = b"1"
    txn = lib.Transaction(atomic=atomic, repeatable_read=True)
    view = kv.with_transaction(txn)
    seen: list[Any] = [view.read(read).result().value]
    if change is not None:
        kv[change] = b"2"
    if again:
        try:
            seen.append(view.read(read).result().value)
        except ValueError as exc:
            seen.append(_message(exc))
    try:
        if write is not None:
            view[write] = b"3"
        txn.commit_sync()
        seen.append("committed")
    except ValueError as exc:
        seen.append(_message(exc).replace(spec.get("path", ""), ""))
    seen.append([kv.read(key).result().value for key in "abc"])
    return seen


@pytest.mark.parametrize("atomic", [False, True], ids=["isolated", "atomic"])
@pytest.mark.parametrize("kvstore", ["file", "memory"])
@pytest.mark.parametrize(
    ("read", "change", "write", "again"),
    [s[1:] for s in _KV_SCENARIOS],
    ids=[s[0] for s in _KV_SCENARIOS],
)
def test_kvstore_reads_have_the_same_outcome_as_tensorstore(
    tmp_path: Path,
    kvstore: str,
    atomic: bool,
    read: str,
    change: str | None,
    write: str | None,
    again: bool,
) -> None:
    outcomes = []
    for lib in (tensorstore, ts):
        spec: dict[str, Any] = {"driver": "memory"}
        if kvstore == "file":
            spec = {"driver": "file", "path": f"{tmp_path}/{lib.__name__}/"}
        outcomes.append(_kv_scenario(lib, spec, atomic, read, change, write, again))
    theirs, ours = outcomes
    if kvstore == "memory" and atomic and change == read != write is not None and not again:
        # tensorstore fails this atomic commit, yet writes the other key; no key is written here.
        assert theirs[-1] == [b"2", b"3", b""]
        theirs[-1] = [b"2", b"1", b""]
    assert ours == theirs
