"""What a kvstore driver provides: a JSON spec, and an opened driver executing batches.

A driver registers a :class:`DriverSpec` subclass under its ``id`` (see
``registry``). ``DriverSpec.open`` binds context resources and returns a
:class:`KvStoreDriver`, which the KvStore actor feeds with batches of
driver-level requests. Keys at this level are full keys: the store's
``path`` is already prepended.
"""

from __future__ import annotations

import abc
import time
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

import attrs

from ...errors import InvalidArgumentError, UnimplementedError
from .operations import ReadRequest

if TYPE_CHECKING:
    from collections.abc import Sequence

    import trio

    from .generation import TimestampedStorageGeneration
    from .key_range import KeyRange
    from .operations import WriteRequest
    from .read_result import ReadResult

__all__ = ["BatchOperation", "BatchOutcome", "DriverSpec", "KvStoreDriver", "ReadGroup"]


@attrs.frozen
class ReadGroup:
    """Reads of one key that the driver answers with one I/O.

    A read with no other read of its key goes to the driver as its bare
    ``ReadRequest`` instead (the common case: no group, tuple and list of
    outcomes per read, which pending reads would keep alive by the thousand).
    """

    key: bytes
    requests: tuple[ReadRequest, ...]


#: One operation of a batch: a read alone, reads of one key, or a write.
BatchOperation: TypeAlias = "ReadRequest | ReadGroup | WriteRequest"

#: Per operation of a batch: a read's result or error (a ``ReadRequest``), the
#: read outcomes of a ``ReadGroup``, or a write's generation or error.
BatchOutcome: TypeAlias = (
    "ReadResult | list[ReadResult | Exception] | TimestampedStorageGeneration | Exception"
)


class DriverSpec(abc.ABC):
    """The driver-specific part of a ``KvStore.Spec`` (every member but ``driver``, ``path``, ``context``).

    Subclasses are ``@attrs.frozen`` and registered with ``register_driver``.
    """

    id: ClassVar[str]

    @classmethod
    @abc.abstractmethod
    def from_json(cls, members: dict[str, Any]) -> DriverSpec:
        """Parse the driver-specific members (the caller removed ``driver``, ``path``, ``context``).

        Raises:
            InvalidArgumentError: naming the offending member.
        """

    @abc.abstractmethod
    def to_json(self, *, include_defaults: bool) -> dict[str, Any]:
        """The driver-specific members, as ``from_json`` accepts them."""

    @abc.abstractmethod
    def strip_context(self) -> DriverSpec:
        """This spec with every context resource member reset to the default."""

    def normalize_path(self, path: str) -> str:
        """Validate and normalise the spec's ``path``; raise InvalidArgumentError if invalid."""
        return path

    def normalize(self, path: str) -> tuple[DriverSpec, str]:
        """The spec and ``path`` as parsed from JSON or a URL, where a member may move into the path.

        (The ``http`` driver moves the path of its ``base_url`` into ``path``.)
        Called once when a spec is parsed; ``normalize_path`` runs on every
        new path.
        """
        return self, path

    def to_url(self, path: str) -> str:
        """The URL of this spec with ``path``.

        Raises:
            InvalidArgumentError: when the spec has no URL form.
        """
        raise InvalidArgumentError(f"{self.id}: this key-value store has no URL representation")

    @abc.abstractmethod
    async def open(self, context: Any) -> KvStoreDriver:
        """Bind context resources and open the driver (on the runtime thread)."""


