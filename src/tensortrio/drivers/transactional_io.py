"""Reading and writing a chunked array inside a transaction.

``TensorStore.read``/``write`` of a transaction-bound view of a chunked
driver come here instead of ``chunked_io``:

- :func:`write_in_transaction` merges each chunk's part of the source into
  the transaction's node for that chunk (nothing reaches the chunk cache or
  the kvstore); ``copy`` and ``commit`` resolve once it is staged, which is
  when the write is reflected in reads through the same transaction;
- :func:`read_in_transaction` reads the stored chunks through the cache as a
  plain read does, then lays the transaction's staged writes over them.

The commit (``actors/transaction_commit``) writes every node back.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import trio

from ..actors.chunk_parts import covers_chunk
from ..actors.transaction import ChunkNode, StorageTarget
from ..errors import AbortedError, InvalidArgumentError, UnimplementedError
from ..index.partition import partition_index_transform
from .read_burst import in_read_order

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ..actors.chunk_cache import ChunkCache
    from ..actors.transaction import TransactionState
    from ..index.transform import IndexTransform
    from ..runtime import Promise
    from .driver import Driver
    from .kvstore.kvstore import KvStore

#: Writes up to this size are staged where they are issued; larger ones in a worker thread.
INLINE_STAGE_BYTES: Final = 1 << 20

__all__ = [
    "chunk_cache_of",
    "chunk_target",
    "generation_mismatch",
    "kvstore_target",
    "multi_key_atomic",
    "read_in_transaction",
    "read_in_transaction_op",
    "resolve_without_io",
    "stage_write_in_chunks",
    "stage_write_now",
    "write_in_transaction",
    "write_in_transaction_op",
]


def chunk_cache_of(driver: Driver, where: str) -> ChunkCache:
    """The chunk cache a transaction stages ``driver``'s writes against.

    Raises:
      UnimplementedError: the driver has no chunk cache (e.g. ``array``).
    """
    from ..actors.chunk_cache import ChunkCache

    cache = getattr(driver, "cache", None)
    if not isinstance(cache, ChunkCache):
        raise UnimplementedError(
            f"{where}: the {driver.driver_id!r} driver does not support transactions"
        )
    return cache


def kvstore_target(kv: Any, key: str) -> StorageTarget:
    """Where a write of ``key`` (relative to the handle ``kv``) lands, for atomicity checks."""
    from .kvstore.kvstore import KvStore

    if not isinstance(kv, KvStore):
        # A chunk source (virtual_chunked): one callback per chunk, never atomic across chunks.
        return StorageTarget(kv, key.encode(), f"chunk {key!r}", multi_key_atomic=False)
    driver_spec = kv._spec.driver_spec
    full = kv.path + key
    if driver_spec.id == "file":
        description = f'local file "{full}"'
    elif driver_spec.id == "memory":
        description = f'"{full}"'  # as TensorStore describes memory keys
    else:
        description = f'{driver_spec.id} key "{full}"'
    return StorageTarget(
        kv._lease.actor, full.encode("utf-8", "surrogateescape"), description, multi_key_atomic(kv)
    )


def multi_key_atomic(kv: KvStore) -> bool:
    """Whether ``kv``'s store commits writes to several keys all-or-nothing (``memory``)."""
    from .kvstore.driver import KvStoreDriver

    return type(kv._driver).commit_atomic is not KvStoreDriver.commit_atomic and bool(
        getattr(kv._spec.driver_spec, "atomic", True)
    )


