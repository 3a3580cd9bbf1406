"""The ``"fill_value"`` member of zarr v2 metadata: JSON to a NumPy scalar and back.

Encodings (TensorStore's, which follow the zarr v2 spec): ``null`` (no fill
value: reads of unwritten data give zeros); booleans for ``|b1``; JSON
integers (range-checked) for ints; numbers or ``"NaN"``, ``"Infinity"``,
``"-Infinity"`` (and numeric strings) for floats; ``[real, imag]`` for complex,
which also accept the base64 encoding of the element's stored bytes.  Raw byte
(``|S``/``|V``) and structured types store only that base64 encoding; their
fill value is an array of the type's ``field_shape``.  A ``|S<n>`` fill value
may encode fewer than ``n`` bytes (zarr-python drops trailing zero bytes, as
NumPy's ``bytes_`` does); the rest are zero.  zarr-python's variable-length
``"|O"`` types store text (``vlen-utf8``) as a JSON string and bytes
(``vlen-bytes``) as their base64 encoding; fixed-length text (``"<U<n>"``)
is a JSON string of at most ``n`` characters.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import InvalidArgumentError
from ...schema.chunk_json import json_text
from ...schema.fill_value import decode_fill_integer, scalar_fill_value
from ...schema.json_member import c_double
from ..text_codec import (
    check_fixed_length_fill,
    convert_text_fill,
    decode_text_fill,
    encode_text_fill,
)

if TYPE_CHECKING:
    from .dtype import ZarrDType

__all__ = ["convert_fill_value", "decode_fill_value", "encode_fill_value"]

_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _decode_float(json: Any) -> float:
    if isinstance(json, str):
        if json in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[json]
        value = c_double(json)
        if value is not None and math.isfinite(value):
            return value
    elif isinstance(json, int | float) and not isinstance(json, bool):
        return float(json)
    raise InvalidArgumentError(f"Invalid floating-point value: {json_text(json)}")


def _encode_float(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _decode_base64(json: Any, dtype: ZarrDType) -> np.ndarray:
    size = dtype.element_nbytes
    raw: bytes | None = None
    if isinstance(json, str):
        try:
            raw = base64.b64decode(json, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is not None and len(raw) < size and isinstance(dtype.encoded, str) and dtype.kind == "S":
        raw = raw.ljust(size, b"\0")
    if raw is None or len(raw) != size:
        raise InvalidArgumentError(
            f"Expected {size} base64-encoded bytes, but received: {json_text(json)}"
        )
    if dtype.kind == "b":
        # Any nonzero byte is true, stored again as 1 (as TensorStore; it reads no other byte).
        nonzero: np.ndarray = np.frombuffer(raw, dtype=np.uint8) != 0
        return nonzero.reshape(dtype.field_shape)
    return np.frombuffer(raw, dtype=dtype.stored).astype(dtype.native).reshape(dtype.field_shape)


def decode_fill_value(json: Any, dtype: ZarrDType) -> np.ndarray | None:
    """The fill value ``json`` denotes for ``dtype``: a 0-d native array, or None for ``null``.

    Raises:
        ValueError: the JSON does not encode a value of ``dtype`` (TensorStore's message).
    """
    if json is None:
        return None
    if dtype.raw_fill_value:
        return _decode_base64(json, dtype)
    kind = dtype.kind
    if kind == "O":
        return decode_text_fill(json, dtype.name)
    if kind == "U":
        return check_fixed_length_fill(decode_text_fill(json, dtype.name), dtype.stored)
    if kind == "f":
        return np.array(_decode_float(json), dtype=dtype.native)
    if kind in "iu":
        bits = dtype.native.itemsize * 8
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if kind == "i" else (0, (1 << bits) - 1)
        return np.array(decode_fill_integer(json, low, high), dtype=dtype.native)
    if kind == "b":
        if not isinstance(json, bool):
            raise InvalidArgumentError(f"Expected boolean, but received: {json_text(json)}")
        return np.array(json, dtype=dtype.native)
    if isinstance(json, list):
        if len(json) != 2:
            raise InvalidArgumentError(f"Array has length {len(json)} but should have length 2")
        parts = []
        for i, item in enumerate(json):
            try:
                parts.append(_decode_float(item))
            except InvalidArgumentError as exc:
                raise InvalidArgumentError(f"Error parsing value at position {i}: {exc}") from None
        return np.array(complex(parts[0], parts[1]), dtype=dtype.native)
    return _decode_base64(json, dtype)


def encode_fill_value(value: np.ndarray | None, dtype: ZarrDType) -> Any:
    """The JSON TensorStore writes for fill value ``value`` (``None`` is ``null``)."""
    if value is None:
        return None
    if dtype.raw_fill_value:
        return base64.b64encode(value.astype(dtype.stored).tobytes()).decode("ascii")
    kind = dtype.kind
    scalar = value.reshape(())[()]
    if kind in "OU":
        return encode_text_fill(value, dtype.name)
    if kind == "f":
        return _encode_float(float(scalar))
    if kind == "c":
        number = complex(scalar)
        return [_encode_float(number.real), _encode_float(number.imag)]
    if kind == "b":
        return bool(scalar)
    return int(scalar)


def convert_fill_value(value: Any, dtype: ZarrDType) -> np.ndarray:
    """Convert a schema fill value to an array of ``dtype.field_shape`` (as TensorStore's conversion does).

    For a scalar type, an array counts only if it holds one value once
    unbroadcast (see ``scalar_fill_value``); anything else cannot be a zarr
    scalar fill value.  Otherwise it must broadcast to the inner dimensions.

    Raises:
        ValueError: not broadcastable, or not convertible to ``dtype``.
    """
    if dtype.kind == "O":
        return convert_text_fill(value, dtype.name)
    if dtype.kind == "U":
        return check_fixed_length_fill(convert_text_fill(value, dtype.name), dtype.stored)
    if not dtype.field_shape:
        return scalar_fill_value(value, dtype.native, dtype.name)
    array = np.asarray(value)
    while array.ndim > len(dtype.field_shape) and array.shape[0] == 1:
        array = array[0]
    try:
        return np.broadcast_to(array, dtype.field_shape).astype(dtype.native)
    except ValueError:
        raise InvalidArgumentError(
            f"Invalid fill_value: Cannot broadcast array of shape {list(array.shape)} to "
            f"target shape {list(dtype.field_shape)}"
        ) from None
