"""``ts.Unit``: a physical quantity (multiplier × base unit) and ``dimension_units``.

A unit is a float ``multiplier`` and a ``base_unit`` string (``""`` for
dimensionless).  TensorStore does not interpret the base unit.  Construction
forms, ``str``/``repr`` and JSON follow TensorStore exactly::

    Unit("4nm") == Unit(4, "nm") == Unit((4, "nm"))   # repr: Unit(4, "nm")
    str(Unit(4, "nm")) == "4 nm";  Unit(4, "nm").to_json() == [4.0, "nm"]
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Iterable, Sequence
from json import dumps as _json_dumps
from typing import Any, TypeAlias

import attrs

from ..errors import InvalidArgumentError
from .json_pretty import c_hex_escape

__all__ = [
    "Unit",
    "UnitLike",
    "dimension_units_from_json",
    "dimension_units_to_json",
    "normalize_dimension_units",
]

UnitLike: TypeAlias = "Unit | str | bytes | float | tuple[float, str] | list[Any]"
"""What a ``dimension_units`` entry may be (``None`` means "no unit")."""

# A leading decimal number as C's strtod reads it, minus hex/inf/nan forms,
# which TensorStore leaves in the base unit.
_LEADING_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_ASCII_SPACE = " \t\n\v\f\r"


def _parse_unit_string(text: str) -> tuple[float, str]:
    text = text.strip(_ASCII_SPACE)
    match = _LEADING_NUMBER.match(text)
    if match is not None:
        number_text = match.group()
        value = float(number_text)
        mantissa = number_text.lower().split("e")[0]
        underflow = value == 0.0 and any(c in "123456789" for c in mantissa)
        if math.isfinite(value) and not underflow:
            return value, text[match.end() :].strip(_ASCII_SPACE)
    return 1.0, text


def _to_multiplier(value: object, what: str) -> float:
    if isinstance(value, str | bytes):
        raise TypeError(f"{what} must be a number, got {value!r}")
    if hasattr(value, "__float__"):
        return float(value)
    if hasattr(value, "__index__"):
        return float(operator.index(value))
    raise TypeError(f"{what} must be a number, got {value!r}")


def _to_base_unit(value: object, what: str) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    raise TypeError(f"{what} must be a string, got {value!r}")


def _format_multiplier(value: float) -> str:
    # TensorStore streams the double with C++'s default (%g) format.
    return f"{value:g}"


@attrs.frozen(init=False)
class Unit:
    """A physical quantity/unit: ``multiplier`` times ``base_unit``.

    Forms: ``Unit()`` (``1``), ``Unit(3.5)`` (dimensionless), ``Unit("4nm")``
    (a leading number, if any, is the multiplier; the rest, stripped, the base
    unit), ``Unit(4, "nm")``, ``Unit((4, "nm"))`` and ``Unit(json=...)``.

    Raises:
        TypeError: the arguments match none of the forms.
        ValueError: the ``json`` form is malformed.
    """

    multiplier: float
    """Multiplier for the base unit."""
    base_unit: str
    """Base unit from which this unit is derived (``""``: dimensionless)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        multiplier, base_unit = _unit_parts(args, kwargs)
        self.__attrs_init__(multiplier, base_unit)

    @classmethod
    def from_json(cls, json: Any) -> Unit:
        """Parse TensorStore's Unit JSON: ``"4nm"``, ``4`` or ``[4, "nm"]``."""
        return cls(json=json)

    def to_json(self) -> list[Any]:
        """JSON representation: ``[multiplier, base_unit]``."""
        return [self.multiplier, self.base_unit]

    def __mul__(self, multiplier: float) -> Unit:
        return Unit(self.multiplier * _to_multiplier(multiplier, "multiplier"), self.base_unit)

    __rmul__ = __mul__

    def __truediv__(self, divisor: float) -> Unit:
        divisor_value = _to_multiplier(divisor, "divisor")
        if divisor_value == 0.0:
            # IEEE semantics, as TensorStore's double arithmetic gives.
            if self.multiplier == 0.0 or math.isnan(self.multiplier):
                quotient = math.nan
            else:
                negative = (self.multiplier < 0) != (math.copysign(1.0, divisor_value) < 0)
                quotient = -math.inf if negative else math.inf
        else:
            quotient = self.multiplier / divisor_value
        return Unit(quotient, self.base_unit)

    def __str__(self) -> str:
        if self.multiplier == 1.0:
            return self.base_unit or "1"
        if not self.base_unit:
            return _format_multiplier(self.multiplier)
        return f"{_format_multiplier(self.multiplier)} {self.base_unit}"

    def __repr__(self) -> str:
        return f'Unit({_format_multiplier(self.multiplier)}, "{c_hex_escape(self.base_unit)}")'


