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

A ``repeatable_read`` transaction also commits what it read: a chunk or key
it read and wrote is written only over the generation it read (a full
overwrite included), never re-applied over another; one it read and did not
write is checked. A mismatch fails the commit with ``Generation mismatch``.
Without ``atomic`` the other writes are still made (as TensorStore's on
``file``); with it, the checks come before anything is written.

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
        read = state.read_generations.get(cache, {})
        ticket = WriteTicket()
        entries: list[ChunkEntry] = []
        for cell, node in nodes.items():
            if cell in read:
                continue  # written below, over the generation the transaction read
            entry = cache.entry(cell)
            # The node hands its buffers over: the transaction never touches them again.
            entry.install(node.pending, node.mask)
            entry.add_ticket(ticket)
            cache.pool.update(entry)
            entries.append(entry)
        ticket.seal()
        cache.schedule_writeback(entries)
        tickets.append(ticket)
        tickets.extend(await _write_over_reads(cache, nodes, read))
    unwritten = _unwritten_reads(state)  # checked once the writes are out
    writes: list[tuple[Any, bytes, Awaitable[TimestampedStorageGeneration]]] = []
    for actor, values in state.keys.items():
        if actor in together:
            continue
        root = state.key_roots[actor]
        conditions = state.key_conditions.get(actor, {})
        reads = state.key_reads.get(actor, {})
        writes.extend(
            (root, key, root.write_full_key(key, value, if_equal=reads.get(key, b"")))
            for key, value in values.items()
            if key not in conditions
        )
    first: BaseException | None = None
    for ticket in tickets:
        try:
            await ticket.wait()
        except Exception as exc:
            first = first or exc
    for root, key, write in writes:
        try:
            stamp = await write
        except Exception as exc:
            first = first or exc
            continue
        if not stamp.generation:  # only keys a repeatable-read transaction read are conditional
            first = first or _key_mismatch(root, key)
    for actor in state.key_reads:
        if actor not in together:
            try:
                await _check_key_reads(state, actor)
            except Exception as exc:
                first = first or exc
    for cache, read in unwritten:
        try:
            await _check_reads(cache, read)
        except Exception as exc:
            first = first or exc
    if first is not None:
        raise first


def _unwritten_reads(
    state: TransactionState,
) -> list[tuple[ChunkCache, dict[tuple[int, ...], bytes]]]:
    """Per chunk cache, the chunks a repeatable-read transaction read and did not write."""
    return [
        (cache, {c: g for c, g in read.items() if c not in state.chunks.get(cache, {})})
        for cache, read in state.read_generations.items()
    ]


async def _write_over_reads(
    cache: ChunkCache, nodes: dict[tuple[int, ...], ChunkNode], read: dict[tuple[int, ...], bytes]
) -> list[WriteTicket]:
    """Write back the nodes of chunks a repeatable-read transaction read, each over that generation."""
    tickets: list[WriteTicket] = []
    for cell, node in nodes.items():
        expect = read.get(cell)
        if expect is None:
            continue
        entry = cache.entry(cell)
        ticket = WriteTicket()
        cache.use([entry])  # not dropped while it waits for the entry to be idle
        try:
            await cache.write_back_expecting(entry, node.pending, node.mask, expect, ticket)
        finally:
            cache.release([entry])
        ticket.seal()
        tickets.append(ticket)
    return tickets


async def _check_reads(cache: ChunkCache, read: dict[tuple[int, ...], bytes]) -> None:
    """Check that chunks a repeatable-read transaction read and did not write are unchanged.

    Raises:
      AbortedError: one has another generation now (``Generation mismatch``).
    """
    from ..drivers.transactional_io import chunk_target, generation_mismatch

    if not read:
        return
    entries = [cache.entry(cell) for cell in read]
    cache.use(entries)
    try:
        await cache.ensure_fresh(entries, time.time())
        for entry in entries:
            if entry.generation != read[entry.cell]:
                raise generation_mismatch("writing", chunk_target(cache, entry.cell))
    finally:
        cache.release(entries)


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
    if state.atomic:
        await _check_key_reads(state, actor)  # all or nothing: before anything is written
    writes = _key_writes(state, actor)
    if writes:
        try:
            await state.key_roots[actor].commit_atomic(writes)
        except FailedPreconditionError:
            error = await _failed_key_condition(state)
            if error is None:
                raise
            raise error from None
    if not state.atomic:
        await _check_key_reads(state, actor)  # as for other stores: after the writes


