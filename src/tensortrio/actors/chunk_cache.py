"""The chunk cache of one opened array: ChunkEntry virtual actors over a kvstore.

Every grid cell has a :class:`~.chunk_entry.ChunkEntry`, a virtual actor: its
state (decoded chunk or "missing", storage generation and time, pending writes)
lives here, accounted by the :class:`~.cache_pool.CachePool`, and a task runs
for it only while it has I/O to do. Operations act on an entry in synchronous
steps on the runtime thread (each step atomic, as an actor's message handler
is), which keeps the per-chunk cost in the microseconds instead of a message
round trip per chunk; the I/O runs in writeback tasks, one per *group* of
entries, so a write touching 4,096 chunks starts one task, not 4,096.

The rules (DESIGN.md, "Actors"):

- at most one read or one writeback is in flight per entry (``busy``);
- writes arriving while a writeback is in flight are merged into the entry's
  pending writes and go out together in the next writeback (coalescing);
- a writeback reads the chunk only when it is partially written and its stored
  state is not cached; it merges, encodes and writes with
  ``if_equal=generation`` (unconditionally for a full overwrite); on a
  generation mismatch it re-reads and re-applies the same pending writes, so
  no partial write is ever lost, whoever else writes the chunk;
- a chunk equal to the fill value is deleted instead of stored, unless
  ``store_data_equal_to_fill_value``;
- writebacks run shielded in the runtime's service nursery (or the nursery
  given to :meth:`ChunkCache.start`): cancelling a caller never aborts a commit.

Codec work and large copies run in worker threads under the
``data_copy_concurrency`` limiter, batched (see ``worker_batch``). On a
kvstore with ``worker_reads`` (file) a read's jobs also read the chunks they
decode, under a ``file_io_concurrency`` token as well (:meth:`ChunkCache.read_into`).
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, cast

import attrs
import numpy as np
import trio

from ..drivers.chunk_codec import cell_encoder
from ..errors import DataLossError, NotFoundError
from ..runtime import LanesStatistics, WorkerLanes
from ..schema.fill_value import all_equal_fill
from .cache_pool import CachePool
from .chunk_entry import ChunkEntry, WritebackSnapshot, WriteTicket
from .chunk_parts import (
    copy_inline,
    covers_chunk,
    prepare_part,
    selection_nbytes,
    source_view,
)
from .worker_batch import STREAM_BYTES, run_jobs, run_map

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from numpy.typing import NDArray

    from ..drivers.chunk_codec import ChunkCodec
    from ..drivers.kvstore.generation import TimestampedStorageGeneration
    from ..drivers.kvstore.read_result import ReadResult
    from ..drivers.kvstore.value_buffer import Value
    from ..index.partition import ChunkCellSelection
    from ..schema.context_resources import ConcurrencyResource
    from .kvstore import WorkerReads

__all__ = ["ChunkCache", "ChunkCacheStatistics", "ChunkKvStore"]

_Prepared: TypeAlias = "tuple[NDArray[Any], NDArray[np.bool_] | None]"
_Merged: TypeAlias = "tuple[NDArray[Any] | None, Value | None]"
#: A writeback in flight: its snapshot, the conditional write, and what to
#: record in the entry once the write succeeds (called with the stamp).
_PendingWrite: TypeAlias = (
    "tuple[WritebackSnapshot, Awaitable[TimestampedStorageGeneration], "
    "Callable[[TimestampedStorageGeneration], None]]"
)

#: Most chunk keys remembered per cache.
_KEY_MEMO_SIZE = 1 << 16


class ChunkKvStore(Protocol):
    """What the cache needs from a kvstore (``ts.KvStore`` provides it)."""

    def read(
        self, key: str, *, if_not_equal: bytes | None = None, staleness_bound: float | None = None
    ) -> Awaitable[ReadResult]: ...

    def read_many_nowait(
        self, keys: Sequence[str], if_not_equal: Sequence[bytes]
    ) -> list[ReadResult | Exception]:
        """``read`` of each key answered at once; raises ``trio.WouldBlock`` where it needs I/O."""
        ...

    def write(
        self, key: str, value: bytes | None, *, if_equal: bytes | None = None
    ) -> Awaitable[TimestampedStorageGeneration]: ...

    def write_owned(
        self, key: str, value: bytes | memoryview | None, *, if_equal: bytes = b""
    ) -> Awaitable[TimestampedStorageGeneration]:
        """``write`` of encoded bytes the cache hands over: stored without a copy."""
        ...

    def write_owned_nowait(
        self, key: str, value: bytes | memoryview | None, *, if_equal: bytes = b""
    ) -> TimestampedStorageGeneration:
        """``write_owned`` done at once; raises ``trio.WouldBlock`` where it needs I/O."""
        ...

    def worker_reads(self) -> WorkerReads | None:
        """Reads a worker thread may run itself (``ts.KvStore.worker_reads``); None: use ``read``."""
        ...

    @property
    def keeps_written_values(self) -> bool:
        """Whether a written value is kept, not dropped once written (``KvStore.keeps_written_values``)."""
        ...


class _Spawner(Protocol):
    def __call__(self, async_fn: Callable[..., Awaitable[object]], *args: Any) -> None: ...


@attrs.frozen
class ChunkCacheStatistics:
    """A snapshot of a chunk cache's activity, from :meth:`ChunkCache.statistics`."""

    reads: int
    """kvstore reads issued (including revalidations and writeback reads)."""
    writebacks: int
    """kvstore writes and deletes issued."""
    write_retries: int
    """Conditional writes that found the generation changed (then re-read and re-applied)."""
    coalesced_writes: int
    """Writes merged into writes already pending for their chunk."""
    writeback_tasks: int
    """Writeback tasks started (each serves a group of entries)."""
    evictions: int
    hits: int
    """Chunk reads answered from the cache."""
    misses: int
    """Chunk reads that needed the kvstore."""
    entries: int
    bytes_held: int
    """Bytes this cache's entries hold (decoded chunks, pending writes, overhead)."""
    encode_lanes: LanesStatistics | None = None
    """The worker lanes writebacks encode large chunks on (None before the first writeback)."""


