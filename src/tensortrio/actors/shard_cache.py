"""The chunk cache of a sharded array: one entry per shard, partial reads and partial writes.

:class:`ShardCache` is a :class:`~.chunk_cache.ChunkCache` whose entries are
:class:`~.shard_entry.ShardEntry` (one per shard, the unit of writeback) and
whose codec shards (``codec.sharding.layout``). It keeps every rule of the
chunk cache (one read or writeback in flight per entry, coalescing,
conditional writes re-read and re-applied on a generation mismatch) and
changes what a read and a writeback do:

- a read fetches the shard index once (a byte-range read, conditional on the
  cached generation when one is known, so revalidation costs no data), then
  only the byte ranges of the inner chunks the request touches, near ranges
  merged into one read (``shard_io.MAX_RANGE_GAP``); a range read answered
  from another generation than the index's means the shard changed under
  us: the entry forgets it and the read starts over. A request touching
  every inner chunk reads the whole shard in one request instead;
- a writeback of a whole shard encodes it and writes unconditionally: no
  read at all; a partial one reads the whole shard (unless its bytes are
  cached), carries untouched inner chunks over as their encoded bytes,
  (re-)encodes only the touched ones, and writes ``if_equal`` the shard's
  generation — on a mismatch it re-reads and re-applies, so no partial write
  is lost whoever else writes the shard.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Protocol, cast

import attrs
import numpy as np
import trio

from ..errors import DataLossError, InvalidArgumentError
from .chunk_cache import _KEY_MEMO_SIZE, ChunkCache, _base_unexpected, _PendingWrite
from .chunk_parts import COPY_INLINE_BYTES, covers_chunk
from .shard_entry import ShardEntry
from .worker_batch import run_jobs

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from numpy.typing import NDArray

    from ..drivers.kvstore.generation import TimestampedStorageGeneration
    from ..drivers.kvstore.read_result import ReadResult
    from ..drivers.kvstore.value_buffer import Value
    from ..drivers.zarr3.codecs.sharding import ShardLayout
    from ..drivers.zarr3.shard_io import MergeOutcome, RangeRead, ShardIO
    from ..index.partition import ChunkCellSelection
    from .chunk_entry import ChunkEntry, WritebackSnapshot, WriteTicket
    from .kvstore import WorkerReads

__all__ = ["ShardCache", "ShardCacheStatistics", "shard_layout_of"]


class _RangeKvStore(Protocol):
    def read(
        self,
        key: str,
        *,
        if_not_equal: bytes | None = None,
        staleness_bound: float | None = None,
        byte_range: slice | None = None,
    ) -> Awaitable[ReadResult]: ...


def shard_layout_of(codec: object) -> ShardLayout | None:
    """The shard layout when ``codec``'s chunks are shards (zarr3 ``sharding_indexed``), else None."""
    sharding = getattr(codec, "sharding", None)
    return getattr(sharding, "layout", None)


@attrs.frozen
class ShardCacheStatistics:
    """What a shard cache did at the inner chunk level, from :meth:`ShardCache.shard_statistics`."""

    index_reads: int
    """Byte-range reads of a shard index."""
    range_reads: int
    """Byte-range reads of inner chunks (each may serve several, merged)."""
    shard_reads: int
    """Reads of whole shards (reads touching every inner chunk, partial writebacks)."""
    inner_decoded: int
    """Inner chunks decoded (or filled, when not stored) for reads."""
    inner_encoded: int
    """Inner chunks encoded by writebacks."""
    inner_carried: int
    """Stored inner chunks a writeback kept as their encoded bytes."""


