"""``IndexInterval`` (``ts.Dim``): one dimension of an index domain.

An interval is ``[inclusive_min, exclusive_max)`` over 64-bit indices where
``-inf``/``+inf`` are the special values ``-INF``/``+INF`` (``INF = 2**62 - 1``,
TensorStore's ``kInfIndex``), each bound may be *implicit* (resizeable), and the
dimension may carry a label (``""`` means unlabeled).  Constructor forms, reprs
and errors follow TensorStore's ``tensorstore.Dim``.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from ..errors import InvalidArgumentError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "INF",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_FINITE_INDEX",
    "MIN_FINITE_INDEX",
    "IndexInterval",
    "c_escape",
    "format_bounds",
    "to_index",
]

INF = 2**62 - 1
"""TensorStore's ``kInfIndex``: ``ts.inf``; ``-INF`` stands for minus infinity."""
MAX_FINITE_INDEX = INF - 1
MIN_FINITE_INDEX = -MAX_FINITE_INDEX

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
"""The int64 range: what an index must fit before it is checked against ``INF``."""


def to_index(value: Any, what: str) -> int:
    """Convert ``value`` to a Python int via ``__index__``, naming ``what`` on failure."""
    if isinstance(value, bool):
        return int(value)
    try:
        result = operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, got {value!r}") from None
    if not INT64_MIN <= result <= INT64_MAX:
        raise InvalidArgumentError(f"{what} {result} is outside the 64-bit index range")
    return result


def c_escape(text: str) -> str:
    """Escape ``text`` the way TensorStore quotes labels (C escapes of its UTF-8 bytes)."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif char in "\"'\\":
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def format_bounds(
    inclusive_min: int, exclusive_max: int, implicit_lower: bool, implicit_upper: bool
) -> str:
    """Format bounds as TensorStore prints them: ``[0, 5)``, ``(-inf*, +inf*)``."""
    star_lo = "*" if implicit_lower else ""
    star_hi = "*" if implicit_upper else ""
    lower = f"(-inf{star_lo}" if inclusive_min == -INF else f"[{inclusive_min}{star_lo}"
    upper = f"+inf{star_hi})" if exclusive_max == INF + 1 else f"{exclusive_max}{star_hi})"
    return f"{lower}, {upper}"


def _valid_half_open(inclusive_min: int, exclusive_max: int) -> bool:
    return (
        -INF <= inclusive_min <= MAX_FINITE_INDEX
        and MIN_FINITE_INDEX + 1 <= exclusive_max <= INF + 1
        and inclusive_min <= exclusive_max
    )


def _optional_index(value: Any, default: int, what: str) -> int:
    return default if value is None else to_index(value, what)


def _label(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"label must be a str or None, got {value!r}")
    return value


# The four constructor overloads, tried in order as TensorStore's binding does: parameter
# names, how many may be positional, and the accepted type of each ("int" means an optional
# integer, "str" an optional label, "bool" a flag, "bool?"/"bool!" optional flags).
_FORMS: tuple[tuple[str, int, dict[str, str]], ...] = (
    ("unbounded", 1, {"label": "str", "implicit_lower": "bool", "implicit_upper": "bool"}),
    ("size", 2, {"size": "int", "label": "str", "inclusive_min": "int", "implicit_lower": "bool",
                 "implicit_upper": "bool?"}),
    ("exclusive_max", 2, {"inclusive_min": "int", "exclusive_max": "int", "label": "str",
                          "implicit_lower": "bool?", "implicit_upper": "bool?"}),
    ("inclusive_max", 0, {"inclusive_min": "int", "inclusive_max": "int", "label": "str",
                          "implicit_lower": "bool!", "implicit_upper": "bool!"}),
)
_REQUIRED = {"size": ("size",)}
_FORMS_BY_NAME = {form: params for form, _, params in _FORMS}


def _accepts(kind: str, value: Any, convert: bool) -> bool:
    if kind == "int":
        return value is None or (
            not isinstance(value, (str, float)) and hasattr(value, "__index__") and np.ndim(value) == 0
        )
    if kind == "str":
        return value is None or isinstance(value, str)
    if isinstance(value, (bool, np.bool_)) or (kind in ("bool?", "bool!") and value is None):
        return True
    # Observed in tensorstore 0.1.86: in the converting pass flags take numbers (and a
    # plain flag None), except in the inclusive_max form.
    number = isinstance(value, (int, float, np.number))
    return convert and ((kind == "bool" and (value is None or number)) or (kind == "bool?" and number))


def _bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Pick the overload the arguments fit, as pybind11 does (exact pass, then converting)."""
    for convert in (False, True):
        for form, n_positional, params in _FORMS:
            names = list(params)
            if len(args) > n_positional or any(k not in params for k in kwargs):
                continue
            bound = dict(zip(names, args, strict=False))
            if any(k in bound for k in kwargs):
                continue
            bound.update(kwargs)
            if any(r not in bound for r in _REQUIRED.get(form, ())):
                continue
            if all(_accepts(params[k], v, convert) for k, v in bound.items()):
                return form, bound
    raise TypeError(
        f"Dim(): incompatible constructor arguments: args={args!r}, kwargs={kwargs!r}"
    )


