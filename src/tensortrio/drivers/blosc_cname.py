"""Blosc's compressor names (``cname``), as zarr, zarr3 and n5 accept them."""

from __future__ import annotations

from typing import Any, Final

from ..errors import InvalidArgumentError
from ..schema.chunk_json import json_text

__all__ = ["BLOSC_CNAMES", "parse_blosc_cname"]

BLOSC_CNAMES: Final = ("blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd")


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