def write_in_transaction(
    state: TransactionState,
    cache: ChunkCache,
    transform: IndexTransform,
    source: NDArray[Any],
    *,
    registered: bool = False,
) -> None:
    """Stage ``source`` (shaped as the transform's domain, of the cache's dtype) in ``state``.

    One synchronous step on the runtime thread: either every chunk's part is
    staged or (on an error) none is. ``registered``: the operation called
    ``state.begin_op()`` while the transaction was open, so it may stage even
    if the commit has started since (not if the transaction was aborted).

    Raises:
      InvalidArgumentError: the transaction is not open, or (atomic) the
        chunks cannot be committed atomically.
      ResourceExhaustedError: the staged bytes would pass the transaction's limit.
    """
    partition = partition_index_transform(transform, cache.chunk_shape, cache.grid_origin)
    if source.shape != partition.input_shape:
        raise InvalidArgumentError(
            f"{cache.name}: source shape {list(source.shape)} does not match the "
            f"write domain shape {list(partition.input_shape)}"
        )
    selections = list(partition)
    shape, dtype = cache.chunk_shape, cache.dtype
    nbytes = cache.chunk_nbytes
    mask_nbytes = nbytes // max(dtype.itemsize, 1)
    with state.lock:
        if registered:
            state.check_not_aborted()
        else:
            state.check_open()
        nodes = state.chunk_nodes(cache)
        fulls = [covers_chunk(sel, shape) for sel in selections]
        extra = 0
        for sel, full in zip(selections, fulls, strict=True):
            node = nodes.get(sel.cell)
            if node is None:
                extra += nbytes + (0 if full else mask_nbytes)
        if state.atomic:
            state.claim([chunk_target(cache, sel.cell) for sel in selections])
        state.reserve(extra, cache.pool.total_bytes_limit, cache.name)
        for sel, full in zip(selections, fulls, strict=True):
            node = nodes.get(sel.cell)
            if node is None:
                node = nodes[sel.cell] = ChunkNode(
                    np.empty(shape, dtype), None if full else np.zeros(shape, np.bool_)
                )
            elif full and node.mask is not None:
                state.staged_bytes -= node.mask.nbytes
                node.mask = None
            sel.write(source, node.pending)
            if node.mask is not None:
                node.mask[sel.chunk_selection] = True


async def read_in_transaction(
    state: TransactionState, driver: Driver, transform: IndexTransform
) -> NDArray[Any]:
    """Read ``transform``'s region as stored, with the transaction's staged writes laid over it."""
    state.check_open()
    cache = chunk_cache_of(driver, "read")
    if state.repeatable_read:
        out = await _read_repeatable(state, driver, cache, transform)
    else:
        out = await driver.read(transform)
    nodes = state.chunks.get(cache)
    if not nodes:
        return out
    partition = partition_index_transform(transform, cache.chunk_shape, cache.grid_origin)
    with state.lock:
        state.check_open()
        for sel in partition:
            node = nodes.get(sel.cell)
            if node is None:
                continue
            if node.mask is None:
                sel.read(node.pending, out)
                continue
            # Gather what was read into chunk coordinates, lay the staged elements over it.
            merged = np.empty(cache.chunk_shape, cache.dtype)
            sel.write(out, merged)
            np.copyto(merged, node.pending, where=node.mask)
            sel.read(merged, out)
    return out


async def _read_repeatable(
    state: TransactionState, driver: Driver, cache: ChunkCache, transform: IndexTransform
) -> NDArray[Any]:
    """Read as stored, checking each chunk's generation against the transaction's first read of it.

    Raises:
      AbortedError: a chunk changed since the transaction first read it.
    """
    from .chunked_driver import ChunkedDriver
    from .virtual_chunked import VirtualChunkedDriver

    assert isinstance(driver, ChunkedDriver | VirtualChunkedDriver), "a chunk cache's driver"
    generations: dict[tuple[int, ...], bytes] = {}
    out: NDArray[Any] = await driver.read(transform, generations=generations)
    changed = state.record_reads(cache, generations, functools.partial(chunk_target, cache))
    if changed is not None:
        raise generation_mismatch("reading", chunk_target(cache, changed))
    return out


def chunk_target(cache: ChunkCache, cell: tuple[int, ...]) -> StorageTarget:
    """Where chunk ``cell`` of ``cache`` is stored (as :func:`kvstore_target`)."""
    return kvstore_target(cache.kvstore, cache.codec.chunk_key(cell))


