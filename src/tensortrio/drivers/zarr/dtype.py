"""Zarr v2 data types (``"<u2"``, ``"|b1"``, ``"|S8"``, ``[["x", "<f4", [3]]]``) and their NumPy dtypes.

The rules are TensorStore's: a NumPy typestr of endianness (``<``, ``>``, ``|``),
kind and size, where ``|`` is only allowed for one-byte types and one-byte types
ignore the endianness; plus TensorStore's extensions ``"bfloat16"``, the
``float8_*`` / ``float4_e2m1fn`` names and ``"int2"`` / ``"int4"`` (one byte per
element, little endian).

A raw byte string (``|S<n>``, TensorStore's ``char``) or raw bytes
(``|V<n>``, ``byte``) element is ``n`` one-byte elements: the array gains an
inner dimension of size ``n``.  A structured type (a list of fields
``[name, typestr]`` or ``[name, typestr, shape]``) of one field is that
field's type, with ``shape`` as further inner dimensions.  A structured type
of several fields is stored as packed records: its chunks hold the records'
raw bytes (as ``|V<record size>``), and each field is opened on its own
(``"field"``, :mod:`..record_field`).

``"<U<n>"`` (or ``">U<n>"``) is NumPy's fixed-length text of ``n`` UTF-32
characters, which zarr-python writes for arrays of NumPy strings; it opens
as ``ustring``.  ``"|O"`` is zarr-python's variable-length type: Python
objects, which the first filter (the object codec) turns into bytes.
tensortrio knows two object codecs: ``vlen-utf8`` (``ustring``) and
``vlen-bytes`` (``string``); until the filters are known an ``"|O"`` type
is ``ustring`` (:func:`with_object_codec` settles it).  tensorstore has
none of these types.  Neither may be a field of a structured type.
Datetime types are rejected with a message saying so.
"""

from __future__ import annotations

import math
import sys
from typing import Any, Final, TypeAlias

import attrs
import numpy as np

from ...errors import InvalidArgumentError
from ...schema.chunk_json import json_text
from ...schema.dtype import dtype as ts_dtype
from ...schema.json_member import json_integer_in
from ..record_field import RecordField
from ..text_codec import VLEN_CODECS

__all__ = [
    "ZarrDType",
    "choose_zarr_dtype",
    "object_codec",
    "parse_zarr_dtype",
    "with_object_codec",
]

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
_RAW: Final = {"S": (np.dtype("S1"), "char"), "V": (np.dtype("V1"), "byte")}
_OBJECT: Final = np.dtype("O")
_MAX_FIELD_DIM: Final = (1 << 62) - 1

Field: TypeAlias = "tuple[str, str] | tuple[str, str, tuple[int, ...]]"
"""One member of a structured type's field list: ``(name, typestr[, shape])``."""


@attrs.frozen
class ZarrDType:
    """One zarr data type: a scalar, a raw byte string, or a structured type.

    ``encoded`` is the ``.zarray`` typestr, or the field list of a structured
    type; ``stored`` the NumPy dtype of one stored element (byte order
    included; ``S1``/``V1`` for raw bytes); ``native`` the in-memory NumPy
    dtype (native byte order); ``name`` the TensorStore data type name;
    ``field_shape`` the inner dimensions each array element adds (``|S4``:
    ``(4,)``; a field ``["x", "<f4", [2, 3]]``: ``(2, 3)``).

    A structured type of several fields is its records' raw bytes (``byte``
    elements, ``field_shape`` the record size), and ``fields`` says where
    each field lies in a record (:meth:`select` gives one field's type).
    """

    encoded: str | tuple[Field, ...]
    stored: np.dtype[Any]
    native: np.dtype[Any]
    name: str
    field_shape: tuple[int, ...] = ()
    fields: tuple[RecordField, ...] = ()

    @property
    def kind(self) -> str:
        """The type indicator: ``b``, ``i``, ``u``, ``f``, ``c``, ``S``, ``V``, ``U`` (text) or ``O`` (objects)."""
        if self.fields:
            return "V"
        typestr = self.typestr
        if typestr.startswith(("float", "bfloat")):
            return "f"
        if typestr in ("int2", "int4"):
            return "i"
        return typestr[1]

    @property
    def typestr(self) -> str:
        """The scalar typestr (a structured type's field's)."""
        return self.encoded if isinstance(self.encoded, str) else self.encoded[0][1]

    @property
    def field_names(self) -> tuple[str, ...]:
        """The names of a structured type's fields; empty for a typestr."""
        return () if isinstance(self.encoded, str) else tuple(f[0] for f in self.encoded)

    @property
    def raw_fill_value(self) -> bool:
        """Whether the fill value is stored as the base64 of one element's bytes only."""
        return not isinstance(self.encoded, str) or self.kind in "SV"

    @property
    def element_nbytes(self) -> int:
        """Bytes one array element (all its inner elements) occupies in a chunk."""
        return math.prod(self.field_shape) * self.stored.itemsize

    def select(self, name: str) -> ZarrDType:
        """Field ``name`` of a structured type of several fields, as a one-field type.

        Raises:
            KeyError: no field of that name.
        """
        record = self.record_field(name)
        assert not isinstance(self.encoded, str), "only structured types have fields"
        [field] = [f for f in self.encoded if f[0] == name]
        return ZarrDType((field,), record.stored, record.native, record.dtype_name, record.shape)

    def record_field(self, name: str) -> RecordField:
        """Where field ``name`` of a structured type of several fields lies in a record.

        Raises:
            KeyError: no field of that name.
        """
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(name)

    def to_json(self) -> str | list[list[Any]]:
        if isinstance(self.encoded, str):
            return self.encoded
        return [[f[0], f[1], list(f[2])] if len(f) == 3 else [f[0], f[1]] for f in self.encoded]


