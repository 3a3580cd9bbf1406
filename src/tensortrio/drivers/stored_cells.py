"""Which storage units of a chunked array hold data: ``TensorStore.storage_statistics``.

A chunk is stored if its key has a value (an empty byte-range read each, a
window at a time on the kvstore actor); the inner chunks of zarr3 shards, the
units TensorStore counts there, are looked up in their shards' indexes. Through
a transaction, the chunks it staged count as the commit would store them, as
TensorStore counts them: one that would equal the fill value is not stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import numpy as np

from ..index import IndexDomain, IndexTransform
from ..index.partition import partition_index_transform
from ..schema.fill_value import all_equal_fill

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import NDArray

    from ..actors.transaction import ChunkNode, TransactionState
    from .chunked_driver import ChunkedDriver
    from .zarr3.codecs.sharding import ShardLayout

__all__ = ["stored_cells"]

#: Existence checks queued on the kvstore actor at once.
_WINDOW: Final = 1024


async def stored_cells(
    driver: ChunkedDriver, transform: IndexTransform, transaction: TransactionState | None
) -> tuple[int, int]:
    """``(stored, total)`` storage units of ``driver`` the resolved ``transform`` touches."""
    from ..actors.shard_cache import shard_layout_of

    chunk_shape, grid_origin = driver.fmt.chunk_grid(driver.entry.metadata)
    layout = shard_layout_of(driver.codec)
    if layout is None:
        cells = partition_index_transform(transform, chunk_shape, grid_origin).cells
        flags = await _stored_chunks(driver, cells)
        staged = _staged(transaction, driver.cache, cells)
        for k, node in staged.items():
            merged = await _merged_chunk(driver, tuple(cells[k].tolist()), node)
            keep = driver.cache.store_data_equal_to_fill_value
            flags[k] = keep or not all_equal_fill(merged, driver.codec.fill_value)
        return int(flags.sum()), len(flags)
    # Shards are stored whole or not at all, their inner chunks one by one.
    inner = partition_index_transform(transform, layout.chunk_shape, grid_origin).cells
    grid = np.asarray(layout.grid_shape, np.int64)
    flat = (
        np.ravel_multi_index(tuple((inner % grid).T), layout.grid_shape)
        if grid.size
        else np.zeros(len(inner), np.intp)
    )
    shards, members = _by_shard(inner // grid if grid.size else inner)
    flags = await _stored_inner_chunks(driver, shards, members, flat, layout)
    for k, node in _staged(transaction, driver.cache, shards).items():
        from .zarr3.codecs.sharding import inner_chunks_equal_to_fill

        merged = await _merged_chunk(driver, tuple(shards[k].tolist()), node)
        is_fill = inner_chunks_equal_to_fill(layout, merged).reshape(-1)
        mine = members(k)
        flags[mine] = ~is_fill[flat[mine]]
    return int(flags.sum()), len(flags)


def _by_shard(
    shards: NDArray[np.int64],
) -> tuple[NDArray[np.int64], Callable[[int], NDArray[np.intp]]]:
    """The distinct shards of ``shards`` (one per inner chunk), and the positions of each's."""
    keys, which = np.unique(shards, axis=0, return_inverse=True)
    which = which.reshape(-1)
    by_shard = np.argsort(which, kind="stable")
    ends = np.searchsorted(which[by_shard], np.arange(len(keys) + 1))

    def members(k: int) -> NDArray[np.intp]:
        return by_shard[ends[k] : ends[k + 1]]

    return keys, members


def _staged(
    transaction: TransactionState | None, cache: Any, cells: NDArray[np.int64]
) -> dict[int, ChunkNode]:
    """Copies of the nodes ``transaction`` staged for ``cells`` (by position in ``cells``).

    Raises:
      InvalidArgumentError: the transaction is not open (aborted, or committing).
    """
    from ..actors.transaction import ChunkNode

    if transaction is None:
        return {}
    out: dict[int, ChunkNode] = {}
    with transaction.lock:  # writes stage from other threads, under this lock
        transaction.check_open()  # as a read through the transaction
        nodes = transaction.chunks.get(cache)
        if not nodes:
            return {}
        for k, cell in enumerate(cells.tolist()):
            node = nodes.get(tuple(cell))
            if node is not None:
                mask = None if node.mask is None else node.mask.copy()
                out[k] = ChunkNode(node.pending.copy(), mask)
    return out


async def _merged_chunk(driver: ChunkedDriver, cell: tuple[int, ...], node: ChunkNode) -> NDArray[Any]:
    """The chunk ``cell`` as committing ``node`` would store it (read for a partial node)."""
    if node.mask is None:
        return node.pending
    chunk_shape, grid_origin = driver.fmt.chunk_grid(driver.entry.metadata)
    chunk = np.empty(node.pending.shape, node.pending.dtype)
    chunk[...] = driver.codec.fill_value
    domain = driver.base_domain()
    lo = [max(o + c * s, d.inclusive_min) for o, c, s, d in zip(grid_origin, cell, chunk_shape, domain, strict=True)]
    hi = [
        min(o + (c + 1) * s, d.exclusive_max)
        for o, c, s, d in zip(grid_origin, cell, chunk_shape, domain, strict=True)
    ]
    if all(a < b for a, b in zip(lo, hi, strict=True)):
        box = IndexTransform(IndexDomain(inclusive_min=lo, exclusive_max=hi))
        start = [a - (o + c * s) for a, o, c, s in zip(lo, grid_origin, cell, chunk_shape, strict=True)]
        region = tuple(slice(a, a + b - x) for a, x, b in zip(start, lo, hi, strict=True))
        chunk[region] = await driver.read(box)
    np.copyto(chunk, node.pending, where=node.mask)
    return chunk


async def _stored_chunks(driver: ChunkedDriver, cells: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Per cell: whether its chunk's key has a value."""
    flags = np.zeros(len(cells), np.bool_)
    listed = cells.tolist()
    for start in range(0, len(listed), _WINDOW):
        futures = [
            driver.kv.read(driver.codec.chunk_key(tuple(cell)), byte_range=slice(0, 0))
            for cell in listed[start : start + _WINDOW]
        ]
        for k, future in enumerate(futures, start):
            flags[k] = (await future).state == "value"
    return flags


async def _stored_inner_chunks(
    driver: ChunkedDriver,
    shards: NDArray[np.int64],
    members: Callable[[int], NDArray[np.intp]],
    flat: NDArray[np.intp],
    layout: ShardLayout,
) -> NDArray[np.bool_]:
    """Per inner chunk (in shard ``k`` at ``flat[i]`` for ``i`` in ``members(k)``): whether it is stored."""
    from .zarr3.codecs.sharding import MISSING, decode_shard_index, shard_index_byte_range

    flags = np.zeros(len(flat), np.bool_)
    # Only the index is read: a suffix when it is at the end of the shard.
    index = shard_index_byte_range(layout)
    index_range = slice(index.inclusive_min, index.exclusive_max)
    for start in range(0, len(shards), _WINDOW):
        futures = [
            driver.kv.read(driver.codec.chunk_key(tuple(key)), byte_range=index_range)
            for key in shards[start : start + _WINDOW].tolist()
        ]
        for k, future in enumerate(futures, start):
            result = await future
            if result.state != "value":
                continue
            offsets = decode_shard_index(layout, result.buffer).reshape(-1, 2)[:, 0]
            mine = members(k)
            flags[mine] = offsets[flat[mine]] != MISSING
    return flags
