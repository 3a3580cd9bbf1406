"""What an opened TensorStore driver gives ``ts.TensorStore``, and the driver registry.

A ``TensorStore`` is a driver plus an index transform, a read/write mode and
(later) a transaction. The driver owns the stored array: its metadata, its
caches and its I/O; the transform selects the view. Every coroutine here runs
on the runtime thread; the synchronous members are cheap reads of state that
may be called from any thread.

Drivers register an opener under their ``"driver"`` id with
:func:`register_driver`; ``ts.open`` parses the common spec members into an
:class:`OpenRequest` and hands it to the opener.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Final

import attrs

from ..errors import InvalidArgumentError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    import numpy as np

    from ..actors.transaction import TransactionState
    from ..index import IndexDomain, IndexTransform
    from ..runtime import Promise
    from ..schema.context import Context
    from ..schema.open_mode import OpenMode
    from ..schema.schema import Schema
    from .kvstore import KvStore

__all__ = [
    "Driver",
    "OpenRequest",
    "OpenedDriver",
    "ReadWriteMode",
    "driver_opener",
    "register_driver",
    "registered_driver_ids",
]


@attrs.frozen
class ReadWriteMode:
    """Whether a TensorStore allows reading, writing or both (``mode`` ``'r'``, ``'w'``, ``'rw'``)."""

    read: bool
    write: bool

    @classmethod
    def from_flags(cls, read: bool | None, write: bool | None) -> ReadWriteMode:
        """TensorStore's default: both when neither is asked for (``False`` is not asking), else what is."""
        if not read and not write:
            return cls(True, True)
        return cls(bool(read), bool(write))

    @property
    def mode(self) -> str:
        """``'r'``, ``'w'``, ``'rw'`` or ``''``."""
        return ("r" if self.read else "") + ("w" if self.write else "")


@attrs.frozen
class OpenRequest:
    """Everything ``ts.open`` resolved before the driver opens: spec members and options.

    ``members`` are the spec's driver-specific members (the ones the generic
    code does not know); ``json`` is the whole spec JSON, for error messages.
    """

    driver_id: str
    json: dict[str, Any]
    context: Context
    schema: Schema
    transform: IndexTransform | None
    open_mode: OpenMode
    rw: ReadWriteMode
    kvstore: Any
    """The ``kvstore`` member (JSON, URL, ``KvStore.Spec`` or ``KvStore``), or None."""
    path: str
    """The legacy ``path`` member, joined to the kvstore path."""
    members: dict[str, Any]
    resource_members: dict[str, Any]
    """``cache_pool``, ``metadata_cache_pool``, ``data_copy_concurrency`` members as given."""
    recheck_cached_metadata: Any
    recheck_cached_data: Any
    """``CacheRevalidationBound`` values."""
    fill_missing_data_reads: bool = True
    store_data_equal_to_fill_value: bool = False
    write_requested: bool = False
    """Whether ``write=True`` was asked for (not only the default of reading and writing)."""


