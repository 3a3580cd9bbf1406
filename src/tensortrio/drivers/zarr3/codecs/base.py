"""The zarr v3 codec kinds, the array description codecs resolve against, and the codec registry.

A codec chain is array→array codecs (``transpose``), exactly one
array→bytes codec (``bytes``, ``sharding_indexed``) and bytes→bytes codecs
(``blosc``, ``gzip``, ``zstd``, ``crc32c``).  Each codec is a frozen value
parsed from its JSON ``{"name": ..., "configuration": {...}}``; ``resolve``
fixes what depends on the array it encodes (blosc's ``typesize``, the
``bytes`` endianness, sharding's inner chain) and reports the array the next
codec sees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

import attrs

from ....errors import InvalidArgumentError
from ....schema.chunk_json import check_known_members, json_text
from ....schema.fill_value import fill_values_identical

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import numpy as np

__all__ = [
    "ArrayInfo",
    "ArrayToArrayCodec",
    "ArrayToBytesCodec",
    "Buffer",
    "BytesToBytesCodec",
    "CodecKind",
    "check_config_members",
    "codec_parser",
    "register_codec",
]

Buffer = bytes | bytearray | memoryview
CodecKind = Literal["array_to_array", "array_to_bytes", "bytes_to_bytes"]


@attrs.frozen
class ArrayInfo:
    """The array a codec encodes: shape, zarr v3 data type name, native dtype, fill value."""

    shape: tuple[int, ...]
    data_type: str
    dtype: np.dtype[Any]
    fill_value: np.ndarray = attrs.field(eq=attrs.cmp_using(eq=fill_values_identical), hash=False)

    def with_shape(self, shape: tuple[int, ...]) -> ArrayInfo:
        return attrs.evolve(self, shape=shape)


class ArrayToArrayCodec(Protocol):
    """A codec from an array to another array (same elements, e.g. reordered)."""

    kind: Final[Literal["array_to_array"]] = "array_to_array"  # type: ignore[misc]

    def to_json(self) -> dict[str, Any]: ...
    def resolve(self, info: ArrayInfo) -> tuple[ArrayToArrayCodec, ArrayInfo]: ...
    def encode(self, array: np.ndarray) -> np.ndarray: ...
    def decode(self, array: np.ndarray) -> np.ndarray: ...


class ArrayToBytesCodec(Protocol):
    """The codec turning the (possibly reordered) array into bytes."""

    kind: Final[Literal["array_to_bytes"]] = "array_to_bytes"  # type: ignore[misc]

    def to_json(self) -> dict[str, Any]: ...
    def resolve(self, info: ArrayInfo) -> ArrayToBytesCodec: ...
    def encode(self, array: np.ndarray, info: ArrayInfo) -> Buffer: ...
    def decode(self, data: Buffer, info: ArrayInfo) -> np.ndarray: ...


class BytesToBytesCodec(Protocol):
    """A codec from bytes to bytes (compression, checksums)."""

    kind: Final[Literal["bytes_to_bytes"]] = "bytes_to_bytes"  # type: ignore[misc]

    def to_json(self) -> dict[str, Any]: ...
    def resolve(self, info: ArrayInfo) -> BytesToBytesCodec: ...
    def encode(self, data: Buffer) -> Buffer: ...
    def decode(self, data: Buffer) -> Buffer: ...


AnyCodec = ArrayToArrayCodec | ArrayToBytesCodec | BytesToBytesCodec
_PARSERS: Final[dict[str, Callable[[dict[str, Any]], Any]]] = {}


def register_codec(name: str, parse: Callable[[dict[str, Any]], Any]) -> None:
    """Make codec ``name`` parseable; ``parse`` gets its configuration (``{}`` when absent)."""
    _PARSERS[name] = parse


def codec_parser(name: Any) -> Callable[[dict[str, Any]], Any]:
    """The parser of codec ``name``.

    Raises:
        ValueError: an unknown codec name.
    """
    if not isinstance(name, str) or name not in _PARSERS:
        raise InvalidArgumentError(f"{json_text(name)} is not a registered codec")
    return _PARSERS[name]


def check_config_members(config: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """Reject configuration members other than ``allowed``."""
    check_known_members(config, allowed)


def config_member_error(name: str, detail: str) -> InvalidArgumentError:
    """``Error parsing object member "<name>": <detail>``."""
    return InvalidArgumentError(f'Error parsing object member "{name}": {detail}')
