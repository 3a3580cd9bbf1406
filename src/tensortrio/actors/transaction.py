"""The state of one transaction: the writes it stages, per chunk and per key, and its phase.

A :class:`TransactionState` is owned by the runtime thread (every method that
touches nodes runs there, each call one atomic step, as an actor's message
handler is); ``ts.Transaction`` is the user's handle on it. It holds:

- *chunk nodes*: for each chunk cache and grid cell written in the
  transaction, a chunk-shaped buffer of the staged values and a mask of the
  elements written (``mask is None``: the whole chunk). Repeated writes to one
  chunk merge into its node, so a commit writes each chunk back once;
- *key nodes*: for each kvstore key written through ``kv.with_transaction``
  or staged by ``ts.open`` (the metadata of an array created in the
  transaction), the staged value (None: delete), and for some keys the
  generation they must still have when the commit writes them (metadata
  created in the transaction must still be absent).

Memory bound: staged data is counted in :attr:`TransactionState.staged_bytes`.
A write that would take it past the transaction's limit — the largest
``cache_pool.total_bytes_limit`` of the stores written in it, or
:data:`DEFAULT_LIMIT_BYTES` when those pools have no limit (TensorStore's
default context) — fails with ``ResourceExhaustedError`` before staging
anything; the transaction stays open with its earlier writes intact, so the
caller can commit what it has and continue in a new transaction. Staged data
is never written back early: that would break isolation (TensorStore holds a
transaction's writes in memory without any bound, which is how its users run
out of memory: tensorstore issues 223 and 235).

Repeatable reads (``repeatable_read=True``): a read through the transaction
records, per chunk it read, the storage generation it found
(:attr:`TransactionState.read_generations`); a later read that finds another
generation fails, and so does the commit, as TensorStore's do (``Generation
mismatch``): every chunk read must still have that generation when the
commit writes it or, if the transaction does not write it, when the commit
checks it.

Atomic transactions: every key written must belong to one kvstore that can
commit several keys atomically (``memory``); a write that adds a second key
on any other kvstore (``file``), or a key of a second kvstore, aborts the
transaction with TensorStore's message ``Cannot read/write ... and read/write
... as single atomic transaction``, before anything is written.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Final

import attrs
import trio

from ..errors import AbortedError, InvalidArgumentError, ResourceExhaustedError

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    from numpy.typing import NDArray

__all__ = ["DEFAULT_LIMIT_BYTES", "ChunkNode", "TransactionState"]

#: Staged bytes allowed when no store written in the transaction has a cache pool limit.
DEFAULT_LIMIT_BYTES: Final = 256 << 20


@attrs.define(eq=False)
class ChunkNode:
    """One chunk's staged writes: ``pending`` values where ``mask`` (None: everywhere)."""

    pending: NDArray[Any]
    mask: NDArray[np.bool_] | None

    def nbytes(self) -> int:
        return self.pending.nbytes + (0 if self.mask is None else self.mask.nbytes)


@attrs.frozen
class StorageTarget:
    """Where a staged write lands: a kvstore (by its actor) and a full key, for atomicity checks."""

    store: object
    key: bytes
    description: str
    multi_key_atomic: bool


