"""Fill values: conversion of Python and JSON fill values to arrays of a TensorStore dtype.

A fill value is a NumPy array (often 0-d) that must broadcast to the domain.
Python values convert as NumPy converts them (``1.5`` to ``int32`` is ``1``),
except that NumPy arrays and scalars must cast safely, as in TensorStore.
JSON values are parsed element by element with TensorStore's messages
(``Error parsing array element at position {1}: Expected integer in the range
[0, 255], but received: "x"``).  Without a dtype a JSON fill value is kept as
an ``object`` array of JSON values and converted once the dtype is known.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidArgumentError
from .chunk_grid import format_vector
from .chunk_json import json_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .dtype import dtype as DType

__all__ = [
    "all_equal_fill",
    "all_equal_fill_along",
    "check_fill_value_broadcast",
    "decode_fill_integer",
    "equals_fill",
    "fill_value_from_json",
    "fill_value_from_python",
    "fill_value_to_json",
    "fill_values_equal",
    "fill_values_identical",
    "format_array",
    "json_array_shape",
    "scalar_fill_value",
    "unbroadcast",
]

#: Bytes of a chunk compared at once by :func:`all_equal_fill`.
_SLAB_BYTES = 1 << 18


def _bit_parts(array: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], ...]:
    """``array``'s elements as the integers of their bits (a complex's two parts, each).

    Chunks are compared with the fill value bit for bit, as TensorStore does:
    ``-0.0`` is not ``0.0``, and a NaN is the fill value only if it is the same
    NaN (``==`` would say otherwise for both).
    """
    kind, size = array.dtype.kind, array.dtype.itemsize
    ml_type = kind == "V" and array.dtype.type.__module__.startswith("ml_dtypes")
    if (kind == "f" or ml_type) and size in (1, 2, 4, 8):
        # (bfloat16 and most float8 types are NumPy "V" kinds from ml_dtypes.)
        return (array.view(f"u{size}"),)
    if kind == "c" and size in (8, 16):
        half = f"u{size // 2}"
        return (array.real.view(half), array.imag.view(half))
    return (array,)


def equals_fill(
    array: np.ndarray[Any, Any], fill: np.ndarray[Any, Any]
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Per element of ``array``: whether it is the 0-d ``fill``, bit for bit."""
    equal: Any = True
    for part, fill_part in zip(_bit_parts(array), _bit_parts(fill), strict=True):
        equal = equal & (part == fill_part)
    return np.asarray(equal, np.bool_)