def _unit_parts(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[float, str]:
    if "json" in kwargs:
        if args or len(kwargs) > 1:
            raise TypeError("Unit(json=...) takes no other arguments")
        return _parts_from_json(kwargs["json"])
    names = ("multiplier", "base_unit")
    if "unit" in kwargs:
        if args or len(kwargs) > 1:
            raise TypeError("Unit(unit=...) takes no other arguments")
        args = (kwargs["unit"],)
    elif kwargs:
        unknown = set(kwargs) - set(names)
        if unknown:
            raise TypeError(f"Unit() got unexpected keyword arguments: {sorted(unknown)}")
        if len(args) + len(kwargs) > 2 or any(n in kwargs for n in names[: len(args)]):
            raise TypeError("Unit() got multiple values for an argument")
        if "base_unit" in kwargs and "multiplier" not in kwargs and not args:
            raise TypeError("Unit(base_unit=...) also needs a multiplier")
        args = args + tuple(kwargs[n] for n in names[len(args) :] if n in kwargs)
    if not args:
        return 1.0, ""
    if len(args) == 2:
        return _to_multiplier(args[0], "Unit multiplier"), _to_base_unit(args[1], "Unit base_unit")
    if len(args) > 2:
        raise TypeError(f"Unit() takes at most 2 arguments, got {len(args)}")
    (arg,) = args
    if isinstance(arg, Unit):
        return arg.multiplier, arg.base_unit
    if isinstance(arg, str | bytes):
        return _parse_unit_string(_to_base_unit(arg, "Unit"))
    if isinstance(arg, tuple | list):
        if len(arg) != 2:
            raise TypeError(f"Unit pair must be (multiplier, base_unit), got {arg!r}")
        return _to_multiplier(arg[0], "Unit multiplier"), _to_base_unit(arg[1], "Unit base_unit")
    return _to_multiplier(arg, "Unit multiplier"), ""


def _is_json_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parts_from_json(json: Any) -> tuple[float, str]:
    if isinstance(json, str):
        return _parse_unit_string(json)
    if _is_json_number(json):
        return float(json), ""
    if not isinstance(json, list | tuple):
        raise InvalidArgumentError(f"Expected array, but received: {_json_text(json)}")
    if len(json) != 2:
        raise InvalidArgumentError(f"Array has length {len(json)} but should have length 2")
    multiplier, base_unit = json
    if not _is_json_number(multiplier):
        raise InvalidArgumentError(
            "Error parsing value at position 0: Expected 64-bit floating-point number, "
            f"but received: {_json_text(multiplier)}"
        )
    if not (math.isfinite(multiplier) and multiplier > 0):
        raise InvalidArgumentError(
            "Error parsing value at position 0: Expected finite positive number, "
            f"but received: {_json_text(float(multiplier))}"
        )
    if not isinstance(base_unit, str):
        raise InvalidArgumentError(
            "Error parsing value at position 1: Expected string, "
            f"but received: {_json_text(base_unit)}"
        )
    return float(multiplier), base_unit


def _json_text(value: Any) -> str:
    """Render a JSON value compactly, as TensorStore's error messages quote it."""
    try:
        return _json_dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return "null"
    except TypeError:
        return repr(value)


def _unit_or_none(value: object, index: int) -> Unit | None:
    if value is None or isinstance(value, Unit):
        return value
    try:
        return Unit(value)
    except TypeError:
        raise TypeError(
            f"dimension_units[{index}] must be a Unit, str, number, (multiplier, base_unit) "
            f"or None, got {value!r}"
        ) from None


def normalize_dimension_units(
    units: Iterable[object], rank: int | None = None
) -> tuple[Unit | None, ...]:
    """Convert a ``dimension_units`` argument to one ``Unit | None`` per dimension.

    Each entry may be a ``Unit``, a string (``"4nm"``), a number (dimensionless),
    a ``(multiplier, base_unit)`` pair or ``None`` (unspecified).

    Raises:
        TypeError: ``units`` is not a sequence, or an entry has an unusable type.
        ValueError: ``rank`` is given and the length differs from it.
    """
    if isinstance(units, str | bytes) or not isinstance(units, Iterable):
        raise TypeError(
            f"dimension_units must be a sequence with one entry per dimension, got {units!r}"
        )
    result = tuple(_unit_or_none(value, i) for i, value in enumerate(units))
    if rank is not None and len(result) != rank:
        raise InvalidArgumentError(
            f"dimension_units has {len(result)} entries, but the rank is {rank}"
        )
    return result


def dimension_units_from_json(json: Any) -> tuple[Unit | None, ...]:
    """Parse the JSON ``dimension_units`` member: an array of Unit JSON or ``null``.

    Raises:
        ValueError: naming the offending position, as TensorStore does.
    """
    if not isinstance(json, list | tuple):
        raise InvalidArgumentError(f"Expected array, but received: {_json_text(json)}")
    result: list[Unit | None] = []
    for i, item in enumerate(json):
        if item is None:
            result.append(None)
            continue
        try:
            result.append(Unit(json=item))
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Error parsing value at position {i}: {exc}") from None
    return tuple(result)


def dimension_units_to_json(units: Sequence[Unit | None]) -> list[Any] | None:
    """JSON for ``dimension_units``; ``None`` when no dimension has a unit (member omitted)."""
    if all(u is None for u in units):
        return None
    return [None if u is None else u.to_json() for u in units]
