"""``ts.KvStore``: a handle on an opened key-value store plus a path prefix.

Every operation goes to the store's KvStore actor (``actors/kvstore.py``) and
returns a ``ts.Future`` at once; ``kv[key]``, ``kv[key] = value`` and
``del kv[key]`` wait for it. Handles made by ``kv / "sub/"``, ``kv + "x"`` or
``copy()`` share the actor; when the last one is gone the actor is closed.

Transactions: ``kv.with_transaction(txn)`` is a handle whose reads and
writes go through the transaction (``transactional.py``); with ``batch=`` a
read starts when the ``ts.Batch`` is submitted.
"""

from __future__ import annotations

import contextlib
import math
import operator
import time
import weakref
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import trio

from ...actors.kvstore import KvStoreActor, ReadOp, TaskOp, WorkerReads, WriteOp
from ...errors import InvalidArgumentError, KeyNotFoundError, UnimplementedError
from ...runtime import Future, Runtime, get_runtime
from ...schema.json_pretty import pretty_repr
from .byte_range import FULL, ByteRangeRequest
from .generation import TimestampedStorageGeneration as _Stamp
from .key_range import KeyRange as _KeyRange
from .key_range import as_key
from .operations import ReadRequest, WriteRequest
from .read_result import ReadResult as _ReadResult
from .spec import KvStoreSpec as _Spec
from .spec import join_path_component

if TYPE_CHECKING:
    import builtins
    from collections.abc import Awaitable, Callable, Sequence

    from ...actors.kvstore import KvStoreStatistics
    from ...actors.transaction import TransactionState
    from ...batch import Batch
    from ...schema.context import Context
    from ...transaction import Transaction
    from .driver import KvStoreDriver

__all__ = ["KvStore"]


def _close_actor(actor: KvStoreActor, runtime: Runtime | None) -> None:
    # Runs when the last handle is collected, on whatever thread that happens.
    # Never starts a runtime: not in a forked child (the actor lived in the
    # parent's runtime), not after the runtime stopped.
    if runtime is None or not actor.in_this_process():
        return
    with contextlib.suppress(RuntimeError, AssertionError):
        runtime.submit(actor.aclose)


@attrs.define(eq=False)
class _ActorLease:
    """Shared by every handle on one actor; its collection closes the actor."""

    actor: KvStoreActor
    runtime: Runtime | None = None
    """The runtime the actor runs in (None when a test runs it in its own nursery)."""
    context: Context | None = None
    """The context the store was opened in (its resources), for ``spec(retain_context=True)``."""

    def __attrs_post_init__(self) -> None:
        finalizer = weakref.finalize(self, _close_actor, self.actor, self.runtime)
        # At interpreter exit the runtime is stopping on its own.
        finalizer.atexit = False


def _failed(error: BaseException) -> Future[Any]:
    future: Future[Any] = Future._pending()
    future._set_exception(error)
    return future


def _as_path(value: str | bytes, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    raise TypeError(f"{what} must be str or bytes, got {type(value).__name__}: {value!r}")


def _as_generation(value: str | bytes | None, what: str) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes | str):
        return as_key(value)
    raise TypeError(f"KvStore: {what!r} must be bytes or None, got {value!r}")


