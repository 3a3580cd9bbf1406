"""Text and bytes elements of zarr arrays (zarr-python's ``str`` arrays), encoded and checked.

Fixed-length text is NumPy's UTF-32 (zarr v2 ``"<U<n>"``, zarr v3
``fixed_length_utf32``): in memory it is ``ustring`` (``str`` objects), and
a value longer than ``n`` characters is refused rather than cut short.

Variable-length text and bytes are stored alike in both zarr formats: a
chunk's elements, in order, through numcodecs' ``vlen-utf8`` (text,
TensorStore's ``ustring``) or ``vlen-bytes`` (bytes, ``string``) encoding;
zarr v2 names it as the first filter of a ``"|O"`` array, zarr v3 as the
array→bytes codec of a ``"string"`` or ``"variable_length_bytes"`` array.  The fill value is a JSON string: the text
itself, or the bytes' base64 encoding.  tensorstore has none of these.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final

import numcodecs
import numpy as np

from ..errors import DataLossError, InvalidArgumentError
from ..schema.chunk_json import json_text
from ..schema.fill_value import scalar_fill_value
from .object_source import object_source

__all__ = [
    "VLEN_CODECS",
    "check_fixed_length_fill",
    "convert_text_fill",
    "decode_text_fill",
    "decode_vlen",
    "empty_fill",
    "encode_text_fill",
    "encode_vlen",
    "fixed_length_text",
    "vlen_values",
]

VLEN_CODECS: Final = {"vlen-utf8": "ustring", "vlen-bytes": "string"}
"""The numcodecs encodings of variable-length elements, by the data type they hold."""
_CODEC_IDS: Final = {name: codec_id for codec_id, name in VLEN_CODECS.items()}
_NUMCODECS: Final = {"ustring": numcodecs.VLenUTF8(), "string": numcodecs.VLenBytes()}


def _object_scalar(value: str | bytes) -> np.ndarray:
    out = np.empty((), object)
    out[()] = value
    return out


def empty_fill(name: str) -> np.ndarray:
    """The fill value of a ``ustring``/``string`` array that has none: ``""`` or ``b""``."""
    return _object_scalar("" if name == "ustring" else b"")


def decode_text_fill(json: Any, name: str) -> np.ndarray:
    """The fill value ``json`` denotes for data type ``name`` (``ustring``/``string``), 0-d.

    Raises:
        ValueError: not a string, or (``string``) not base64.
    """
    if not isinstance(json, str):
        raise InvalidArgumentError(f"Expected string, but received: {json_text(json)}")
    if name == "ustring":
        return _object_scalar(json)
    try:
        return _object_scalar(base64.b64decode(json, validate=True))
    except (binascii.Error, ValueError):
        raise InvalidArgumentError(
            f"Expected base64-encoded bytes, but received: {json_text(json)}"
        ) from None


def convert_text_fill(value: Any, name: str) -> np.ndarray:
    """A schema fill value as the 0-d fill value of data type ``name`` (``ustring``/``string``).

    Raises:
        ValueError: not one value, or not text (``ustring``) or bytes (``string``).
    """
    try:
        return object_source(scalar_fill_value(value, np.dtype(object), name), name, 0)
    except TypeError as exc:
        raise InvalidArgumentError(f"Invalid fill_value: {exc}") from None


def encode_text_fill(value: np.ndarray, name: str) -> str:
    """The JSON of fill value ``value`` of data type ``name`` (``ustring``/``string``)."""
    scalar = value.reshape(())[()]
    return str(scalar) if name == "ustring" else base64.b64encode(bytes(scalar)).decode("ascii")


def encode_vlen(array: np.ndarray, name: str) -> bytes:
    """The elements of ``array`` (an object array of ``name`` values), in C order, encoded."""
    flat = np.ascontiguousarray(array).reshape(-1)
    if not flat.flags.writeable:
        flat = flat.copy()  # numcodecs' encoders take only writable buffers (a broadcast is not)
    return bytes(_NUMCODECS[name].encode(flat))


def decode_vlen(data: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """The elements ``data`` encodes, as an object array of ``shape`` (C order).

    Raises:
        DataLossError: ``data`` is not such an encoding, or holds another number of elements.
    """
    try:
        values = _NUMCODECS[name].decode(data)
    except Exception as exc:  # numcodecs raises assorted types on corrupt input
        raise DataLossError(f"Error decoding {_CODEC_IDS[name]} chunk: {exc}") from exc
    return vlen_values(values, shape)


def vlen_values(values: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``values`` a numcodecs vlen codec decoded, as an object array of ``shape``.

    Raises:
        DataLossError: another number of elements than ``shape`` holds.
    """
    flat = np.asarray(values, dtype=object).reshape(-1)
    count = 1
    for n in shape:
        count *= n
    if flat.size != count:
        raise DataLossError(f"Chunk has {flat.size} elements, but should have {count}")
    return flat.reshape(shape)


def fixed_length_text(array: np.ndarray, stored: np.dtype[Any]) -> np.ndarray:
    """Text elements (an object array) as a C-order array of fixed-length text ``stored`` (``<U<n>``).

    Raises:
        ValueError: an element longer than ``n`` characters (NumPy would cut it short).
    """
    limit = stored.itemsize // 4
    text = np.asarray(array, dtype=str)  # at least as wide as the longest element
    if text.dtype.itemsize // 4 > limit:
        lengths = np.char.str_len(text)
        longest = int(lengths.argmax())
        if lengths.reshape(-1)[longest] > limit:
            long = str(text.reshape(-1)[longest])
            raise InvalidArgumentError(
                f"Text {json_text(long)} has {len(long)} characters, but the data type "
                f"holds at most {limit}"
            )
    return np.ascontiguousarray(text.astype(stored))


def check_fixed_length_fill(value: np.ndarray, stored: np.dtype[Any]) -> np.ndarray:
    """``value`` (0-d text), checked to fit fixed-length text ``stored`` (``<U<n>``).

    Raises:
        ValueError: longer than ``n`` characters.
    """
    fixed_length_text(value, stored)
    return value
