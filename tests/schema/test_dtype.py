"""ts.dtype and the ts.<name> constants (expectations checked against tensorstore 0.1.86)."""

from __future__ import annotations

import pickle
from typing import Any

import ml_dtypes
import numpy as np
import pytest

import tensortrio as ts

# Every TensorStore data type: (name, NumPy dtype, Python element type).
ALL_TYPES: list[tuple[str, np.dtype[Any], type]] = [
    ("bool", np.dtype(np.bool_), np.bool_),
    ("char", np.dtype("S"), np.bytes_),
    ("byte", np.dtype("V"), np.void),
    ("int2", np.dtype(ml_dtypes.int2), ml_dtypes.int2),
    ("int4", np.dtype(ml_dtypes.int4), ml_dtypes.int4),
    ("int8", np.dtype(np.int8), np.int8),
    ("uint8", np.dtype(np.uint8), np.uint8),
    ("int16", np.dtype(np.int16), np.int16),
    ("uint16", np.dtype(np.uint16), np.uint16),
    ("int32", np.dtype(np.int32), np.int32),
    ("uint32", np.dtype(np.uint32), np.uint32),
    ("int64", np.dtype(np.int64), np.int64),
    ("uint64", np.dtype(np.uint64), np.uint64),
    ("float8_e3m4", np.dtype(ml_dtypes.float8_e3m4), ml_dtypes.float8_e3m4),
    ("float8_e4m3fn", np.dtype(ml_dtypes.float8_e4m3fn), ml_dtypes.float8_e4m3fn),
    ("float8_e4m3fnuz", np.dtype(ml_dtypes.float8_e4m3fnuz), ml_dtypes.float8_e4m3fnuz),
    ("float8_e4m3b11fnuz", np.dtype(ml_dtypes.float8_e4m3b11fnuz), ml_dtypes.float8_e4m3b11fnuz),
    ("float8_e5m2", np.dtype(ml_dtypes.float8_e5m2), ml_dtypes.float8_e5m2),
    ("float8_e5m2fnuz", np.dtype(ml_dtypes.float8_e5m2fnuz), ml_dtypes.float8_e5m2fnuz),
    ("float8_e8m0fnu", np.dtype(ml_dtypes.float8_e8m0fnu), ml_dtypes.float8_e8m0fnu),
    ("float4_e2m1fn", np.dtype(ml_dtypes.float4_e2m1fn), ml_dtypes.float4_e2m1fn),
    ("float16", np.dtype(np.float16), np.float16),
    ("bfloat16", np.dtype(ml_dtypes.bfloat16), ml_dtypes.bfloat16),
    ("float32", np.dtype(np.float32), np.float32),
    ("float64", np.dtype(np.float64), np.float64),
    ("complex64", np.dtype(np.complex64), np.complex64),
    ("complex128", np.dtype(np.complex128), np.complex128),
    ("string", np.dtype("O"), bytes),
    ("ustring", np.dtype("O"), str),
    ("json", np.dtype("O"), np.object_),
]


