"""Byte ranges requested by a read: ``slice(50, 100)``, ``slice(50, None)``, ``slice(-50, None)``."""

from __future__ import annotations

import operator

import attrs

from ...errors import InvalidArgumentError

__all__ = ["ByteRangeRequest"]


@attrs.frozen
class ByteRangeRequest:
    """A requested byte range, possibly open-ended or relative to the end.

    ``exclusive_max`` of ``None`` means "to the end of the value"; a negative
    ``inclusive_min`` (with no ``exclusive_max``) requests that many final bytes.
    """

    inclusive_min: int = 0
    exclusive_max: int | None = None

    @classmethod
    def from_slice(cls, byte_range: slice | None) -> ByteRangeRequest:
        """Parse the ``byte_range=`` argument of ``KvStore.read`` as TensorStore does.

        Raises:
            InvalidArgumentError: for a step, a negative stop, a negative start
                with a stop, or a stop before the start.
        """
        if byte_range is None:
            return FULL
        if not isinstance(byte_range, slice):
            raise TypeError(
                f"KvStore.read: 'byte_range' must be a slice, got {type(byte_range).__name__}: {byte_range!r}"
            )
        start, stop, step = byte_range.start, byte_range.stop, byte_range.step
        if step is not None:
            raise InvalidArgumentError(
                f"KvStore.read: 'byte_range' slice must not have a step, got {byte_range!r}"
            )
        lo = 0 if start is None else _index(start, byte_range)
        hi = None if stop is None else _index(stop, byte_range)
        if hi is not None and (hi < 0 or lo < 0 or hi < lo):
            raise InvalidArgumentError(
                f"KvStore.read: unsupported 'byte_range' slice {_bound(start)}:{_bound(stop)}"
            )
        if lo == 0 and hi is None:
            return FULL
        return cls(lo, hi)

    @property
    def is_full(self) -> bool:
        """Whether the whole value is requested."""
        return self.inclusive_min == 0 and self.exclusive_max is None

    def resolve(self, size: int, key: bytes) -> tuple[int, int]:
        """The concrete ``(start, stop)`` within a value of ``size`` bytes stored under ``key``.

        Raises:
            InvalidArgumentError: if the range does not lie within the value.
        """
        lo, hi = self.inclusive_min, self.exclusive_max
        if lo < 0:
            lo += size
            if lo < 0:
                raise self._out_of_range(size, key)
        if hi is None:
            if lo > size:
                raise self._out_of_range(size, key)
            return lo, size
        if hi > size:
            raise self._out_of_range(size, key)
        return lo, hi

    def _out_of_range(self, size: int, key: bytes) -> InvalidArgumentError:
        hi = "?" if self.exclusive_max is None else str(self.exclusive_max)
        return InvalidArgumentError(
            f"kvstore: requested byte range [{self.inclusive_min}, {hi}) is not valid "
            f"for value of size {size} of key {key!r}"
        )


def _index(value: object, byte_range: slice) -> int:
    """A byte-range bound: a 64-bit integer, as TensorStore's binding takes it (else TypeError)."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"KvStore.read: 'byte_range' bounds must be integers, got {byte_range!r}")
    index = operator.index(value)
    if not -(1 << 63) <= index < 1 << 63:
        raise TypeError(f"KvStore.read: 'byte_range' bound {index} does not fit in 64 bits")
    return int(index)


def _bound(value: object) -> str:
    return "None" if value is None else str(value)


FULL = ByteRangeRequest()
