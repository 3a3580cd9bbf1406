"""One chunk's cache entry: what is known of the stored chunk, and the writes pending for it.

A :class:`ChunkEntry` is the state of a virtual actor (see ``chunk_cache``):
it lives in its cache (and is accounted by the cache pool) while no task runs
for it; the cache runs at most one read or one writeback for it at a time
(``busy``). All methods are synchronous and run on the runtime thread, so each
is one atomic step of the actor.

State:

- ``data`` / ``missing``: the decoded stored chunk (never modified in place: a
  writeback builds a new array, so readers holding the old one are safe), or
  the knowledge that the key has no value; with ``generation`` and ``time``
  (the storage generation and when it was known current).
- ``pending`` / ``mask``: writes not yet written back, as a chunk-shaped buffer
  and a boolean mask of the elements written (``mask is None``: every element,
  a full overwrite). Writes arriving while a writeback is in flight accumulate
  here and go out together in the next one (coalescing).
- ``tickets``: the write operations waiting for ``pending`` to be durable.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any, Final

import attrs
import numpy as np
import trio

from .cache_pool import ENTRY_OVERHEAD_BYTES

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import NDArray

    from ..drivers.kvstore.generation import TimestampedStorageGeneration
    from ..index.partition import ChunkCellSelection

__all__ = ["ChunkEntry", "WriteTicket", "WritebackSnapshot"]

_OBJECT_SAMPLES: Final = 64


def _held_nbytes(array: NDArray[Any]) -> int:
    """The memory ``array`` holds: its buffer, and for Python objects (text) the objects too.

    Objects are sized from an even sample of at most 64 of them, so that the
    cache pool's accounting of a chunk of text costs no pass over it.
    """
    nbytes = array.nbytes
    if array.dtype.kind != "O" or array.size == 0:
        return nbytes
    step = max(1, array.size // _OBJECT_SAMPLES)
    sample = array.flat[np.arange(0, array.size, step)[:_OBJECT_SAMPLES]]
    return nbytes + sum(map(sys.getsizeof, sample)) * array.size // len(sample)


@attrs.define(eq=False)
class WriteTicket:
    """Counts the entries of one write operation (or a part of it) still to be written back."""

    remaining: int = 0
    error: BaseException | None = None
    borrows: int = 0
    """Pending writes that are views of this write's source (not yet encoded)."""
    _done: trio.Event = attrs.field(init=False, factory=trio.Event)
    _released: trio.Event | None = attrs.field(init=False, default=None)

    def add(self) -> None:
        self.remaining += 1

    def finish(self, error: BaseException | None) -> None:
        """One entry's writeback ended (``error``: it failed)."""
        if error is not None and self.error is None:
            self.error = error
        self.remaining -= 1
        if self.remaining == 0:
            self._done.set()

    def seal(self) -> None:
        """No more entries will be added: done at once if none were."""
        if self.remaining == 0:
            self._done.set()

    def borrow(self) -> None:
        self.borrows += 1

    def release(self) -> None:
        """A view of the source is no longer needed (encoded, copied or superseded)."""
        self.borrows -= 1
        if self.borrows == 0 and self._released is not None:
            self._released.set()

    async def wait_released(self) -> None:
        """Wait until no pending write is a view of this write's source."""
        while self.borrows:
            if self._released is None or self._released.is_set():
                self._released = trio.Event()
            await self._released.wait()

    @property
    def done(self) -> bool:
        """Every entry is written back (or failed: see ``error``)."""
        return self._done.is_set()

    async def wait_done(self) -> None:
        """Wait until every entry is written back, successfully or not."""
        await self._done.wait()

    async def wait(self) -> None:
        """Wait until every entry is written back; raise the first writeback error."""
        await self._done.wait()
        if self.error is not None:
            raise self.error


