"""The ``bytes`` array→bytes codec: elements in C order with a given byte order.

``endian`` (``"little"``/``"big"``) is required for multi-byte types and
omitted for one-byte types; TensorStore resolves a missing one to
``"little"``.  Decoding is zero-copy (a read-only view of the input) unless
bytes must be swapped.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs
import numpy as np

from ....errors import DataLossError, InvalidArgumentError, OutOfRangeError
from ....schema.chunk_json import json_text
from ...text_codec import fixed_length_text
from ..dtype import fixed_text_dtype
from .base import ArrayInfo, Buffer, check_config_members, config_member_error, register_codec

if TYPE_CHECKING:
    from .base import ArrayToBytesCodec

__all__ = ["BytesCodec"]

_NATIVE: Final = sys.byteorder
_MAX_INT64: Final = 2**63 - 1


@attrs.frozen
class BytesCodec:
    """``{"name": "bytes", "configuration": {"endian": ...}}``."""

    endian: Literal["little", "big"] | None = None
    kind: Literal["array_to_bytes"] = attrs.field(default="array_to_bytes", init=False)

    def to_json(self) -> dict[str, Any]:
        if self.endian is None:
            return {"name": "bytes"}
        return {"configuration": {"endian": self.endian}, "name": "bytes"}

    def resolve(self, info: ArrayInfo) -> ArrayToBytesCodec:
        """This codec for chunks of ``info``, ``endian`` filled in.

        Raises:
            OutOfRangeError: a chunk's size in bytes does not fit in 64 bits
                (tensorstore refuses such metadata with this message).
        """
        if info.dtype.kind == "O" and fixed_text_dtype(info.data_type) is None:
            raise InvalidArgumentError(
                f'"bytes" codec does not support data type {json_text(info.data_type)} (variable-length '
                'elements): use "vlen-utf8" or "vlen-bytes"'
            )
        if math.prod(info.shape) * info.dtype.itemsize > _MAX_INT64:
            shape = ", ".join(map(str, info.shape))
            raise OutOfRangeError(
                f"Integer overflow computing encoded size of array of shape {{{shape}}}"
            )
        if info.dtype.itemsize == 1:
            return BytesCodec(None)
        return BytesCodec(self.endian or "little")

    def _swap(self, dtype: np.dtype[Any]) -> bool:
        return dtype.itemsize > 1 and self.endian is not None and self.endian != _NATIVE

    def _text_dtype(self, info: ArrayInfo) -> np.dtype[Any] | None:
        """The stored ``<U<n>``/``>U<n>`` of fixed-length text; None for other types."""
        return fixed_text_dtype(info.data_type, ">" if self.endian == "big" else "<")

    def encode(self, array: np.ndarray, info: ArrayInfo) -> Buffer:
        text = self._text_dtype(info)
        if text is not None:
            encoded: Any = fixed_length_text(array, text).reshape(-1).view(np.uint8)
            return memoryview(encoded)
        if self._swap(array.dtype):
            array = np.ascontiguousarray(array).view(_swap_unit(array.dtype)).byteswap()
        elif not array.flags.c_contiguous:
            array = np.ascontiguousarray(array)
        # ml_dtypes elements do not support the buffer protocol; their bits do.
        flat: Any = array.reshape(-1).view(np.uint8)
        return memoryview(flat)

    def decode(self, data: Buffer, info: ArrayInfo) -> np.ndarray:
        text = self._text_dtype(info)
        dtype = info.dtype if text is None else text
        count = 1
        for n in info.shape:
            count *= n
        if len(data) != count * dtype.itemsize:
            raise DataLossError(
                f"bytes codec: chunk is {len(data)} bytes, but should be "
                f"{count * dtype.itemsize} bytes for shape {list(info.shape)}"
            )
        raw = np.frombuffer(data, dtype=np.uint8)
        if text is not None:
            return raw.view(text).astype(object).reshape(info.shape)
        if self._swap(dtype):
            flat = raw.view(_swap_unit(dtype)).byteswap().view(dtype)
        else:
            flat = raw.view(dtype)
        return flat.reshape(info.shape)


def _swap_unit(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """The unsigned integer whose bytes an endianness swap reverses: a complex's parts, each."""
    size = dtype.itemsize // 2 if dtype.kind == "c" else dtype.itemsize
    return np.dtype(f"u{size}")


def _parse(config: dict[str, Any]) -> BytesCodec:
    check_config_members(config, ("endian",))
    # An explicit null is no endianness (as in tensorstore): only leaving it out is.
    endian = config.get("endian")
    if "endian" in config and endian not in ("little", "big"):
        raise config_member_error(
            "endian", f'Expected one of "little", "big", but received: {json_text(endian)}'
        )
    return BytesCodec(endian)


register_codec("bytes", _parse)
