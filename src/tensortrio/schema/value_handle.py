"""The mutable handle around one frozen value that ``ChunkLayout``, ``Grid``, ``Schema`` and ``Spec`` are.

TensorStore's ``ChunkLayout``, ``ChunkLayout.Grid``, ``Schema`` and ``Spec`` are
mutable (``update``), unhashable, compare by content and print their JSON. Here
each is a thin handle whose only state is a frozen attrs value that drivers
consume; an update swaps the value, so a failing update changes nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from .json_pretty import pretty_repr

__all__ = ["ValueHandle"]


class _JsonValue(Protocol):
    def to_json(self) -> dict[str, Any]: ...


V = TypeVar("V", bound=_JsonValue)


class ValueHandle(Generic[V]):
    """Base of a mutable handle whose whole state is the frozen value ``_value``.

    Subclasses set ``_REPR_NAME`` (what ``repr`` prints before the JSON).
    """

    __slots__ = ("_value",)
    __hash__ = None  # type: ignore[assignment]  # mutable, like tensorstore's

    _REPR_NAME: ClassVar[str]
    _value: V

    @classmethod
    def _wrap(cls, value: V) -> Self:
        """A handle holding ``value`` (no parsing, no validation)."""
        handle = cls.__new__(cls)
        handle._value = value
        return handle

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self._value == other._value

    def __repr__(self) -> str:
        return pretty_repr(self._value.to_json(), f"{self._REPR_NAME}(", ")")