@attrs.define(eq=False)
class WritebackSnapshot:
    """The pending writes one writeback carries (taken from the entry when it starts)."""

    entry: ChunkEntry
    pending: NDArray[Any]
    mask: NDArray[np.bool_] | None
    tickets: list[WriteTicket]
    borrowed: WriteTicket | None = None
    """The write whose source ``pending`` is a view of (released once encoded)."""
    expect: bytes | None = None
    """The generation the stored chunk must have (a repeatable-read transaction's
    commit): the write is conditional on it, full or not, and fails rather than
    re-applying if the chunk changed."""
    finished: bool = False

    @property
    def full(self) -> bool:
        """Every element is overwritten: no read and no condition needed."""
        return self.mask is None

    def release(self) -> None:
        """The source view is no longer read (the chunk was encoded)."""
        borrowed, self.borrowed = self.borrowed, None
        if borrowed is not None:
            borrowed.release()

    def nbytes(self) -> int:
        return _held_nbytes(self.pending) + (0 if self.mask is None else self.mask.nbytes)

    def finish(self, error: BaseException | None) -> None:
        """The writeback of these writes ended (``error``: it failed); tell their writers."""
        self.release()
        if self.finished:
            return
        self.finished = True
        for ticket in self.tickets:
            ticket.finish(error)


