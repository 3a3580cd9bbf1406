"""Dimension selections (``ts.d[0, 'x', 1:3]``): parsing, repr and resolution.

A selection is a tuple of specs: a dimension index (may be negative), a label,
or a :class:`DimRange` ``start:stop:step`` of dimension indices.  Resolution
against a domain's labels follows TensorStore, including its messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from ..errors import InvalidArgumentError, OutOfRangeError
from .dim_expression_ops import resolve_dim_range
from .domain import normalize_dim_index
from .interval import c_escape, to_index

__all__ = [
    "DimRange",
    "DimSpec",
    "format_selection",
    "parse_dim_selection",
    "quote_label",
    "resolve_selection",
]


@attrs.frozen
class DimRange:
    """A ``start:stop:step`` range of dimension indices (TensorStore's ``DimRangeSpec``)."""

    start: int | None
    stop: int | None
    step: int = 1

    def __str__(self) -> str:
        text = (
            f"{'' if self.start is None else self.start}:{'' if self.stop is None else self.stop}"
        )
        return text if self.step == 1 else f"{text}:{self.step}"


DimSpec = int | str | DimRange


def _range_bound(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if not hasattr(value, "__index__"):
        raise TypeError(f"dimension range {what} must be an integer or None, got {value!r}")
    return to_index(value, f"dimension range {what}")


def _parse_one(item: Any, out: list[DimSpec]) -> None:
    if isinstance(item, str):
        out.append(item)
    elif isinstance(item, slice):
        step = _range_bound(item.step, "step")
        if step == 0:
            raise InvalidArgumentError("Dimension range step must not be 0")
        out.append(
            DimRange(_range_bound(item.start, "start"), _range_bound(item.stop, "stop"), step or 1)
        )
    elif hasattr(item, "__index__"):
        out.append(to_index(item, "dimension index"))
    else:
        from .dim_expression import DimExpression, DimSelection

        if isinstance(item, DimSelection):
            out.extend(item._selection)
        elif isinstance(item, DimExpression) or not isinstance(item, Iterable):
            raise TypeError(
                "a dimension selection takes dimension indices, labels, index ranges, "
                f"or sequences of those, got {item!r}"
            )
        else:
            for sub in item:
                _parse_one(sub, out)


def parse_dim_selection(key: Any) -> tuple[DimSpec, ...]:
    """Flatten the subscript of ``ts.d[...]`` (or ``.transpose[...]``) into specs."""
    out: list[DimSpec] = []
    _parse_one(key, out)
    return tuple(out)


def quote_label(label: str) -> str:
    """Single-quoted label as TensorStore prints it (C escapes), still valid Python."""
    parts = []
    for char in label:
        if ord(char) < 0x80:
            parts.append(c_escape(char))
        elif char.isprintable():
            parts.append(char)
        else:
            parts.append(repr(char)[1:-1])
    return "'" + "".join(parts) + "'"


def format_selection(specs: Sequence[DimSpec]) -> str:
    """``0,'x',1:3`` as in ``d[0,'x',1:3]``; ``()`` when empty."""
    if not specs:
        return "()"
    return ",".join(quote_label(s) if isinstance(s, str) else str(s) for s in specs)


def label_index(label: str, labels: Sequence[str]) -> int:
    """Index of the dimension labelled ``label``.

    Raises:
      InvalidArgumentError: ``label`` is empty.
      OutOfRangeError: no dimension has that label.
    """
    if not label:
        raise InvalidArgumentError("Dimension cannot be specified by empty label")
    for i, existing in enumerate(labels):
        if existing == label:
            return i
    choices = ", ".join(f'"{c_escape(x)}"' for x in labels)
    raise OutOfRangeError(f'Label "{c_escape(label)}" does not match one of {{{choices}}}')


def resolve_selection(
    specs: Sequence[DimSpec], labels: Sequence[str], *, check_unique: bool = True
) -> tuple[int, ...]:
    """Resolve specs to dimension indices of a domain with ``labels``.

    Raises:
      OutOfRangeError: an index is out of range or a label does not exist.
      InvalidArgumentError: a dimension is selected twice, or a range is invalid.
    """
    rank = len(labels)
    dims: list[int] = []
    for spec in specs:
        if isinstance(spec, str):
            dims.append(label_index(spec, labels))
        elif isinstance(spec, DimRange):
            dims.extend(resolve_dim_range(spec.start, spec.stop, spec.step, rank))
        else:
            dims.append(normalize_dim_index(spec, rank))
    if check_unique:
        seen: set[int] = set()
        repeated = []
        for dim in dims:
            if dim in seen:
                repeated.append(dim)
            seen.add(dim)
        if repeated:
            raise InvalidArgumentError(
                f"Input dimensions {{{', '.join(map(str, repeated))}}} specified more than once"
            )
    return tuple(dims)