@pytest.mark.parametrize(("name", "numpy_dtype", "element_type"), ALL_TYPES)
def test_every_type(name: str, numpy_dtype: np.dtype[Any], element_type: type) -> None:
    d = ts.dtype(name)
    assert d is getattr(ts, name)
    assert d.name == name
    assert d.to_json() == name
    assert repr(d) == str(d) == f'dtype("{name}")'
    assert d.numpy_dtype == numpy_dtype
    assert d.type is element_type
    assert pickle.loads(pickle.dumps(d)) is d
    assert d == name
    assert hash(d) == hash(ts.dtype(name))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.uint16, "uint16"),
        (np.dtype("uint16"), "uint16"),
        (np.dtype(">u2"), "uint16"),  # byte order does not matter
        (float, "float64"),
        (int, "int64"),
        (bool, "bool"),
        (complex, "complex128"),
        (str, "ustring"),
        (bytes, "string"),
        (np.dtype("S5"), "char"),
        (np.bytes_, "char"),
        (np.dtype("V4"), "byte"),
        (np.void, "byte"),
        (np.dtype([("a", "i4")]), "byte"),
        (np.intc, "int32"),
        (np.longlong, "int64"),
        (np.ulonglong, "uint64"),
        (np.half, "float16"),
        (ml_dtypes.bfloat16, "bfloat16"),
        (np.dtype(ml_dtypes.int4), "int4"),
        (np.dtype(ml_dtypes.float8_e5m2), "float8_e5m2"),  # NumPy kind "f", itemsize 1
        (ts.uint8, "uint8"),
    ],
)
def test_from_numpy_and_python_types(value: object, expected: str) -> None:
    assert ts.dtype(value) is ts.dtype(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("foo", r'^No TensorStore data type with name: "foo"$'),
        ("", r'^No TensorStore data type with name: ""$'),
        ("<u2", r'^No TensorStore data type with name: "<u2"$'),
        ("float", r'^No TensorStore data type with name: "float"$'),
        (np.dtype("O"), r"^No TensorStore data type corresponding to NumPy dtype: dtype\('O'\)$"),
        (object, r"^No TensorStore data type corresponding to NumPy dtype: dtype\('O'\)$"),
        (
            np.dtype("U5"),
            r"^No TensorStore data type corresponding to NumPy dtype: dtype\('<U5'\)$",
        ),
        (np.str_, r"^No TensorStore data type corresponding to NumPy dtype: dtype\('<U'\)$"),
        (
            np.longdouble,
            r"^No TensorStore data type corresponding to NumPy dtype: dtype\('float128'\)$",
        ),
        (
            np.dtype("datetime64[s]"),
            r"^No TensorStore data type corresponding to NumPy dtype: dtype\('<M8\[s\]'\)$",
        ),
        (
            ml_dtypes.uint4,
            r"^No TensorStore data type corresponding to NumPy dtype: dtype\(uint4\)$",
        ),
    ],
)
def test_unknown_values_name_the_value(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ts.dtype(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [5, None, b"uint8", np.float64(1.0), np.generic, np.number])
def test_wrong_kind_of_value_is_type_error(value: object) -> None:
    with pytest.raises(TypeError, match=r"^ts\.dtype: .*" + repr(value)[:6].replace("(", r"\(")):
        ts.dtype(value)  # type: ignore[arg-type]


def test_equality_with_dtype_likes() -> None:
    assert ts.uint8 == np.uint8
    assert ts.uint8 == np.dtype("uint8")
    assert ts.uint8 != ts.int8
    assert ts.uint8 != "int8"
    # Values that are no data type are simply unequal (tensorstore raises here).
    assert ts.uint8 != 5
    assert ts.uint8 != "foo"
    assert ts.uint8 != None  # noqa: E711
    assert {ts.uint8: 1}["uint8"] == 1


def test_immutable() -> None:
    with pytest.raises(AttributeError, match=r"^ts\.dtype is immutable; cannot set 'x'$"):
        ts.uint8.x = 1  # type: ignore[attr-defined]


def test_call_constructs_a_scalar() -> None:
    assert ts.uint8("5") == 5
    assert type(ts.uint8(5)) is np.uint8
    assert ts.bool(1) is np.True_
    assert ts.string(b"x") == b"x"
    assert ts.ustring("x") == "x"
    assert ts.float32(1.5) == np.float32(1.5)
    assert type(ts.bfloat16(1.5)) is ml_dtypes.bfloat16
    assert ts.json({"a": np.int64(1), "b": (1, 2), 3: np.array([1.5])}) == {
        "a": 1,
        "b": [1, 2],
        "3": [1.5],
    }
    with pytest.raises(TypeError, match=r"^Object 'object' does not support conversion to JSON$"):
        ts.json(object())