@attrs.define(eq=False)
class ChunkEntry:
    """The cache state of one chunk (grid cell); see the module docstring."""

    cell: tuple[int, ...]
    key: str
    data: NDArray[Any] | None = None
    missing: bool = False
    generation: bytes = b""
    time: float = -math.inf
    pending: NDArray[Any] | None = None
    mask: NDArray[np.bool_] | None = None
    tickets: list[WriteTicket] | None = None
    """Made on the first write (most entries only ever serve reads: one object less each)."""
    borrowed: WriteTicket | None = None
    """``pending`` is a view of this write's source: copy before modifying it."""
    writeback: WritebackSnapshot | None = None
    busy: bool = False
    """A read or a writeback is in flight."""
    users: int = 0
    """Operations holding the entry between steps (it must not be evicted meanwhile)."""
    on_evict: Callable[[ChunkEntry], None] | None = attrs.field(
        default=None, kw_only=True, repr=False
    )
    _idle: trio.Event | None = attrs.field(init=False, default=None, repr=False)

    # --- cached stored state

    @property
    def known(self) -> bool:
        """Whether the stored state (value or missing) is cached."""
        return self.data is not None or self.missing

    def fresh(self, staleness_bound: float) -> bool:
        """Whether the cached stored state is known current as of ``staleness_bound``."""
        return (self.data is not None or self.missing) and self.time >= staleness_bound

    def set_stored(self, data: NDArray[Any] | None, stamp: TimestampedStorageGeneration) -> None:
        """Record the stored chunk (``None``: missing) as of ``stamp``."""
        self.data = data
        self.missing = data is None
        self.generation = stamp.generation
        self.time = stamp.time

    def revalidated(self, time: float) -> None:
        """The stored generation was confirmed unchanged at ``time``."""
        self.time = max(self.time, time)

    def forget_stored(self) -> None:
        """The stored state is no longer known (a conditional write found it changed)."""
        self.data = None
        self.missing = False
        self.generation = b""
        self.time = -math.inf

    # --- pending writes

    def stage(
        self,
        selection: ChunkCellSelection,
        source: NDArray[Any],
        full: bool,
        chunk_shape: tuple[int, ...],
        dtype: np.dtype[Any],
    ) -> bool:
        """Merge one write's part of ``source`` into the pending writes.

        Returns whether it was coalesced with writes already pending.
        """
        if self.borrowed is not None:
            self._unborrow(keep=not full)
        pending = self.pending
        if pending is None or (full and self.mask is not None):
            # A full overwrite supersedes whatever was pending.
            coalesced = pending is not None
            pending = np.empty(chunk_shape, dtype)
            self.pending = pending
            self.mask = None if full else np.zeros(chunk_shape, np.bool_)
        else:
            coalesced = True
        selection.write(source, pending)
        if self.mask is not None:
            self.mask[selection.chunk_selection] = True
        return coalesced

    def _unborrow(self, keep: bool) -> None:
        """Stop viewing a write's source: copy the pending data (``keep``) or drop it."""
        borrowed, self.borrowed = self.borrowed, None
        assert borrowed is not None
        assert self.pending is not None
        if keep:
            self.pending = self.pending.copy()
        else:
            self.pending = None
            self.mask = None
        borrowed.release()

    def lend(self, view: NDArray[Any], ticket: WriteTicket | None) -> bool:
        """Take a full overwrite as ``view`` without copying it.

        ``ticket``: the view shares memory with that write's source, which must
        not be released before the chunk is encoded; None: ``view`` is ours.
        Returns whether it was coalesced with (here: superseded) pending writes.
        """
        coalesced = self.pending is not None
        if self.borrowed is not None:
            self._unborrow(keep=False)
        self.pending = view
        self.mask = None
        if ticket is not None:
            ticket.borrow()
            self.borrowed = ticket
        return coalesced

    def install(self, pending: NDArray[Any], mask: NDArray[np.bool_] | None) -> bool:
        """Merge writes prepared elsewhere (in a worker thread) into the pending writes.

        Later writes win where they overlap. Returns whether it was coalesced.
        """
        if self.borrowed is not None:
            self._unborrow(keep=mask is not None)
        if self.pending is None or mask is None:
            coalesced = self.pending is not None
            self.pending = pending
            self.mask = mask
            return coalesced
        np.copyto(self.pending, pending, where=mask)
        if self.mask is not None:
            np.logical_or(self.mask, mask, out=self.mask)
        return True

    def add_ticket(self, ticket: WriteTicket) -> None:
        ticket.add()
        if self.tickets is None:
            self.tickets = [ticket]
        else:
            self.tickets.append(ticket)

    def take_pending(self) -> WritebackSnapshot:
        """Start a writeback: move the pending writes into a snapshot (caller sets ``busy``)."""
        assert self.pending is not None
        mask = self.mask
        if mask is not None and mask.all():
            mask = None  # partial writes that add up to the whole chunk need no read
        snapshot = WritebackSnapshot(self, self.pending, mask, self.tickets or [], self.borrowed)
        self.borrowed = None
        self.pending = None
        self.mask = None
        self.tickets = None
        self.writeback = snapshot
        return snapshot

    # --- busy / idle

    def end_busy(self) -> None:
        self.busy = False
        self.writeback = None
        self.wake_waiters()

    def wake_waiters(self) -> None:
        """Let tasks in ``wait_idle`` look again (a writeback round ended, more may follow)."""
        idle, self._idle = self._idle, None
        if idle is not None:
            idle.set()

    async def wait_idle(self) -> None:
        """Wait until the read or writeback in flight ends (or a writeback round does)."""
        if not self.busy:
            await trio.lowlevel.checkpoint()
            return
        if self._idle is None:
            self._idle = trio.Event()
        await self._idle.wait()

    # --- pool hooks

    def held_bytes(self) -> int:
        held = 0 if self.data is None else _held_nbytes(self.data)
        if self.pending is not None:
            held += _held_nbytes(self.pending)
            if self.mask is not None:
                held += self.mask.nbytes
        writeback = self.writeback
        if writeback is not None:
            held += _held_nbytes(writeback.pending)
            if writeback.mask is not None:
                held += writeback.mask.nbytes
        if held or self.missing or self.busy or self.users:
            held += ENTRY_OVERHEAD_BYTES
        return held

    def evictable(self) -> bool:
        return not self.busy and self.pending is None and not self.users

    def evict(self) -> None:
        self.forget_stored()
        if self.on_evict is not None:
            self.on_evict(self)