@attrs.define(eq=False)
class ShardCache(ChunkCache):
    """A chunk cache over shards (see the module docstring); ``codec.sharding.layout`` must exist."""

    _io: ShardIO = attrs.field(init=False)
    _index_reads: int = attrs.field(init=False, default=0)
    _range_reads: int = attrs.field(init=False, default=0)
    _shard_reads: int = attrs.field(init=False, default=0)
    _inner_decoded: int = attrs.field(init=False, default=0)
    _inner_encoded: int = attrs.field(init=False, default=0)
    _inner_carried: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        from ..drivers.zarr3.shard_io import ShardIO

        layout = shard_layout_of(self.codec)
        if layout is None:
            raise InvalidArgumentError(f"{self.name}: a shard cache needs a sharding codec")
        self._io = ShardIO(layout, store_fill_shards=self.store_data_equal_to_fill_value)

    def entry(self, cell: tuple[int, ...]) -> ShardEntry:
        """The entry of shard ``cell`` (created on first use)."""
        entry = self._entries.get(cell)
        if entry is None:
            key = self._keys.get(cell)
            if key is None:
                if len(self._keys) >= _KEY_MEMO_SIZE:
                    self._keys.clear()
                key = self._keys[cell] = self.codec.chunk_key(cell)
            entry = ShardEntry(cell, key, on_evict=self._on_evict, inner_cells=self._io.needed)
            self._entries[cell] = entry
        assert isinstance(entry, ShardEntry)
        return entry

    # --- reading

    async def ensure_fresh(
        self,
        entries: Sequence[ChunkEntry],
        staleness_bound: float,
        selections: Sequence[ChunkCellSelection] | None = None,
    ) -> None:
        """Decode the inner chunks ``selections`` touch (None: all), current as of the bound.

        Raises:
          DataLossError: a corrupt index or inner chunk (names the shard key).
          Exception: whatever the kvstore raised.
        """
        io = self._io
        shards = [e for e in entries if isinstance(e, ShardEntry)]
        if selections is None:
            needs = [np.ones(io.num_chunks, np.bool_)] * len(shards)
        else:
            needs = [io.needed(sel.chunk_selection) for sel in selections]
        await self._ensure_needs(shards, needs, staleness_bound)

    async def read_into(
        self,
        entries: Sequence[ChunkEntry],
        staleness_bound: float,
        selections: Sequence[ChunkCellSelection],
        out: NDArray[Any],
    ) -> list[bool]:
        """:meth:`ensure_fresh` for a read into ``out``; whole shards may decode straight into it.

        When the cache pool keeps nothing (a decoded shard would be dropped
        right after the reader copies it), a selection covering its whole
        shard, in order, of an entry with nothing decoded and no reader
        waiting, is decoded by the decoding job itself into its part of
        ``out``: one copy of the shard and one thread hop less. Where the
        kvstore offers ``worker_reads`` (file), that job also reads the
        shard: one more hop less, and the shards' reads spread over the
        decoding threads.

        Returns which selections were served so; the others' entries are
        fresh, for the caller to copy from as after :meth:`ensure_fresh`.

        Raises:
          As :meth:`ensure_fresh`.
        """
        served = [False] * len(entries)
        direct: list[int] = []
        targets: dict[int, NDArray[Any]] = {}
        if not self.pool.total_bytes_limit:
            shape = self._chunk_shape
            for k, (entry, sel) in enumerate(zip(entries, selections, strict=True)):
                if (
                    isinstance(entry, ShardEntry)
                    and not entry.busy
                    and entry.data is None
                    and entry.wanted is None
                    and sel.chunk_axes is None
                    and covers_chunk(sel, shape)
                    and all(type(t) is slice or type(t) is int for t in sel.array_selection)
                ):
                    # Basic indexing: a view of ``out`` (the Ellipsis keeps a rank-0 one an array).
                    target = out[(*sel.array_selection, Ellipsis)]
                    if target.shape == shape:
                        targets[len(direct)] = target
                        direct.append(k)
        if not direct:
            await self.ensure_fresh(entries, staleness_bound, selections)
            return served
        shards = [cast("ShardEntry", entries[k]) for k in direct]
        self._misses += len(shards)
        # Shards to read are read and decoded by one job each where the store
        # lets a worker thread read (file); the others load as usual.
        reads = self.kvstore.worker_reads()
        fetch = [
            p
            for p, entry in enumerate(shards)
            if reads is not None and entry.encoded is None and not entry.fresh(staleness_bound)
        ]
        load_only = sorted(set(range(len(shards))) - set(fetch))
        fetched: set[int] = set()
        loaded: set[int] = set()
        others = sorted(set(range(len(entries))) - set(direct))
        errors: list[Exception] = []

        async def load(load_fn: Callable[..., Awaitable[None]], *args: Any) -> None:
            try:
                await load_fn(*args)
            except Exception as exc:  # the first error is raised below, as a plain exception
                errors.append(exc)

        # The other entries load alongside, as one ``ensure_fresh`` would have them.
        async with trio.open_nursery() as nursery:
            if fetch:
                assert reads is not None
                self._shard_reads += len(fetch)
                nursery.start_soon(
                    load,
                    self._fetch_whole,
                    reads,
                    [shards[p] for p in fetch],
                    [targets[p] for p in fetch],
                    fetched,
                )
            if load_only:
                everything = np.ones(self._io.num_chunks, np.bool_)
                nursery.start_soon(
                    load,
                    self._load_idle,
                    [(shards[p], everything) for p in load_only],
                    staleness_bound,
                    {i: targets[p] for i, p in enumerate(load_only)},
                    loaded,
                )
            if others:
                nursery.start_soon(
                    load,
                    self.ensure_fresh,
                    [entries[k] for k in others],
                    staleness_bound,
                    [selections[k] for k in others],
                )
        if errors:
            raise errors[0]
        decoded = {fetch[i] for i in fetched} | {load_only[i] for i in loaded}
        for p in decoded:
            served[direct[p]] = True
        # Direct entries not decoded (a missing shard, or only its index known) as usual.
        rest = [k for p, k in enumerate(direct) if p not in decoded]
        if rest:
            await self.ensure_fresh(
                [entries[k] for k in rest], staleness_bound, [selections[k] for k in rest]
            )
        return served

    async def _fetch_whole(
        self,
        reads: WorkerReads,
        shards: list[ShardEntry],
        targets: list[NDArray[Any]],
        decoded_into: set[int],
    ) -> None:
        """Read each whole shard and decode it into its target, one fetch job each (``_fetch_in_jobs``)."""
        installed = await self._fetch_in_jobs(
            reads, shards, self._decode_into, targets, self._install_shard_read
        )
        decoded_into.update(p for p, done in enumerate(installed) if done)

    def _decode_into(
        self, entry: ChunkEntry, shard: Value, target: NDArray[Any]
    ) -> tuple[NDArray[np.uint64] | None, Exception | None]:
        """Fetch job (worker thread): decode the whole ``shard`` into ``target``; its index."""
        io = self._io
        try:
            index = io.shard_index(shard)
            io.decode_all(shard, index, target)
        except Exception as exc:  # a corrupt shard
            return None, self._data_loss(entry, exc)
        return index, None

    def _install_shard_read(
        self, entry: ChunkEntry, result: ReadResult, index: NDArray[np.uint64]
    ) -> None:
        assert isinstance(entry, ShardEntry)
        entry.set_shard(result.buffer, index, result.stamp)
        self._inner_decoded += self._io.num_chunks

    async def ensure_fresh_parts(
        self,
        entries: Sequence[ChunkEntry],
        staleness_bound: float,
        parts: Sequence[Sequence[Sequence[Any]]],
    ) -> None:
        """As :meth:`ensure_fresh`, for several selections per entry (the reads of a burst).

        ``parts[k]``: the chunk-local selections (``chunk_selection`` terms)
        of ``entries[k]`` the reads need; each entry decodes the union of the
        inner chunks they touch.
        """
        io = self._io
        shards: list[ShardEntry] = []
        needs: list[NDArray[np.bool_]] = []
        for entry, selections in zip(entries, parts, strict=True):
            if isinstance(entry, ShardEntry):
                shards.append(entry)
                needs.append(io.needed_many(selections))
        await self._ensure_needs(shards, needs, staleness_bound)

    async def _ensure_needs(
        self, shards: list[ShardEntry], needs: list[NDArray[np.bool_]], staleness_bound: float
    ) -> None:
        todo = [(e, n) for e, n in zip(shards, needs, strict=True) if not e.satisfies(n, staleness_bound)]
        self._hits += len(shards) - len(todo)
        self._misses += len(todo)
        while todo:
            idle = [(e, e.take_wanted(n)) for e, n in todo if not e.busy]
            if idle:
                await self._load_idle(idle, staleness_bound)
            else:
                for entry, need in todo:
                    entry.want(need)
                for entry, _ in todo:
                    if entry.busy:
                        await entry.wait_idle()
            # All of them again: one satisfied before may have been forgotten meanwhile.
            todo = [
                (e, n)
                for e, n in zip(shards, needs, strict=True)
                if not e.satisfies(n, staleness_bound)
            ]

    def _data_loss(self, entry: ChunkEntry, exc: Exception) -> DataLossError:
        error = DataLossError(f"{self.name}: cannot decode shard {entry.key!r}: {exc}")
        error.__cause__ = exc
        return error

    async def _load_idle(
        self,
        items: list[tuple[ShardEntry, NDArray[np.bool_]]],
        staleness_bound: float,
        targets: dict[int, NDArray[Any]] | None = None,
        decoded_into: set[int] | None = None,
    ) -> None:
        """:meth:`_load` of entries no load is running for, marked busy meanwhile; raises the first error."""
        for entry, _ in items:
            entry.busy = True
        try:
            errors = await self._load(items, staleness_bound, targets, decoded_into)
        finally:
            for entry, _ in items:
                self._end_busy(entry)
        for error in errors:
            if error is not None:
                raise error

    async def _load(
        self,
        items: list[tuple[ShardEntry, NDArray[np.bool_]]],
        staleness_bound: float,
        targets: dict[int, NDArray[Any]] | None = None,
        decoded_into: set[int] | None = None,
    ) -> list[Exception | None]:
        """Bring ``items`` (entries marked busy, with the inner chunks they need) up to date.

        ``targets``: item position -> a reader's array (of the shard's shape)
        to decode that whole shard into, instead of into the entry; the
        positions decoded so are added to ``decoded_into``.
        """
        io = self._io
        kvstore: _RangeKvStore = self.kvstore  # type: ignore[assignment]
        errors: list[Exception | None] = [None] * len(items)
        # 1. The index (or the whole shard when every inner chunk is needed) where not fresh.
        checks: list[tuple[int, bool, Awaitable[ReadResult]]] = []
        for i, (entry, need) in enumerate(items):
            if entry.fresh(staleness_bound):
                continue
            condition = entry.generation if entry.known else None
            whole = bool(need.all()) or (entry.index is None and 2 * int(need.sum()) >= need.size)
            if whole:
                self._shard_reads += 1
                future = kvstore.read(entry.key, if_not_equal=condition or None)
            else:
                self._index_reads += 1
                future = kvstore.read(
                    entry.key, if_not_equal=condition or None, byte_range=io.index_slice()
                )
            checks.append((i, whole, future))
        self._reads += len(checks)
        for i, whole, future in checks:
            entry = items[i][0]
            try:
                result = await future
            except InvalidArgumentError as exc:  # the shard is shorter than its index
                entry.forget_stored()
                errors[i] = self._data_loss(entry, exc)
                continue
            except Exception as exc:
                errors[i] = exc
                continue
            if result.state == "unspecified":
                entry.revalidated(result.stamp.time)
            elif result.state == "missing":
                entry.set_stored(None, result.stamp)
            else:
                try:
                    if whole:
                        entry.set_shard(result.buffer, io.shard_index(result.buffer), result.stamp)
                    else:
                        entry.set_index(io.decode_index(result.buffer), result.stamp)
                except DataLossError as exc:
                    entry.forget_stored()
                    errors[i] = self._data_loss(entry, exc)
        # 2. The inner chunks not decoded yet: from cached shard bytes, else by range reads.
        jobs: list[tuple[int, functools.partial[Any]]] = []
        costs: list[int] = []
        decoded = 0
        whole_decodes: dict[int, int] = {}  # job position -> item whose shard it decodes
        loads: list[tuple[int, NDArray[np.intp]]] = []
        ranges: list[tuple[int, RangeRead, NDArray[Any], Awaitable[ReadResult]]] = []
        for i, (entry, need) in enumerate(items):
            if errors[i] is not None or entry.missing or not entry.known:
                continue
            cells = entry.unloaded(need)
            if not len(cells):
                continue
            if entry.encoded is not None:
                decoded += len(cells)
                if entry.data is None and len(cells) == io.num_chunks:
                    whole_decodes[len(jobs)] = i
                    target = None if targets is None else targets.get(i)
                    jobs.append(
                        (i, functools.partial(io.decode_all, entry.encoded, entry.index, target))
                    )
                    costs.append(self._chunk_nbytes)
                else:
                    buffer = entry.start_loading(io.num_chunks, io.new_buffer())
                    jobs.append(
                        (
                            i,
                            functools.partial(
                                io.load_from_shard, buffer, entry.encoded, cells, entry.index
                            ),
                        )
                    )
                    costs.append(io.inner_nbytes * len(cells))
                    loads.append((i, cells))
                continue
            assert entry.index is not None
            buffer = entry.start_loading(io.num_chunks, io.new_buffer())
            missing = io.missing_cells(entry.index, cells)
            if len(missing):
                decoded += len(missing)
                jobs.append((i, functools.partial(io.fill, buffer, missing)))
                costs.append(io.inner_nbytes * len(missing))
            for plan in io.plan_ranges(entry.index, cells):
                future = kvstore.read(entry.key, byte_range=slice(plan.start, plan.stop))
                ranges.append((i, plan, buffer, future))
            loads.append((i, cells))
        self._range_reads += len(ranges)
        self._reads += len(ranges)
        changed: set[int] = set()
        for i, plan, buffer, future in ranges:
            entry = items[i][0]
            try:
                result = await future
            except InvalidArgumentError as exc:  # the index points past the shard's end
                errors[i] = self._data_loss(entry, exc)
                continue
            except Exception as exc:
                errors[i] = exc
                continue
            if result.state != "value" or result.stamp.generation != entry.generation:
                changed.add(i)  # the shard changed since its index was read: start over
                continue
            # One job per range read: its inner chunks decode together (no Python per chunk).
            decoded += len(plan.members)
            jobs.append((i, functools.partial(io.load_range, buffer, result.buffer, plan)))
            costs.append(io.inner_nbytes * len(plan.members))
        self._inner_decoded += decoded
        outcomes = await run_jobs(
            [job for _, job in jobs],
            costs,
            limiter=self.limiter,
            inline_bytes=COPY_INLINE_BYTES,
        )
        for position, ((i, _), outcome) in enumerate(zip(jobs, outcomes, strict=True)):
            entry = items[i][0]
            if isinstance(outcome, Exception):
                if errors[i] is None:
                    errors[i] = self._data_loss(entry, outcome)
                entry.forget_stored()
            elif position in whole_decodes and errors[i] is None and i not in changed:
                if targets is not None and i in targets:
                    assert decoded_into is not None
                    decoded_into.add(i)
                else:
                    entry.set_decoded(cast("NDArray[Any]", outcome))
        for i, cells in loads:
            entry = items[i][0]
            if i in changed or errors[i] is not None:
                entry.forget_stored()
            else:
                entry.mark_loaded(cells)
        return errors

    # --- writing

    async def stage_writes(
        self,
        selections: Sequence[ChunkCellSelection],
        source: NDArray[Any],
        ticket: WriteTicket,
    ) -> None:
        """As :meth:`ChunkCache.stage_writes`, but a whole shard takes its part of ``source`` as a view.

        Encoding a shard gathers its inner chunks with one copy anyway, so the
        view need not be contiguous (plain chunks need it to be): a whole-shard
        write copies the data once instead of twice.
        """
        shape = self._chunk_shape
        lent: list[ChunkEntry] = []
        rest: list[ChunkCellSelection] = []
        for sel in selections:
            if not covers_chunk(sel, shape):
                rest.append(sel)
                continue
            part = source[sel.array_selection]
            if sel.chunk_axes is not None:
                part = np.transpose(part, np.argsort(sel.chunk_axes))
            if part.shape != shape:
                rest.append(sel)  # e.g. integer terms dropped a dimension: copy
                continue
            entry = self.entry(sel.cell)
            if entry.lend(part, ticket if np.may_share_memory(part, source) else None):
                self._coalesced += 1
            entry.add_ticket(ticket)
            self.pool.update(entry)
            lent.append(entry)
        if rest:
            await super().stage_writes(rest, source, ticket)
        # Only now: a writeback finishing before every part has joined ``ticket``
        # would let the write's commit resolve early.
        self.schedule_writeback(lent)

    async def _write_snapshots(self, snapshots: list[WritebackSnapshot]) -> None:
        io = self._io
        # Called right after the snapshots were taken: their touched inner chunks go with them.
        touched = {id(s): _take_touched(s.entry) for s in snapshots}
        todo = snapshots
        while todo:
            unknown = [
                s
                for s in todo
                if (not s.full and not _has_shard(s.entry)) or _base_unexpected(s)
            ]
            if unknown:
                futures = [(s, self.kvstore.read(s.entry.key)) for s in unknown]
                self._reads += len(futures)
                self._shard_reads += len(futures)
                for snapshot, future in futures:
                    entry = snapshot.entry
                    assert isinstance(entry, ShardEntry)
                    try:
                        result = await future
                    except Exception as exc:
                        snapshot.finish(exc)
                        continue
                    if result.state == "value":
                        try:
                            entry.set_shard(
                                result.buffer, io.shard_index(result.buffer), result.stamp
                            )
                        except DataLossError as exc:
                            entry.forget_stored()
                            snapshot.finish(self._data_loss(entry, exc))
                    else:
                        entry.set_stored(None, result.stamp)
                self._fail_unexpected(unknown)
                todo = [s for s in todo if not s.finished]
            writes: list[_PendingWrite] = []
            retry: list[WritebackSnapshot] = []
            # Each shard's write is issued as soon as it is merged, so that
            # kvstore I/O (fsync) overlaps the merging of the rest.
            await run_jobs(
                [
                    functools.partial(
                        io.merge,
                        None if s.full else _stored_bytes(s.entry),
                        s.pending,
                        s.mask,
                        touched[id(s)],
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

    def _encode_error(self, entry: ChunkEntry, error: Exception) -> Exception:
        return self._data_loss(entry, error) if isinstance(error, DataLossError) else error

    def _stored_value(
        self, entry: ChunkEntry, outcome: object
    ) -> tuple[Value | None, Callable[[TimestampedStorageGeneration], None]]:
        merge = cast("MergeOutcome", outcome)
        self._inner_encoded += merge.encoded
        self._inner_carried += merge.carried
        return merge.data, functools.partial(_install_shard, self._io, entry, merge.data)

    # --- statistics

    def shard_statistics(self) -> ShardCacheStatistics:
        """Inner-chunk level counters, for tests and monitoring."""
        return ShardCacheStatistics(
            index_reads=self._index_reads,
            range_reads=self._range_reads,
            shard_reads=self._shard_reads,
            inner_decoded=self._inner_decoded,
            inner_encoded=self._inner_encoded,
            inner_carried=self._inner_carried,
        )


def _has_shard(entry: ChunkEntry) -> bool:
    """Whether a partial writeback can merge without reading: the shard's bytes (or absence) are known."""
    assert isinstance(entry, ShardEntry)
    return bool(entry.generation) and (entry.missing or entry.encoded is not None)


def _take_touched(entry: ChunkEntry) -> NDArray[np.bool_] | None:
    assert isinstance(entry, ShardEntry)
    return entry.take_touched()


def _stored_bytes(entry: ChunkEntry) -> bytes | memoryview | None:
    assert isinstance(entry, ShardEntry)
    return None if entry.missing else entry.encoded


def _install_shard(
    io: ShardIO, entry: ChunkEntry, data: Value | None, stamp: TimestampedStorageGeneration
) -> None:
    """Record a successful shard writeback in its entry."""
    assert isinstance(entry, ShardEntry)
    if data is None:
        entry.set_stored(None, stamp)
    else:
        entry.set_shard(data, io.shard_index(data), stamp)