def generation_mismatch(doing: str, target: StorageTarget) -> AbortedError:
    """The error of a repeatable-read transaction whose chunk or key changed (TensorStore's words)."""
    return AbortedError(f"Error {doing} {target.description}: Generation mismatch")


def resolve_without_io(driver: Driver, transform: IndexTransform) -> IndexTransform | None:
    """``transform`` resolved against the cached metadata when that needs no kvstore read.

    True for a chunked driver (or a view staged in one) opened with
    ``assume_metadata`` or the default ``recheck_cached_metadata="open"``;
    None otherwise (resolve on the runtime).
    """
    from ..index.resolve import resolve_bounds
    from .chunked_driver import ChunkedDriver

    base = driver.staging_base
    if not isinstance(base, ChunkedDriver):
        return None
    if not base.assume_metadata and base.request.recheck_cached_metadata.bound != "open":
        return None
    return resolve_bounds(driver.base_domain(), transform)


def stage_write_now(
    state: TransactionState, driver: Driver, transform: IndexTransform, source: NDArray[Any]
) -> bool:
    """Stage a transactional write on the calling thread if no I/O is needed; False if it is.

    A transactional write only copies into the transaction's nodes (under its
    lock), so when the view resolves against cached metadata it needs no
    runtime round trip (~50 µs per write).

    Raises:
      Exception: whatever staging raises (the write's error).
    """
    if source.nbytes > INLINE_STAGE_BYTES:
        return False  # a large copy belongs in a worker thread, not the caller's loop
    driver = driver.in_transaction(state)
    base = driver.staging_base
    resolved = resolve_without_io(driver, transform)
    if resolved is None:
        return False
    staged = driver.to_staged_transform(resolved)
    write_in_transaction(state, chunk_cache_of(base, "write"), staged, driver.to_staged(source))
    return True


async def stage_write_in_chunks(
    state: TransactionState, driver: Driver, transform: IndexTransform, source: NDArray[Any]
) -> None:
    """Stage ``source`` through the resolved ``transform`` in the chunks of ``driver.staging_base``.

    The write's operation is registered with ``state`` (``registered``). A large
    source is copied into the transaction's nodes in a worker thread.
    """
    cache = chunk_cache_of(driver.staging_base, "write")
    source = driver.to_staged(source)
    resolved = driver.to_staged_transform(transform)
    if source.nbytes > INLINE_STAGE_BYTES:
        await trio.to_thread.run_sync(
            functools.partial(write_in_transaction, state, cache, resolved, source, registered=True),
            limiter=cache.limiter,
        )
    else:
        write_in_transaction(state, cache, resolved, source, registered=True)


async def read_in_transaction_op(
    state: TransactionState, driver: Driver, transform: IndexTransform, order: str
) -> NDArray[Any]:
    """``TensorStore.read`` of a transaction-bound view (a runtime operation)."""
    driver = driver.in_transaction(state)
    array = await driver.read_in_transaction(state, await driver.resolve(transform))
    return in_read_order(array, order)


async def write_in_transaction_op(
    state: TransactionState,
    driver: Driver,
    transform: IndexTransform,
    source: Any,
    copied: Promise[None],
) -> None:
    """``TensorStore.write`` of a transaction-bound view (a runtime operation).

    ``source`` is an array already aligned to the view, or a ``TensorStore``
    (read first, as a non-transactional source). Both futures resolve once the
    write is staged, i.e. reflected in reads through the transaction. The
    caller registered the operation (``state.begin_op()``).
    """
    from .tensorstore import TensorStore, read_aligned_source

    try:
        driver = driver.in_transaction(state)
        driver.check_stages_writes()
        resolved = await driver.resolve(transform)
        if isinstance(source, TensorStore):
            source = await read_aligned_source(source, driver.schema().dtype, transform.domain)
        await driver.stage_write(state, resolved, source)
    except BaseException as exc:
        copied.set_exception(exc if isinstance(exc, Exception) else AbortedError("write cancelled"))
        raise
    finally:
        state.end_op()
    copied.set_result(None)