@attrs.define(eq=False)
class TransactionState:
    """What a transaction has staged and where it is in its life (see the module docstring)."""

    atomic: bool = False
    repeatable_read: bool = False
    phase: str = "open"
    """``open``, ``committing``, ``committed``, ``failed`` or ``aborted``."""
    chunks: dict[Any, dict[tuple[int, ...], ChunkNode]] = attrs.field(factory=dict)
    """Per chunk cache: staged chunk nodes by grid cell."""
    keys: dict[Any, dict[bytes, bytes | None]] = attrs.field(factory=dict)
    """Per kvstore (by its actor): staged values by full key."""
    read_generations: dict[Any, dict[tuple[int, ...], bytes]] = attrs.field(factory=dict)
    """Per chunk cache (``repeatable_read``): the generation first read of each grid cell."""
    key_conditions: dict[Any, dict[bytes, bytes]] = attrs.field(factory=dict)
    """Per kvstore actor: the generation a staged key must still have at commit (by full key)."""
    key_reads: dict[Any, dict[bytes, bytes]] = attrs.field(factory=dict)
    """Per kvstore actor (``repeatable_read``): the generation first read of each key, by full key."""
    key_roots: dict[Any, Any] = attrs.field(factory=dict)
    """Per kvstore actor: a handle with an empty path, to write full keys with."""
    key_stagings: dict[Any, dict[bytes, int]] = attrs.field(factory=dict)
    """Per kvstore actor: how many values were staged for each key (its staged generation)."""
    staged_bytes: int = 0
    limit_bytes: int = 0
    """The largest cache pool limit seen (0: none yet, :data:`DEFAULT_LIMIT_BYTES` applies)."""
    ops: int = 0
    """Operations started on the transaction and not yet staged: the commit waits for them."""
    _ops_idle: trio.Event | None = attrs.field(init=False, default=None)
    _targets: dict[tuple[int, bytes], StorageTarget] = attrs.field(init=False, factory=dict)
    abort_error: Exception | None = attrs.field(init=False, default=None)
    """Why the transaction aborted itself (None: ``abort()`` was called, or it did not)."""
    lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)
    """Guards ``phase`` and the nodes against ``abort``/``commit_async`` from other threads."""
    on_commit: list[Callable[[], None]] = attrs.field(init=False, factory=list)
    """Called (runtime thread) once everything staged is written: caches learn what changed."""

    # --- phase

    def check_open(self) -> None:
        """Raise unless new operations may use the transaction (TensorStore's messages)."""
        if self.phase == "open":
            return
        if self.phase == "aborted":
            raise InvalidArgumentError("Transaction not open (aborted)")
        # A failed commit too: it started (TensorStore does not call it aborted).
        raise InvalidArgumentError("Transaction not open (commit already started)")

    def check_not_aborted(self) -> None:
        """Raise if the transaction was aborted (an operation started before the commit may finish)."""
        if self.phase in ("aborted", "failed"):
            raise InvalidArgumentError("Transaction not open (aborted)")

    def begin_op(self) -> None:
        """Register an operation about to stage writes (any thread); the commit waits for it.

        Raises:
          InvalidArgumentError: the transaction is not open.
        """
        with self.lock:
            self.check_open()
            self.ops += 1

    def end_op(self) -> None:
        """The operation from ``begin_op`` staged its writes or failed (any thread)."""
        with self.lock:
            self.ops -= 1
            idle = self._ops_idle if self.ops == 0 else None
        if idle is None:
            return
        from ..runtime import get_runtime

        runtime = get_runtime()
        if runtime.in_runtime_thread():
            idle.set()
        else:
            runtime.trio_token.run_sync_soon(idle.set)

    async def wait_ops(self) -> None:
        """Wait until every registered operation ended (runtime thread)."""
        while True:
            with self.lock:
                if self.ops == 0:
                    return
                if self._ops_idle is None or self._ops_idle.is_set():
                    self._ops_idle = trio.Event()
                idle = self._ops_idle
            await idle.wait()

    def abort(self) -> bool:
        """Drop every staged write; False if the commit already started (then nothing changes)."""
        with self.lock:
            if self.phase != "open":
                return self.phase == "aborted"
            self.phase = "aborted"
            self._drop()
            return True

    def target_count(self) -> int:
        """How many distinct keys the transaction writes (known for atomic transactions)."""
        return len(self._targets)

    def _drop(self) -> None:
        self.chunks.clear()
        self.read_generations.clear()
        self.key_reads.clear()
        self.keys.clear()
        self.key_conditions.clear()
        self.key_roots.clear()
        self.key_stagings.clear()
        self._targets.clear()
        self.on_commit = []
        self.staged_bytes = 0

    def start_commit(self) -> bool:
        """Move to ``committing``; False if already committing, done or aborted."""
        with self.lock:
            if self.phase != "open":
                return False
            self.phase = "committing"
            return True

    def finish_commit(self, error: BaseException | None) -> None:
        with self.lock:
            self.phase = "committed" if error is None else "failed"
            hooks = self.on_commit if error is None else []
            self._drop()
        for hook in hooks:
            hook()

    # --- staging

    def effective_limit(self) -> int:
        return self.limit_bytes or DEFAULT_LIMIT_BYTES

    def reserve(self, extra: int, pool_limit: int, where: str) -> None:
        """Account ``extra`` staged bytes, or raise if they would pass the limit (nothing staged).

        Raises:
          ResourceExhaustedError: naming the staged, requested and allowed bytes.
        """
        self.limit_bytes = max(self.limit_bytes, pool_limit)
        limit = self.effective_limit()
        if self.staged_bytes + extra > limit:
            raise ResourceExhaustedError(
                f"{where}: transaction would stage {self.staged_bytes + extra} bytes "
                f"({self.staged_bytes} staged + {extra} for this write), more than its limit of "
                f"{limit} bytes (the cache_pool total_bytes_limit); commit it and continue in a "
                "new transaction, or raise the limit"
            )
        self.staged_bytes += extra

    def claim(self, targets: list[StorageTarget]) -> None:
        """Record the keys a write touches; in an atomic transaction check they can commit together.

        Raises:
          InvalidArgumentError: the keys cannot be committed atomically (the
            transaction is aborted, nothing was written).
        """
        for target in targets:
            ident = (id(target.store), target.key)
            if ident in self._targets:
                continue
            if self.atomic and self._targets:
                first = next(iter(self._targets.values()))
                if first.store is not target.store or not target.multi_key_atomic:
                    self.phase = "aborted"
                    self._drop()
                    self.abort_error = InvalidArgumentError(
                        f"Cannot read/write {first.description} and read/write "
                        f"{target.description} as single atomic transaction"
                    )
                    raise self.abort_error
            self._targets[ident] = target

    def chunk_nodes(self, cache: Any) -> dict[tuple[int, ...], ChunkNode]:
        nodes = self.chunks.get(cache)
        if nodes is None:
            nodes = self.chunks[cache] = {}
        return nodes

    def record_reads(
        self,
        cache: Any,
        generations: dict[tuple[int, ...], bytes],
        targets: Callable[[tuple[int, ...]], StorageTarget],
    ) -> tuple[int, ...] | None:
        """Record the generations a read found (``repeatable_read``); the first cell that changed.

        Cells read before keep their first generation; returns one whose
        generation differs from it (nothing is recorded then), or None. A
        chunk the transaction overwrote whole was not read from storage (the
        read gave the staged values): it is left out, as in TensorStore. In
        an atomic transaction the chunks read join the keys it commits
        (``targets``: where each cell is stored), since their check is part
        of the commit.

        Raises:
          InvalidArgumentError: as :meth:`claim`.
        """
        with self.lock:
            self.check_open()
            nodes = self.chunks.get(cache, {})
            generations = {
                cell: generation
                for cell, generation in generations.items()
                if (node := nodes.get(cell)) is None or node.mask is not None
            }
            recorded = self.read_generations.setdefault(cache, {})
            for cell, generation in generations.items():
                first = recorded.get(cell)
                if first is not None and first != generation:
                    return cell
            if self.atomic:
                self.claim([targets(cell) for cell in generations if cell not in recorded])
            for cell, generation in generations.items():
                recorded.setdefault(cell, generation)
        return None

    def record_key_read(
        self, actor: Any, root: Any, key: bytes, generation: bytes, target: StorageTarget
    ) -> bool:
        """Record the generation a read of ``key`` found (``repeatable_read``); False if it changed.

        ``root``: a handle on the store with an empty path, to check the key
        with at commit; ``target``: where the key is (an atomic transaction
        commits the keys it read). A key read before with another generation
        aborts the transaction, which then fails its commit with the key named.

        Raises:
          InvalidArgumentError: as :meth:`claim`.
        """
        with self.lock:
            self.check_open()
            reads = self.key_reads.setdefault(actor, {})
            first = reads.get(key)
            if first is not None:
                if first == generation:
                    return True
                self.phase = "aborted"
                self._drop()
                self.abort_error = AbortedError(
                    f"Error reading {target.description}: Generation mismatch in "
                    "repeatable_read transaction"
                )
                return False
            if self.atomic:
                self.claim([target])
            reads[key] = generation
            self.key_roots.setdefault(actor, root)
        return True

    def key_nodes(self, store: Any) -> dict[bytes, bytes | None]:
        nodes = self.keys.get(store)
        if nodes is None:
            nodes = self.keys[store] = {}
        return nodes
