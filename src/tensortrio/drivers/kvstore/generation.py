"""Storage generations and ``KvStore.TimestampedStorageGeneration``.

A storage generation is an opaque byte string that changes whenever the value
stored under a key changes. Two values have special meaning, as in TensorStore:
``b""`` (unknown: no condition, or a failed conditional write) and ``b"\\x02"``
(the key has no value). Clean generations produced by a driver start with
``b"\\x00"``.
"""

from __future__ import annotations

import math
import struct

import attrs

from .key_range import as_key

__all__ = [
    "NO_VALUE",
    "UNKNOWN",
    "TimestampedStorageGeneration",
    "generation_from_values",
    "is_no_value",
    "is_unknown",
]

UNKNOWN = b""
NO_VALUE = b"\x02"


def is_unknown(generation: bytes) -> bool:
    """Whether ``generation`` is the unknown generation (no condition / condition failed)."""
    return not generation


def is_no_value(generation: bytes) -> bool:
    """Whether ``generation`` means "the key has no value"."""
    return generation == NO_VALUE


_ONE_VALUE = struct.Struct("<xQ")


def generation_from_values(*values: int) -> bytes:
    """Encode 64-bit integers as a clean generation, byte-compatible with TensorStore.

    TensorStore's ``StorageGeneration::FromValues`` writes a zero tag byte then
    each value little-endian; matching it keeps file generations comparable
    between the two libraries.
    """
    if len(values) == 1:
        return _ONE_VALUE.pack(values[0] & 0xFFFFFFFFFFFFFFFF)
    return b"\x00" + b"".join((v & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little") for v in values)


def _as_generation(value: str | bytes) -> bytes:
    return as_key(value)


def _as_time(value: float) -> float:
    return float(value)


@attrs.frozen(repr=False)
class TimestampedStorageGeneration:
    """Specifies a storage generation identifier and a timestamp.

    ``time`` is seconds since the Unix epoch at which ``generation`` was known
    to be current; ``-inf`` when unspecified.
    """

    generation: bytes = attrs.field(default=b"", converter=_as_generation)
    time: float = attrs.field(default=-math.inf, converter=_as_time)

    @classmethod
    def _make(cls, generation: bytes, time: float) -> TimestampedStorageGeneration:
        """Construct from values already of the right types (skips conversion; hot path)."""
        self = object.__new__(cls)
        object.__setattr__(self, "generation", generation)
        object.__setattr__(self, "time", time)
        return self

    def __copy__(self) -> TimestampedStorageGeneration:
        return self

    def __deepcopy__(self, memo: object) -> TimestampedStorageGeneration:
        return self

    def __repr__(self) -> str:
        return f"KvStore.TimestampedStorageGeneration({self.generation!r}, {self.time:f})"