def all_equal_fill(array: np.ndarray[Any, Any], fill: np.ndarray[Any, Any]) -> bool:
    """Whether every element of ``array`` is the 0-d ``fill``, bit for bit (see ``equals_fill``).

    This decides whether a chunk need not be stored. Most chunks of real data
    differ from the fill value at their first element, which settles them at
    once. The rest are compared slab by slab along the first axis, without
    flattening a strided view: one that differs stops at its first differing
    slab rather than after a full pass, and the comparison's temporary stays
    small.

    A ``fill`` of rank ``k`` > 0 (a zarr element with inner dimensions, such
    as ``|S4``) is the value of ``array``'s last ``k`` dimensions.
    """
    if array.size == 0:
        return True
    if array.dtype.kind == "O":
        # Python objects (text, bytes), compared as objects: against a bare ``str``,
        # NumPy would compare NumPy strings, which drop trailing NULs.
        return bool(np.all(np.equal(array, fill, dtype=object)))
    pairs = tuple(zip(_bit_parts(array), _bit_parts(fill), strict=True))
    first = (0,) * (array.ndim - fill.ndim)
    if fill.ndim:
        if not all(np.array_equal(part[first], fill_part) for part, fill_part in pairs):
            return False
    elif not all(part[first] == fill_part for part, fill_part in pairs):
        return False
    if array.ndim == fill.ndim:
        return True
    step = max(1, _SLAB_BYTES // max(1, array.nbytes // array.shape[0]))
    for start in range(0, array.shape[0], step):
        for part, fill_part in pairs:
            if not (part[start : start + step] == fill_part).all():
                return False
    return True


def all_equal_fill_along(
    array: np.ndarray[Any, Any], fill: np.ndarray[Any, Any], axis: int | tuple[int, ...]
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Whether all elements of ``array`` along ``axis`` are the 0-d ``fill``, as a bool array.

    The many-chunks form of :func:`all_equal_fill` (inner chunks of a shard,
    one per row or block), bit for bit as it; a zero fill is tested without a
    comparison array.
    """
    if array.dtype.kind == "O":
        return np.asarray(np.all(np.equal(array, fill, dtype=object), axis=axis), np.bool_)
    equal: Any = True
    for part, fill_part in zip(_bit_parts(array), _bit_parts(fill), strict=True):
        if not fill_part.any():
            equal = equal & ~part.any(axis=axis)
        else:
            equal = equal & (part == fill_part).all(axis=axis)
    return np.asarray(equal, np.bool_)


_JSON_UNSUPPORTED = frozenset({"complex64", "complex128", "char", "byte"})
_BIT_INTS = {"int2": (-2, 1), "int4": (-8, 7)}


def format_array(array: np.ndarray[Any, Any]) -> str:
    """An array as TensorStore prints it in messages: ``1``, ``{1, 2}``, ``{{1}, {2}}``."""

    def render(value: Any) -> str:
        if isinstance(value, list):
            return "{" + ", ".join(render(v) for v in value) + "}"
        if isinstance(value, bytes):
            return json_text(value.decode("latin-1"))
        if isinstance(value, str):
            return json_text(value)
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    return render(_to_python(array))


def _to_python(array: np.ndarray[Any, Any]) -> Any:
    if array.dtype.type.__module__ == "numpy":
        return array.tolist()
    # ml_dtypes (bfloat16, float8, int2/int4) convert to Python numbers via a wide type.
    integral = array.dtype.name.startswith("int")
    return array.astype(np.int64 if integral else np.float64).tolist()


def _element_to_json(value: Any, name: str) -> Any:
    if isinstance(value, list):
        return [_element_to_json(v, name) for v in value]
    if name == "string":
        return value.decode("latin-1") if isinstance(value, bytes) else value
    if isinstance(value, complex):
        return [value.real, value.imag]
    if name.startswith(("float", "bfloat")):
        return float(value)
    return value


def fill_value_to_json(array: np.ndarray[Any, Any], dtype: DType | None) -> Any:
    """The JSON form: nested lists of elements (floats stay floats, complex is ``[re, im]``)."""
    name = dtype.name if dtype is not None else ""
    return _element_to_json(_to_python(array), name)


def _cast_error(src: np.dtype[Any], dst: np.dtype[Any], scalar: bool) -> TypeError:
    what = "scalar" if scalar else "array data"
    return TypeError(f"Cannot cast {what} from {src!r} to {dst!r} according to the rule 'safe'")


def fill_value_from_python(value: Any, dtype: DType | None) -> np.ndarray[Any, Any]:
    """Convert the ``fill_value`` argument (array-like) to an array of ``dtype``.

    Raises:
        TypeError: a NumPy array that does not cast safely, or an element of
            the wrong type for ``string``/``ustring``.
        ValueError, OverflowError: NumPy cannot convert the value (prefixed
            ``Invalid fill_value: ``).
    """
    if dtype is None:
        array = np.asarray(value)
        if array.dtype.kind in "US":
            array = array.astype(object)
        return array
    name = dtype.name
    target = dtype.numpy_dtype
    if isinstance(value, np.generic) and target.kind != "O":
        # As TensorStore: a NumPy scalar converts as NumPy's astype does (with its warnings);
        # an array only where the cast is safe.
        try:
            return np.asarray(value).astype(target)
        except (ValueError, OverflowError, TypeError) as exc:
            raise type(exc)(f"Invalid fill_value: {exc}") from None
    if isinstance(value, np.ndarray) and target.kind != "O":
        source = np.asarray(value)
        if not np.can_cast(source.dtype, target, "safe"):
            raise _cast_error(source.dtype, target, source.ndim == 0)
        # As TensorStore's UnbroadcastArray: a broadcast (zero-stride) dimension holds one value.
        collapsed = source[tuple(slice(0, 1) if st == 0 else slice(None) for st in source.strides)]
        return unbroadcast(np.asarray(collapsed).astype(target))  # a 0-d array stays an array
    if name in ("string", "ustring"):
        wanted = bytes if name == "string" else str
        array = np.array(value, dtype=object)
        for element in array.reshape(-1):
            if not isinstance(element, wanted):
                raise TypeError(
                    f"Invalid fill_value: expected {wanted.__name__}, "
                    f"{type(element).__name__} found"
                )
        return array
    if name == "json":
        if isinstance(value, list | tuple):
            array = np.array(value, dtype=object)
            for index in np.ndindex(array.shape):
                array[index] = dtype(array[index])
            return array
        converted = np.empty((), dtype=object)
        converted[()] = dtype(value)
        return converted
    try:
        return np.array(value, dtype=target)
    except (ValueError, OverflowError, TypeError) as exc:
        raise type(exc)(f"Invalid fill_value: {exc}") from None


def json_array_shape(json: Any) -> tuple[int, ...]:
    """The shape of nested JSON lists, following the first element at each level."""
    shape: list[int] = []
    node = json
    while isinstance(node, list):
        shape.append(len(node))
        if not node:
            break
        node = node[0]
    return tuple(shape)


def _parse_element(value: Any, name: str) -> Any:
    """One JSON element of dtype ``name``; message without the position prefix."""
    if name == "json":
        return value
    if name == "bool":
        if isinstance(value, bool):
            return value
        raise InvalidArgumentError(f"Expected boolean, but received: {json_text(value)}")
    if name in ("string", "ustring"):
        if isinstance(value, str):
            return value.encode("utf-8") if name == "string" else value
        raise InvalidArgumentError(f"Expected string, but received: {json_text(value)}")
    if name.startswith(("float", "bfloat")):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise InvalidArgumentError(
            f"Expected 64-bit floating-point number, but received: {json_text(value)}"
        )
    # integers
    if name in _BIT_INTS:
        lo, hi = _BIT_INTS[name]
    else:
        info = np.iinfo(np.dtype(name))
        lo, hi = int(info.min), int(info.max)
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    if number is not None and lo <= number <= hi:
        return number
    if name == "int64":
        expected = "64-bit signed integer"
    elif name == "uint64":
        expected = "64-bit unsigned integer"
    else:
        expected = f"integer in the range [{lo}, {hi}]"
    raise InvalidArgumentError(f"Expected {expected}, but received: {json_text(value)}")


def _walk(json: Any, shape: tuple[int, ...], index: list[int], name: str, out: list[Any]) -> None:
    depth = len(index)
    if depth == len(shape):
        if isinstance(json, list) and name != "json":
            raise InvalidArgumentError(
                f"Expected array of shape {format_vector(shape)}, but found array element "
                f"{json_text(json)} at position {format_vector(index)}."
            )
        try:
            out.append(_parse_element(json, name))
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(
                f"Error parsing array element at position {format_vector(index)}: {exc}"
            ) from None
        return
    if not isinstance(json, list) or len(json) != shape[depth]:
        found = (
            f"array element {json_text(json)} of length {len(json)}"
            if isinstance(json, list)
            else f"scalar element {json_text(json)}"
        )
        raise InvalidArgumentError(
            f"Expected array of shape {format_vector(shape)}, but found {found} "
            f"at position {format_vector(index)}."
        )
    for i, item in enumerate(json):
        _walk(item, shape, [*index, i], name, out)


def fill_value_from_json(json: Any, dtype: DType | None) -> np.ndarray[Any, Any]:
    """Parse the JSON ``fill_value`` member (nested arrays of elements of ``dtype``).

    Raises:
        ValueError: TensorStore's messages, without the member prefix.
    """
    name = dtype.name if dtype is not None else "json"
    if name in _JSON_UNSUPPORTED:
        raise InvalidArgumentError(f"Conversion from JSON to {name} is not implemented")
    shape = json_array_shape(json)
    elements: list[Any] = []
    _walk(json, shape, [], name, elements)
    if dtype is None or dtype.numpy_dtype.kind == "O":
        array = np.empty(len(elements), dtype=object)
        array[:] = elements
        return array.reshape(shape)
    return np.array(elements, dtype=dtype.numpy_dtype).reshape(shape)


def unbroadcast(array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Drop leading dimensions of extent 1 (they add nothing when broadcasting)."""
    leading = 0
    while leading < array.ndim and array.shape[leading] == 1:
        leading += 1
    return array.reshape(array.shape[leading:])


def decode_fill_integer(json: Any, low: int, high: int) -> int:
    """A zarr/zarr3 JSON integer fill value in ``[low, high]`` (an integral float such as ``3.0`` too).

    Raises:
        ValueError: ``Expected integer in the range [low, high], but received: <json as written>``.
    """
    value: int | None = None
    if isinstance(json, int) and not isinstance(json, bool):
        value = json
    elif isinstance(json, float) and json.is_integer():
        value = int(json)
    if value is None or not low <= value <= high:
        raise InvalidArgumentError(
            f"Expected integer in the range [{low}, {high}], but received: {json_text(json)}"
        )
    return value


def scalar_fill_value(value: Any, numpy_dtype: np.dtype[Any], name: str) -> np.ndarray[Any, Any]:
    """A schema fill value as a 0-d array of ``numpy_dtype`` (data type ``name``), for formats
    whose fill value is one scalar (zarr, zarr3).

    An array counts as its one element if it has one once its broadcast
    (zero-stride) dimensions are dropped, as TensorStore unbroadcasts it:
    ``np.broadcast_to(1, [4])`` is 1, but ``[1, 1, 1, 1]`` is four values.

    Raises:
        ValueError: not broadcastable to a scalar, or not convertible to ``name``.
    """
    array = np.asarray(value)
    if array.ndim:
        kept = array[tuple(0 if stride == 0 else slice(None) for stride in array.strides)]
        if kept.size != 1:
            raise InvalidArgumentError(
                f"Invalid fill_value: Cannot broadcast array of shape {format_vector(kept.shape)} "
                "to target shape {}"
            )
        array = kept.reshape(-1)[0]
    try:
        return np.asarray(array).astype(numpy_dtype).reshape(())
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            f"Invalid fill_value: cannot convert {array!r} to {name}: {exc}"
        ) from None


def check_fill_value_broadcast(array: np.ndarray[Any, Any], shape: Sequence[int]) -> None:
    """Check ``array`` broadcasts to ``shape`` (NumPy rules, aligned at the end).

    Raises:
        ValueError: ``fill_value is incompatible with domain: Cannot broadcast array of
            shape {2} to target shape {3, 3}``.
    """
    ok = array.ndim <= len(shape) and all(
        a in (1, t) for a, t in zip(reversed(array.shape), reversed(shape), strict=False)
    )
    if not ok:
        raise InvalidArgumentError(
            "fill_value is incompatible with domain: Cannot broadcast array of shape "
            f"{format_vector(array.shape)} to target shape {format_vector(shape)}"
        )


def fill_values_identical(
    a: np.ndarray[Any, Any] | None, b: np.ndarray[Any, Any] | None
) -> bool:
    """Same dtype and the same bytes (``None`` equals only ``None``): equality of stored fill values.

    Unlike :func:`fill_values_equal` nothing is broadcast, and NaNs with different
    payloads differ, as stored metadata does.
    """
    if a is None or b is None:
        return a is b
    if a.dtype.kind == "O" or b.dtype.kind == "O":
        # Python objects (text, bytes): their values; ``tobytes`` would compare pointers.
        return bool(a.dtype == b.dtype and a.shape == b.shape and a.tolist() == b.tolist())
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


def fill_values_equal(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> bool:
    """Equal after broadcasting to a common shape, with the same dtype (NaN equals NaN)."""
    if a.dtype != b.dtype:
        return False
    try:
        left, right = np.broadcast_arrays(a, b)
    except ValueError:
        return False
    if a.dtype.kind in "fc":
        return bool(np.array_equal(left, right, equal_nan=True))
    return bool(np.array_equal(left, right))
