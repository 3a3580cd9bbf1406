"""Zarr v3 ``data_type`` names and their NumPy dtypes.

Zarr v3 names data types as TensorStore does (``"uint16"``, ``"float32"``,
``"bfloat16"``, ``"complex64"``...); the in-memory dtype is always native
byte order (the ``bytes`` codec decides the stored byte order).

zarr-python's variable-length types are also read and written (tensorstore
has neither): ``"string"`` (text, TensorStore's ``ustring``) and
``"variable_length_bytes"`` (bytes, ``string``), whose chunks the
``vlen-utf8`` and ``vlen-bytes`` codecs encode.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from ...errors import InvalidArgumentError
from ...schema.chunk_json import json_text
from ...schema.dtype import dtype as ts_dtype

__all__ = ["ZARR3_DATA_TYPES", "data_type_for", "numpy_dtype", "parse_data_type", "ts_name"]

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


def ts_name(data_type: str) -> str:
    """The TensorStore data type of zarr v3 ``data_type`` (``"string"`` is ``ustring``)."""
    return _TS_NAMES.get(data_type, data_type)


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
    if not isinstance(json, str):
        raise InvalidArgumentError(f"Expected string, but received: {json_text(json)}")
    if json not in ZARR3_DATA_TYPES:
        raise InvalidArgumentError(f"Unsupported zarr v3 data type: {json_text(json)}")
    return json


def numpy_dtype(name: str) -> np.dtype[Any]:
    """The native in-memory NumPy dtype of zarr v3 data type ``name``."""
    return np.dtype(ts_dtype(ts_name(name)).numpy_dtype)
