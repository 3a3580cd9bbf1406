"""Zarr v3 ``data_type`` names and their NumPy dtypes.

Zarr v3 names data types as TensorStore does (``"uint16"``, ``"float32"``,
``"bfloat16"``, ``"complex64"``...); the in-memory dtype is always native
byte order (the ``bytes`` codec decides the stored byte order).

zarr-python's variable-length types are also read and written (tensorstore
has neither): ``"string"`` (text, TensorStore's ``ustring``) and
``"variable_length_bytes"`` (bytes, ``string``), whose chunks the
``vlen-utf8`` and ``vlen-bytes`` codecs encode; and its fixed-length text,
``{"name": "fixed_length_utf32", "configuration": {"length_bytes": 4n}}``
(NumPy's ``<U<n>``, ``ustring`` here), which ``bytes`` encodes.  Inside
tensortrio that type is the name ``"fixed_length_utf32:<length_bytes>"``;
:func:`data_type_json` gives its JSON.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from ...errors import InvalidArgumentError
from ...schema.chunk_json import json_text
from ...schema.dtype import dtype as ts_dtype

__all__ = [
    "ZARR3_DATA_TYPES",
    "data_type_for",
    "data_type_json",
    "fixed_text_dtype",
    "numpy_dtype",
    "parse_data_type",
    "ts_name",
]

ZARR3_DATA_TYPES: Final = (
    "bool",
    "int4",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float8_e3m4",
    "float8_e4m3fn",
    "float8_e4m3fnuz",
    "float8_e4m3b11fnuz",
    "float8_e5m2",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
    "float4_e2m1fn",
    "bfloat16",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "string",
    "variable_length_bytes",
)
_TS_NAMES: Final = {"string": "ustring", "variable_length_bytes": "string"}
_DATA_TYPES: Final = {name: data_type for data_type, name in _TS_NAMES.items()}


_FIXED_TEXT: Final = "fixed_length_utf32"


def fixed_text_dtype(data_type: str, endian: str = "<") -> np.dtype[Any] | None:
    """The NumPy ``<U<n>`` dtype of fixed-length text ``data_type``; None for other types."""
    if not data_type.startswith(_FIXED_TEXT + ":"):
        return None
    return np.dtype(f"{endian}U{int(data_type.split(':')[1]) // 4}")


def ts_name(data_type: str) -> str:
    """The TensorStore data type of zarr v3 ``data_type`` (``"string"`` is ``ustring``)."""
    if fixed_text_dtype(data_type) is not None:
        return "ustring"
    return _TS_NAMES.get(data_type, data_type)


def data_type_json(data_type: str) -> Any:
    """The ``data_type`` JSON of ``data_type`` (fixed-length text's is an object)."""
    fixed = fixed_text_dtype(data_type)
    if fixed is None:
        return data_type
    return {"configuration": {"length_bytes": fixed.itemsize}, "name": _FIXED_TEXT}


def _parse_fixed_text(json: dict[str, Any]) -> str:
    config = json.get("configuration")
    length = config.get("length_bytes") if isinstance(config, dict) else None
    if (
        json.get("name") != _FIXED_TEXT
        or set(json) - {"name", "configuration"}
        or not isinstance(config, dict)
        or set(config) != {"length_bytes"}
        or not isinstance(length, int)
        or isinstance(length, bool)
        or length <= 0
        or length % 4
    ):
        raise InvalidArgumentError(
            f"Unsupported zarr v3 data type: {json_text(json)} (of data types given as objects, "
            'tensortrio reads {"name": "fixed_length_utf32", "configuration": {"length_bytes": '
            "<positive multiple of 4>}})"
        )
    return f"{_FIXED_TEXT}:{length}"


def data_type_for(name: str) -> str:
    """The zarr v3 ``data_type`` of TensorStore data type ``name`` (``ustring`` is ``"string"``).

    Raises:
        ValueError: zarr v3 has no such type (``char``, ``byte``, ``json``, ``int2``).
    """
    data_type = _DATA_TYPES.get(name, name)
    if data_type not in ZARR3_DATA_TYPES:
        raise InvalidArgumentError(f"Data type not supported by zarr3: {name}")
    return data_type


def parse_data_type(json: Any) -> str:
    """Validate a ``data_type`` JSON value; returns the TensorStore data type name.

    Raises:
        ValueError: not a string, or not a supported zarr v3 data type.
    """
    if isinstance(json, dict):
        return _parse_fixed_text(json)
    if not isinstance(json, str):
        raise InvalidArgumentError(f"Expected string, but received: {json_text(json)}")
    if json not in ZARR3_DATA_TYPES:
        raise InvalidArgumentError(f"Unsupported zarr v3 data type: {json_text(json)}")
    return json


def numpy_dtype(name: str) -> np.dtype[Any]:
    """The native in-memory NumPy dtype of zarr v3 data type ``name``."""
    return np.dtype(ts_dtype(ts_name(name)).numpy_dtype)