class KvStoreDriver(abc.ABC):
    """An opened driver: executes batches of requests for the KvStore actor.

    ``inline`` drivers (memory) answer each operation synchronously on the
    runtime thread (``read_now``/``write_now``); ``threaded`` drivers (file)
    execute batches with ``run_batch_blocking`` on worker lanes; the others
    get batches (``run_batch``) awaited in tasks; at most ``concurrency``
    write batches are in flight at once.
    ``worker_reads`` drivers (file) also answer ``read_now`` on a worker
    thread, blocking it: a job that reads a value and then decodes it runs
    as one hop (``actors.kvstore.WorkerReads``).
    ``keeps_written_values`` drivers (memory) keep a written value object as
    the stored value; the others are done with it once it is written.
    """

    inline: ClassVar[bool] = False
    threaded: ClassVar[bool] = False
    worker_reads: ClassVar[bool] = False
    keeps_written_values: ClassVar[bool] = False
    remote: ClassVar[bool] = False
    """Reads are network requests (``http``): the actor runs each read of a
    batch (``run_batch`` of one operation) in a task of its own, cancelled once
    every future waiting for it is (which aborts the request), and allows as
    many read batches in flight as ``concurrency`` (a request waits on the
    network, not the GIL)."""

    @property
    @abc.abstractmethod
    def spec(self) -> DriverSpec:
        """The spec this driver was opened from."""

    @property
    def concurrency(self) -> int:
        """How many batches may be in flight at once."""
        return 1

    def bound_json(self) -> dict[str, Any]:
        """The driver's JSON with its context resources bound (used by ``repr(KvStore)``)."""
        return {"driver": self.spec.id, **self.spec.to_json(include_defaults=False)}

    def validate_key(self, prefix: bytes, key: bytes) -> None:
        """Refuse ``prefix + key`` if the driver cannot store it (InvalidArgumentError naming ``key``)."""
        return None

    def validate_range(self, range_: KeyRange) -> None:
        """Refuse a key range the driver cannot list or delete (InvalidArgumentError)."""
        return None

    @property
    def io_limiter(self) -> trio.CapacityLimiter | None:
        """The limiter bounding this driver's concurrent I/O (``file_io_concurrency``), if any."""
        return None

    def read_now(self, request: ReadRequest, now: float) -> ReadResult | Exception:
        """Answer one read synchronously, stamped ``now``.

        ``inline`` drivers: on the runtime thread. ``worker_reads`` drivers:
        on a worker thread only (it blocks on I/O). Others do not answer here.
        Returns the error instead of raising it, as batch outcomes do.
        """
        return UnimplementedError(f"{self.spec.id}: reads are not executed inline")

    def write_now(self, request: WriteRequest, now: float) -> TimestampedStorageGeneration:
        """Apply one write synchronously, stamped ``now`` (``inline`` drivers only)."""
        raise UnimplementedError(f"{self.spec.id}: writes are not executed inline")

    def run_batch_blocking(self, operations: Sequence[BatchOperation]) -> list[BatchOutcome]:
        """``run_batch`` on a worker thread, blocking it (``threaded`` drivers only)."""
        raise UnimplementedError(f"{self.spec.id}: batches are not executed on worker threads")

    async def run_batch(self, operations: Sequence[BatchOperation]) -> list[BatchOutcome]:
        """Execute a batch in order and return one outcome per operation.

        The default runs ``read_now``/``write_now`` (right for ``inline`` drivers).
        """
        now = time.time()
        outcomes: list[BatchOutcome] = []
        for operation in operations:
            if isinstance(operation, ReadGroup):
                outcomes.append([self.read_now(r, now) for r in operation.requests])
            elif isinstance(operation, ReadRequest):
                outcomes.append(self.read_now(operation, now))
            else:
                try:
                    outcomes.append(self.write_now(operation, now))
                except Exception as exc:
                    outcomes.append(exc)
        return outcomes

    async def aclose(self) -> None:
        """Release what the driver holds (connections); the actor calls it once, when it stops."""
        return None

    @abc.abstractmethod
    async def list_keys(self, range_: KeyRange) -> list[bytes]:
        """The full keys in ``range_``, sorted."""

    @abc.abstractmethod
    async def delete_range(self, range_: KeyRange) -> None:
        """Delete every key in ``range_``."""

    async def commit_atomic(
        self, writes: Sequence[WriteRequest]
    ) -> list[TimestampedStorageGeneration]:
        """Apply conditional writes/deletes all-or-nothing.

        Raises:
            FailedPreconditionError: a condition failed; nothing was written.
            UnimplementedError: the driver cannot commit several keys atomically.
        """
        keys = ", ".join(repr(w.key) for w in writes)
        raise UnimplementedError(
            f"{self.spec.id}: cannot commit writes to several keys atomically ({keys})"
        )
