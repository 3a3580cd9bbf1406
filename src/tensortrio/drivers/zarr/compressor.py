"""The ``"compressor"`` and ``"filters"`` members of zarr v2 metadata.

Compressors are TensorStore's (``blosc``, ``zlib``, ``gzip``, ``bz2``,
``zstd``), validated and normalised with TensorStore's defaults and messages
(``{"id": "zlib"}`` becomes ``{"id": "zlib", "level": 1}``).  Beyond
TensorStore, tensortrio also reads and writes ``lzma`` and ``lz4``, the
``checksum`` member of ``zstd`` that zarr-python writes, and non-empty
``filters`` (any numcodecs codec); TensorStore itself refuses to open arrays
using those.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import attrs
import numcodecs

from ...errors import InvalidArgumentError
from ...index.interval import INT64_MAX
from ...schema.chunk_json import check_known_members, json_text
from ...schema.json_member import json_bool, json_integer_in, member_error, registered_member
from ..blosc_codec import check_cname_available
from ..blosc_format import parse_blosc_cname

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["ZarrCodecConfig", "parse_compressor", "parse_filters"]



@attrs.frozen
class ZarrCodecConfig:
    """One normalised numcodecs configuration (``{"id": ..., ...}``), hashable."""

    items: tuple[tuple[str, Any], ...]

    @property
    def id(self) -> str:
        return str(dict(self.items)["id"])

    def to_json(self) -> dict[str, Any]:
        return dict(self.items)

    def numcodec(self) -> Any:
        """A numcodecs codec instance for this configuration.

        Raises:
            ValueError: numcodecs cannot build it (e.g. a blosc ``cname`` its
                build lacks, such as ``"snappy"``).
        """
        config = self.to_json()
        if config["id"] == "blosc":
            check_cname_available(config["cname"])
        try:
            return numcodecs.get_codec(config)
        except Exception as exc:  # numcodecs raises assorted types for bad configs
            raise InvalidArgumentError(f"Invalid codec {json_text(config)}: {exc}") from None


def _shuffle(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value in (-1, 0, 1, 2):
        return value
    raise InvalidArgumentError(f"Expected one of -1, 0, 1, 2, but received: {json_text(value)}")


def _optional_int(value: Any) -> int | None:
    return None if value is None else json_integer_in(-(2**31), 2**31 - 1)(value)


def _anything(value: Any) -> Any:
    return value


# id -> member -> (parser, default); a missing default means "omit unless given".
_Member = tuple["Callable[[Any], Any]", Any]
_NO_DEFAULT: Final = object()
_COMPRESSORS: Final[dict[str, dict[str, _Member]]] = {
    "blosc": {
        "cname": (parse_blosc_cname, "lz4"),
        "clevel": (json_integer_in(0, 9), 5),
        "shuffle": (_shuffle, -1),
        "blocksize": (json_integer_in(0, INT64_MAX), 0),
    },
    "zlib": {"level": (json_integer_in(0, 9), 1)},
    "gzip": {"level": (json_integer_in(0, 9), 1)},
    "bz2": {"level": (json_integer_in(1, 9), 1)},
    "zstd": {"level": (json_integer_in(-131072, 22), 1), "checksum": (json_bool, _NO_DEFAULT)},
    "lzma": {
        "format": (json_integer_in(0, 3), 1),
        "check": (json_integer_in(-1, 15), -1),
        "preset": (_optional_int, None),
        "filters": (_anything, None),
    },
    # numcodecs' LZ4 block format (a 4-byte size header, then one LZ4 block).
    "lz4": {"acceleration": (json_integer_in(-(2**31), 2**31 - 1), 1)},
}


def parse_compressor(json: Any) -> ZarrCodecConfig | None:
    """Validate and normalise a ``"compressor"`` member (``null``: no compression).

    Raises:
        ValueError: TensorStore's message, e.g. ``Error parsing object member
            "clevel": Expected integer in the range [0, 9], but received: 10``.
    """
    if json is None:
        return None
    if not isinstance(json, dict):
        raise InvalidArgumentError(f"Expected object, but received: {json_text(json)}")
    codec_id, members = registered_member(json, "id", _COMPRESSORS)
    out: dict[str, Any] = {"id": codec_id}
    for name, (parse, default) in members.items():
        if name in json:
            try:
                out[name] = parse(json[name])
            except InvalidArgumentError as exc:
                raise member_error(name, exc) from None
        elif default is not _NO_DEFAULT:
            out[name] = default
    check_known_members(json, ("id", *members))
    return ZarrCodecConfig(tuple(sorted(out.items())))


def parse_filters(json: Any) -> tuple[ZarrCodecConfig, ...] | None:
    """Validate a ``"filters"`` member: ``null``, ``[]`` (same as ``null``) or numcodecs configs.

    Raises:
        ValueError: not null or an array, or an entry numcodecs does not know.
    """
    if json is None:
        return None
    if not isinstance(json, list):
        raise InvalidArgumentError(f"Expected null or array, but received: {json_text(json)}")
    if not json:
        return None
    filters: list[ZarrCodecConfig] = []
    for i, item in enumerate(json):
        try:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise InvalidArgumentError(
                    f'Expected object with a string "id", but received: {json_text(item)}'
                )
            try:
                codec = numcodecs.get_codec(dict(item))
            except Exception as exc:  # numcodecs raises assorted types for bad configs
                raise InvalidArgumentError(
                    f"numcodecs cannot build filter {json_text(item)}: {exc}"
                ) from None
            config = codec.get_config()
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Error parsing value at position {i}: {exc}") from None
        filters.append(ZarrCodecConfig(tuple(sorted(config.items()))))
    return tuple(filters)
