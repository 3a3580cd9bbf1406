"""``ts.TensorStore``: an opened array viewed through an index transform.

A ``TensorStore`` is an immutable handle: an opened driver, the index
transform of the view, the read/write mode and (later) a transaction.
Indexing (``store[...]``, ``.oindex``, ``.vindex``, ``ts.d`` expressions,
``.T``, ``translate_to``...) composes the transform and touches no data.
``read()``, ``write()`` and ``resize()`` run on the tensortrio runtime and
return futures awaitable from trio, asyncio or any thread.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np

from ..batch import check_batch, submit_in_batch
from ..errors import (
    AbortedError,
    FailedPreconditionError,
    InvalidArgumentError,
    UnimplementedError,
)
from ..index import IndexDomain, IndexTransform
from ..index.alignment import align_dimensions
from ..index.shortcut import DimExpressionShortcuts
from ..runtime import Future, Promise, WriteFutures, get_runtime
from ..schema.json_pretty import pretty_repr
from .object_source import OBJECT_DTYPES, object_source
from .read_burst import in_read_order

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

    from ..actors.transaction import TransactionState
    from ..schema.chunk_layout import ChunkLayout
    from ..schema.codec_spec import CodecSpec
    from ..schema.schema import Schema
    from ..schema.spec import Spec
    from ..transaction import Transaction
    from .driver import Driver, ReadWriteMode
    from .kvstore import KvStore

__all__ = ["StorageStatistics", "TensorStore"]


def _failed(error: BaseException) -> Future[Any]:
    promise: Promise[Any]
    future: Future[Any]
    promise, future = Promise.new()
    promise.set_exception(error)
    return future


def align_source(
    source: np.ndarray, domain: IndexDomain, source_domain: IndexDomain | None = None
) -> np.ndarray:
    """``source`` arranged and broadcast to ``domain``'s shape, as TensorStore aligns a write source.

    ``source_domain``: the source's own domain (a TensorStore source: its
    labels match dimensions by name); None: an unlabeled domain of
    ``source``'s shape. See :func:`~tensortrio.index.alignment.align_dimensions`.

    Raises:
        InvalidArgumentError: naming the source dimensions that do not align.
    """
    target = tuple(domain.shape)
    if source_domain is None:
        # An unlabeled source that broadcasts right-aligned (the usual case) needs no
        # domain built: a write of many small arrays would pay for it on each.
        given = source.shape
        trailing = target[len(target) - len(given) :] if len(given) <= len(target) else None
        if trailing is not None and all(s in (1, t) for s, t in zip(given, trailing, strict=True)):
            return source if given == target else np.broadcast_to(source, target)
        source_domain = IndexDomain(shape=given)
    matches = align_dimensions(source_domain, domain)
    # Unmatched source dimensions have size 1: reshaping drops them.
    kept = [i for i, j in enumerate(matches) if j >= 0]
    squeezed = source.reshape([source.shape[i] for i in kept])
    by_target = sorted(range(len(kept)), key=lambda k: matches[kept[k]])
    shape = [1] * domain.rank
    for i in kept:
        shape[matches[i]] = source.shape[i]
    arranged = squeezed.transpose(by_target).reshape(shape)
    return arranged if arranged.shape == target else np.broadcast_to(arranged, target)


async def read_aligned_source(source: TensorStore, dtype: Any, domain: IndexDomain) -> np.ndarray:
    """``source``'s data, converted to ``dtype`` (a ``ts.dtype``) and aligned to ``domain``.

    As TensorStore: only conversions it makes implicitly are made (others
    need ``ts.cast``); dimensions align by label and shape.

    Raises:
        InvalidArgumentError: no implicit conversion, or the dimensions do not align.
        Exception: reading the source failed.
    """
    from .cast import can_convert, convert_array, converts_implicitly

    given_dtype = source.dtype
    if given_dtype != dtype:
        if not can_convert(given_dtype, dtype):
            raise InvalidArgumentError(f"Cannot convert {given_dtype.name} -> {dtype.name}")
        if not converts_implicitly(given_dtype, dtype):
            raise InvalidArgumentError(
                f"Explicit data type conversion required to convert {given_dtype.name} -> {dtype.name}"
            )
    data = await source.read()
    given = source.domain
    resolved = IndexDomain(inclusive_min=given.inclusive_min, shape=data.shape, labels=given.labels)
    if given_dtype != dtype:
        data = convert_array(data, given_dtype, dtype)
    return align_source(data, domain, resolved)


def convert_source(
    source: Any, dtype: np.dtype[Any], rank: int | None = None, name: str | None = None
) -> np.ndarray:
    """``source`` as an array of ``dtype``, converting as TensorStore does.

    NumPy arrays convert only under the ``'safe'`` casting rule; anything else
    (Python scalars, lists, NumPy scalars) converts as ``np.asarray(source, dtype)``.
    ``rank``: the most dimensions the source may have (the target's rank).
    ``name``: the TensorStore data type, for those whose elements are Python
    objects (``string``, ``ustring``, ``json``): their elements are checked.

    Raises:
        TypeError: an array whose dtype does not safely cast to ``dtype``, or
            an element not of the ``name`` data type.
        InvalidArgumentError: the source has more than ``rank`` dimensions.
    """
    objects = name in OBJECT_DTYPES
    if dtype.itemsize == 1 and dtype.kind in "SV":
        source = _split_raw_elements(source, dtype.kind)
    if rank is not None and (isinstance(source, np.ndarray) or not objects):
        # (Lists nested deeper than the rank are elements of an object array.)
        given = source if isinstance(source, np.ndarray) else np.asarray(source)
        if given.ndim > rank:
            if rank == 0:
                raise InvalidArgumentError(
                    f"Expected array of rank 0, but received array of rank {given.ndim}"
                )
            if isinstance(source, np.ndarray):
                raise InvalidArgumentError("object too deep for desired array")
            raise InvalidArgumentError(
                "setting an array element with a sequence. The requested array would exceed "
                f"the maximum number of dimension of {rank}."
            )
    if name is not None and objects:
        return object_source(source, name, rank)
    if isinstance(source, np.ndarray):
        if source.dtype == dtype:
            return source
        if not np.can_cast(source.dtype, dtype, "safe"):
            raise TypeError(
                f"Cannot cast array data from {source.dtype!r} to {dtype!r} according to the "
                "rule 'safe'"
            )
        return source.astype(dtype)
    return np.asarray(source, dtype=dtype)


def _split_raw_elements(source: Any, kind: str) -> Any:
    """``bytes`` or an array of ``n``-byte strings (``kind`` ``S``) or raw bytes (``V``) as one-byte
    elements along a new last dimension: what a ``char``/``byte`` array with an inner dimension
    of size ``n`` (zarr ``|S<n>``, ``|V<n>``) holds. Anything else is returned as it is.
    """
    if isinstance(source, bytes) and kind == "S":
        source = np.asarray(source)
    if isinstance(source, np.ndarray) and source.dtype.kind == kind and source.dtype.itemsize > 1:
        contiguous = source if source.flags.c_contiguous else source.copy()
        return contiguous.reshape((*source.shape, 1)).view(f"{kind}1")
    return source


@attrs.frozen(repr=False)
class StorageStatistics:
    """Statistics of the data stored for a TensorStore's domain (``TensorStore.StorageStatistics``).

    ``not_stored``: no element of the domain is stored (None if not queried);
    ``fully_stored``: every element is (None if not queried). For chunked
    drivers a stored chunk counts for all its elements.
    """

    not_stored: bool | None = None
    fully_stored: bool | None = None

    def __repr__(self) -> str:
        return (
            f"TensorStore.StorageStatistics(not_stored={self.not_stored}, "
            f"fully_stored={self.fully_stored})"
        )


_Statistics = StorageStatistics


@attrs.define(eq=False, repr=False)
class TensorStore(DimExpressionShortcuts):
    """Asynchronous multi-dimensional array handle (``ts.TensorStore``).

    Obtain one from ``ts.open``. Views made by indexing share the opened
    driver; ``read``/``write`` return futures.
    """

    StorageStatistics: ClassVar[type[StorageStatistics]] = StorageStatistics
    # Indexing makes views, not elements: without this, ``list(store)`` and
    # ``x in store`` would index 0, 1, ... forever along an implicit bound.
    __iter__: ClassVar[None] = None

    _driver: Driver
    _transform: IndexTransform
    _rw: ReadWriteMode
    _transaction: Transaction | None = None

    __module__: ClassVar[str] = "tensortrio"  # type: ignore[misc]

    # --- views

    def _view(self, transform: IndexTransform) -> TensorStore:
        return TensorStore(self._driver, transform, self._rw, self._transaction)

    def __getitem__(self, key: Any) -> TensorStore:
        """A view by NumPy-style indexing, a ``ts.d`` expression, an IndexTransform or domain."""
        return self._view(self._transform[key])

    @property
    def oindex(self) -> _Indexer:
        """Outer indexing: each index array indexes its own dimension."""
        return _Indexer(self, "oindex")

    @property
    def vindex(self) -> _Indexer:
        """Vectorized indexing: index array dimensions come first."""
        return _Indexer(self, "vindex")

    @property
    def T(self) -> TensorStore:
        """View with the dimension order reversed."""
        return self._view(self._transform.T)

    def transpose(self, axes: Any = None) -> TensorStore:
        """View with transposed domain (``self[ts.d[axes].transpose[:]]``)."""
        return self._view(self._transform.transpose(axes))

    def with_transaction(self, transaction: Any) -> TensorStore:
        """A view bound to ``transaction`` (None: non-transactional) for reads and writes."""
        from ..transaction import check_transaction

        txn = check_transaction(transaction, "TensorStore.with_transaction")
        staged_in = self._driver.metadata_transaction
        if staged_in is not None and (txn is None or txn.state is not staged_in):
            raise FailedPreconditionError(
                "TensorStore.with_transaction: this array was created in a transaction that has "
                "not committed; it exists only in that transaction until the commit"
            )
        bound = self._transaction
        if bound is not None and bound.state.phase != "committed":
            # As TensorStore: a view stays in its transaction until that commits.
            raise InvalidArgumentError(
                "Cannot rebind transaction when existing transaction is uncommitted"
            )
        if txn is bound:
            return self
        return TensorStore(self._driver, self._transform, self._rw, txn)

    # --- properties

    @property
    def domain(self) -> IndexDomain:
        """Domain of the view (implicit bounds shown as stored metadata left them)."""
        return self._transform.domain

    @property
    def rank(self) -> int:
        """Number of dimensions."""
        return self._transform.input_rank

    @property
    def ndim(self) -> int:
        """Alias of ``rank``."""
        return self._transform.input_rank

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the domain."""
        return tuple(self._transform.domain.shape)

    @property
    def origin(self) -> tuple[int, ...]:
        """Inclusive lower bound of the domain."""
        return tuple(self._transform.domain.origin)

    @property
    def size(self) -> int:
        """Total number of elements in the domain."""
        return int(self._transform.domain.size)

    @property
    def dtype(self) -> Any:
        """Data type of the array (``ts.dtype``)."""
        return self._driver.schema().dtype

    @property
    def schema(self) -> Schema:
        """Schema of the view: domain, dtype, chunk layout, codec, fill value, units."""
        from ..schema.schema_transform import transform_schema

        return transform_schema(self._driver.schema(), self._transform)

    @property
    def chunk_layout(self) -> ChunkLayout:
        """Chunk layout of the view."""
        layout: ChunkLayout = self.schema.chunk_layout
        if layout.rank < 0:
            # A rank-0 view's layout has no vector to carry its rank: TensorStore still gives it.
            layout.update(rank=self.rank)
        return layout

    @property
    def codec(self) -> CodecSpec | None:
        """Codec of the stored array."""
        codec: CodecSpec | None = self._driver.schema().codec
        return codec

    @property
    def fill_value(self) -> np.ndarray | None:
        """Fill value of the stored array, or None if it has none."""
        fill: np.ndarray | None = self._driver.schema().fill_value
        return fill

    @property
    def dimension_units(self) -> tuple[Any, ...]:
        """Physical unit of each dimension of the view (None: unknown), as its ``schema`` has them."""
        units = self.schema.dimension_units
        return tuple(units) if units is not None else (None,) * self.rank

    @property
    def kvstore(self) -> KvStore | None:
        """The key-value store holding the array, at the array's path."""
        return self._driver.kvstore()

    @property
    def url(self) -> str:
        """URL representation of the spec."""
        url: str = self.spec().url
        return url

    @property
    def mode(self) -> str:
        """``'r'``, ``'w'`` or ``'rw'``."""
        return self._rw.mode

    @property
    def readable(self) -> bool:
        """Whether reading is allowed."""
        return self._rw.read

    @property
    def writable(self) -> bool:
        """Whether writing is allowed."""
        return self._rw.write

    @property
    def transaction(self) -> Transaction | None:
        """Associated transaction used for read/write operations."""
        return self._transaction

    @property
    def base(self) -> TensorStore | None:
        """The TensorStore an adapter (``ts.cast``, ``ts.downsample``) views; else None."""
        view = self._driver.base_view(self._transform)
        if view is None:
            return None
        driver, transform, rw = view
        return TensorStore(driver, transform, rw, self._transaction)

    # --- spec and repr

    def _json(self, *, minimal: bool, unbind_context: bool) -> dict[str, Any]:
        members = self._driver.spec_members(minimal=minimal, unbind_context=unbind_context)
        out, transform = self._driver.spec_view(self._spec_transform(), members)
        out["transform"] = transform.to_json()
        if unbind_context:
            out["context"] = self._driver.context_json()
        return dict(sorted(out.items()))

    def _spec_transform(self) -> IndexTransform:
        """The transform a spec shows: implicit bounds as the metadata known now has them.

        As TensorStore's: after a resize through another handle, the spec
        follows the stored shape. No I/O; a view the metadata no longer
        contains keeps its own bounds.
        """
        from ..index.resolve import resolve_bounds

        try:
            resolved = resolve_bounds(self._driver.base_domain(), self._transform)
        except (InvalidArgumentError, IndexError):
            return self._transform
        return _keep_implicit(resolved, self._transform)

    def spec(
        self,
        *,
        open_mode: Any = None,
        open: bool | None = None,
        create: bool | None = None,
        delete_existing: bool | None = None,
        assume_metadata: bool | None = None,
        assume_cached_metadata: bool | None = None,
        minimal_spec: bool | None = None,
        retain_context: bool | None = None,
        unbind_context: bool | None = None,
        recheck_cached_metadata: Any = None,
        recheck_cached_data: Any = None,
        recheck_cached: Any = None,
    ) -> Spec:
        """Spec that may be used to re-open or re-create the TensorStore.

        ``minimal_spec`` leaves out what stored metadata supplies;
        ``unbind_context`` includes the context resources the store uses as
        JSON; ``retain_context`` binds the spec to the store's context itself,
        so ``ts.open(spec)`` shares its resources. The open-mode and
        ``recheck_cached*`` options are applied as ``Spec.update`` does.
        """
        from ..schema.spec import Spec as _Spec

        if retain_context:
            # Bound to the store's own context: opening the spec shares the store's
            # resources, e.g. its memory store and caches.
            # Its JSON is the unbound one (resource members included, as TensorStore shows them).
            members = self._json(minimal=bool(minimal_spec), unbind_context=True)
            members.pop("context", None)
            spec = _Spec(members).bound_to_store(self._driver.context, self._driver.context_json())
        else:
            spec = _Spec(
                self._json(minimal=bool(minimal_spec), unbind_context=bool(unbind_context))
            )
        options = {
            "open_mode": open_mode,
            "open": open,
            "create": create,
            "delete_existing": delete_existing,
            "assume_metadata": assume_metadata,
            "assume_cached_metadata": assume_cached_metadata,
            "recheck_cached_metadata": recheck_cached_metadata,
            "recheck_cached_data": recheck_cached_data,
            "recheck_cached": recheck_cached,
        }
        given = {k: v for k, v in options.items() if v is not None}
        if given:
            spec.update(**given)
        return spec

    def __repr__(self) -> str:
        try:
            json = self._json(minimal=False, unbind_context=True)
        except UnimplementedError:
            return "TensorStore(...)"  # as TensorStore: a driver without a JSON spec
        return pretty_repr(json, "TensorStore(", ")")

    def __reduce__(self) -> tuple[Any, ...]:
        if self._transaction is not None:
            # Its staged writes cannot travel with it (TensorStore refuses too).
            raise InvalidArgumentError("Cannot serialize TensorStore with bound transaction")
        # Drivers whose state is not (only) JSON (in-memory arrays, callbacks) pickle themselves.
        reduce_store = getattr(self._driver, "reduce_store", None)
        if reduce_store is not None:
            reduced: tuple[Any, ...] = reduce_store(self._transform, self._rw)
            return reduced
        json = self._json(minimal=False, unbind_context=True)
        return (_unpickle, (json, self._rw.read, self._rw.write))

    # --- I/O

    def read(self, *, order: str = "C", batch: Any = None) -> Future[np.ndarray]:
        """Reads the data within the current domain into a new NumPy array.

        Args:
            order: ``'C'`` or ``'F'``, the memory layout of the result.

        Raises (on the future):
            ValueError: the store was opened without read access.
            OutOfRangeError: the view reaches outside the stored array.
        """
        return self._homed(self._read_future(order, batch))

    def _homed(self, future: Future[Any]) -> Future[Any]:
        """``future``, which blocking on in the thread of the loop that runs the driver's
        coroutine callbacks would deadlock: ``result()`` there raises instead."""
        home = self._driver.callback_home
        if home is not None:
            future._home = home
        return future

    def _read_future(self, order: str, batch: Any) -> Future[np.ndarray]:
        if order not in ("C", "F"):
            raise TypeError("`order` must be specified as 'C' or 'F'")
        if not self._rw.read:
            return _failed(InvalidArgumentError("Source does not support reading."))
        if self._transaction is not None:
            from .transactional_io import read_in_transaction_op

            return submit_in_batch(
                batch,
                read_in_transaction_op,
                self._transaction.state,
                self._driver,
                self._transform,
                order,
                name="read",
                where="TensorStore.read",
            )
        burst = getattr(self._driver, "read_burst", None)
        if burst is not None:
            # Reads issued together share their chunk loads (see drivers/read_burst.py).
            checked = check_batch(batch, "TensorStore.read")
            future: Future[np.ndarray] = burst.submit(self._driver, self._transform, order, checked)
            return future
        return submit_in_batch(
            batch, _read, self._driver, self._transform, order, name="read", where="TensorStore.read"
        )

    def write(
        self,
        source: Any,
        *,
        batch: Any = None,
        can_reference_source_data_indefinitely: bool | None = None,
    ) -> WriteFutures:
        """Writes ``source`` (broadcast to the domain, converted to ``dtype``) to the view.

        ``copy`` resolves once the source may be reused, ``commit`` (and the
        handle itself) once the data is durable.

        Raises:
            TypeError: a NumPy array whose dtype cannot be cast safely.
            ValueError: the source shape does not broadcast to the domain (naming
                the dimensions), or the store was opened without write access.
        """
        futures = self._write_futures(source, batch)
        self._homed(futures.copy)
        self._homed(futures.commit)
        return futures

    def _write_futures(self, source: Any, batch: Any) -> WriteFutures:
        if batch is not None:
            # Writes read nothing a batch could coalesce: they start at once
            # (even with a submitted batch, as in tensorstore).
            check_batch(batch, "TensorStore.write", submitted_ok=True)
            if not isinstance(source, TensorStore):
                raise InvalidArgumentError(
                    "Invalid batch: batch can only be specified when copying from a TensorStore source"
                )
        if not self._rw.write:
            error = InvalidArgumentError("Destination does not support writing.")
            return WriteFutures(_failed(error), _failed(error))
        copy_promise: Promise[None]
        copy_future: Future[None]
        copy_promise, copy_future = Promise.new()
        txn_error = self._begin_transactional_write()
        if txn_error is not None:
            return WriteFutures(_failed(txn_error), _failed(txn_error))
        if isinstance(source, TensorStore):
            if self._transaction is not None:
                from .transactional_io import write_in_transaction_op

                return _issue_write(
                    copy_future,
                    write_in_transaction_op,
                    self._transaction.state,
                    self._driver,
                    self._transform,
                    source,
                    copy_promise,
                )
            return _issue_write(
                copy_future, _write_from_store, self._driver, self._transform, source, copy_promise
            )
        try:
            numpy_dtype = self._driver.numpy_dtype
            name = self.dtype.name if numpy_dtype.kind == "O" else None
            array = convert_source(source, numpy_dtype, self._transform.input_rank, name)
            self._driver.check_source(array)
        except BaseException:
            if self._transaction is not None:
                self._transaction.state.end_op()
            raise
        if self._transaction is None:
            # Aligned once the view is resolved (see _write).
            return _issue_write(
                copy_future, _write, self._driver, self._transform, array, copy_promise
            )
        try:
            array = align_source(array, self._transform.domain)
        except InvalidArgumentError as exc:
            # As TensorStore: a source that converts but does not align fails the futures.
            self._transaction.state.end_op()
            return WriteFutures(_failed(exc), _failed(exc))
        from .transactional_io import stage_write_now, write_in_transaction_op

        state = self._transaction.state
        try:
            staged = stage_write_now(state, self._driver, self._transform, array)
        except Exception as exc:
            state.end_op()
            return WriteFutures(_failed(exc), _failed(exc))
        if staged:
            state.end_op()
            return WriteFutures(Future(None), Future(None))
        return _issue_write(
            copy_future,
            write_in_transaction_op,
            state,
            self._driver,
            self._transform,
            array,
            copy_promise,
        )

    def _begin_transactional_write(self) -> Exception | None:
        """Register a write with the bound transaction (its commit waits for it), or the error."""
        if self._transaction is None:
            return None
        try:
            self._transaction.state.begin_op()
        except Exception as exc:
            return exc
        return None

    def astype(self, dtype: Any) -> TensorStore:
        """A read/write view with the data type converted (``ts.cast(self, dtype)``)."""
        from .cast import cast

        view: TensorStore = cast(self, dtype)
        return view

    def __setitem__(self, key: Any, value: Any) -> None:
        """Synchronously writes ``value`` to ``self[key]``."""
        self[key].write(value).result()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """Synchronously reads the whole view (for ``np.asarray(store)``)."""
        array = self.read().result()
        if dtype is not None and np.dtype(dtype) != array.dtype:
            return array.astype(dtype)
        return array

    def resize(
        self,
        inclusive_min: Iterable[int | None] | None = None,
        exclusive_max: Iterable[int | None] | None = None,
        resize_metadata_only: bool = False,
        resize_tied_bounds: bool = False,
        expand_only: bool = False,
        shrink_only: bool = False,
    ) -> Future[TensorStore]:
        """Resizes the current domain, persistently modifying the stored metadata.

        ``None`` entries (or omitting an argument) leave a bound unchanged.
        Shrinking deletes chunks entirely outside the new bounds unless
        ``resize_metadata_only``. Resolves to the resized view.
        """
        rank = self.rank
        lo = _bounds("inclusive_min", [None] * rank if inclusive_min is None else inclusive_min)
        hi = _bounds("exclusive_max", [None] * rank if exclusive_max is None else exclusive_max)
        if len(lo) != rank or len(hi) != rank:
            raise InvalidArgumentError(f"inclusive_min and exclusive_max must have rank {rank}")
        if not self._rw.write:
            return _failed(InvalidArgumentError("Resize requires write access."))
        txn_error = self._begin_transactional_write()
        if txn_error is not None:
            return _failed(txn_error)
        return get_runtime().submit(
            _resize,
            self,
            lo,
            hi,
            (resize_metadata_only, resize_tied_bounds, expand_only, shrink_only),
            name="resize",
        )

    def storage_statistics(
        self, *, query_not_stored: bool = False, query_fully_stored: bool = False
    ) -> Future[_Statistics]:
        """Statistics of the data stored for the domain; only what is queried is computed.

        ``query_not_stored``: whether no element of the domain is stored;
        ``query_fully_stored``: whether every element is (one existence check
        per chunk the domain touches).
        """
        if not (query_not_stored or query_fully_stored):
            return Future(StorageStatistics())
        txn = self._transaction
        return get_runtime().submit(
            _storage_statistics,
            self._driver,
            self._transform,
            None if txn is None else txn.state,
            query_not_stored,
            query_fully_stored,
            name="storage_statistics",
        )

    def resolve(self, fix_resizable_bounds: bool = False, batch: Any = None) -> Future[TensorStore]:
        """Resolves the view's implicit bounds against the current stored metadata."""

        return submit_in_batch(
            batch, _resolve, self, fix_resizable_bounds, name="resolve", where="TensorStore.resolve"
        )


TensorStore.__module__ = "tensortrio"


@attrs.frozen
class _Indexer:
    store: TensorStore
    mode: str

    def __getitem__(self, key: Any) -> TensorStore:
        transform = getattr(self.store._transform, self.mode)[key]
        return self.store._view(transform)

    def __setitem__(self, key: Any, value: Any) -> None:
        """Synchronously writes ``value`` to ``store.oindex[key]`` / ``store.vindex[key]``."""
        self[key].write(value).result()


async def _read(driver: Driver, transform: IndexTransform, order: str) -> np.ndarray:
    resolved = await driver.resolve(transform)
    array = await driver.read(resolved)
    return in_read_order(array, order)


def _issue_write(
    copy: Future[None], operation: Callable[..., Awaitable[None]], *args: Any
) -> WriteFutures:
    """Start the write ``operation(*args)`` on the runtime; its futures (``copy``, then the commit).

    The commit future handed out only follows the operation's: cancelling it
    stops the caller waiting. As in tensorstore, a write once issued is
    carried out, and its copy future resolves, whatever happens to the commit
    future (a write cancelled before it started used to be dropped, failing
    its copy future); nothing can cancel the operation's own scope.
    """
    operation_future: Future[None] = get_runtime().submit(operation, *args, name="write")
    commit: Future[None] = Future._pending()

    def forward(done: Future[None]) -> None:
        if done.cancelled():  # the runtime stopped
            commit.cancel()
            return
        error = done.exception()
        if error is None:
            commit._set_result(None)
        else:
            commit._set_exception(error)

    operation_future._on_done(forward)
    return WriteFutures(copy, commit)


async def _write(
    driver: Driver, transform: IndexTransform, source: np.ndarray, copy: Promise[None]
) -> None:
    """Write ``source`` (converted, not yet aligned) through ``transform``.

    The source is aligned to the *resolved* domain, as tensorstore aligns it:
    another handle may have resized the array since this view was made, and a
    scalar or a source of the new shape must then fill the new bounds. A source
    that does not align fails both futures.
    """
    try:
        resolved = await driver.resolve(transform)
        array = align_source(source, resolved.domain)
    except BaseException as exc:
        copy.set_exception(exc if isinstance(exc, Exception) else AbortedError("write cancelled"))
        raise
    await driver.write(resolved, array, copy)


async def _write_from_store(
    driver: Driver, transform: IndexTransform, source: TensorStore, copy: Promise[None]
) -> None:
    try:
        array = await read_aligned_source(source, driver.schema().dtype, transform.domain)
    except BaseException as exc:
        copy.set_exception(exc if isinstance(exc, Exception) else AbortedError("write cancelled"))
        raise
    await _write(driver, transform, array, copy)


async def _storage_statistics(
    driver: Driver,
    transform: IndexTransform,
    transaction: TransactionState | None,
    not_stored: bool,
    fully_stored: bool,
) -> StorageStatistics:
    if transaction is not None:
        driver = driver.in_transaction(transaction)
    resolved = await driver.resolve(transform)
    stored, total = await driver.stored_cells(resolved, transaction)
    return StorageStatistics(
        not_stored=(stored == 0) if not_stored else None,
        fully_stored=(stored == total) if fully_stored else None,
    )


async def _resize(
    store: TensorStore,
    inclusive_min: list[int | None],
    exclusive_max: list[int | None],
    flags: tuple[bool, bool, bool, bool],
) -> TensorStore:
    metadata_only, tied, expand_only, shrink_only = flags
    state = None if store._transaction is None else store._transaction.state
    try:
        driver = store._driver if state is None else store._driver.in_transaction(state)
        transform = await driver.resize(
            store._transform,
            inclusive_min,
            exclusive_max,
            resize_metadata_only=metadata_only,
            resize_tied_bounds=tied,
            expand_only=expand_only,
            shrink_only=shrink_only,
            transaction=state,
        )
        # Implicit bounds come from the resized array (as TensorStore resolves them):
        # another handle may have changed a dimension this view still had at its old extent.
        if state is not None:
            driver = store._driver.in_transaction(state)  # (the resize may have staged new metadata)
        resolved = _keep_implicit(await driver.resolve(transform), transform)
    finally:
        if state is not None:
            state.end_op()
    return store._view(resolved)


async def _resolve(store: TensorStore, fix_resizable_bounds: bool) -> TensorStore:
    driver = store._driver
    if store._transaction is not None:
        driver = driver.in_transaction(store._transaction.state)
    resolved = await driver.resolve(store._transform)
    if fix_resizable_bounds:
        return store._view(resolved)
    return store._view(_keep_implicit(resolved, store._transform))


def _bounds(name: str, values: Iterable[Any]) -> list[int | None]:
    """``resize`` bounds as Python ints or None, checked before anything changes.

    Raises:
        TypeError: a bound that is not an integer (``1.5``, ``"3"``, ``True``)
            or does not fit in 64 bits, naming it.
    """
    out: list[int | None] = []
    for i, value in enumerate(values):
        if value is None:
            out.append(None)
            continue
        try:
            if isinstance(value, bool | np.bool_):
                raise TypeError
            bound = operator.index(value)
        except TypeError:
            raise TypeError(
                f"resize: {name}[{i}] must be an integer or None, got {value!r}"
            ) from None
        if not -(2**63) <= bound < 2**63:
            raise TypeError(f"resize: {name}[{i}] = {bound} does not fit in a 64-bit integer")
        out.append(bound)
    return out


def _keep_implicit(resolved: IndexTransform, original: IndexTransform) -> IndexTransform:
    """``resolved``'s bounds with ``original``'s implicit flags (and labels)."""
    dims = [
        type(r).make(r.inclusive_min, r.exclusive_max, o.implicit_lower, o.implicit_upper, o.label)
        for r, o in zip(resolved.domain, original.domain, strict=True)
    ]
    return IndexTransform.make(IndexDomain.from_dims(dims), resolved.maps)


def _unpickle(json: dict[str, Any], read: bool, write: bool) -> TensorStore:
    from .open import open as _open

    # As TensorStore: the copy trusts the pickled metadata instead of re-reading it
    # (the stored metadata is still read by operations that revalidate or resize).
    return _open(json, read=read, write=write, open=True, assume_cached_metadata=True).result()
