"""Python values written to ``string``, ``ustring`` and ``json`` arrays, checked as TensorStore checks them.

These data types hold Python objects (NumPy's ``object`` dtype), so NumPy
would take anything. TensorStore takes, per element:

- ``string``: ``bytes`` only (``TypeError: expected bytes, str found``);
- ``ustring``: ``str`` only;
- ``json``: JSON values: ``None``, bools, numbers (NumPy scalars as their
  Python value), strings, lists and dicts of them, and ``bytes`` as the list
  of their byte values; anything else is a ``TypeError`` naming its type.

A nested list source fills at most as many dimensions as the target has
(NumPy's ``ndmax``): deeper lists, and lists of unequal lengths, are
elements (a ``json`` element may be a list).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["OBJECT_DTYPES", "object_source"]

#: The TensorStore data types whose elements are Python objects.
OBJECT_DTYPES = frozenset({"string", "ustring", "json"})


def object_source(source: Any, name: str, rank: int | None) -> np.ndarray:
    """``source`` as an object array of ``name`` (a data type of :data:`OBJECT_DTYPES`) values.

    ``rank``: the most dimensions lists fill (None: as many as they nest evenly).

    Raises:
        TypeError: an element is not a value of ``name``.
    """
    array = _object_array(source, rank)
    convert = _CONVERT[name]
    out = np.empty(array.shape, object)
    flat_out = out.reshape(-1)
    for i, value in enumerate(array.reshape(-1)):
        flat_out[i] = convert(value)
    return out


def _object_array(source: Any, rank: int | None) -> np.ndarray:
    if isinstance(source, np.ndarray):
        return source
    shape: list[int] = []
    level = [source]
    while rank is None or len(shape) < rank:
        if not level or not all(isinstance(v, list | tuple) for v in level):
            break
        lengths = {len(v) for v in level}
        if len(lengths) != 1:
            break  # ragged: the lists themselves are the elements
        shape.append(lengths.pop())
        level = [item for v in level for item in v]
    out = np.empty(shape, object)
    flat = out.reshape(-1)
    for i, value in enumerate(level):
        flat[i] = value
    return out


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return bytes(value)  # np.bytes_ too
    kind = "str" if isinstance(value, str) else type(value).__name__  # np.str_ too
    raise TypeError(f"expected bytes, {kind} found")


def _text(value: Any) -> str:
    if isinstance(value, str):
        if not value.isascii():
            value.encode("utf-8")  # a lone surrogate has no UTF-8: refused now, not on commit
        return str(value)  # np.str_ too
    raise TypeError("bad argument type for built-in operation")


def _json(value: Any) -> Any:
    if value is None:
        return None
    for kind in (bool, int, float, str):  # bool first: it is an int
        if isinstance(value, kind):
            return kind(value)  # subclasses (np.float64, enums) as the plain value
    if isinstance(value, np.generic) and value.dtype.kind in "biufU":
        return value.item()
    if isinstance(value, bytes):
        return list(value)
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufO":
        return [_json(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    raise TypeError(f"Object '{type(value).__name__}' does not support conversion to JSON")


_CONVERT: dict[str, Callable[[Any], Any]] = {"string": _bytes, "ustring": _text, "json": _json}