def _pick(
    a: tuple[int, bool], b: tuple[int, bool], choose: Any
) -> tuple[int, bool]:
    """The bound ``choose`` (min/max) selects, with its implicit flag; on a tie explicit wins."""
    if a[0] == b[0]:
        return a[0], a[1] and b[1]
    return a if choose(a[0], b[0]) == a[0] else b


@attrs.frozen(init=False, repr=False)
class IndexInterval:
    """Half-open interval of indices with implicit-bound flags and a label (``ts.Dim``).

    Constructor forms (as TensorStore):

    - ``Dim(label=None, *, implicit_lower=True, implicit_upper=True)``: ``(-inf, +inf)``
    - ``Dim(size, label=None, *, inclusive_min=0, implicit_lower=False, implicit_upper=None)``
    - ``Dim(inclusive_min=-inf, exclusive_max=+inf, *, label=None, implicit_lower=None,
      implicit_upper=None)``
    - ``Dim(*, inclusive_min=-inf, inclusive_max=+inf, label=None, ...)``

    Raises:
      InvalidArgumentError: the bounds do not form a valid interval.
    """

    inclusive_min: int
    exclusive_max: int
    implicit_lower: bool
    implicit_upper: bool
    label: str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        form, params = _bind(args, kwargs)
        for key in ("implicit_lower", "implicit_upper"):
            if key in params and (params[key] is not None or _FORMS_BY_NAME[form][key] == "bool"):
                params[key] = bool(params[key])
        label = _label(params.get("label"))
        lower_flag = params.get("implicit_lower")
        upper_flag = params.get("implicit_upper")
        if form == "unbounded":
            lo, hi = -INF, INF + 1
            implicit_lower = True if lower_flag is None else bool(lower_flag)
            implicit_upper = True if upper_flag is None else bool(upper_flag)
        elif form == "size":
            size = params.get("size")
            lo = _optional_index(params.get("inclusive_min"), 0, "inclusive_min")
            implicit_lower = bool(lower_flag) if lower_flag is not None else False
            if size is None:
                hi = INF + 1
                implicit_upper = True if upper_flag is None else bool(upper_flag)
                if not _valid_half_open(lo, hi):
                    raise InvalidArgumentError(f"({lo}, {hi}) do not specify a valid half-open index interval")
            else:
                n = to_index(size, "size")
                hi = lo + n
                if n < 0 or not _valid_half_open(lo, hi):
                    raise InvalidArgumentError(f"({lo}, {n}) do not specify a valid sized index interval")
                implicit_upper = False if upper_flag is None else bool(upper_flag)
        else:
            lo_given = params.get("inclusive_min")
            lo = _optional_index(lo_given, -INF, "inclusive_min")
            if form == "exclusive_max":
                hi_given = params.get("exclusive_max")
                hi = _optional_index(hi_given, INF + 1, "exclusive_max")
                valid = _valid_half_open(lo, hi)
                kind, shown = "half-open", hi
            else:
                hi_given = params.get("inclusive_max")
                hi_inclusive = _optional_index(hi_given, INF, "inclusive_max")
                hi = hi_inclusive + 1
                valid = _valid_half_open(lo, hi)
                kind, shown = "closed", hi_inclusive
            if not valid:
                raise InvalidArgumentError(f"({lo}, {shown}) do not specify a valid {kind} index interval")
            implicit_lower = (lo_given is None) if lower_flag is None else bool(lower_flag)
            implicit_upper = (hi_given is None) if upper_flag is None else bool(upper_flag)
        self.__attrs_init__(lo, hi, implicit_lower, implicit_upper, label)

    @classmethod
    def make(
        cls,
        inclusive_min: int,
        exclusive_max: int,
        implicit_lower: bool = False,
        implicit_upper: bool = False,
        label: str = "",
    ) -> IndexInterval:
        """Build from already-validated bounds (internal fast path, no overload parsing)."""
        self = object.__new__(cls)
        self.__attrs_init__(inclusive_min, exclusive_max, implicit_lower, implicit_upper, label)
        return self

    @classmethod
    def checked(
        cls,
        inclusive_min: int,
        exclusive_max: int,
        implicit_lower: bool = False,
        implicit_upper: bool = False,
        label: str = "",
    ) -> IndexInterval:
        """Build from half-open bounds, raising if they are not a valid interval."""
        if not _valid_half_open(inclusive_min, exclusive_max):
            raise InvalidArgumentError(
                f"({inclusive_min}, {exclusive_max}) do not specify a valid half-open index interval"
            )
        return cls.make(inclusive_min, exclusive_max, implicit_lower, implicit_upper, label)

    @property
    def inclusive_max(self) -> int:
        """Inclusive upper bound (``+inf`` when unbounded above)."""
        return self.exclusive_max - 1

    @property
    def exclusive_min(self) -> int:
        """Exclusive lower bound (``-inf-1`` when unbounded below)."""
        return self.inclusive_min - 1

    @property
    def size(self) -> int:
        """``exclusive_max - inclusive_min`` (not meaningful when not finite)."""
        return self.exclusive_max - self.inclusive_min

    @property
    def empty(self) -> bool:
        """True if the interval contains no index."""
        return self.size == 0

    @property
    def finite(self) -> bool:
        """True if both bounds are finite."""
        return self.inclusive_min != -INF and self.exclusive_max != INF + 1

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        if not self.finite:
            raise InvalidArgumentError("Cannot iterate over infinite interval")
        return iter(range(self.inclusive_min, self.exclusive_max))

    def __contains__(self, other: object) -> bool:
        if isinstance(other, IndexInterval):
            return other.empty or (
                self.inclusive_min <= other.inclusive_min and other.exclusive_max <= self.exclusive_max
            )
        index = to_index(other, "index")
        return self.inclusive_min <= index < self.exclusive_max and -INF < index < INF

    def _merged_label(self, other: IndexInterval) -> str:
        if self.label and other.label and self.label != other.label:
            raise InvalidArgumentError(
                f"Dimension labels do not match: {self.label!r} vs {other.label!r}"
            )
        return self.label or other.label

    def intersect(self, other: IndexInterval) -> IndexInterval:
        """Intersection; the implicit flag of the selected bound and the label propagate."""
        label = self._merged_label(other)
        lo, lo_implicit = _pick(
            (self.inclusive_min, self.implicit_lower), (other.inclusive_min, other.implicit_lower), max
        )
        hi, hi_implicit = _pick(
            (self.exclusive_max, self.implicit_upper), (other.exclusive_max, other.implicit_upper), min
        )
        return IndexInterval.make(lo, max(hi, lo), lo_implicit, hi_implicit, label)

    def hull(self, other: IndexInterval) -> IndexInterval:
        """Smallest interval containing both; an empty interval contributes nothing.

        A result bound is implicit only if it is implicit in every input having that bound.
        """
        label = self._merged_label(other)
        if self.empty:
            lo, hi = other.inclusive_min, other.exclusive_max
        elif other.empty:
            lo, hi = self.inclusive_min, self.exclusive_max
        else:
            lo = min(self.inclusive_min, other.inclusive_min)
            hi = max(self.exclusive_max, other.exclusive_max)
        lo_implicit = all(d.implicit_lower for d in (self, other) if d.inclusive_min == lo)
        hi_implicit = all(d.implicit_upper for d in (self, other) if d.exclusive_max == hi)
        return IndexInterval.make(lo, hi, lo_implicit, hi_implicit, label)

    def bounds_str(self) -> str:
        """The bounds alone, e.g. ``[2*, 5)``."""
        return format_bounds(self.inclusive_min, self.exclusive_max, self.implicit_lower, self.implicit_upper)

    def __str__(self) -> str:
        prefix = f'"{c_escape(self.label)}": ' if self.label else ""
        return prefix + self.bounds_str()

    def __repr__(self) -> str:
        parts = []
        if self.inclusive_min != -INF:
            parts.append(f"inclusive_min={self.inclusive_min}")
        if self.implicit_lower != (self.inclusive_min == -INF):
            parts.append(f"implicit_lower={self.implicit_lower}")
        if self.exclusive_max != INF + 1:
            parts.append(f"exclusive_max={self.exclusive_max}")
        if self.implicit_upper != (self.exclusive_max == INF + 1):
            parts.append(f"implicit_upper={self.implicit_upper}")
        if self.label:
            parts.append(f'label="{c_escape(self.label)}"')
        return f"Dim({', '.join(parts)})"


Dim = IndexInterval
"""TensorStore's public name for ``IndexInterval``."""
inf = INF
"""``ts.inf``: the special index value standing for (plus) infinity."""
