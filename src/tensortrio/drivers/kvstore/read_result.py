"""``KvStore.ReadResult``: the outcome of one read."""

from __future__ import annotations

from typing import Literal, cast

import attrs

from .generation import TimestampedStorageGeneration
from .key_range import as_key

__all__ = ["ReadResult", "ReadState"]

ReadState = Literal["unspecified", "missing", "value"]
_STATES = ("unspecified", "missing", "value")


def _as_state(state: str) -> ReadState:
    if state not in _STATES:
        raise ValueError(
            f"KvStore.ReadResult: 'state' must be one of 'unspecified', 'missing', 'value', got {state!r}"
        )
    return cast("ReadState", state)


@attrs.frozen(repr=False)
class ReadResult:
    """Specifies the result of a read operation.

    ``state`` is ``'value'`` (``value`` holds the bytes read), ``'missing'``
    (the key has no value) or ``'unspecified'`` (the read was aborted because
    the generation equalled ``if_not_equal``).
    """

    state: ReadState = attrs.field(default="unspecified", converter=_as_state)
    buffer: bytes | memoryview = attrs.field(default=b"", converter=as_key, alias="value")
    """The bytes read as the store holds them: ``bytes``, or a read-only byte
    ``memoryview`` for large values (chunk caches decode from it without a copy)."""
    stamp: TimestampedStorageGeneration = attrs.field(factory=TimestampedStorageGeneration)

    @classmethod
    def _make(
        cls, state: ReadState, value: bytes | memoryview, stamp: TimestampedStorageGeneration
    ) -> ReadResult:
        """Construct from values already of the right types (skips conversion; hot path).

        ``value`` may be a read-only byte ``memoryview`` nobody writes to.
        """
        self = object.__new__(cls)
        object.__setattr__(self, "state", state)
        object.__setattr__(self, "buffer", value)
        object.__setattr__(self, "stamp", stamp)
        return self

    @property
    def value(self) -> bytes:
        """The bytes read (``b""`` unless ``state`` is ``'value'``)."""
        buffer = self.buffer
        return buffer if type(buffer) is bytes else bytes(buffer)

    def __reduce__(self) -> tuple[type[ReadResult], tuple[str, bytes, TimestampedStorageGeneration]]:
        return ReadResult, (self.state, self.value, self.stamp)

    @property
    def has_value(self) -> bool:
        """Whether the read found a value."""
        return self.state == "value"

    def __copy__(self) -> ReadResult:
        return self

    def __deepcopy__(self, memo: object) -> ReadResult:
        return self

    def __repr__(self) -> str:
        return (
            f"KvStore.ReadResult(state={self.state!r}, value={self.value!r}, stamp={self.stamp!r})"
        )