@attrs.define(eq=False, repr=False)
class KvStore:
    """Key-value store that maps an ordered set of byte string keys to byte string values.

    Open one with ``KvStore.open(spec)``; keys are ``str`` or ``bytes`` and
    are appended to ``path`` without a separator.
    """

    Spec: ClassVar[type[_Spec]] = _Spec
    KeyRange: ClassVar[type[_KeyRange]] = _KeyRange
    ReadResult: ClassVar[type[_ReadResult]] = _ReadResult
    TimestampedStorageGeneration: ClassVar[type[_Stamp]] = _Stamp

    # Not iterable (as in TensorStore), although it has __getitem__.
    __iter__: ClassVar[None] = None

    _lease: _ActorLease
    _spec: _Spec
    """The spec the store was opened from (its path is replaced by ``path``)."""
    _path: str
    _transaction: Transaction | None = None
    _prefix: bytes = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._prefix = self._path.encode("utf-8", "surrogateescape")

    # --- opening

    @staticmethod
    def open(
        spec: _Spec | Any,
        *,
        context: Context | None = None,
        transaction: Transaction | None = None,
    ) -> Future[KvStore]:
        """Opens a key-value store from a ``KvStore.Spec``, its JSON or a URL.

        ``context`` supplies shared resources (default: a new default context);
        the spec's own ``context`` member augments it. ``transaction``: the
        store is bound to it, as ``with_transaction`` binds it.

        Raises:
            InvalidArgumentError: at once, for a malformed spec.
            TypeError: at once, ``transaction`` is not a ``ts.Transaction``.
        """
        from ...transaction import check_transaction

        parsed = _Spec.from_json(spec)
        txn = check_transaction(transaction, "KvStore.open")
        return get_runtime().submit(_open, parsed, context, txn)

    # --- accessors

    @property
    def path(self) -> str:
        """Path prefix within the base key-value store."""
        return self._path

    @path.setter
    def path(self, path: str | bytes) -> None:
        text = _as_path(path, "KvStore.path")
        self._spec.driver_spec.normalize_path(text)
        self._path = text
        self._prefix = text.encode("utf-8", "surrogateescape")

    @property
    def transaction(self) -> Transaction | None:
        """Transaction bound to this key-value store (None: non-transactional)."""
        return self._transaction

    def with_transaction(self, transaction: Transaction | None) -> KvStore:
        """Returns a transaction-bound view of this key-value store (same path)."""
        from ...transaction import check_transaction

        txn = check_transaction(transaction, "KvStore.with_transaction")
        bound = self._transaction
        if bound is not None and bound.state.phase != "committed":
            # As TensorStore (and TensorStore.with_transaction): bound until it commits.
            raise InvalidArgumentError(
                "Cannot rebind transaction when existing transaction is uncommitted"
            )
        return KvStore(self._lease, self._spec, self._path, txn)

    @property
    def base(self) -> KvStore | None:
        """Underlying key-value store of an adapter; None for root drivers."""
        return None

    @property
    def url(self) -> str:
        """URL representation of the key-value store specification."""
        return self.spec().url

    @property
    def _actor(self) -> KvStoreActor:
        return self._lease.actor

    @property
    def _driver(self) -> KvStoreDriver:
        return self._lease.actor.driver

    def spec(
        self, *, retain_context: bool | None = None, unbind_context: bool | None = None
    ) -> _Spec:
        """Spec that may be used to re-open the key-value store.

        With ``unbind_context=True`` the spec names the context resources the
        store uses (as new resources of the same kind); with
        ``retain_context=True`` it also stays bound to those resources, so
        that opening it reaches the same store (a memory store's data).
        """
        if retain_context:
            bound = _Spec.from_json(self._bound_json())
            return _Spec.from_parts(bound.driver_spec, bound.path, bound.context, self._lease.context)
        if unbind_context:
            return _Spec.from_json(self._bound_json())
        return _Spec.from_parts(self._spec.driver_spec.strip_context(), self._path)

    def _bound_json(self) -> dict[str, Any]:
        out = dict(self._driver.bound_json())
        if self._path:
            out["path"] = self._path
        return dict(sorted(out.items()))

    def statistics(self) -> KvStoreStatistics:
        """Counters of the store's actor: requests, I/O done, batches (tensortrio extension)."""
        return self._actor.statistics()

    @property
    def keeps_written_values(self) -> bool:
        """Whether a written value object is kept, not dropped once written (tensortrio extension).

        True for the memory driver, which stores the object itself, and for a
        transactional handle, which stages it until the commit. A chunk cache
        may encode chunks for a store that drops them into buffers it reuses.
        """
        return self._transaction is not None or self._driver.keeps_written_values

    def worker_reads(self) -> WorkerReads | None:
        """Reads a worker thread runs itself (read-then-decode jobs of chunk caches); tensortrio extension.

        None when the driver has no blocking reads (memory answers inline
        already), for a transactional handle (its reads must see staged
        writes) and in a process forked from the one that opened the store.
        """
        actor = self._lease.actor
        driver = actor.driver
        limiter = driver.io_limiter
        if (
            not driver.worker_reads
            or limiter is None
            or self._transaction is not None
            or not actor.in_this_process()
        ):
            return None
        return WorkerReads(actor, self._prefix, limiter)

    # --- deriving handles

    def _with_path(self, path: str) -> KvStore:
        self._spec.driver_spec.normalize_path(path)
        return KvStore(self._lease, self._spec, path, self._transaction)

    def __add__(self, suffix: str | bytes) -> KvStore:
        """Returns a key-value store with the suffix appended to the path (no separator)."""
        return self._with_path(self._path + _as_path(suffix, "KvStore + suffix"))

    def __truediv__(self, component: str | bytes) -> KvStore:
        """Returns a key-value store with an additional path component joined to the path."""
        text = _as_path(component, "KvStore / component")
        return self._with_path(join_path_component(self._path, text))

    def copy(self) -> KvStore:
        """Returns a copy of the key-value store (same store, independent ``path``)."""
        return KvStore(self._lease, self._spec, self._path, self._transaction)

    def __copy__(self) -> KvStore:
        return self.copy()

    # --- asynchronous I/O

    def _full_key(self, key: str | bytes) -> bytes:
        raw = as_key(key)
        self._driver.validate_key(self._prefix, raw)
        return self._prefix + raw

    def read(
        self,
        key: str | bytes,
        *,
        if_not_equal: str | bytes | None = None,
        staleness_bound: float | None = None,
        byte_range: slice | None = None,
        batch: Batch | None = None,
    ) -> Future[_ReadResult]:
        """Reads the value of a single key; a missing key gives state ``'missing'``.

        Args:
            key: appended (without any separator) to ``path``.
            if_not_equal: abort (state ``'unspecified'``) if the stored
                generation equals it.
            staleness_bound: seconds since the epoch: results at least this
                recent are acceptable (``inf``, the default: current as of now).
            byte_range: ``slice(50, 100)``, ``slice(None, 100)``,
                ``slice(50, None)`` or ``slice(-50, None)``.
            batch: start the read when this ``ts.Batch`` is submitted.
        """
        if self._transaction is not None or batch is not None:
            return self._read_slow(key, if_not_equal, staleness_bound, byte_range, batch)
        actor = self._lease.actor
        try:
            raw = key.encode("utf-8", "surrogateescape") if type(key) is str else as_key(key)
            actor.driver.validate_key(self._prefix, raw)
            request = ReadRequest(
                self._prefix + raw,
                FULL if byte_range is None else ByteRangeRequest.from_slice(byte_range),
                b"" if if_not_equal is None else _as_generation(if_not_equal, "if_not_equal"),
                b"",
                time.time() if staleness_bound is None else _staleness_bound(staleness_bound),
            )
        except Exception as exc:
            return _failed(exc)
        future: Future[_ReadResult] = Future._pending()
        actor.submit(ReadOp(request, future))
        return future

    def read_many_nowait(
        self, keys: Sequence[str | bytes], if_not_equal: Sequence[bytes]
    ) -> list[_ReadResult | Exception]:
        """``read`` of each of ``keys`` answered at once where the store can (memory), for chunk caches.

        ``if_not_equal``: one generation per key (``b""``: none). Gives each
        key's result, or its own error (an invalid key), in order: one call
        for a whole read's chunks, not a pass through every layer per chunk.

        Raises:
            trio.WouldBlock: the store needs I/O, or operations are queued
                ahead of these: use ``read``. Nothing was read.
        """
        actor = self._lease.actor
        if self._transaction is not None or not actor.driver.inline:
            raise trio.WouldBlock  # before validating keys: ``read`` does that
        now = time.time()
        requests: list[ReadRequest | Exception] = []
        for key, condition in zip(keys, if_not_equal, strict=True):
            try:
                requests.append(ReadRequest(self._full_key(key), FULL, condition, b"", now))
            except Exception as exc:
                requests.append(exc)
        return actor.read_many_nowait(requests)

    def _read_slow(
        self,
        key: str | bytes,
        if_not_equal: str | bytes | None,
        staleness_bound: float | None,
        byte_range: slice | None,
        batch: Batch | None,
    ) -> Future[_ReadResult]:
        """A read through a transaction, or held for a batch."""
        from ...batch import submit_in_batch

        txn = self._transaction
        plain = KvStore(self._lease, self._spec, self._path)
        if txn is not None:
            from .transactional import read_in_transaction

            try:
                staged = read_in_transaction(
                    txn.state, self, key, byte_range, _as_generation(if_not_equal, "if_not_equal")
                )
            except Exception as exc:
                return _failed(exc)
            if staged is not None:
                return Future(staged)

        async def run() -> _ReadResult:
            result = await plain.read(
                key,
                if_not_equal=if_not_equal,
                staleness_bound=staleness_bound,
                byte_range=byte_range,
            )
            if txn is not None and txn.state.repeatable_read:
                from .transactional import record_read

                record_read(txn.state, self, key, result.stamp.generation)
            return result

        return submit_in_batch(batch, run, name="kvstore read", where="KvStore.read")

    def write(
        self, key: str | bytes, value: str | bytes | None, *, if_equal: str | bytes | None = None
    ) -> Future[_Stamp]:
        """Writes (or, with ``value=None``, deletes) a single key.

        Resolves to the new generation once the write is durable; to a stamp
        with generation ``b''`` when ``if_equal`` did not match. Through a
        transaction the write is staged, and ``if_equal`` is checked at commit
        (which then fails, writing nothing more, if the key changed).
        """
        try:
            full = self._full_key(key)
            data = None if value is None else as_key(value, "value")
            condition = _as_generation(if_equal, "if_equal")
            if self._transaction is not None:
                from .transactional import write_in_transaction

                # if_equal holds at commit: the commit fails if the key changed meanwhile.
                staged = write_in_transaction(
                    self._transaction.state, self, key, data, if_equal_at_commit=condition or None
                )
                return Future(staged)
        except Exception as exc:
            return _failed(exc)
        return self._submit_write(WriteRequest(full, data, condition))

    def write_owned(
        self, key: str | bytes, value: bytes | memoryview | None, *, if_equal: bytes = b""
    ) -> Future[_Stamp]:
        """``write``, for chunk caches: ``value`` is stored as given, without a copy.

        ``value`` is ``bytes`` or a read-only byte ``memoryview`` that nobody
        modifies any more; reads may return it as ``ReadResult.buffer``.
        """
        if self._transaction is not None:
            return self.write(key, None if value is None else bytes(value), if_equal=if_equal)
        try:
            full = self._full_key(key)
        except Exception as exc:
            return _failed(exc)
        return self._submit_write(WriteRequest(full, value, if_equal))

    def write_owned_nowait(
        self, key: str | bytes, value: bytes | memoryview | None, *, if_equal: bytes = b""
    ) -> _Stamp:
        """``write_owned`` done at once where the store can (memory), for chunk caches.

        Raises:
            trio.WouldBlock: the store needs I/O, or operations are queued
                ahead of this one: use ``write_owned``.
            Exception: the write's own error.
        """
        actor = self._lease.actor
        if self._transaction is not None or not actor.driver.inline:
            raise trio.WouldBlock  # before validating the key: ``write_owned`` does that
        return actor.write_nowait(WriteRequest(self._full_key(key), value, if_equal))

    def read_full_key(self, full_key: bytes) -> Future[_ReadResult]:
        """``read`` (current as of now) of a key already joined to its path and validated (internal, for commits)."""
        future: Future[_ReadResult] = Future._pending()
        self._lease.actor.submit(ReadOp(ReadRequest(full_key, FULL, b"", b"", time.time()), future))
        return future

    def write_full_key(
        self, full_key: bytes, value: bytes | None, *, if_equal: bytes = b""
    ) -> Future[_Stamp]:
        """``write`` of a key already joined to its path and validated (internal, for commits).

        A transaction stages keys under their full key (validated when
        staged); its commit writes them with this, whatever the handle's path.
        """
        return self._submit_write(WriteRequest(full_key, value, if_equal))

    def _submit_write(self, request: WriteRequest) -> Future[_Stamp]:
        future: Future[_Stamp] = Future._pending()
        self._lease.actor.submit(WriteOp(request, future))
        return future

    def delete_range(self, range: _KeyRange) -> Future[None]:
        """Deletes every key in ``range`` (relative to ``path``).

        Through a transaction, deletes of the keys in the range (stored or
        staged) are staged.
        """
        try:
            relative = _check_range(range, "delete_range")
        except TypeError as exc:
            return _failed(exc)
        if relative.empty:
            return Future(None)
        full = relative.with_prefix(self._prefix)
        driver = self._driver
        try:
            driver.validate_range(full)
        except Exception as exc:
            return _failed(exc)
        txn = self._transaction
        if txn is None:
            return self._task("delete_range", lambda: driver.delete_range(full))
        prefix = len(self._prefix)

        async def stage() -> None:
            from .transactional import write_in_transaction

            for key in _with_staged(txn.state, self._lease.actor, full, await driver.list_keys(full)):
                # Every key in ``full`` starts with this handle's prefix (a file path, say).
                write_in_transaction(txn.state, self, key[prefix:], None)

        return self._task("delete_range", stage)

    def list(
        self,
        range: _KeyRange | None = None,
        strip_prefix_length: int = 0,
    ) -> Future[builtins.list[bytes]]:
        """Lists the keys (relative to ``path``) in ``range``, sorted.

        ``strip_prefix_length`` bytes are removed from the start of each key.
        """
        with contextlib.suppress(TypeError):
            strip_prefix_length = operator.index(strip_prefix_length)  # NumPy integers too
        if not isinstance(strip_prefix_length, int) or not 0 <= strip_prefix_length < 1 << 64:
            # As TensorStore's binding: a size_t, or a TypeError.
            return _failed(
                TypeError(
                    "KvStore.list: strip_prefix_length must be a non-negative integer, "
                    f"got {strip_prefix_length!r}"
                )
            )
        try:
            relative = _KeyRange() if range is None else _check_range(range, "list")
        except TypeError as exc:
            return _failed(exc)
        if relative.empty:
            return Future([])
        full = relative.with_prefix(self._prefix)
        strip = len(self._prefix) + int(strip_prefix_length)
        driver = self._driver
        try:
            driver.validate_range(full)
        except Exception as exc:
            return _failed(exc)

        txn = self._transaction
        if txn is not None and txn.state.repeatable_read:
            # A listing cannot be pinned to generations (TensorStore refuses it too).
            return _failed(
                UnimplementedError(
                    "repeatable_read mode not supported for transactional list operations"
                )
            )

        async def run() -> builtins.list[bytes]:
            keys = await driver.list_keys(full)
            if txn is not None:
                keys = _with_staged(txn.state, self._lease.actor, full, keys)
            return [key[strip:] for key in keys]

        return self._task("list", run)

    def _task(self, kind: str, run: Callable[[], Awaitable[Any]]) -> Future[Any]:
        future: Future[Any] = Future._pending()
        self._lease.actor.submit(TaskOp(kind, run, future))
        return future

    def commit_atomic(
        self,
        writes: Sequence[tuple[str | bytes, str | bytes | memoryview | None, str | bytes | None]],
    ) -> Future[builtins.list[_Stamp]]:
        """Apply ``(key, value_or_None, if_equal)`` writes all-or-nothing (internal, for transactions).

        A ``memoryview`` value is owned, as in ``write_owned``: stored without a copy.

        Fails with FailedPreconditionError (nothing written) if a condition
        does not hold, UnimplementedError if the driver cannot do it.
        """
        try:
            requests = [
                WriteRequest(
                    self._full_key(key),
                    value if value is None or type(value) is memoryview else as_key(value),
                    _as_generation(if_equal, "if_equal"),
                )
                for key, value, if_equal in writes
            ]
        except Exception as exc:
            return _failed(exc)
        driver = self._driver
        return self._task("commit_atomic", lambda: driver.commit_atomic(requests))

    # --- synchronous I/O

    def __getitem__(self, key: str | bytes) -> bytes:
        """Synchronously reads the value of a single key.

        Raises:
            KeyError: if the key is not found.
        """
        result = self.read(key).result()
        if result.state != "value":
            raise KeyNotFoundError(f"kvstore: key {as_key(key)!r} not found (path {self._path!r})")
        return result.value

    def __setitem__(self, key: str | bytes, value: str | bytes | None) -> None:
        """Synchronously writes (``None``: deletes) the value of a single key."""
        self.write(key, value).result()

    def __delitem__(self, key: str | bytes) -> None:
        """Synchronously deletes a single key."""
        self.write(key, None).result()

    def __contains__(self, key: str | bytes) -> bool:
        """Synchronously checks if the given key is present."""
        return self.read(key, byte_range=slice(0, 0)).result().state == "value"

    # --- representation and pickling

    def __repr__(self) -> str:
        return pretty_repr(self._bound_json(), "KvStore(", ")")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_unpickle, (self._bound_json(),))


