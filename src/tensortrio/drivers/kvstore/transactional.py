"""Reads and writes of a transaction-bound ``ts.KvStore`` (``kv.with_transaction(txn)``).

A write stages the value (None: delete) in the transaction under the full
key and resolves at once (it is then reflected in reads through the
transaction); nothing reaches the store before the commit. A read of a key
staged in the transaction answers from the staged value, with time ``inf``
(the value is not stored yet) and TensorStore's generation of a staged
value: ``0x04`` and the count of values staged for the key, little-endian
in 8 bytes (0 for a staged delete), so that ``if_not_equal`` works within
the transaction; other keys are read from the store. In an atomic
transaction, a write to a second key of a store that cannot commit several
keys atomically (``file``) fails and aborts the transaction, as TensorStore's
does.

In a ``repeatable_read`` transaction, the first read of a key that is not
staged records the generation it found; a later read that finds another one
fails with ``Generation mismatch in repeatable_read transaction`` and aborts
the transaction, as TensorStore's does. The commit writes a key read so only
over that generation, and checks that keys read and not written still have
it (``actors/transaction_commit``).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from ...errors import AbortedError
from .byte_range import ByteRangeRequest
from .generation import TimestampedStorageGeneration
from .read_result import ReadResult

if TYPE_CHECKING:
    from ...actors.transaction import TransactionState
    from .kvstore import KvStore

__all__ = ["read_in_transaction", "record_read", "write_in_transaction"]

_STAGED = b"\x04"
"""First byte of a staged value's generation (TensorStore's "dirty" marker)."""


def _staged_generation(count: int) -> bytes:
    return _STAGED + count.to_bytes(8, "little")


def write_in_transaction(
    state: TransactionState,
    kv: KvStore,
    key: str | bytes,
    value: bytes | None,
    *,
    if_equal_at_commit: bytes | None = None,
    registered: bool = False,
) -> TimestampedStorageGeneration:
    """Stage ``value`` for ``key`` (relative to ``kv.path``) in the transaction.

    ``if_equal_at_commit``: the commit writes the key only if its stored
    generation is still this one (``NO_VALUE``: still absent), and fails
    otherwise; the first staging of a key that gives one sets it.
    ``registered``: the operation called ``state.begin_op()`` while the
    transaction was open, so it may stage even if the commit has started since.

    Raises:
      InvalidArgumentError: the transaction is not open, or (atomic) the key
        cannot be committed atomically with the keys already written.
      ResourceExhaustedError: the staged bytes would pass the transaction's limit.
    """
    from ..transactional_io import kvstore_target
    from .kvstore import KvStore

    full = kv._full_key(key)
    text = full.decode("utf-8", "surrogateescape")
    actor = kv._lease.actor
    with state.lock:
        if registered:
            state.check_not_aborted()
        else:
            state.check_open()
        if state.atomic:
            state.claim([kvstore_target(KvStore(kv._lease, kv._spec, ""), text)])
        nodes = state.key_nodes(actor)
        old = nodes.get(full)
        extra = (0 if value is None else len(value)) - (0 if old is None else len(old))
        state.reserve(max(extra, 0), 0, f"kvstore {text!r}")
        if full not in nodes:
            state.key_roots.setdefault(actor, KvStore(kv._lease, kv._spec, ""))
        nodes[full] = value
        stagings = state.key_stagings.setdefault(actor, {})
        stagings[full] = stagings.get(full, 0) + (value is not None)
        count = stagings[full] if value is not None else 0
        if if_equal_at_commit is not None:
            state.key_conditions.setdefault(actor, {}).setdefault(full, if_equal_at_commit)
    # The staged generation reads in the transaction report, stamped now (as TensorStore's).
    return TimestampedStorageGeneration(_staged_generation(count), time.time())


def read_in_transaction(
    state: TransactionState,
    kv: KvStore,
    key: str | bytes,
    byte_range: slice | None,
    if_not_equal: bytes = b"",
) -> ReadResult | None:
    """The staged value of ``key`` as a read result, or None when the key is not staged.

    ``if_not_equal``: the staged generation the caller has; a match is answered
    ``unspecified`` (not re-sent), as a stored value's would be.

    Raises:
      InvalidArgumentError: the transaction is not open.
    """
    full = kv._full_key(key)
    actor = kv._lease.actor
    with state.lock:
        state.check_open()
        nodes = state.keys.get(actor)
        if nodes is None or full not in nodes:
            return None
        value = nodes[full]
        count = state.key_stagings[actor][full] if value is not None else 0
    stamp = TimestampedStorageGeneration(_staged_generation(count), math.inf)
    if if_not_equal and if_not_equal == stamp.generation:
        return ReadResult._make("unspecified", b"", stamp)
    if value is None:
        return ReadResult._make("missing", b"", stamp)
    if byte_range is not None:
        start, stop = ByteRangeRequest.from_slice(byte_range).resolve(len(value), full)
        value = value[start:stop]
    return ReadResult._make("value", value, stamp)


def record_read(state: TransactionState, kv: KvStore, key: str | bytes, generation: bytes) -> None:
    """Record the stored generation a read of ``key`` found (``repeatable_read``).

    Raises:
      AbortedError: the key had another generation when the transaction
        first read it (the transaction is aborted).
      InvalidArgumentError: the transaction is not open, or (atomic) the key
        cannot be committed atomically with the keys already read or written.
    """
    from ..transactional_io import kvstore_target
    from .kvstore import KvStore

    full = kv._full_key(key)
    root = KvStore(kv._lease, kv._spec, "")
    target = kvstore_target(root, full.decode("utf-8", "surrogateescape"))
    if not state.record_key_read(kv._lease.actor, root, full, generation, target):
        raise AbortedError("Generation mismatch in repeatable_read transaction")