class Driver(abc.ABC):
    """An opened array: the base that ``TensorStore`` views through its transform."""

    @property
    @abc.abstractmethod
    def driver_id(self) -> str:
        """The ``"driver"`` id, e.g. ``"zarr"``."""

    @property
    @abc.abstractmethod
    def numpy_dtype(self) -> np.dtype[Any]:
        """The in-memory NumPy dtype of elements."""

    @abc.abstractmethod
    def schema(self) -> Schema:
        """The schema of the stored array as currently known (no I/O)."""

    @abc.abstractmethod
    def base_domain(self) -> IndexDomain:
        """The stored array's domain as currently known (resizable bounds implicit)."""

    @property
    @abc.abstractmethod
    def context(self) -> Context:
        """The context the driver's resources were bound from."""

    @abc.abstractmethod
    def kvstore(self) -> KvStore | None:
        """The key-value store holding the array (at its path), or None."""

    @abc.abstractmethod
    def spec_members(self, *, minimal: bool, unbind_context: bool) -> dict[str, Any]:
        """The spec JSON of the base array, without ``transform`` and ``context``.

        With ``unbind_context`` context resources appear bound (``kvstore``
        members such as ``file_io_sync`` spelled out); ``minimal`` leaves out
        what can be read back from stored metadata.
        """

    def check_source(self, source: np.ndarray) -> None:
        """Refuse values the stored data type cannot hold, before anything is written.

        The default refuses none (the data type's conversion already did).

        Raises:
            ValueError: a value the stored type cannot hold (fixed-length text too long).
        """
        del source  # nothing to refuse here

    def spec_view(
        self, transform: IndexTransform, members: dict[str, Any]
    ) -> tuple[dict[str, Any], IndexTransform]:
        """The members and transform a spec of the view ``transform`` shows (as they are, here).

        A driver whose spec holds its data (``array``) gives the view's data instead.
        """
        return members, transform

    @abc.abstractmethod
    def context_json(self) -> dict[str, Any]:
        """The context resources the driver uses, as a ``"context"`` member."""

    def in_transaction(self, transaction: TransactionState) -> Driver:
        """This driver as operations in ``transaction`` see it (its staged metadata, if any)."""
        return self

    @property
    def adapted(self) -> tuple[Driver, ReadWriteMode] | None:
        """An adapter's base driver and the access it was opened with (``TensorStore.base``).

        None for drivers that adapt no other. The base sees the same
        transforms (an adapter that transforms indices would need more).
        """
        return None

    def base_view(self, transform: IndexTransform) -> tuple[Driver, IndexTransform, ReadWriteMode] | None:
        """What ``TensorStore.base`` is for this driver's view ``transform``: a driver, its
        transform and access; None if the driver adapts no other.

        By default :attr:`adapted`'s base through the same transform.
        """
        adapted = self.adapted
        return None if adapted is None else (adapted[0], transform, adapted[1])

    @property
    def callback_home(self) -> Any:
        """The event loop that runs this driver's coroutine callbacks, or None.

        Blocking on an operation's future in that loop's thread would
        deadlock (the callbacks could never run), so ``result()`` there raises.
        """
        return None

    @property
    def staging_base(self) -> Driver:
        """The driver whose chunks a transaction stages this one's reads and writes in.

        An adapter view names its base and converts with :meth:`to_staged`/
        :meth:`from_staged`, and its transforms with :meth:`to_staged_transform`
        (``cast`` passes them through; a record field maps them to its bytes).
        """
        return self

    def to_staged_transform(self, transform: IndexTransform) -> IndexTransform:
        """``transform`` (resolved, to this driver's dimensions) to :attr:`staging_base`'s."""
        return transform

    def to_staged(self, array: np.ndarray) -> np.ndarray:
        """``array`` (this driver's dtype) as :attr:`staging_base` holds it."""
        return array

    def from_staged(self, array: np.ndarray) -> np.ndarray:
        """``array`` as :attr:`staging_base` holds it, in this driver's dtype."""
        return array

    async def read_in_transaction(
        self, transaction: TransactionState, transform: IndexTransform
    ) -> np.ndarray:
        """Read the resolved ``transform`` as ``transaction`` sees it (its staged writes laid over).

        By default through the chunks of :attr:`staging_base`.

        Raises:
            UnimplementedError: the driver has no chunks a transaction stages (``array``).
        """
        from .transactional_io import read_in_transaction

        staged = await read_in_transaction(transaction, self.staging_base, self.to_staged_transform(transform))
        return self.from_staged(staged)

    def check_stages_writes(self) -> None:
        """Refuse at once a transactional write this driver cannot stage.

        Raises:
            UnimplementedError: the driver has no chunks a transaction stages (``array``).
        """
        from .transactional_io import chunk_cache_of

        chunk_cache_of(self.staging_base, "write")

    async def stage_write(
        self, transaction: TransactionState, transform: IndexTransform, source: np.ndarray
    ) -> None:
        """Stage ``source`` (this driver's dtype, aligned) through the resolved ``transform`` in
        ``transaction``, where its reads see it at once; the commit writes it.

        By default in the chunks of :attr:`staging_base`.
        """
        from .transactional_io import stage_write_in_chunks

        await stage_write_in_chunks(transaction, self, transform, source)

    @property
    def metadata_transaction(self) -> Any:
        """The state of the open transaction that staged this array's metadata, or None.

        Such an array exists only in that transaction until it commits.
        """
        return None

    @abc.abstractmethod
    async def resolve(self, transform: IndexTransform) -> IndexTransform:
        """Revalidate metadata as ``recheck_cached_metadata`` requires; resolve and check bounds.

        Returns ``transform`` with implicit bounds replaced by the stored
        array's current bounds.

        Raises:
            OutOfRangeError: the transform reaches outside the stored array.
        """

    @abc.abstractmethod
    async def read(self, transform: IndexTransform) -> np.ndarray:
        """Read the (resolved, finite) ``transform``'s domain into a C-order array."""

    @abc.abstractmethod
    async def write(
        self, transform: IndexTransform, source: np.ndarray, copied: Promise[None]
    ) -> None:
        """Write ``source`` (shape of the resolved domain, driver dtype) through ``transform``.

        Resolves ``copied`` once ``source`` is no longer read, returns once the
        write is durable.
        """

    @abc.abstractmethod
    async def stored_cells(
        self, transform: IndexTransform, transaction: TransactionState | None = None
    ) -> tuple[int, int]:
        """``(stored, total)`` storage units (chunks) intersecting the resolved ``transform``.

        ``transaction``: count what it staged as its commit would store it.
        """

    @abc.abstractmethod
    async def resize(
        self,
        transform: IndexTransform,
        inclusive_min: Sequence[int | None],
        exclusive_max: Sequence[int | None],
        *,
        resize_metadata_only: bool,
        resize_tied_bounds: bool,
        expand_only: bool,
        shrink_only: bool,
        transaction: TransactionState | None = None,
    ) -> IndexTransform:
        """Persistently resize the array through ``transform``; return the resized view's transform.

        ``transaction``: stage the new metadata there, for its commit to write.
        """


@attrs.frozen
class OpenedDriver:
    """What an opener returns: the driver and the transform of the opened view.

    ``rw``: the access the view allows, where the driver narrows what was asked
    (a read-only view); None keeps what was asked.
    """

    driver: Driver
    transform: IndexTransform
    rw: ReadWriteMode | None = None


_OPENERS: Final[dict[str, Callable[[OpenRequest], Awaitable[OpenedDriver]]]] = {}


def register_driver(
    driver_id: str, opener: Callable[[OpenRequest], Awaitable[OpenedDriver]]
) -> None:
    """Make ``driver_id`` openable by ``ts.open``; the opener runs on the runtime thread."""
    existing = _OPENERS.get(driver_id)
    if existing is not None and existing is not opener:
        raise InvalidArgumentError(f'TensorStore driver "{driver_id}" is already registered')
    _OPENERS[driver_id] = opener


def driver_opener(driver_id: str) -> Callable[[OpenRequest], Awaitable[OpenedDriver]] | None:
    """The opener registered for ``driver_id``, or None."""
    return _OPENERS.get(driver_id)


def registered_driver_ids() -> tuple[str, ...]:
    """Every registered driver id, sorted."""
    return tuple(sorted(_OPENERS))
