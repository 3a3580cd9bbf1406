"""Committing a transaction: writing back every staged chunk and key.

Two ways, decided by what the transaction touched:

- *one by one* (non-atomic transactions, or an atomic one that touched a
  single key): each chunk node becomes the pending write of its cache entry
  and goes out through the cache's ordinary writeback — read if partial and
  not cached, merge, encode, conditional write ``if_equal=generation``,
  re-read and re-apply on a mismatch — so a transaction follows exactly the
  rules of non-transactional writes, and a chunk written many times in the
  transaction costs one writeback. Staged keys are written as they are,
  except those with a commit condition (the metadata of an array created in
  the transaction must still be absent): those are written first,
  conditionally, and if one of them fails nothing else is written;
  the keys of a store that commits several keys atomically (``memory``) go
  in one ``commit_atomic``, so that they are all written or none (as in
  TensorStore);
- *all at once* (atomic transactions over several keys of one kvstore that
  can commit them atomically, i.e. ``memory``): the partial chunks are read,
  every chunk merged and encoded, and all writes go to the kvstore as one
  ``commit_atomic`` conditioned on the generations read; if another writer
  changed one of them nothing is written and the commit starts over from a
  fresh read (at most :data:`MAX_ATOMIC_ATTEMPTS` times); a staged key whose
  commit condition no longer holds fails the commit at once.

Both run shielded: cancelling a caller never leaves a commit half-way.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Final

import trio

from ..errors import AbortedError, AlreadyExistsError, FailedPreconditionError
from .chunk_entry import WriteTicket

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from ..drivers.kvstore.generation import TimestampedStorageGeneration
    from .chunk_cache import ChunkCache
    from .chunk_entry import ChunkEntry
    from .transaction import ChunkNode, TransactionState

__all__ = ["MAX_ATOMIC_ATTEMPTS", "commit_transaction"]

#: Atomic commits retried after another writer changed a chunk they read.
MAX_ATOMIC_ATTEMPTS: Final = 16


async def commit_transaction(state: TransactionState) -> None:
    """Write back what ``state`` staged (its phase is ``committing``); record the outcome.

    Raises:
      Exception: the first writeback or kvstore error (the commit failed).
    """
    error: BaseException | None = None
    try:
        with trio.CancelScope(shield=True):
            # Writes issued before the commit started are part of it, as in TensorStore.
            await state.wait_ops()
            if state.atomic and state.target_count() > 1:
                await _commit_atomic(state)
            else:
                await _commit_each(state)
    except BaseException as exc:
        error = exc
        raise
    finally:
        state.finish_commit(error)


async def _commit_each(state: TransactionState) -> None:
    from ..drivers.transactional_io import multi_key_atomic

    together = {actor for actor, root in state.key_roots.items() if multi_key_atomic(root)}
    await _write_conditional_keys(state, together)
    for actor in together:
        await _commit_keys_at_once(state, actor)
    tickets: list[WriteTicket] = []
    for cache, nodes in state.chunks.items():
        ticket = WriteTicket()
        entries: list[ChunkEntry] = []
        for cell, node in nodes.items():
            entry = cache.entry(cell)
            # The node hands its buffers over: the transaction never touches them again.
            entry.install(node.pending, node.mask)
            entry.add_ticket(ticket)
            cache.pool.update(entry)
            entries.append(entry)
        ticket.seal()
        cache.schedule_writeback(entries)
        tickets.append(ticket)
    writes: list[Awaitable[TimestampedStorageGeneration]] = []
    for actor, values in state.keys.items():
        if actor in together:
            continue
        root = state.key_roots[actor]
        conditions = state.key_conditions.get(actor, {})
        writes.extend(
            root.write_full_key(key, value)
            for key, value in values.items()
            if key not in conditions
        )
    first: BaseException | None = None
    for ticket in tickets:
        try:
            await ticket.wait()
        except Exception as exc:
            first = first or exc
    for write in writes:
        try:
            await write
        except Exception as exc:
            first = first or exc
    if first is not None:
        raise first


async def _write_conditional_keys(state: TransactionState, skip: set[Any]) -> None:
    """Write the staged keys that have a commit condition (but those of ``skip``'s stores).

    Raises:
        AlreadyExistsError, FailedPreconditionError: a condition no longer holds.
    """
    writes: list[tuple[bytes, bytes, Awaitable[TimestampedStorageGeneration]]] = []
    for actor, conditions in state.key_conditions.items():
        if actor in skip:
            continue
        root = state.key_roots[actor]
        values = state.keys[actor]
        for key, condition in conditions.items():
            write = root.write_full_key(key, values[key], if_equal=condition)
            writes.append((key, condition, write))
    failed: tuple[bytes, bytes] | None = None
    first: BaseException | None = None
    for key, condition, write in writes:
        try:
            stamp = await write
        except Exception as exc:
            first = first or exc
            continue
        if not stamp.generation:
            failed = failed or (key, condition)
    if first is not None:
        raise first
    if failed is not None:
        raise _condition_error(*failed)


async def _commit_keys_at_once(state: TransactionState, actor: Any) -> None:
    """Write every key staged for ``actor``'s store in one all-or-nothing commit.

    Raises:
        AlreadyExistsError, FailedPreconditionError: a condition no longer
            holds (nothing of this store was written).
    """
    conditions = state.key_conditions.get(actor, {})
    writes = [(key, value, conditions.get(key)) for key, value in state.keys[actor].items()]
    try:
        await state.key_roots[actor].commit_atomic(writes)
    except FailedPreconditionError:
        error = await _failed_key_condition(state)
        if error is None:
            raise
        raise error from None


def _condition_error(key: bytes, condition: bytes) -> Exception:
    from ..drivers.kvstore.generation import NO_VALUE

    text = key.decode("utf-8", "surrogateescape")
    if condition == NO_VALUE:
        return AlreadyExistsError(
            f'Error writing "{text}": it was created outside the transaction before the '
            "transaction that creates it committed; the transaction's other writes were not made"
        )
    return FailedPreconditionError(
        f'Error writing "{text}": it changed outside the transaction before the commit; '
        "the transaction's other writes were not made"
    )


async def _failed_key_condition(state: TransactionState) -> Exception | None:
    """The error for the first staged key whose commit condition no longer holds, if any."""
    for actor, conditions in state.key_conditions.items():
        root = state.key_roots[actor]
        for key, condition in conditions.items():
            result = await root.read(key)
            if result.stamp.generation != condition:
                return _condition_error(key, condition)
    return None


async def _commit_atomic(state: TransactionState) -> None:
    from ..drivers.kvstore.generation import NO_VALUE
    from ..drivers.kvstore.kvstore import KvStore

    groups: list[tuple[ChunkCache, list[ChunkEntry], list[ChunkNode]]] = []
    root: KvStore | None = None
    for cache, nodes in state.chunks.items():
        entries = [cache.entry(cell) for cell in nodes]
        cache.use(entries)
        groups.append((cache, entries, list(nodes.values())))
        kv = cache.kvstore
        assert isinstance(kv, KvStore), "claim() admits only multi-key atomic kvstores"
        root = root or KvStore(kv._lease, kv._spec, "")
    for actor in state.keys:
        root = root or state.key_roots[actor]
    assert root is not None
    try:
        for _ in range(MAX_ATOMIC_ATTEMPTS):
            writes: list[tuple[bytes, bytes | memoryview | None, bytes | None]] = []
            stored: list[tuple[ChunkCache, ChunkEntry, Any]] = []
            for cache, entries, group_nodes in groups:
                partial = [
                    e for e, n in zip(entries, group_nodes, strict=True) if n.mask is not None
                ]
                await cache.ensure_fresh(partial, time.time())
                prefix = cache.kvstore.path  # type: ignore[attr-defined]
                for entry, node in zip(entries, group_nodes, strict=True):
                    chunk, encoded = cache._merge_encode(
                        entry.cell, entry.data, node.pending, node.mask, False
                    )
                    condition = None if node.mask is None else (entry.generation or NO_VALUE)
                    writes.append(((prefix + entry.key).encode(), encoded, condition))
                    stored.append((cache, entry, chunk if encoded is not None else None))
            for actor, values in state.keys.items():
                conditions = state.key_conditions.get(actor, {})
                writes.extend((key, value, conditions.get(key)) for key, value in values.items())
            try:
                stamps = await root.commit_atomic(writes)
            except FailedPreconditionError:
                # A staged key's condition (nothing to retry), or another writer
                # changed a chunk we merged over: nothing was written; re-read.
                error = await _failed_key_condition(state)
                if error is not None:
                    raise error from None
                for _, entries, _ in groups:
                    for entry in entries:
                        entry.forget_stored()
                continue
            for (_, entry, chunk), stamp in zip(stored, stamps, strict=False):
                entry.set_stored(chunk, stamp)
            return
        raise AbortedError(
            f"atomic transaction commit: the chunks kept changing under it "
            f"({MAX_ATOMIC_ATTEMPTS} attempts); nothing was written"
        )
    finally:
        for cache, entries, _ in groups:
            cache.release(entries)
