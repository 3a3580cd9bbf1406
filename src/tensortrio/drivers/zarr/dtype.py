"""Zarr v2 data type strings (``"<u2"``, ``"|b1"``, ``"bfloat16"``) and their NumPy dtypes.

The rules are TensorStore's: a NumPy typestr of endianness (``<``, ``>``, ``|``),
kind and size, where ``|`` is only allowed for one-byte types and one-byte types
ignore the endianness; plus TensorStore's extensions ``"bfloat16"``, the
``float8_*`` / ``float4_e2m1fn`` names and ``"int2"`` / ``"int4"`` (one byte per
element, little endian).  Datetime, unicode, raw-byte (``|S``/``|V``) and
structured data types are rejected with a message saying so.
"""

from __future__ import annotations

import sys
from typing import Any, Final

import attrs
import numpy as np

from ...errors import InvalidArgumentError
from ...schema.chunk_json import json_text
from ...schema.dtype import dtype as ts_dtype

__all__ = ["ZarrDType", "choose_zarr_dtype", "parse_zarr_dtype"]

_EXTENSION_NAMES: Final = (
    "bfloat16",
    "float8_e3m4",
    "float8_e4m3fn",
    "float8_e4m3fnuz",
    "float8_e4m3b11fnuz",
    "float8_e5m2",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
    "float4_e2m1fn",
    "int2",
    "int4",
)
_SIZES: Final[dict[str, tuple[str, ...]]] = {
    "i": ("1", "2", "4", "8"),
    "u": ("1", "2", "4", "8"),
    "f": ("2", "4", "8"),
    "c": ("8", "16"),
}
_NATIVE: Final = "<" if sys.byteorder == "little" else ">"


@attrs.frozen
class ZarrDType:
    """One scalar zarr data type.

    ``encoded`` is the ``.zarray`` string; ``stored`` the NumPy dtype of the
    bytes in a chunk (byte order included); ``native`` the in-memory NumPy
    dtype (native byte order); ``name`` the TensorStore data type name.
    """

    encoded: str
    stored: np.dtype[Any]
    native: np.dtype[Any]
    name: str

    @property
    def kind(self) -> str:
        """TensorStore's type indicator: ``b``, ``i``, ``u``, ``f`` or ``c``."""
        if self.encoded.startswith(("float", "bfloat")):
            return "f"
        if self.encoded in ("int2", "int4"):
            return "i"
        return self.encoded[1]

    def to_json(self) -> str:
        return self.encoded


def _unsupported(value: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"Unsupported zarr dtype: {json_text(value)}")


def _make(encoded: str, numpy_dtype: np.dtype[Any]) -> ZarrDType:
    native = numpy_dtype.newbyteorder("=") if numpy_dtype.itemsize > 1 else numpy_dtype
    return ZarrDType(encoded, numpy_dtype, native, ts_dtype(native).name)


def _parse_typestr(value: str) -> ZarrDType:
    if value in _EXTENSION_NAMES:
        return _make(value, ts_dtype(value).numpy_dtype)
    if len(value) < 3:
        raise _unsupported(value)
    endian, kind, size = value[0], value[1], value[2:]
    if endian not in "<>|":
        raise _unsupported(value)
    if kind in "SV" and size.isdigit():
        raise InvalidArgumentError(
            f"zarr dtype {json_text(value)}: raw byte and string data types are not "
            "supported by tensortrio"
        )
    if kind == "b":
        if size != "1":
            raise _unsupported(value)
        return _make(value, np.dtype(np.bool_))
    if kind not in _SIZES or size not in _SIZES[kind]:
        raise _unsupported(value)
    if size == "1":
        return _make(value, np.dtype(f"|{kind}1"))
    if endian == "|":
        raise _unsupported(value)
    return _make(value, np.dtype(f"{endian}{kind}{size}"))


def parse_zarr_dtype(json: Any) -> ZarrDType:
    """Parse the ``"dtype"`` member of ``.zarray`` metadata.

    Raises:
        ValueError: not a string, an unsupported typestr, or a structured
            (field list) data type, which tensortrio does not support.
    """
    if isinstance(json, str):
        return _parse_typestr(json)
    if isinstance(json, list):
        raise InvalidArgumentError(
            f"structured zarr data types are not supported by tensortrio: {json_text(json)}"
        )
    raise InvalidArgumentError(f"Expected array, but received: {json_text(json)}")


def choose_zarr_dtype(dtype: ts_dtype) -> ZarrDType:
    """The zarr data type TensorStore writes for a new array of ``dtype`` (native endianness).

    Raises:
        ValueError: ``dtype`` has no zarr v2 encoding (string, ustring, json, char, byte).
    """
    if dtype.name in _EXTENSION_NAMES:
        return _make(dtype.name, dtype.numpy_dtype)
    numpy_dtype = dtype.numpy_dtype
    if numpy_dtype.kind not in "biufc" or dtype.name in ("char", "byte"):
        raise InvalidArgumentError(f"Data type not supported: {dtype.name}")
    if numpy_dtype.itemsize == 1:
        return _make(f"|{numpy_dtype.kind}1", numpy_dtype)
    return _make(f"{_NATIVE}{numpy_dtype.kind}{numpy_dtype.itemsize}", numpy_dtype)
