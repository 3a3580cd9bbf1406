"""The zarr v3 ``fill_value`` member: JSON to a 0-d array and back.

Encodings (zarr v3 core spec, as TensorStore reads and writes them):
``true``/``false`` for ``bool``; JSON integers (range-checked) for integers;
for floating point a number, ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` or a
hex string ``"0x7fc00001"`` giving the element's bits (big-endian digits);
``[real, imag]`` pairs of those for complex types.  A NaN other than the
canonical one is written in hex so its payload survives.  zarr-python's
``"string"`` fill value is the text, ``"variable_length_bytes"``'s the
bytes' base64 encoding (:mod:`..text_codec`).
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np

from ...errors import InvalidArgumentError
from ...schema.chunk_json import json_text
from ...schema.fill_value import decode_fill_integer, scalar_fill_value
from ..text_codec import (
    check_fixed_length_fill,
    convert_text_fill,
    decode_text_fill,
    empty_fill,
    encode_text_fill,
)
from .dtype import fixed_text_dtype, numpy_dtype, ts_name

__all__ = ["convert_fill_value", "decode_fill_value", "default_fill_value", "encode_fill_value"]

_SPECIAL: Final = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _kind(name: str) -> str:
    if name in ("string", "variable_length_bytes"):
        return "O"
    if fixed_text_dtype(name) is not None:
        return "U"
    if name == "bool":
        return "b"
    if name.startswith("complex"):
        return "c"
    if name.startswith(("float", "bfloat")):
        return "f"
    return "u" if name.startswith("uint") else "i"


def _bits_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    return np.dtype(f"<u{dtype.itemsize}")


def _decode_float(json: Any, dtype: np.dtype[Any]) -> np.ndarray:
    if isinstance(json, str):
        if json in _SPECIAL:
            return np.array(_SPECIAL[json]).astype(dtype)
        if json.startswith("0x"):
            digits = json[2:]
            try:
                bits = int(digits, 16)
            except ValueError:
                bits = -1
            if len(digits) == 2 * dtype.itemsize and bits >= 0:
                return np.array(bits, dtype=_bits_dtype(dtype)).view(dtype).reshape(())
    elif isinstance(json, int | float) and not isinstance(json, bool):
        return np.array(float(json)).astype(dtype)
    raise InvalidArgumentError(f"Invalid floating-point value: {json_text(json)}")


def _encode_float(value: np.ndarray) -> Any:
    number = float(value)
    if math.isnan(number):
        canonical = np.array(math.nan).astype(value.dtype)
        if value.tobytes() == canonical.tobytes():
            return "NaN"
        bits = int(value.view(_bits_dtype(value.dtype)))
        return f"0x{bits:0{2 * value.dtype.itemsize}x}"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return number


def decode_fill_value(json: Any, name: str) -> np.ndarray:
    """The fill value ``json`` denotes for data type ``name``, as a 0-d native array.

    Raises:
        ValueError: ``json`` does not encode a value of that type.
    """
    dtype = numpy_dtype(name)
    kind = _kind(name)
    if kind in "OU":
        value = decode_text_fill(json, ts_name(name))
        fixed = fixed_text_dtype(name)
        return value if fixed is None else check_fixed_length_fill(value, fixed)
    if kind == "b":
        if not isinstance(json, bool):
            raise InvalidArgumentError(f"Expected boolean, but received: {json_text(json)}")
        return np.array(json, dtype=dtype)
    if kind in "iu":
        info = np.iinfo(np.int8) if name == "int4" else np.iinfo(dtype)
        low, high = (-8, 7) if name == "int4" else (int(info.min), int(info.max))
        return np.array(decode_fill_integer(json, low, high), dtype=dtype)
    if kind == "f":
        return _decode_float(json, dtype)
    if not isinstance(json, list) or len(json) != 2:
        raise InvalidArgumentError(
            f"Expected array of two numbers for {name}, but received: {json_text(json)}"
        )
    part = np.dtype(np.float32 if name == "complex64" else np.float64)
    real, imag = (_decode_float(item, part) for item in json)
    out = np.zeros((), dtype=dtype)
    out.real = real
    out.imag = imag
    return out


def encode_fill_value(value: np.ndarray, name: str) -> Any:
    """The JSON TensorStore writes for fill value ``value`` of data type ``name``."""
    kind = _kind(name)
    scalar = value.reshape(())
    if kind in "OU":
        return encode_text_fill(scalar, ts_name(name))
    if kind == "b":
        return bool(scalar)
    if kind in "iu":
        return int(scalar)
    if kind == "f":
        return _encode_float(scalar)
    return [_encode_float(np.asarray(scalar.real)), _encode_float(np.asarray(scalar.imag))]


def default_fill_value(name: str) -> np.ndarray:
    """Zero (``false``, empty text) of data type ``name``: TensorStore's fill value when none is given."""
    if _kind(name) in "OU":
        return empty_fill(ts_name(name))
    return np.zeros((), dtype=numpy_dtype(name))


def convert_fill_value(value: Any, name: str) -> np.ndarray:
    """A schema fill value as a 0-d array of data type ``name`` (see ``scalar_fill_value``).

    Raises:
        ValueError: not a scalar, or not convertible.
    """
    if _kind(name) in "OU":
        value = convert_text_fill(value, ts_name(name))
        fixed = fixed_text_dtype(name)
        return value if fixed is None else check_fixed_length_fill(value, fixed)
    return scalar_fill_value(value, numpy_dtype(name), name)
