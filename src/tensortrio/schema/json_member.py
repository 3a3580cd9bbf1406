"""Reading the members of a JSON object with TensorStore's error messages.

Shared by every format's metadata and compressor parsing: a member's error is
prefixed ``Error parsing object member "<name>": ``, a missing required member
says what was expected, and integers may be written as integral floats
(``5.0``), as TensorStore's JSON binding accepts them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, TypeVar

from ..errors import InvalidArgumentError
from ..index.domain import check_rank_in_range
from .chunk_json import json_text

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "NOT_GIVEN",
    "c_double",
    "json_bool",
    "json_each",
    "json_integer_in",
    "json_rank_array",
    "member_error",
    "parse_member",
    "registered_member",
]

T = TypeVar("T")

#: The default of a JSON argument not passed (``None`` is a value: JSON null,
#: which ``ts.Context(None)`` and ``ts.Schema(None)`` refuse, as TensorStore does).
NOT_GIVEN: Final[Any] = object()


def member_error(name: str, detail: object) -> InvalidArgumentError:
    """The error for member ``name``: ``Error parsing object member "<name>": <detail>``."""
    return InvalidArgumentError(f'Error parsing object member "{name}": {detail}')


def parse_member(
    json: Mapping[str, Any], name: str, parse: Callable[[Any], Any], missing: str | None
) -> Any:
    """``parse(json[name])``; absent: None, or (``missing`` given) an error saying it is expected.

    Raises:
        ValueError: ``Error parsing object member "<name>": Expected <missing>, but member
            is missing``, or ``parse``'s error prefixed with the member.
    """
    if name not in json:
        if missing is None:
            return None
        raise member_error(name, f"Expected {missing}, but member is missing")
    try:
        return parse(json[name])
    except InvalidArgumentError as exc:
        raise member_error(name, exc) from None


def json_integer_in(low: int, high: int) -> Callable[[Any], int]:
    """A parser of JSON integers in ``[low, high]`` (integral floats such as ``5.0`` accepted)."""

    def parse(value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return value
        raise InvalidArgumentError(
            f"Expected integer in the range [{low}, {high}], but received: {json_text(value)}"
        )

    return parse


def c_double(text: str) -> float | None:
    """``text`` as C's ``strtod`` reads a whole string (TensorStore's number parsing), or None.

    Decimal or ``0x`` hexadecimal, ``nan`` and ``inf``, surrounding spaces
    allowed; Python's digit separators (``1_0``) are not.
    """
    if "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    if not text.strip().lstrip("+-").lower().startswith("0x"):
        return None  # ``float.fromhex`` would take "abc" for 0xabc
    try:
        return float.fromhex(text)
    except ValueError:
        return None


def json_bool(value: Any) -> bool:
    """A JSON boolean.

    Raises:
        ValueError: ``Expected boolean, but received: <value>``.
    """
    if isinstance(value, bool):
        return value
    raise InvalidArgumentError(f"Expected boolean, but received: {json_text(value)}")


def registered_member(
    json: Mapping[str, Any], name: str, registry: Mapping[str, T]
) -> tuple[str, T]:
    """The string member ``name`` of ``json`` (``"id"``, ``"type"``) and its ``registry`` entry.

    Raises:
        ValueError: missing, not a string, or ``"<value>" is not registered``, prefixed
            with the member.
    """
    if name not in json:
        raise member_error(name, "Expected string, but member is missing")
    value = json[name]
    if not isinstance(value, str):
        raise member_error(name, f"Expected string, but received: {json_text(value)}")
    entry = registry.get(value)
    if entry is None:
        raise member_error(name, f"{json_text(value)} is not registered")
    return value, entry


def json_rank_array(value: Any, rank: int | None) -> list[Any]:
    """A JSON array with one element per dimension (``rank`` of them, if known).

    Raises:
        ValueError: not an array, another length, or more than ``MAX_RANK`` elements.
    """
    if not isinstance(value, list):
        raise InvalidArgumentError(f"Expected array, but received: {json_text(value)}")
    if rank is not None and len(value) != rank:
        raise InvalidArgumentError(f"Array has length {len(value)} but should have length {rank}")
    check_rank_in_range(len(value))
    return value


def json_each(values: list[Any], parse: Callable[[Any], T]) -> tuple[T, ...]:
    """``parse`` applied to each element; an error names the position (``Error parsing value at position 1: ...``)."""
    out = []
    for i, item in enumerate(values):
        try:
            out.append(parse(item))
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Error parsing value at position {i}: {exc}") from None
    return tuple(out)
