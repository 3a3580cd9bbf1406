"""The ``ts.<name>`` data type constants, under TensorStore's exact names.

This module deliberately shadows the builtin ``bool`` and the stdlib name
``json``, as ``tensorstore`` does; it holds nothing else.
"""

from __future__ import annotations

from typing import Final

from .dtype import dtype

__all__ = [
    "bfloat16",
    "bool",
    "byte",
    "char",
    "complex64",
    "complex128",
    "float4_e2m1fn",
    "float8_e3m4",
    "float8_e4m3b11fnuz",
    "float8_e4m3fn",
    "float8_e4m3fnuz",
    "float8_e5m2",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
    "float16",
    "float32",
    "float64",
    "int2",
    "int4",
    "int8",
    "int16",
    "int32",
    "int64",
    "json",
    "string",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "ustring",
]

bool: Final = dtype("bool")
char: Final = dtype("char")
byte: Final = dtype("byte")
int2: Final = dtype("int2")
int4: Final = dtype("int4")
int8: Final = dtype("int8")
uint8: Final = dtype("uint8")
int16: Final = dtype("int16")
uint16: Final = dtype("uint16")
int32: Final = dtype("int32")
uint32: Final = dtype("uint32")
int64: Final = dtype("int64")
uint64: Final = dtype("uint64")
float8_e3m4: Final = dtype("float8_e3m4")
float8_e4m3fn: Final = dtype("float8_e4m3fn")
float8_e4m3fnuz: Final = dtype("float8_e4m3fnuz")
float8_e4m3b11fnuz: Final = dtype("float8_e4m3b11fnuz")
float8_e5m2: Final = dtype("float8_e5m2")
float8_e5m2fnuz: Final = dtype("float8_e5m2fnuz")
float8_e8m0fnu: Final = dtype("float8_e8m0fnu")
float4_e2m1fn: Final = dtype("float4_e2m1fn")
float16: Final = dtype("float16")
bfloat16: Final = dtype("bfloat16")
float32: Final = dtype("float32")
float64: Final = dtype("float64")
complex64: Final = dtype("complex64")
complex128: Final = dtype("complex128")
string: Final = dtype("string")
ustring: Final = dtype("ustring")
json: Final = dtype("json")
