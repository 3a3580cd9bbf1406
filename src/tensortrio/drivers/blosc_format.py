"""What zarr, zarr3 and n5 share about blosc: compressor names (``cname``) and the frame header."""

from __future__ import annotations

import struct
from typing import Any, Final

from ..errors import InvalidArgumentError
from ..schema.chunk_json import json_text

__all__ = ["BLOSC_CNAMES", "blosc_header_sizes", "parse_blosc_cname"]

BLOSC_CNAMES: Final = ("blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd")
# version, versionlz, flags, typesize, nbytes, blocksize, cbytes
_HEADER: Final = struct.Struct("<BBBBIII")


def parse_blosc_cname(value: Any) -> str:
    """A JSON blosc compressor name.

    Raises:
        ValueError: ``Expected one of blosclz,lz4,...,zstd, but received: <value>``.
    """
    if isinstance(value, str) and value in BLOSC_CNAMES:
        return value
    raise InvalidArgumentError(
        f"Expected one of {','.join(BLOSC_CNAMES)}, but received: {json_text(value)}"
    )


def blosc_header_sizes(data: bytes | bytearray | memoryview) -> tuple[int, int] | None:
    """``(decoded bytes, compressed bytes)`` from a blosc frame's header; None if too short for one.

    Blosc decompresses a truncated buffer without complaint, so callers check these
    against the buffer and the expected chunk before decoding.
    """
    if len(data) < _HEADER.size:
        return None
    _, _, _, _, nbytes, _, cbytes = _HEADER.unpack_from(data)
    return nbytes, cbytes