def _unsupported(value: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"Unsupported zarr dtype: {json_text(value)}")


def _make(encoded: str, numpy_dtype: np.dtype[Any]) -> ZarrDType:
    native = numpy_dtype.newbyteorder("=") if numpy_dtype.itemsize > 1 else numpy_dtype
    return ZarrDType(encoded, numpy_dtype, native, ts_dtype(native).name)


def _parse_typestr(value: str) -> ZarrDType:
    if value in _EXTENSION_NAMES:
        return _make(value, ts_dtype(value).numpy_dtype)
    if value == "|O":
        return ZarrDType(value, _OBJECT, _OBJECT, "ustring")
    if value[1:2] == "U" and value[0] in "<>" and value[2:].isdigit() and int(value[2:]) > 0:
        # Fixed-length UTF-32 text (NumPy's): ``ustring`` values of at most n characters.
        return ZarrDType(value, np.dtype(value), _OBJECT, "ustring")
    if len(value) < 3:
        raise _unsupported(value)
    endian, kind, size = value[0], value[1], value[2:]
    if endian not in "<>|":
        raise _unsupported(value)
    if kind in _RAW and size.isdigit():
        if int(size) == 0:
            # tensorstore accepts these; nothing can be stored in them.
            raise InvalidArgumentError(
                f"zarr dtype {json_text(value)}: elements of 0 bytes are not supported by tensortrio"
            )
        element, name = _RAW[kind]
        return ZarrDType(value, element, element, name, (int(size),))
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


def _at(position: int, exc: InvalidArgumentError) -> InvalidArgumentError:
    return InvalidArgumentError(f"Error parsing value at position {position}: {exc}")


def _parse_field(json: Any) -> tuple[Field, ZarrDType]:
    if not isinstance(json, list) or len(json) not in (2, 3):
        raise InvalidArgumentError(f"Expected array of size 2 or 3, but received: {json_text(json)}")
    name = json[0]
    if not isinstance(name, str) or not name:
        raise _at(0, InvalidArgumentError(f"Expected non-empty string, but received: {json_text(name)}"))
    if not isinstance(json[1], str):
        raise _at(1, InvalidArgumentError(f"Expected string, but received: {json_text(json[1])}"))
    try:
        scalar = _parse_typestr(json[1])
        if scalar.kind in "OU":
            raise _unsupported(json[1])
    except InvalidArgumentError as exc:
        raise _at(1, exc) from None
    shape: tuple[int, ...] = ()
    if len(json) == 3:
        if not isinstance(json[2], list):
            raise _at(2, InvalidArgumentError(f"Expected array, but received: {json_text(json[2])}"))
        dims = []
        for i, n in enumerate(json[2]):
            try:
                dims.append(json_integer_in(1, _MAX_FIELD_DIM)(n))
            except InvalidArgumentError as exc:
                raise _at(2, _at(i, exc)) from None
        shape = tuple(dims)
    field: Field = (name, json[1], shape) if shape else (name, json[1])
    return field, scalar


