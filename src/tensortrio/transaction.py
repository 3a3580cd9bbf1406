"""``ts.Transaction``: stage a group of writes in memory, then commit them together or abort.

Bind stores to a transaction with ``store.with_transaction(txn)``,
``kvstore.with_transaction(txn)`` or ``ts.open(..., transaction=txn)``.
Writes through a bound view are staged in the transaction (reads through it
see them; reads without it do not) until :meth:`Transaction.commit_async`.
``atomic=True`` additionally guarantees that no reader ever sees only part of
the commit; writes that cannot be committed atomically (two keys of a
``file`` kvstore) fail at once and abort the transaction.

Memory: staged data is bounded by the cache pool limit of the stores written
(256 MiB when the pool has no limit); a write past it fails with
``ResourceExhaustedError`` and stages nothing (see ``actors/transaction``).

Use as a context manager (``with`` or ``async with``): the transaction is
committed when the block ends normally and aborted when it raises.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .actors.transaction import TransactionState
from .errors import CancelledError
from .runtime import Future, Promise, get_runtime

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["Transaction"]


class Transaction:
    """Transactions stage a group of modifications in memory, then commit them all or abort.

    Args:
      atomic: require that the commit is atomic (all or nothing).
      repeatable_read: require that repeated reads return the same result:
        a read through the transaction of a chunk (or ``KvStore`` key) that
        changed since the transaction first read it fails (``AbortedError``,
        a ValueError: ``Generation mismatch``), and so does the commit if
        anything read changed before the commit wrote or checked it. In an
        atomic transaction, what was read counts among the keys committed.
    """

    __module__ = "tensortrio"

    def __init__(self, atomic: bool = False, repeatable_read: bool = False) -> None:
        self._state = TransactionState(
            atomic=bool(atomic), repeatable_read=bool(repeatable_read)
        )
        self._promise: Promise[None]
        self._future: Future[None]
        self._promise, self._future = Promise.new()

    def __repr__(self) -> str:
        return f"<tensortrio.Transaction object at {id(self):#x}>"

    # --- accessors

    @property
    def atomic(self) -> bool:
        """Whether the commit is guaranteed atomic."""
        return self._state.atomic

    @property
    def open(self) -> bool:
        """Whether new operations may still use the transaction (neither committing nor aborted)."""
        return self._state.phase == "open"

    @property
    def commit_started(self) -> bool:
        """Whether ``commit_async`` (or ``commit_sync``) has been called."""
        return self._state.phase in ("committing", "committed", "failed")

    @property
    def aborted(self) -> bool:
        """Whether the transaction was aborted (``abort``, an atomicity error); not after a failed commit.

        As in TensorStore: a failed commit leaves it ``commit_started`` and not ``open``.
        """
        return self._state.phase == "aborted"

    @property
    def future(self) -> Future[None]:
        """Resolves when the transaction is committed (to None) or aborted (to an error)."""
        if self._state.phase == "aborted" and not self._future.done():
            self._settle_aborted()
        return self._future

    @property
    def total_bytes(self) -> int:
        """Bytes of staged data the transaction holds (tensortrio extension, as C++ ``total_bytes``)."""
        return self._state.staged_bytes

    # --- operations

    def commit_async(self) -> Future[None]:
        """Asynchronously commits the transaction; no effect if already committing or aborted.

        Returns ``future``: it fails with the commit's error, with
        ``CancelledError`` if the transaction was aborted, or with the error
        that aborted it (an atomic transaction given keys it cannot commit
        together).
        """
        if self._state.start_commit():
            from .actors.transaction_commit import commit_transaction

            promise = self._promise

            async def commit() -> None:
                try:
                    await commit_transaction(self._state)
                except BaseException as exc:
                    promise.set_exception(exc)
                    raise
                promise.set_result(None)

            get_runtime().submit(commit, name="transaction commit")
        elif self._state.phase == "aborted":
            self._settle_aborted()
        return self._future

    def commit_sync(self) -> None:
        """Synchronously commits the transaction (``commit_async().result()``)."""
        self.commit_async().result()

    def abort(self) -> None:
        """Aborts the transaction, dropping its staged writes; no effect once the commit started."""
        if self._state.abort():
            self._settle_aborted()

    def _settle_aborted(self) -> None:
        if self._future.done():
            return
        # A transaction that aborted itself fails its commit with the reason, as TensorStore's does.
        reason = self._state.abort_error
        error = CancelledError("Transaction aborted") if reason is None else copy.copy(reason)
        self._promise.set_exception(error.with_traceback(None))

    # --- binding (for stores)

    @property
    def state(self) -> TransactionState:
        """The staged state (for drivers; runtime thread only)."""
        return self._state

    # --- context managers

    def __enter__(self) -> Transaction:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit_sync()
        else:
            self.abort()

    async def __aenter__(self) -> Transaction:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            await self.commit_async()
        else:
            self.abort()


def check_transaction(transaction: Any, where: str) -> Transaction | None:
    """``transaction`` if it is a ``ts.Transaction`` or None.

    Raises:
      TypeError: naming the argument's type.
    """
    if transaction is None or isinstance(transaction, Transaction):
        return transaction
    raise TypeError(
        f"{where}: transaction must be a ts.Transaction or None, got {type(transaction).__name__}"
    )
