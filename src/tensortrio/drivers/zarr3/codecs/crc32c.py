"""The ``crc32c`` bytes→bytes codec: a 4-byte little-endian CRC-32C appended to the data.

Used by TensorStore's default shard index codecs.  The checksum comes from
``google-crc32c`` (hardware-accelerated; the package numcodecs and zarr-python
use), which agrees with TensorStore and zarr-python byte for byte.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import attrs
import google_crc32c

from ....errors import DataLossError
from .base import ArrayInfo, Buffer, BytesToBytesCodec, check_config_members, register_codec

__all__ = ["CRC32C_SIZE", "Crc32cCodec"]

CRC32C_SIZE: Final = 4


def _checksum(data: Buffer) -> int:
    # google_crc32c takes bytes only (not memoryviews); what it checksums here
    # is a shard index or a chunk's bytes, so the copy is small or rare.
    return int(google_crc32c.value(data if type(data) is bytes else bytes(data)))


@attrs.frozen
class Crc32cCodec:
    """``{"name": "crc32c"}``."""

    kind: Literal["bytes_to_bytes"] = attrs.field(default="bytes_to_bytes", init=False)

    def to_json(self) -> dict[str, Any]:
        return {"name": "crc32c"}

    def resolve(self, info: ArrayInfo) -> BytesToBytesCodec:
        return self

    def encode(self, data: Buffer) -> Buffer:
        return bytes(data) + _checksum(data).to_bytes(CRC32C_SIZE, "little")

    def decode(self, data: Buffer) -> Buffer:
        if len(data) < CRC32C_SIZE:
            raise DataLossError(f"crc32c: {len(data)} bytes is too short for a checksum")
        view = memoryview(data)
        payload, stored = view[:-CRC32C_SIZE], int.from_bytes(view[-CRC32C_SIZE:], "little")
        actual = _checksum(payload)
        if actual != stored:
            raise DataLossError(
                f"crc32c: checksum mismatch, stored {stored:#010x}, computed {actual:#010x}"
            )
        return payload


def _parse(config: dict[str, Any]) -> Crc32cCodec:
    check_config_members(config, ())
    return Crc32cCodec()


register_codec("crc32c", _parse)
