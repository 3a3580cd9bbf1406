"""One shard's cache entry: the shard index, its encoded bytes, and the inner chunks decoded so far.

A :class:`ShardEntry` is the :class:`~.chunk_entry.ChunkEntry` of a sharded
array's write chunk (one per shard: the unit of writeback, so writes to inner
chunks of one shard coalesce into one shard write). What it adds is partial
knowledge of the stored shard, all as of one storage ``generation``:

- ``index``: the shard index (``(num_chunks, 2)`` offsets and sizes), read
  once and revalidated by generation like any chunk;
- ``encoded``: the whole shard's bytes, when they were read or written (a
  partial writeback needs them to carry unchanged inner chunks over);
- ``data`` / ``loaded``: a shard-shaped buffer holding the inner chunks
  decoded so far (``loaded`` flags them, flat row-major; ``None``: all).

The buffer is only ever written where ``loaded`` is false (no reader looks
there), and replaced, never modified, when the generation changes, so readers
holding it stay safe, as with ``ChunkEntry.data``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from .cache_pool import ENTRY_OVERHEAD_BYTES
from .chunk_entry import ChunkEntry

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import NDArray

    from ..drivers.kvstore.generation import TimestampedStorageGeneration
    from ..index.partition import ChunkCellSelection

__all__ = ["ShardEntry"]


@attrs.define(eq=False)
class ShardEntry(ChunkEntry):
    """The cache state of one shard (see the module docstring)."""

    index: NDArray[np.uint64] | None = attrs.field(default=None, kw_only=True)
    encoded: bytes | memoryview | None = attrs.field(default=None, kw_only=True)
    loaded: NDArray[np.bool_] | None = attrs.field(default=None, kw_only=True)
    inner_cells: Callable[[Sequence[Any]], NDArray[np.bool_]] | None = attrs.field(
        default=None, kw_only=True, repr=False
    )
    """The inner chunks (flat mask) a chunk-local selection touches."""
    touched: NDArray[np.bool_] | None = attrs.field(default=None, kw_only=True)
    """Inner chunks the pending writes touch (flat), when ``touched_exact``."""
    touched_exact: bool = attrs.field(default=True, kw_only=True)
    """False once writes were merged without a selection (then the mask tells)."""
    wanted: NDArray[np.bool_] | None = attrs.field(default=None, kw_only=True)
    """Inner chunks readers waiting for the load in flight need: the next load brings them too."""

    @property
    def known(self) -> bool:
        return self.missing or self.index is not None or (self.data is not None and self.loaded is None)

    def fresh(self, staleness_bound: float) -> bool:
        return self.known and self.time >= staleness_bound

    def satisfies(self, need: NDArray[np.bool_], staleness_bound: float) -> bool:
        """Whether the inner chunks flagged in ``need`` are decoded and current as of the bound."""
        if not self.fresh(staleness_bound):
            return False
        if self.missing:
            return True
        if self.data is None:
            return not need.any()
        loaded = self.loaded
        return loaded is None or not bool((need & ~loaded).any())

    def unloaded(self, need: NDArray[np.bool_]) -> NDArray[np.intp]:
        """The flat indices of ``need``ed inner chunks not decoded yet."""
        if self.data is None:
            return np.flatnonzero(need)
        if self.loaded is None:
            return np.zeros(0, np.intp)
        return np.flatnonzero(need & ~self.loaded)

    def want(self, need: NDArray[np.bool_]) -> None:
        """A reader waits for the load in flight and then needs ``need``: coalesce it into the next."""
        self.wanted = need.copy() if self.wanted is None else self.wanted | need

    def take_wanted(self, need: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """``need`` plus what waiting readers want (which this load then brings)."""
        wanted, self.wanted = self.wanted, None
        return need if wanted is None else need | wanted

    def stage(
        self,
        selection: ChunkCellSelection,
        source: NDArray[Any],
        full: bool,
        chunk_shape: tuple[int, ...],
        dtype: np.dtype[Any],
    ) -> bool:
        coalesced = super().stage(selection, source, full, chunk_shape, dtype)
        if self.mask is not None and self.inner_cells is not None:
            cells = self.inner_cells(selection.chunk_selection)
            self.touched = cells if self.touched is None else self.touched | cells
        return coalesced

    def install(self, pending: NDArray[Any], mask: NDArray[np.bool_] | None) -> bool:
        self.touched_exact = False  # no selection: a writeback looks at the whole mask
        return super().install(pending, mask)

    def take_touched(self) -> NDArray[np.bool_] | None:
        """The inner chunks the writes a writeback just took touch (None: not known)."""
        touched, exact = self.touched, self.touched_exact and self.inner_cells is not None
        self.touched, self.touched_exact = None, True
        return touched if exact else None

    # --- stored state

    def set_stored(self, data: NDArray[Any] | None, stamp: TimestampedStorageGeneration) -> None:
        super().set_stored(data, stamp)
        self.index = None
        self.encoded = None
        self.loaded = None

    def forget_stored(self) -> None:
        super().forget_stored()
        self.index = None
        self.encoded = None
        self.loaded = None

    def set_index(self, index: NDArray[np.uint64], stamp: TimestampedStorageGeneration) -> None:
        """Record the shard index read as of ``stamp`` (decoded chunks of another generation go)."""
        if stamp.generation != self.generation:
            self.data = None
            self.loaded = None
            self.encoded = None
        self.index = index
        self.missing = False
        self.generation = stamp.generation
        self.time = stamp.time

    def set_shard(
        self, encoded: bytes | memoryview, index: NDArray[np.uint64], stamp: TimestampedStorageGeneration
    ) -> None:
        """Record the whole shard's bytes (and their index) as of ``stamp``."""
        self.set_index(index, stamp)
        self.encoded = encoded

    def start_loading(self, num_chunks: int, buffer: NDArray[Any]) -> NDArray[Any]:
        """The buffer to decode inner chunks into (``buffer`` if none is held yet)."""
        if self.data is None:
            self.data = buffer
            self.loaded = np.zeros(num_chunks, np.bool_)
        return self.data

    def mark_loaded(self, cells: NDArray[np.intp]) -> None:
        if self.loaded is not None:
            self.loaded[cells] = True
            if self.loaded.all():
                self.loaded = None

    def set_decoded(self, data: NDArray[Any]) -> None:
        """Every inner chunk is decoded into ``data`` (of the current generation)."""
        self.data = data
        self.loaded = None

    # --- pool hooks

    def held_bytes(self) -> int:
        held = super().held_bytes()
        data, loaded = self.data, self.loaded
        if data is not None and loaded is not None:
            # Only the decoded part of the buffer is touched (the rest is never written).
            held -= data.nbytes - math.ceil(data.nbytes * int(loaded.sum()) / loaded.size)
        extra = (0 if self.encoded is None else len(self.encoded)) + (
            0 if self.index is None else self.index.nbytes
        )
        if extra and held == 0:
            extra += ENTRY_OVERHEAD_BYTES
        return held + extra