def _parse_fields(json: list[Any]) -> ZarrDType:
    # Every field is checked (errors name its position) before several are refused.
    fields: list[tuple[Field, ZarrDType]] = []
    for i, item in enumerate(json):
        try:
            field, scalar = _parse_field(item)
        except InvalidArgumentError as exc:
            raise _at(i, exc) from None
        if any(f[0] == field[0] for f, _ in fields):
            raise InvalidArgumentError(f"Field name {json_text(field[0])} occurs more than once")
        fields.append((field, scalar))
    if not fields:
        raise InvalidArgumentError("Expected at least one field, but received: []")
    views = [_field_view(field, scalar) for field, scalar in fields]
    if len(views) == 1:
        return views[0]
    records: list[RecordField] = []
    offset = 0
    for (field, _), view in zip(fields, views, strict=True):
        records.append(
            RecordField(field[0], offset, view.stored, view.native, view.name, view.field_shape)
        )
        offset += view.element_nbytes
    element, name = _RAW["V"]
    return ZarrDType(
        tuple(field for field, _ in fields), element, element, name, (offset,), tuple(records)
    )


def _field_view(field: Field, scalar: ZarrDType) -> ZarrDType:
    """A field as a one-field structured type: its scalar type, its shape as inner dimensions."""
    shape = field[2] if len(field) == 3 else ()
    return attrs.evolve(scalar, encoded=(field,), field_shape=shape + scalar.field_shape)


def parse_zarr_dtype(json: Any) -> ZarrDType:
    """Parse the ``"dtype"`` member of ``.zarray`` metadata.

    Raises:
        ValueError: not a string or field list, an unsupported typestr, or an
            invalid field.
    """
    if isinstance(json, str):
        return _parse_typestr(json)
    if isinstance(json, list):
        return _parse_fields(json)
    raise InvalidArgumentError(f"Expected array, but received: {json_text(json)}")


def choose_zarr_dtype(dtype: ts_dtype) -> ZarrDType:
    """The zarr data type TensorStore writes for a new array of ``dtype`` (native endianness).

    ``string`` and ``ustring`` are ``"|O"``, which zarr-python writes for
    variable-length bytes and text (tensorstore cannot create them); their
    object codec is the first filter (:func:`object_codec`).

    Raises:
        ValueError: ``dtype`` has no zarr v2 encoding (json, char, byte).
    """
    if dtype.name in VLEN_CODECS.values():
        return ZarrDType("|O", _OBJECT, _OBJECT, dtype.name)
    if dtype.name in _EXTENSION_NAMES:
        return _make(dtype.name, dtype.numpy_dtype)
    numpy_dtype = dtype.numpy_dtype
    if numpy_dtype.kind not in "biufc" or dtype.name in ("char", "byte"):
        raise InvalidArgumentError(f"Data type not supported: {dtype.name}")
    if numpy_dtype.itemsize == 1:
        return _make(f"|{numpy_dtype.kind}1", numpy_dtype)
    return _make(f"{_NATIVE}{numpy_dtype.kind}{numpy_dtype.itemsize}", numpy_dtype)


def object_codec(dtype: ZarrDType) -> dict[str, Any]:
    """The filter that encodes the elements of an ``"|O"`` type of ``dtype.name``."""
    [codec_id] = [k for k, v in VLEN_CODECS.items() if v == dtype.name]
    return {"id": codec_id}


def with_object_codec(dtype: ZarrDType, filter_ids: tuple[str, ...] | None) -> ZarrDType:
    """``dtype``, whose elements an ``"|O"`` type takes from its first filter (the object codec).

    Other types are returned as they are, and must have no object codec.

    Raises:
        ValueError: an ``"|O"`` type whose first filter is not ``vlen-utf8`` or
            ``vlen-bytes``, or that has a second object codec; an object codec
            for another type.
    """
    codecs = [f for f in filter_ids or () if f in VLEN_CODECS]
    if dtype.kind != "O":
        if codecs:
            raise InvalidArgumentError(
                f'filter {json_text(codecs[0])} encodes the objects of zarr dtype "|O", not '
                f"{json_text(dtype.to_json())}"
            )
        return dtype
    first = filter_ids[0] if filter_ids else None
    if len(codecs) > 1:
        raise InvalidArgumentError(
            f'zarr dtype "|O" takes one object codec, but the filters have {len(codecs)}: '
            f"{json_text(codecs)}"
        )
    if first not in VLEN_CODECS:
        raise InvalidArgumentError(
            'zarr dtype "|O" needs an object codec as its first filter: "vlen-utf8" (text) or '
            f'"vlen-bytes" (bytes); tensortrio supports no other, but the first filter is '
            f"{json_text(first)}"
        )
    return attrs.evolve(dtype, name=VLEN_CODECS[first])
