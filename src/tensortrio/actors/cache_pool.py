"""The cache pool: byte accounting and LRU eviction for the chunk caches sharing it.

One :class:`CachePool` exists per ``cache_pool`` context resource
(:meth:`CachePool.for_resource`), shared by every chunk cache opened with it.
An entry is charged for what it holds: its decoded chunk, its pending write
data and mask, and the snapshot a writeback in flight still needs. After each
operation the caches call :meth:`CachePool.shrink`, which evicts the least
recently used entries until the pool is within ``total_bytes_limit``.

Only idle entries can be evicted: an entry with pending writes or an I/O in
flight is dirty or busy, and is written back (non-transactional writes always
are, at once) before it becomes evictable. With the default limit of 0 nothing
stays cached once an operation is over, except what pending writebacks need.

Everything here runs on one trio thread (the runtime's); no locking.
"""

from __future__ import annotations

import collections
import weakref
from typing import TYPE_CHECKING, Protocol

import attrs

if TYPE_CHECKING:
    from ..schema.context_resources import CachePoolResource

__all__ = ["ENTRY_OVERHEAD_BYTES", "CachePool", "CachePoolStatistics", "PoolEntry"]

#: What a cached entry costs beyond its arrays (the Python objects), so entries
#: that hold only "missing" knowledge are still bounded by the limit.
ENTRY_OVERHEAD_BYTES = 256


class PoolEntry(Protocol):
    """What the pool needs from a cache entry."""

    def held_bytes(self) -> int:
        """Bytes the entry holds now (0: nothing to account, leave the pool)."""
        ...

    def evictable(self) -> bool:
        """Whether the entry is idle: no pending writes, no I/O, no operation using it."""
        ...

    def evict(self) -> None:
        """Drop everything cached (the entry then holds 0 bytes)."""
        ...


@attrs.frozen
class CachePoolStatistics:
    """A snapshot of a pool's accounting, from :meth:`CachePool.statistics`."""

    total_bytes_limit: int
    bytes_held: int
    """Decoded chunk bytes + pending write bytes + entry overhead, over all entries."""
    entries: int
    """Entries holding anything."""
    evictions: int


@attrs.define(eq=False)
class CachePool:
    """LRU accounting of cache entries under ``total_bytes_limit`` bytes."""

    total_bytes_limit: int = 0
    # Insertion order is recency: the first entry was used longest ago.
    _lru: collections.OrderedDict[PoolEntry, int] = attrs.field(
        init=False, factory=collections.OrderedDict
    )
    _bytes: int = attrs.field(init=False, default=0)
    _evictions: int = attrs.field(init=False, default=0)

    @classmethod
    def for_resource(cls, resource: CachePoolResource) -> CachePool:
        """The pool of a ``cache_pool`` context resource (one per resource)."""
        pool = _pools.get(resource)
        if pool is None:
            pool = cls(total_bytes_limit=resource.total_bytes_limit)
            _pools[resource] = pool
        return pool

    @property
    def bytes_held(self) -> int:
        """Bytes charged to entries now."""
        return self._bytes

    def update(self, entry: PoolEntry) -> int:
        """Recharge ``entry`` for what it holds now, mark it most recently used; return the bytes."""
        held = entry.held_bytes()
        old = self._lru.pop(entry, 0)
        self._bytes += held - old
        if held:
            self._lru[entry] = held
        return held

    def remove(self, entry: PoolEntry) -> None:
        """Stop accounting ``entry`` (it was discarded)."""
        self._bytes -= self._lru.pop(entry, 0)

    def shrink(self) -> int:
        """Evict least recently used idle entries until within the limit; return how many."""
        if self._bytes <= self.total_bytes_limit:
            return 0
        evicted = 0
        for entry in list(self._lru):
            if self._bytes <= self.total_bytes_limit:
                break
            if not entry.evictable():
                continue
            entry.evict()
            self.update(entry)
            evicted += 1
        self._evictions += evicted
        return evicted

    def statistics(self) -> CachePoolStatistics:
        """Counters, for tests and monitoring."""
        return CachePoolStatistics(
            total_bytes_limit=self.total_bytes_limit,
            bytes_held=self._bytes,
            entries=len(self._lru),
            evictions=self._evictions,
        )


_pools: weakref.WeakKeyDictionary[CachePoolResource, CachePool] = weakref.WeakKeyDictionary()