KvStore.__module__ = "tensortrio"


def _with_staged(
    state: TransactionState, actor: Any, full: _KeyRange, stored: Sequence[bytes]
) -> builtins.list[bytes]:
    """The full keys in ``full`` as ``state`` sees them: ``stored`` with its staged writes and deletes.

    Raises:
      InvalidArgumentError: the transaction is not open.
    """
    keys = set(stored)
    with state.lock:
        state.check_open()
        for key, value in state.keys.get(actor, {}).items():
            if full.contains(key):
                if value is None:
                    keys.discard(key)
                else:
                    keys.add(key)
    return sorted(keys)


def _check_range(value: object, method: str) -> _KeyRange:
    if not isinstance(value, _KeyRange):
        raise TypeError(f"KvStore.{method}: 'range' must be a KvStore.KeyRange, got {value!r}")
    return value


def _staleness_bound(value: float | None) -> float:
    if value is None:
        return time.time()
    bound = float(value)
    if math.isnan(bound):
        raise ValueError("KvStore.read: 'staleness_bound' must not be NaN")
    return time.time() if bound == math.inf else bound


def _unpickle(json: dict[str, Any]) -> KvStore:
    return KvStore.open(json).result()


async def _open(
    spec: _Spec, context: Context | None, transaction: Transaction | None = None
) -> KvStore:
    from ...schema.context import Context

    bound = spec.bound_context
    if bound is None:
        parent = context if context is not None else Context()
        bound = Context(spec.context, parent=parent) if spec.context else parent
    driver = await spec.driver_spec.open(bound)
    actor = KvStoreActor(driver=driver, name=f"kvstore {spec.driver}", mailbox_size=64)
    runtime = get_runtime()
    runtime.start_service(actor.serve, name=f"kvstore {spec.driver}")
    return KvStore(_ActorLease(actor, runtime, bound), spec, spec.path, transaction)
