"""Reading the JSON members of ``ChunkLayout`` with TensorStore's error messages.

Messages match TensorStore's JSON binding errors, e.g.
``Error parsing value at position 1: Expected 64-bit signed integer, but received: "a"``;
callers prefix the member path (``Error parsing object member "shape": ...``).
"""

from __future__ import annotations

import json as _json
import math
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgumentError
from ..index.interval import INT64_MAX, INT64_MIN

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "check_known_members",
    "expect_object",
    "json_float_vector",
    "json_int",
    "json_int_vector",
    "json_ranged_int",
    "json_text",
]



def json_text(value: Any) -> str:
    """Render ``value`` compactly as JSON, as TensorStore quotes it in errors."""
    try:
        return _json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return "null"
    except TypeError:
        return repr(value)


def expect_object(value: Any, members: Iterable[str]) -> dict[str, Any]:
    """Check ``value`` is a JSON object with no members outside ``members``."""
    if not isinstance(value, dict):
        raise InvalidArgumentError(f"Expected object, but received: {json_text(value)}")
    check_known_members(value, members)
    return value


def check_known_members(value: Mapping[str, Any], members: Iterable[str]) -> None:
    """Check the object ``value`` has no members outside ``members``.

    Raises:
        ValueError: ``Object includes extra members: "a", "b"`` (in the object's order).
    """
    known = set(members)
    extra = [k for k in value if k not in known]
    if extra:
        names = ", ".join(json_text(k) for k in extra)
        raise InvalidArgumentError(f"Object includes extra members: {names}")


def json_int(value: Any) -> int:
    """A JSON 64-bit signed integer (an integral float such as ``2.0`` is accepted)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if INT64_MIN <= value <= INT64_MAX:
            return value
    elif (
        isinstance(value, float)
        and math.isfinite(value)
        and value.is_integer()
        and INT64_MIN <= value <= INT64_MAX
    ):
        return int(value)
    raise InvalidArgumentError(f"Expected 64-bit signed integer, but received: {json_text(value)}")


def json_ranged_int(value: Any, low: int, high: int) -> int:
    """A JSON integer in ``[low, high]`` (an integral float such as ``2.0`` too, as TensorStore)."""
    if isinstance(value, float) and value.is_integer() and low <= value <= high:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    raise InvalidArgumentError(
        f"Expected integer in the range [{low}, {high}], but received: {json_text(value)}"
    )


def _expect_array(value: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise InvalidArgumentError(f"Expected array, but received: {json_text(value)}")
    return list(value)


def json_int_vector(value: Any, none_as: int | None) -> tuple[Any, ...]:
    """A JSON array of integers or ``null`` (``null`` becomes ``none_as``)."""
    out: list[Any] = []
    for i, item in enumerate(_expect_array(value)):
        if item is None:
            out.append(none_as)
            continue
        try:
            out.append(json_int(item))
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Error parsing value at position {i}: {exc}") from None
    return tuple(out)


def json_ranged_int_vector(value: Any, low: int, high: int) -> tuple[int, ...]:
    """A JSON array of integers in ``[low, high]``."""
    out: list[int] = []
    for i, item in enumerate(_expect_array(value)):
        try:
            out.append(json_ranged_int(item, low, high))
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Error parsing value at position {i}: {exc}") from None
    return tuple(out)


def json_float_vector(value: Any) -> tuple[float, ...]:
    """A JSON array of numbers or ``null`` (``null`` becomes ``0.0``, no constraint)."""
    out: list[float] = []
    for i, item in enumerate(_expect_array(value)):
        if item is None:
            out.append(0.0)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            out.append(float(item))
        else:
            raise InvalidArgumentError(
                f"Error parsing value at position {i}: Expected 64-bit floating-point "
                f"number, but received: {json_text(item)}"
            )
    return tuple(out)
