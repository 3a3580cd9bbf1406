"""``ts.dtype``: TensorStore's data types and their NumPy counterparts.

Every TensorStore data type that NumPy (with ``ml_dtypes``, which TensorStore
itself depends on) can represent is here, under TensorStore's name:
``bool``, ``char``, ``byte``, ``int2``, ``int4``, ``int8`` … ``uint64``, the
``float8_*``/``float4_e2m1fn`` formats, ``float16``, ``bfloat16``, ``float32``,
``float64``, ``complex64``, ``complex128``, ``string`` (bytes), ``ustring``
(str) and ``json``.  The last three are stored in NumPy ``object`` arrays.

A ``dtype`` is an interned immutable value: ``ts.dtype("uint8") is ts.uint8``.
The ``ts.<name>`` constants live in :mod:`.dtypes`.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeAlias

import ml_dtypes
import numpy as np

from ..errors import InvalidArgumentError

if TYPE_CHECKING:
    import builtins

__all__ = ["DTypeLike", "dtype"]

DTypeLike: TypeAlias = "dtype | str | np.dtype[Any] | type"
"""Anything ``ts.dtype(...)`` accepts: a dtype, a name, a NumPy dtype or a type."""

_OBJECT = np.dtype("O")

# name -> (NumPy dtype, Python scalar type); order is TensorStore's.
_SPECS: Final[dict[str, tuple[np.dtype[Any], type]]] = {
    "bool": (np.dtype(np.bool_), np.bool_),
    "char": (np.dtype("S"), np.bytes_),
    "byte": (np.dtype("V"), np.void),
    "int2": (np.dtype(ml_dtypes.int2), ml_dtypes.int2),
    "int4": (np.dtype(ml_dtypes.int4), ml_dtypes.int4),
    "int8": (np.dtype(np.int8), np.int8),
    "uint8": (np.dtype(np.uint8), np.uint8),
    "int16": (np.dtype(np.int16), np.int16),
    "uint16": (np.dtype(np.uint16), np.uint16),
    "int32": (np.dtype(np.int32), np.int32),
    "uint32": (np.dtype(np.uint32), np.uint32),
    "int64": (np.dtype(np.int64), np.int64),
    "uint64": (np.dtype(np.uint64), np.uint64),
    "float8_e3m4": (np.dtype(ml_dtypes.float8_e3m4), ml_dtypes.float8_e3m4),
    "float8_e4m3fn": (np.dtype(ml_dtypes.float8_e4m3fn), ml_dtypes.float8_e4m3fn),
    "float8_e4m3fnuz": (np.dtype(ml_dtypes.float8_e4m3fnuz), ml_dtypes.float8_e4m3fnuz),
    "float8_e4m3b11fnuz": (
        np.dtype(ml_dtypes.float8_e4m3b11fnuz),
        ml_dtypes.float8_e4m3b11fnuz,
    ),
    "float8_e5m2": (np.dtype(ml_dtypes.float8_e5m2), ml_dtypes.float8_e5m2),
    "float8_e5m2fnuz": (np.dtype(ml_dtypes.float8_e5m2fnuz), ml_dtypes.float8_e5m2fnuz),
    "float8_e8m0fnu": (np.dtype(ml_dtypes.float8_e8m0fnu), ml_dtypes.float8_e8m0fnu),
    "float4_e2m1fn": (np.dtype(ml_dtypes.float4_e2m1fn), ml_dtypes.float4_e2m1fn),
    "float16": (np.dtype(np.float16), np.float16),
    "bfloat16": (np.dtype(ml_dtypes.bfloat16), ml_dtypes.bfloat16),
    "float32": (np.dtype(np.float32), np.float32),
    "float64": (np.dtype(np.float64), np.float64),
    "complex64": (np.dtype(np.complex64), np.complex64),
    "complex128": (np.dtype(np.complex128), np.complex128),
    "string": (_OBJECT, bytes),
    "ustring": (_OBJECT, str),
    "json": (_OBJECT, np.object_),
}

# ml_dtypes scalar types report NumPy kinds ('V', or 'f' for float8_e5m2) that
# collide with built-in types, so they are matched by scalar type first.
_BY_ML_TYPE: Final[dict[type, str]] = {
    spec[1]: name for name, spec in _SPECS.items() if spec[1].__module__ == "ml_dtypes"
}
# Built-in numeric types by (kind, itemsize), so aliases such as np.longlong
# and np.intc map like their fixed-width twins and byte order is ignored.
_BY_KIND_SIZE: Final[dict[tuple[str, int], str]] = {
    (spec[0].kind, spec[0].itemsize): name
    for name, spec in _SPECS.items()
    if spec[0].kind in "biufc" and spec[1].__module__ == "numpy"
}


def _name_for_numpy(numpy_dtype: np.dtype[Any]) -> str:
    if numpy_dtype.type in _BY_ML_TYPE:
        return _BY_ML_TYPE[numpy_dtype.type]
    if numpy_dtype.kind == "S":
        return "char"
    if numpy_dtype.kind == "V" and issubclass(numpy_dtype.type, np.void):
        return "byte"
    # Only NumPy's own scalar types qualify: ml_dtypes extensions TensorStore
    # lacks (uint4, float8_e4m3, ...) share kinds and sizes with built-ins.
    name = (
        _BY_KIND_SIZE.get((numpy_dtype.kind, numpy_dtype.itemsize))
        if numpy_dtype.type.__module__ == "numpy"
        else None
    )
    if name is None:
        raise InvalidArgumentError(
            f"No TensorStore data type corresponding to NumPy dtype: {numpy_dtype!r}"
        )
    return name


def _resolve_name(value: object) -> str:
    """The TensorStore name for ``value``; ValueError/TypeError if it has none."""
    if isinstance(value, dtype):
        return value.name
    if isinstance(value, str):
        if value not in _SPECS:
            raise InvalidArgumentError(f'No TensorStore data type with name: "{value}"')
        return value
    if value is str:
        return "ustring"
    if value is bytes:
        return "string"
    if isinstance(value, np.dtype):
        return _name_for_numpy(value)
    if isinstance(value, type):
        try:
            numpy_dtype = np.dtype(value)
        except TypeError:
            raise TypeError(
                f"ts.dtype: {value!r} is not a data type name, NumPy dtype or scalar type"
            ) from None
        return _name_for_numpy(numpy_dtype)
    raise TypeError(f"ts.dtype: expected a data type name, NumPy dtype or type, got {value!r}")


class dtype:
    """TensorStore data type representation.

    ``dtype(x)`` accepts a TensorStore name (``"uint16"``), a NumPy dtype
    (byte order ignored), a NumPy scalar type or Python type (``float`` is
    ``float64``, ``int`` is ``int64``, ``str`` is ``ustring``, ``bytes`` is
    ``string``) or another ``dtype``.

    Raises:
        ValueError: the name or NumPy dtype has no TensorStore data type.
        TypeError: ``x`` is none of the accepted kinds of value.
    """

    __slots__ = ("_name", "_numpy_dtype", "_type")
    _interned: ClassVar[dict[str, dtype]] = {}

    _name: str
    _numpy_dtype: np.dtype[Any]
    _type: type

    def __new__(cls, dtype: DTypeLike) -> dtype:
        name = _resolve_name(dtype)
        existing = cls._interned.get(name)
        if existing is not None:
            return existing
        self = object.__new__(cls)
        numpy_dtype, scalar_type = _SPECS[name]
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_numpy_dtype", numpy_dtype)
        object.__setattr__(self, "_type", scalar_type)
        cls._interned[name] = self
        return self

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"ts.dtype is immutable; cannot set {key!r}")

    @property
    def name(self) -> str:
        """Name of the data type; equal to its JSON representation."""
        return self._name

    @property
    def numpy_dtype(self) -> np.dtype[Any]:
        """NumPy dtype of arrays of this type (``object`` for string, ustring, json)."""
        return self._numpy_dtype

    @property
    def type(self) -> type:
        """Python type of one element (``bytes`` for string, ``str`` for ustring)."""
        return self._type

    def to_json(self) -> str:
        """JSON representation: the name."""
        return self._name

    def __call__(self, arg: Any) -> Any:
        """Construct a scalar of this data type from ``arg``."""
        if self._name == "json":
            return _to_json_value(arg)
        return self._type(arg)

    def __repr__(self) -> str:
        return f'dtype("{self._name}")'

    def __eq__(self, other: object) -> bool:
        if isinstance(other, dtype):
            return self is other
        try:
            return self._name == _resolve_name(other)
        except (TypeError, ValueError):
            return NotImplemented

    def __hash__(self) -> int:
        # Hash of the name, so ts.uint8 and "uint8" (which compare equal) hash alike.
        return hash(self._name)

    def __reduce__(self) -> tuple[builtins.type[dtype], tuple[str]]:
        return (dtype, (self._name,))


def _to_json_value(value: Any, path: str = "value") -> Any:
    """Convert ``value`` to plain JSON-compatible Python (what ``ts.json(x)`` returns)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return value
    if isinstance(value, np.generic):
        return _to_json_value(value.item(), path)
    if isinstance(value, np.ndarray):
        return _to_json_value(value.tolist(), path)
    if isinstance(value, list | tuple):
        return [_to_json_value(x, f"{path}[{i}]") for i, x in enumerate(value)]
    if isinstance(value, Mapping):
        return {str(k): _to_json_value(v, f"{path}[{k!r}]") for k, v in value.items()}
    if hasattr(value, "__index__"):
        return operator.index(value)
    if hasattr(value, "__float__") and not isinstance(value, complex):
        return float(value)
    raise TypeError(f"Object '{type(value).__name__}' does not support conversion to JSON")