_Fetched: TypeAlias = "tuple[ReadResult, Any, Exception | None]"
"""A fetch job's outcome: the read, what decoding it gave, why decoding failed."""

#: ``decode(entry, value, target)`` in a fetch job: what it gave, or why it failed.
_FetchDecode: TypeAlias = "Callable[[ChunkEntry, Value, Any], tuple[Any, Exception | None]]"


def _read_then_decode(
    reads: WorkerReads, decode: _FetchDecode, entry: ChunkEntry, condition: bytes, target: object
) -> _Fetched:
    """Worker thread: read ``entry``'s value (unless its generation is ``condition``), then decode it.

    Raises:
        Exception: the read's error.
    """
    return _decode_read(decode, entry, reads.read(entry.key, condition), target)


def _decode_read(
    decode: _FetchDecode, entry: ChunkEntry, result: ReadResult | Exception, target: object
) -> _Fetched:
    """Worker thread: decode ``entry``'s value that ``result`` read, if it read one.

    Raises:
        Exception: the read's error.
    """
    if isinstance(result, Exception):
        raise result
    if result.state != "value":
        return result, None, None
    payload, error = decode(entry, result.buffer, target)
    return result, payload, error


@attrs.define(eq=False)
class ChunkCache:
    """The cache of one opened chunked array (see the module docstring).

    Args:
      kvstore: where chunks are stored (keys from ``codec.chunk_key``).
      codec: keys, decodes and encodes chunks.
      pool: the cache pool (``CachePool.for_resource(context cache_pool)``).
      data_copy_concurrency: limiter (or its context resource) for codec work
        and large copies; None: unbounded (tests).
      grid_origin: output index where grid cell 0 starts (default 0s).
      fill_missing_data_reads: reading a missing chunk gives the fill value
        (False: it is an error naming the chunk key).
      store_data_equal_to_fill_value: store chunks equal to the fill value
        (False: delete them).
      valid_part: the part of a cell's chunk inside the array's fixed bounds
        (None: all of it), for arrays whose edge chunks hold only that part
        (TensorStore's valid data bounds). A write covering it needs no read.
        None (zarr's resizable bounds): a write must cover the whole chunk.
    """

    kvstore: ChunkKvStore
    codec: ChunkCodec
    pool: CachePool = attrs.field(factory=CachePool)
    data_copy_concurrency: trio.CapacityLimiter | ConcurrencyResource | None = None
    grid_origin: tuple[int, ...] | None = None
    fill_missing_data_reads: bool = True
    store_data_equal_to_fill_value: bool = False
    valid_part: Callable[[tuple[int, ...]], tuple[slice, ...] | None] | None = None
    name: str = "chunk cache"
    _entries: dict[tuple[int, ...], ChunkEntry] = attrs.field(init=False, factory=dict)
    # Keys of recently used cells: entries come and go (a zero pool limit drops
    # them after every operation), formatting a key each time would not.
    _keys: dict[tuple[int, ...], str] = attrs.field(init=False, factory=dict)
    _spawn: _Spawner | None = attrs.field(init=False, default=None)
    _encode_lanes: WorkerLanes[object] | None = attrs.field(init=False, default=None)
    _chunk_shape: tuple[int, ...] = attrs.field(init=False)
    _dtype: np.dtype[Any] = attrs.field(init=False)
    _chunk_nbytes: int = attrs.field(init=False)
    _encode: Callable[[NDArray[Any], tuple[int, ...]], Value] = attrs.field(init=False)
    _reads: int = attrs.field(init=False, default=0)
    _writebacks: int = attrs.field(init=False, default=0)
    _retries: int = attrs.field(init=False, default=0)
    _coalesced: int = attrs.field(init=False, default=0)
    _tasks: int = attrs.field(init=False, default=0)
    _evictions: int = attrs.field(init=False, default=0)
    _hits: int = attrs.field(init=False, default=0)
    _fill_chunk: NDArray[Any] | None = attrs.field(init=False, default=None)
    _misses: int = attrs.field(init=False, default=0)
    _on_evict: Callable[[ChunkEntry], None] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._chunk_shape = tuple(int(n) for n in self.codec.chunk_shape)
        self._dtype = np.dtype(self.codec.dtype)
        self._chunk_nbytes = int(np.prod(self._chunk_shape, dtype=np.int64)) * self._dtype.itemsize
        self._encode = cell_encoder(self.codec, transient=not self.kvstore.keeps_written_values)
        # One bound method for every entry, not a new one per entry (fewer objects for the GC).
        self._on_evict = self._evicted

    # --- lifetime

    def start(self, nursery: trio.Nursery) -> None:
        """Run writebacks in ``nursery`` (tests); by default they run as runtime services."""
        self._spawn = nursery.start_soon

    def _spawner(self) -> _Spawner:
        if self._spawn is None:
            from ..runtime import get_runtime

            runtime = get_runtime()

            def spawn(async_fn: Callable[..., Awaitable[object]], *args: Any) -> None:
                runtime.start_service(async_fn, *args, name=f"{self.name} writeback")

            self._spawn = spawn
        return self._spawn

    def _lanes(self) -> WorkerLanes[object]:
        """Where writebacks encode large chunks: one stream for all writebacks of the cache.

        A large write's windows follow each other on the same threads, with
        no hop (and no idle core) between one window's last chunk and the next's first.
        """
        if self._encode_lanes is None:
            limiter = self.limiter
            tokens = 1 if limiter is None else max(1, int(limiter.total_tokens))
            self._encode_lanes = WorkerLanes(tokens, self._spawner(), limiter, courier=True)
        return self._encode_lanes

    @property
    def chunk_shape(self) -> tuple[int, ...]:
        return self._chunk_shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._dtype

    @property
    def chunk_nbytes(self) -> int:
        """Bytes of one decoded chunk."""
        return self._chunk_nbytes

    @property
    def limiter(self) -> trio.CapacityLimiter | None:
        """The data_copy_concurrency limiter (runtime thread only)."""
        limiter = self.data_copy_concurrency
        if limiter is None or isinstance(limiter, trio.CapacityLimiter):
            return limiter
        return limiter.limiter

    def _codec_inline_bytes(self) -> float:
        # The codec's threshold is per chunk: small chunks never pay a thread hop.
        return math.inf if self._chunk_nbytes < self.codec.inline_codec_bytes else 0

    def work_budget_bytes(self) -> int:
        """How many bytes of chunks one operation may hold at once (memory bound)."""
        limiter = self.limiter
        tokens = 4 if limiter is None else int(limiter.total_tokens)
        return max(self.pool.total_bytes_limit, 8 * tokens * self._chunk_nbytes, 64 << 20)

    # --- entries

    def entry(self, cell: tuple[int, ...]) -> ChunkEntry:
        """The entry of grid cell ``cell`` (created on first use)."""
        entry = self._entries.get(cell)
        if entry is None:
            key = self._keys.get(cell)
            if key is None:
                if len(self._keys) >= _KEY_MEMO_SIZE:
                    self._keys.clear()
                key = self._keys[cell] = self.codec.chunk_key(cell)
            entry = ChunkEntry(cell, key, on_evict=self._on_evict)
            self._entries[cell] = entry
        return entry

    def _evicted(self, entry: ChunkEntry) -> None:
        self._evictions += 1
        if self._entries.get(entry.cell) is entry:
            del self._entries[entry.cell]

    def _settle(self, entry: ChunkEntry) -> None:
        """Recharge the pool; forget an entry that holds nothing at all."""
        if (
            not self.pool.total_bytes_limit
            and not entry.busy
            and entry.pending is None
            and not entry.users
        ):
            # A zero limit retains nothing: drop the idle entry without LRU work.
            self.pool.remove(entry)
            if entry.data is not None or entry.missing:
                self._evictions += 1
            entry.forget_stored()
            if self._entries.get(entry.cell) is entry:
                del self._entries[entry.cell]
            return
        if self.pool.update(entry) == 0 and self._entries.get(entry.cell) is entry:
            del self._entries[entry.cell]

    def use(self, entries: Sequence[ChunkEntry]) -> None:
        """Pin entries an operation holds across awaits (they are not evicted meanwhile)."""
        for entry in entries:
            entry.users += 1

    def release(self, entries: Sequence[ChunkEntry]) -> None:
        """Unpin entries; then evict whatever the pool limit says must go."""
        for entry in entries:
            entry.users -= 1
            self._settle(entry)
        self.pool.shrink()

    # --- reading

    async def ensure_fresh(
        self,
        entries: Sequence[ChunkEntry],
        staleness_bound: float,
        selections: Sequence[ChunkCellSelection] | None = None,
    ) -> None:
        """Make the cached stored state of ``entries`` current as of ``staleness_bound``.

        Entries must be pinned (``use``) by the caller. ``selections`` (one per
        entry: the part the read needs) let caches that load chunks partly
        (``ShardCache``) load only that part; whole chunks ignore it.

        Raises:
          DataLossError: a chunk cannot be decoded (names its key).
          Exception: whatever the kvstore raised.
        """
        stale = [e for e in entries if not e.fresh(staleness_bound)]
        self._hits += len(entries) - len(stale)
        self._misses += len(stale)
        fetched: set[int] = set()
        while stale:
            idle = [e for e in stale if not e.busy]
            if idle:
                for entry in idle:
                    entry.busy = True
                try:
                    errors = await self._fetch(idle, revalidate=True)
                finally:
                    for entry in idle:
                        self._end_busy(entry)
                for error in errors:
                    if error is not None:
                        raise error
                fetched.update(map(id, idle))
            else:
                for entry in stale:
                    if entry.busy:
                        await entry.wait_idle()
            # All of them again: one found fresh before may have been forgotten
            # meanwhile (a writeback that stored a chunk the pool may not keep).
            # One just read is current even if its source dates it before the
            # bound (a virtual_chunked read_function's time): reading it again
            # would give the same date, forever.
            stale = [
                e
                for e in entries
                if not e.fresh(staleness_bound) and not (id(e) in fetched and e.known)
            ]

    async def read_into(
        self,
        entries: Sequence[ChunkEntry],
        staleness_bound: float,
        selections: Sequence[ChunkCellSelection],
        out: NDArray[Any],
    ) -> list[bool]:
        """:meth:`ensure_fresh` for a read into ``out``; which selections it already copied there.

        Where the kvstore offers ``worker_reads`` (file), each stale idle
        entry is read, decoded and copied into ``out`` by one worker job
        (jobs batched into few hops), instead of a read through the KvStore
        actor, a decoding job and a copying job. Where it answers at once
        (memory), the values are read here and each is decoded and copied by
        one job: a chunk is copied while it is still in the CPU's cache, and a
        window of chunks waits for its slowest job once, not twice. The caller
        copies the others from :meth:`chunk_or_fill`, as after :meth:`ensure_fresh`.

        Raises:
          As :meth:`ensure_fresh`.
        """
        served = [False] * len(entries)
        reads = self.kvstore.worker_reads()
        # Small chunks of a store that answers at once decode and copy faster in
        # the batches of ``ensure_fresh`` and the caller (W2's 8 KiB chunks: 4%).
        fused = reads is not None or self._chunk_nbytes >= STREAM_BYTES
        fetch = [
            k
            for k, e in enumerate(entries)
            if fused and not e.busy and not e.fresh(staleness_bound)
        ]
        installed: list[bool] | None = None
        if fetch:
            try:
                installed = await self._fetch_in_jobs(
                    reads,
                    [entries[k] for k in fetch],
                    functools.partial(self._decode_copy, out),
                    [selections[k] for k in fetch],
                    _install_read,
                )
            except trio.WouldBlock:
                fetch = []  # nothing was read: ``ensure_fresh`` reads them all
            finally:
                self._misses += len(fetch)
        if installed is not None:
            for k, copied in zip(fetch, installed, strict=True):
                served[k] = copied
            fetched = set(fetch)
            rest = [k for k in range(len(entries)) if k not in fetched]
            entries = [entries[k] for k in rest]
            selections = [selections[k] for k in rest]
        await self.ensure_fresh(entries, staleness_bound, selections)
        return served

    async def _fetch_in_jobs(
        self,
        reads: WorkerReads | None,
        entries: Sequence[ChunkEntry],
        decode: _FetchDecode,
        targets: Sequence[Any],
        install: Callable[[ChunkEntry, ReadResult, Any], None],
    ) -> list[bool]:
        """Read and ``decode`` idle ``entries`` in worker jobs that read through ``reads``.

        Each job reads its entry's value (conditionally, when its stored
        state is known) and calls ``decode(entry, value, target)`` on it;
        ``install(entry, result, payload)`` then records a decoded value on
        this thread. ``reads`` None: the store answers at once (memory), the
        values are read here and the jobs only decode them. Entries are busy
        meanwhile; a missing or unchanged value is recorded here (the entry
        is left fresh). Returns which entries were installed.

        Raises:
          trio.WouldBlock: ``reads`` is None and the store cannot answer at
            once; nothing was read.
          The first read error, or decoding error (``decode`` returns it).
        """
        conditions = [entry.generation if entry.known else b"" for entry in entries]
        jobs: list[Callable[[], object]]
        if reads is None:
            results = self.kvstore.read_many_nowait([entry.key for entry in entries], conditions)
            jobs = [
                functools.partial(_decode_read, decode, entry, result, target)
                for entry, result, target in zip(entries, results, targets, strict=True)
            ]
        else:
            jobs = [
                functools.partial(_read_then_decode, reads, decode, entry, condition, target)
                for entry, condition, target in zip(entries, conditions, targets, strict=True)
            ]
        for entry in entries:
            entry.busy = True
        installed = [False] * len(entries)
        errors: list[Exception] = []
        try:
            self._reads += len(jobs)
            outcomes = await run_jobs(
                jobs,
                [self._chunk_nbytes] * len(jobs),
                limiter=self.limiter,
                inline_bytes=0 if reads is not None else self._codec_inline_bytes(),
                io_limiter=None if reads is None else reads.io_limiter,
            )
            if reads is not None:
                reads.count(len(jobs))
            for k, (entry, outcome) in enumerate(zip(entries, outcomes, strict=True)):
                if isinstance(outcome, Exception):  # the read failed
                    errors.append(outcome)
                    continue
                result, payload, error = cast("_Fetched", outcome)
                if error is not None:
                    entry.forget_stored()
                    errors.append(error)
                elif result.state == "unspecified":
                    entry.revalidated(result.stamp.time)
                elif result.state == "missing":
                    entry.set_stored(None, result.stamp)
                else:
                    install(entry, result, payload)
                    installed[k] = True
        finally:
            for entry in entries:
                self._end_busy(entry)
        if errors:
            raise errors[0]
        return installed

    def _decode_copy(
        self, out: NDArray[Any], entry: ChunkEntry, value: Value, selection: ChunkCellSelection
    ) -> tuple[NDArray[Any] | None, Exception | None]:
        """Fetch job (worker thread): decode ``entry``'s chunk and copy ``selection`` of it into ``out``."""
        decoded: object
        try:
            decoded = self.codec.decode(value)
        except Exception as exc:  # _check_decoded names the chunk
            decoded = exc
        error = self._check_decoded(entry, decoded)
        if error is not None:
            return None, error
        chunk = cast("NDArray[Any]", decoded)
        selection.read(chunk, out)
        return chunk, None

    def chunk_or_fill(self, entry: ChunkEntry) -> NDArray[Any]:
        """What a read sees of fresh ``entry``: its stored chunk, or the fill value if missing.

        Raises:
            NotFoundError: the chunk is missing and ``fill_missing_data_reads`` is false.
        """
        data = entry.data
        if data is not None:
            return data
        if not entry.missing:
            # Never the fill value for a chunk whose state is not known: that
            # would be a silent wrong read (see ensure_fresh).
            raise AssertionError(f"{self.name}: chunk {entry.key!r} was read before it was loaded")
        if not self.fill_missing_data_reads:
            raise self.missing_error(entry)
        fill = self._fill_chunk
        if fill is None:
            fill = np.broadcast_to(self.codec.fill_value.astype(self._dtype), self._chunk_shape)
            self._fill_chunk = fill
        return fill

    def missing_error(self, entry: ChunkEntry) -> NotFoundError:
        """The error for reading a missing chunk with ``fill_missing_data_reads`` false."""
        return NotFoundError(
            f"{self.name}: chunk {list(entry.cell)} stored at {entry.key!r} is missing "
            "(fill_missing_data_reads is false)"
        )

    async def _fetch(
        self, entries: Sequence[ChunkEntry], *, revalidate: bool
    ) -> list[Exception | None]:
        """Read and decode ``entries`` (which the caller marked busy); one error slot each."""
        kvstore = self.kvstore
        conditions = [
            (entry.generation if revalidate and entry.known else b"") for entry in entries
        ]
        self._reads += len(entries)
        results: list[ReadResult | Exception]
        try:
            # A store that answers at once (memory) reads them all in one call.
            results = kvstore.read_many_nowait([entry.key for entry in entries], conditions)
        except trio.WouldBlock:
            futures = [
                kvstore.read(entry.key, if_not_equal=condition or None)
                for entry, condition in zip(entries, conditions, strict=True)
            ]
            results = []
            for future in futures:
                try:
                    results.append(await future)
                except Exception as exc:
                    results.append(exc)
        values = [
            i for i, r in enumerate(results) if not isinstance(r, Exception) and r.state == "value"
        ]
        decoded: list[object] = []
        if values:
            codec = self.codec
            payloads = [results[i].buffer for i in values]  # type: ignore[union-attr]
            decoded = await run_map(
                codec.decode,
                payloads,
                [self._chunk_nbytes] * len(payloads),
                limiter=self.limiter,
                inline_bytes=self._codec_inline_bytes(),
            )
        errors: list[Exception | None] = [None] * len(entries)
        next_value = iter(decoded)
        for i, (entry, result) in enumerate(zip(entries, results, strict=True)):
            if isinstance(result, Exception):
                errors[i] = result
            elif result.state == "unspecified":
                entry.revalidated(result.stamp.time)
            elif result.state == "missing":
                entry.set_stored(None, result.stamp)
            else:
                chunk = next(next_value)
                error = self._check_decoded(entry, chunk)
                if error is None:
                    entry.set_stored(chunk, result.stamp)  # type: ignore[arg-type]
                else:
                    entry.forget_stored()
                    errors[i] = error
        return errors

    def _check_decoded(self, entry: ChunkEntry, chunk: object) -> Exception | None:
        """Why ``chunk`` (a decoding's result or error) is not ``entry``'s chunk, or None; any thread."""
        if isinstance(chunk, Exception):
            error = DataLossError(f"{self.name}: cannot decode chunk {entry.key!r}: {chunk}")
            error.__cause__ = chunk
            return error
        if (
            not isinstance(chunk, np.ndarray)
            or chunk.shape != self._chunk_shape
            or chunk.dtype != self._dtype
        ):
            got = (
                f"{chunk.dtype}{list(chunk.shape)}"
                if isinstance(chunk, np.ndarray)
                else repr(chunk)
            )
            return DataLossError(
                f"{self.name}: chunk {entry.key!r} decoded to {got}, "
                f"expected {self._dtype}{list(self._chunk_shape)}"
            )
        return None

    # --- writing

    async def stage_writes(
        self,
        selections: Sequence[ChunkCellSelection],
        source: NDArray[Any],
        ticket: WriteTicket,
    ) -> None:
        """Merge each selection's part of ``source`` into its entry and start writebacks.

        ``ticket`` counts the entries until their writeback is durable.
        """
        shape = self._chunk_shape
        all_entries: list[ChunkEntry] = []
        copies: list[ChunkCellSelection] = []
        fulls: list[bool] = []
        for sel in selections:
            full = covers_chunk(sel, shape)
            if full:
                view = source_view(sel, source, shape)
                if view is not None:
                    # A full overwrite takes its part without a copy: the
                    # writeback encodes straight from the source (``copy``
                    # resolves once that is done).
                    entry = self.entry(sel.cell)
                    shared = np.may_share_memory(view, source)
                    if entry.lend(view, ticket if shared else None):
                        self._coalesced += 1
                    entry.add_ticket(ticket)
                    self.pool.update(entry)
                    all_entries.append(entry)
                    continue
            copies.append(sel)
            fulls.append(full)
        if copies:
            all_entries.extend(await self._stage_copies(copies, fulls, source, ticket))
        self.schedule_writeback(all_entries)

    async def _stage_copies(
        self,
        selections: list[ChunkCellSelection],
        fulls: list[bool],
        source: NDArray[Any],
        ticket: WriteTicket,
    ) -> list[ChunkEntry]:
        shape, dtype = self._chunk_shape, self._dtype
        costs = [
            self._chunk_nbytes if full else selection_nbytes(sel, source)
            for sel, full in zip(selections, fulls, strict=True)
        ]
        entries = [self.entry(sel.cell) for sel in selections]
        if copy_inline(costs):
            for entry, sel, full in zip(entries, selections, fulls, strict=True):
                if entry.stage(sel, source, full, shape, dtype):
                    self._coalesced += 1
                entry.add_ticket(ticket)
                self.pool.update(entry)
        else:
            self.use(entries)
            try:
                prepared = await run_jobs(
                    [
                        functools.partial(prepare_part, sel, source, full, shape, dtype)
                        for sel, full in zip(selections, fulls, strict=True)
                    ],
                    costs,
                    limiter=self.limiter,
                    inline_bytes=0,
                )
            finally:
                for entry in entries:
                    entry.users -= 1
            for outcome in prepared:
                if isinstance(outcome, Exception):
                    raise outcome
            for entry, outcome in zip(entries, prepared, strict=True):
                buffer, mask = cast("_Prepared", outcome)
                if entry.install(buffer, mask):
                    self._coalesced += 1
                entry.add_ticket(ticket)
                self.pool.update(entry)
        return entries

    def schedule_writeback(self, entries: Sequence[ChunkEntry]) -> None:
        """Start one writeback task for those of ``entries`` that have pending writes and are idle."""
        ready = [e for e in entries if e.pending is not None and not e.busy]
        if not ready:
            return
        for entry in ready:
            entry.busy = True
        self._spawn_writeback(ready)

    def _spawn_writeback(
        self, entries: list[ChunkEntry], first: list[WritebackSnapshot] | None = None
    ) -> None:
        """Start the writeback task of ``entries`` (marked busy); ``first`` as ``_writeback`` takes it."""
        self._tasks += 1
        try:
            self._spawner()(self._writeback, entries, first)
        except Exception as exc:  # e.g. the runtime is stopping: fail the writers, hang none
            snapshots = first if first is not None else [e.take_pending() for e in entries]
            for entry, snapshot in zip(entries, snapshots, strict=True):
                snapshot.finish(exc)
                entry.end_busy()
                self._settle(entry)
            raise

    async def delete_stored(self, entries: Sequence[ChunkEntry]) -> None:
        """Delete the stored chunks of ``entries`` (pinned by the caller), keeping the cache coherent.

        Each entry's read or writeback in flight ends first; writes arriving
        meanwhile are written back after the delete.
        """
        for entry in entries:
            while entry.busy:
                await entry.wait_idle()
            entry.busy = True  # claimed in the same step as the check above
        try:
            futures = [self.kvstore.write(entry.key, None) for entry in entries]
            self._writebacks += len(futures)
            for entry, future in zip(entries, futures, strict=True):
                try:
                    stamp = await future
                except BaseException:
                    entry.forget_stored()
                    raise
                entry.set_stored(None, stamp)
        finally:
            for entry in entries:
                self._end_busy(entry)

    def _end_busy(self, entry: ChunkEntry) -> None:
        entry.end_busy()
        self._settle(entry)
        if entry.pending is not None:
            # Writes arrived during a read: they were waiting for this entry.
            self.schedule_writeback([entry])

    async def write_back_expecting(
        self,
        entry: ChunkEntry,
        pending: NDArray[Any],
        mask: NDArray[np.bool_] | None,
        expect: bytes,
        ticket: WriteTicket,
    ) -> None:
        """Write ``pending`` (where ``mask``) back only over the stored generation ``expect``.

        A repeatable-read transaction's commit of a chunk it read: once the
        entry's read or writeback in flight ends, the writes go out as their
        own writeback (writes pending for the entry follow in the next one),
        conditional on ``expect``; if the chunk has another generation the
        ticket fails with ``Generation mismatch`` and nothing is written. The
        entry must be pinned (``use``) by the caller.
        """
        while entry.busy:
            await entry.wait_idle()
        entry.busy = True
        ticket.add()
        snapshot = WritebackSnapshot(entry, pending, mask, [ticket], expect=expect)
        entry.writeback = snapshot
        self.pool.update(entry)
        self._spawn_writeback([entry], [snapshot])

    async def _writeback(
        self, entries: list[ChunkEntry], first: list[WritebackSnapshot] | None = None
    ) -> None:
        """Write back ``entries`` (marked busy), then whatever coalesced meanwhile.

        ``first``: the snapshots of the first round (one per entry), instead
        of the entries' pending writes.
        """
        with trio.CancelScope(shield=True):
            while entries:
                if first is None:
                    snapshots = [entry.take_pending() for entry in entries]
                else:
                    snapshots, first = first, None
                try:
                    await self._write_snapshots(snapshots)
                except BaseException as exc:
                    # A bug (or the runtime stopping): never leave a writer waiting.
                    for entry, snapshot in zip(entries, snapshots, strict=True):
                        snapshot.finish(exc)
                        if entry.pending is not None:
                            entry.take_pending().finish(exc)
                        entry.end_busy()
                        self._settle(entry)
                    raise
                again: list[ChunkEntry] = []
                for entry in entries:
                    entry.writeback = None
                    if entry.pending is not None:
                        # Readers may use what this round stored while writers keep coming.
                        entry.wake_waiters()
                        again.append(entry)
                    else:
                        entry.end_busy()
                    self._settle(entry)
                entries = again
            self.pool.shrink()

    async def _write_snapshots(self, snapshots: list[WritebackSnapshot]) -> None:
        todo = snapshots
        while todo:
            unknown = [
                s
                for s in todo
                if (not self._overwrites(s) and not (s.entry.known and s.entry.generation))
                or _base_unexpected(s)
            ]
            if unknown:
                errors = await self._fetch([s.entry for s in unknown], revalidate=False)
                for snapshot, error in zip(unknown, errors, strict=True):
                    if error is not None:
                        snapshot.finish(error)
                self._fail_unexpected(unknown)
                todo = [s for s in todo if not s.finished]
            writes: list[_PendingWrite] = []
            retry: list[WritebackSnapshot] = []
            # Each chunk's write is issued as soon as it is encoded, so that
            # kvstore I/O (fsync) overlaps the encoding of the rest.
            await run_jobs(
                [
                    functools.partial(
                        self._merge_encode,
                        s.entry.cell,
                        s.entry.data,
                        s.pending,
                        s.mask,
                        s.borrowed is not None,
                    )
                    for s in todo
                ],
                [self._chunk_nbytes] * len(todo),
                limiter=self.limiter,
                inline_bytes=self._codec_inline_bytes(),
                on_result=functools.partial(self._issue_write, todo, writes, retry),
                lanes=self._lanes(),
            )
            todo = await self._settle_writes(writes, retry)

    def _overwrites(self, snapshot: WritebackSnapshot) -> bool:
        """Whether ``snapshot`` writes every element of its chunk that exists (needs no read)."""
        if snapshot.mask is None:
            return True
        if self.valid_part is None:
            return False
        part = self.valid_part(snapshot.entry.cell)
        return part is not None and bool(snapshot.mask[part].all())

    def _issue_write(
        self,
        todo: list[WritebackSnapshot],
        writes: list[_PendingWrite],
        retry: list[WritebackSnapshot],
        index: int,
        outcome: object,
    ) -> None:
        """Start the conditional write of ``todo[index]``, just merged and encoded as ``outcome``.

        A store that answers at once (memory) is written here and the write
        settled: nothing of it outlives this call (with thousands of small
        chunks, objects that live until the whole writeback ends are what
        makes Python's garbage collector expensive). Others go to ``writes``.
        """
        snapshot = todo[index]
        snapshot.release()  # encoded: the writer's source is no longer read
        entry = snapshot.entry
        if isinstance(outcome, Exception):
            snapshot.finish(self._encode_error(entry, outcome))
            return
        value, install = self._stored_value(entry, outcome)
        condition = snapshot.expect
        if condition is None:
            condition = b"" if snapshot.full else entry.generation
        self._writebacks += 1
        kvstore = self.kvstore
        try:
            stamp: TimestampedStorageGeneration | Exception = kvstore.write_owned_nowait(
                entry.key, value, if_equal=condition
            )
        except trio.WouldBlock:
            writes.append(
                (snapshot, kvstore.write_owned(entry.key, value, if_equal=condition), install)
            )
            return
        except Exception as exc:
            stamp = exc
        if self._settle_write(snapshot, stamp, install):
            retry.append(snapshot)

    def _encode_error(self, entry: ChunkEntry, error: Exception) -> Exception:
        """The error writers of ``entry`` get when merging or encoding failed with ``error``."""
        return error

    def _stored_value(
        self, entry: ChunkEntry, outcome: object
    ) -> tuple[Value | None, Callable[[TimestampedStorageGeneration], None]]:
        """The value to store for ``entry`` from its merge ``outcome``, and what records it once stored."""
        chunk, encoded = cast("_Merged", outcome)
        return encoded, functools.partial(_install_chunk, entry, chunk, encoded)

    async def _settle_writes(
        self, writes: list[_PendingWrite], retry: list[WritebackSnapshot]
    ) -> list[WritebackSnapshot]:
        """Await conditional writebacks and settle each; return ``retry`` plus those to re-apply."""
        for snapshot, written, install in writes:
            try:
                stamp: TimestampedStorageGeneration | Exception = await written
            except Exception as exc:
                stamp = exc
            if self._settle_write(snapshot, stamp, install):
                retry.append(snapshot)
        return retry

    def _settle_write(
        self,
        snapshot: WritebackSnapshot,
        stamp: TimestampedStorageGeneration | Exception,
        install: Callable[[TimestampedStorageGeneration], None],
    ) -> bool:
        """Install what a conditional writeback stored; True: re-read and re-apply it.

        A write that found another generation stored (someone else wrote the
        chunk since we read it) is re-applied: this is what makes no partial
        write ever lost. A failed write fails its writers.
        """
        entry = snapshot.entry
        if isinstance(stamp, Exception):
            entry.forget_stored()
            snapshot.finish(stamp)
            return False
        if not stamp.generation:
            entry.forget_stored()
            if snapshot.expect is not None:
                snapshot.finish(self._mismatch(entry))
                return False
            self._retries += 1
            return True
        install(stamp)
        snapshot.finish(None)
        return False

    def _mismatch(self, entry: ChunkEntry) -> Exception:
        from ..drivers.transactional_io import chunk_target, generation_mismatch

        return generation_mismatch("writing", chunk_target(self, entry.cell))

    def _fail_unexpected(self, snapshots: Sequence[WritebackSnapshot]) -> None:
        """Fail the snapshots that must merge over a generation the stored chunk no longer has."""
        for snapshot in snapshots:
            if not snapshot.finished and _base_unexpected(snapshot):
                snapshot.finish(self._mismatch(snapshot.entry))

    def _merge_encode(
        self,
        cell: tuple[int, ...],
        stored: NDArray[Any] | None,
        pending: NDArray[Any],
        mask: NDArray[np.bool_] | None,
        borrowed: bool,
    ) -> tuple[NDArray[Any] | None, Value | None]:
        """Merge pending writes over the stored chunk and encode it.

        Returns the chunk to cache (None for a view of a writer's source, unless
        the pool keeps chunks: then a copy) and the bytes (None: delete the key).
        """
        if mask is None:
            chunk = pending
        else:
            if stored is None:
                chunk = np.empty(self._chunk_shape, self._dtype)
                chunk[...] = self.codec.fill_value
            else:
                chunk = stored.copy()
            np.copyto(chunk, pending, where=mask)
        if not self.store_data_equal_to_fill_value and all_equal_fill(chunk, self.codec.fill_value):
            return None, None
        encoded = self._encode(chunk, cell)
        if borrowed:
            return (chunk.copy() if self.pool.total_bytes_limit else None), encoded
        return chunk, encoded

    # --- statistics

    def statistics(self) -> ChunkCacheStatistics:
        """Counters, for tests and monitoring."""
        return ChunkCacheStatistics(
            reads=self._reads,
            writebacks=self._writebacks,
            write_retries=self._retries,
            coalesced_writes=self._coalesced,
            writeback_tasks=self._tasks,
            evictions=self._evictions,
            hits=self._hits,
            misses=self._misses,
            entries=len(self._entries),
            bytes_held=sum(e.held_bytes() for e in self._entries.values()),
            encode_lanes=None if self._encode_lanes is None else self._encode_lanes.statistics(),
        )


def _base_unexpected(snapshot: WritebackSnapshot) -> bool:
    """Whether ``snapshot`` must merge over the generation it expects, and its entry holds another."""
    expect = snapshot.expect
    return expect is not None and not snapshot.full and snapshot.entry.generation != expect


def _install_chunk(
    entry: ChunkEntry,
    chunk: NDArray[Any] | None,
    encoded: Value | None,
    stamp: TimestampedStorageGeneration,
) -> None:
    """Record a successful chunk writeback in its entry."""
    if encoded is None:
        entry.set_stored(None, stamp)
    elif chunk is None:
        entry.forget_stored()  # encoded from a source view that is not ours
    else:
        entry.set_stored(chunk, stamp)


def _install_read(entry: ChunkEntry, result: ReadResult, chunk: NDArray[Any]) -> None:
    """Record a chunk a fetch job read and decoded in its entry."""
    entry.set_stored(chunk, result.stamp)