def _key_writes(state: TransactionState, actor: Any) -> list[tuple[bytes, bytes | None, bytes | None]]:
    """The staged keys of ``actor``'s store as ``commit_atomic`` writes, with their conditions.

    A key the transaction read (``repeatable_read``) must still have the
    generation read, as a key with a commit condition must have that.
    """
    conditions = state.key_conditions.get(actor, {})
    reads = state.key_reads.get(actor, {})
    return [
        (key, value, conditions.get(key) or reads.get(key))
        for key, value in state.keys.get(actor, {}).items()
    ]


def _key_mismatch(root: Any, key: bytes) -> AbortedError:
    from ..drivers.transactional_io import generation_mismatch, kvstore_target

    return generation_mismatch("writing", kvstore_target(root, key.decode("utf-8", "surrogateescape")))


async def _check_key_reads(state: TransactionState, actor: Any) -> None:
    """Check that the keys of ``actor``'s store read and not written still have the generation read.

    Raises:
      AbortedError: one changed (``Generation mismatch``).
    """
    root = state.key_roots[actor]
    staged = state.keys.get(actor, {})
    for key, generation in state.key_reads.get(actor, {}).items():
        if key not in staged and (await root.read_full_key(key)).stamp.generation != generation:
            raise _key_mismatch(root, key)


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
    """The error for the first staged key whose commit condition no longer holds, if any.

    Keys written over the generation a repeatable-read transaction read count too.
    """
    for actor, conditions in state.key_conditions.items():
        root = state.key_roots[actor]
        for key, condition in conditions.items():
            result = await root.read_full_key(key)
            if result.stamp.generation != condition:
                return _condition_error(key, condition)
    for actor, reads in state.key_reads.items():
        root = state.key_roots[actor]
        for key in state.keys.get(actor, {}):
            if key in reads and (await root.read_full_key(key)).stamp.generation != reads[key]:
                return _key_mismatch(root, key)
    return None


async def _commit_atomic(state: TransactionState) -> None:
    from ..drivers.kvstore.generation import NO_VALUE
    from ..drivers.kvstore.kvstore import KvStore
    from ..drivers.transactional_io import chunk_target, generation_mismatch

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
    unwritten = _unwritten_reads(state)
    try:
        for _ in range(MAX_ATOMIC_ATTEMPTS):
            for cache, read in unwritten:
                await _check_reads(cache, read)
            for actor in state.key_reads:
                await _check_key_reads(state, actor)
            if root is None:
                return  # only reads (repeatable_read): checking them is the whole commit
            writes: list[tuple[bytes, bytes | memoryview | None, bytes | None]] = []
            stored: list[tuple[ChunkCache, ChunkEntry, Any]] = []
            for cache, entries, group_nodes in groups:
                read = state.read_generations.get(cache, {})
                partial = [
                    e
                    for e, n in zip(entries, group_nodes, strict=True)
                    if n.mask is not None or e.cell in read
                ]
                await cache.ensure_fresh(partial, time.time())
                prefix = cache.kvstore.path  # type: ignore[attr-defined]
                for entry, node in zip(entries, group_nodes, strict=True):
                    expect = read.get(entry.cell)
                    if expect is not None and entry.generation != expect:
                        raise generation_mismatch("writing", chunk_target(cache, entry.cell))
                    chunk, encoded = cache._merge_encode(
                        entry.cell, entry.data, node.pending, node.mask, False
                    )
                    condition = expect
                    if condition is None and node.mask is not None:
                        condition = entry.generation or NO_VALUE
                    writes.append(((prefix + entry.key).encode(), encoded, condition))
                    stored.append((cache, entry, chunk if encoded is not None else None))
            for actor in state.keys:
                writes.extend(_key_writes(state, actor))
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
