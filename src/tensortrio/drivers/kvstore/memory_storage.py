"""The key/value pairs of one ``memory_key_value_store`` context resource.

Every ``memory`` kvstore opened with the same resource shares one
:class:`MemoryStorage`. It is touched only from the runtime thread, by
synchronous methods (no checkpoint inside an operation), so each operation,
and each atomic commit of several, is indivisible.
"""

from __future__ import annotations

import bisect
import time
import weakref
from typing import TYPE_CHECKING

import attrs

from ...errors import FailedPreconditionError
from .byte_range import FULL
from .generation import NO_VALUE, UNKNOWN, TimestampedStorageGeneration, generation_from_values
from .operations import answer_reads
from .read_result import ReadResult

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .key_range import KeyRange
    from .operations import ReadRequest, WriteRequest

__all__ = ["MemoryStorage", "storage_for_resource"]


@attrs.define(eq=False)
class MemoryStorage:
    """Sorted in-memory key/value pairs, each with its storage generation."""

    _values: dict[bytes, tuple[bytes | memoryview, bytes]] = attrs.field(init=False, factory=dict)
    """Each key's value (bytes, or a read-only view written by a chunk cache) and generation."""
    _sorted_keys: list[bytes] | None = attrs.field(init=False, default=None)
    _next_generation: int = attrs.field(init=False, default=0)

    def __len__(self) -> int:
        return len(self._values)

    def generation(self, key: bytes) -> bytes:
        """The current generation of ``key`` (``b"\\x02"`` if missing)."""
        entry = self._values.get(key)
        return NO_VALUE if entry is None else entry[1]

    def read(
        self, key: bytes, requests: Sequence[ReadRequest], now: float | None = None
    ) -> list[ReadResult | Exception]:
        """Answer reads of ``key``; ``now`` (default: the current time) is stamped on the results."""
        entry = self._values.get(key)
        if now is None:
            now = time.time()
        if entry is None:
            stamp = TimestampedStorageGeneration._make(NO_VALUE, now)
            return answer_reads(requests, stamp, None, _no_fetch)
        value, generation = entry
        stamp = TimestampedStorageGeneration._make(generation, now)
        if len(requests) == 1 and requests[0].byte_range.is_full:
            # The common case, without slicing: values are immutable.
            request = requests[0]
            if request.if_not_equal != generation and (
                not request.if_equal or request.if_equal == generation
            ):
                return [ReadResult._make("value", value, stamp)]
        return answer_reads(requests, stamp, len(value), lambda lo, hi: value[lo:hi])

    def read_one(self, request: ReadRequest, now: float) -> ReadResult | Exception:
        """Answer one read, stamped ``now``."""
        entry = self._values.get(request.key)
        if (
            entry is not None
            and request.byte_range is FULL
            and request.if_not_equal != entry[1]
            and (not request.if_equal or request.if_equal == entry[1])
        ):
            # The common case, without slicing: values are immutable.
            return ReadResult._make(
                "value", entry[0], TimestampedStorageGeneration._make(entry[1], now)
            )
        return self.read(request.key, (request,), now)[0]

    def write(
        self, request: WriteRequest, now: float | None = None
    ) -> TimestampedStorageGeneration:
        """Apply one write or delete; generation ``b""`` when ``if_equal`` did not match."""
        if now is None:
            now = time.time()
        key = request.key
        if request.if_equal and request.if_equal != self.generation(key):
            return TimestampedStorageGeneration._make(UNKNOWN, now)
        return TimestampedStorageGeneration._make(self._apply(key, request.value), now)

    def commit_atomic(self, writes: Sequence[WriteRequest]) -> list[TimestampedStorageGeneration]:
        """Apply every write/delete, or none if any ``if_equal`` condition fails.

        Raises:
            FailedPreconditionError: naming each key whose generation did not match.
        """
        failed = [w.key for w in writes if w.if_equal and w.if_equal != self.generation(w.key)]
        if failed:
            names = ", ".join(repr(k) for k in failed)
            raise FailedPreconditionError(
                f"memory: atomic commit aborted, generation mismatch for {names}; nothing was written"
            )
        now = time.time()
        return [TimestampedStorageGeneration(self._apply(w.key, w.value), now) for w in writes]

    def _apply(self, key: bytes, value: bytes | memoryview | None) -> bytes:
        if value is None:
            if self._values.pop(key, None) is not None and self._sorted_keys is not None:
                del self._sorted_keys[bisect.bisect_left(self._sorted_keys, key)]
            return NO_VALUE
        generation = generation_from_values(self._next_generation)
        self._next_generation += 1
        if key not in self._values and self._sorted_keys is not None:
            bisect.insort(self._sorted_keys, key)
        self._values[key] = (value, generation)
        return generation

    def _keys_in(self, range_: KeyRange) -> list[bytes]:
        if self._sorted_keys is None:
            # Built on first listing, then kept up to date by writes.
            self._sorted_keys = sorted(self._values)
        keys = self._sorted_keys
        lo = bisect.bisect_left(keys, range_.inclusive_min)
        hi = bisect.bisect_left(keys, range_.exclusive_max) if range_.exclusive_max else len(keys)
        return keys[lo:hi]

    def list(self, range_: KeyRange) -> list[bytes]:
        """The keys in ``range_``, sorted."""
        return self._keys_in(range_)

    def delete_range(self, range_: KeyRange) -> int:
        """Delete the keys in ``range_``; return how many there were."""
        doomed = self._keys_in(range_)
        for key in doomed:
            del self._values[key]
        if doomed and self._sorted_keys is not None:
            lo = bisect.bisect_left(self._sorted_keys, doomed[0])
            del self._sorted_keys[lo : lo + len(doomed)]
        return len(doomed)


def _no_fetch(start: int, stop: int) -> bytes:
    raise AssertionError("a missing value has no bytes")


_storages: weakref.WeakKeyDictionary[object, MemoryStorage] = weakref.WeakKeyDictionary()


def storage_for_resource(resource: object) -> MemoryStorage:
    """The storage of a ``memory_key_value_store`` resource (created on first use)."""
    storage = _storages.get(resource)
    if storage is None:
        storage = _storages[resource] = MemoryStorage()
    return storage
