"""The compressing bytes→bytes codecs ``blosc`` (see ``blosc_codec``), ``gzip`` and ``zstd`` (numcodecs).

Defaults are TensorStore's: blosc ``cname`` ``"lz4"``, ``clevel`` 5,
``shuffle`` ``"shuffle"`` (``"bitshuffle"`` for one-byte types),
``blocksize`` 0 and ``typesize`` the element size (written unless
``shuffle`` is ``"noshuffle"``); gzip ``level`` 6; zstd ``level`` 3,
``checksum`` false.
"""

from __future__ import annotations

import zlib
from typing import Any, Final, Literal

import attrs
import numcodecs

from ....errors import DataLossError
from ....schema.chunk_json import json_text
from ...blosc_codec import check_cname_available, compress, decompress
from ...blosc_format import BLOSC_CNAMES
from .base import (
    ArrayInfo,
    Buffer,
    BytesToBytesCodec,
    check_config_members,
    config_member_error,
    register_codec,
)

__all__ = ["BLOSC_SHUFFLES", "BloscCodec", "GzipCodec", "ZstdCodec"]

#: The zarr3 blosc ``shuffle`` names and c-blosc's numbers for them.
BLOSC_SHUFFLES: Final = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}


def _int_member(config: dict[str, Any], name: str, low: int, high: int) -> int | None:
    if name not in config:
        return None
    value = config[name]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise config_member_error(
            name, f"Expected integer in the range [{low}, {high}], but received: {json_text(value)}"
        )
    return value


@attrs.frozen
class BloscCodec:
    """``{"name": "blosc", "configuration": {cname, clevel, shuffle, typesize, blocksize}}``."""

    cname: str = "lz4"
    clevel: int = 5
    shuffle: str | None = None
    typesize: int | None = None
    blocksize: int = 0
    kind: Literal["bytes_to_bytes"] = attrs.field(default="bytes_to_bytes", init=False)

    def to_json(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "blocksize": self.blocksize,
            "clevel": self.clevel,
            "cname": self.cname,
        }
        if self.shuffle is not None:
            config["shuffle"] = self.shuffle
        if self.typesize is not None:
            config["typesize"] = self.typesize
        return {"configuration": config, "name": "blosc"}

    def resolve(self, info: ArrayInfo) -> BytesToBytesCodec:
        # Variable-length elements reach blosc as bytes of no fixed size.
        itemsize = 1 if info.dtype.kind == "O" else info.dtype.itemsize
        shuffle = self.shuffle or ("bitshuffle" if itemsize == 1 else "shuffle")
        # Without shuffling the type size means nothing: tensorstore drops a given one.
        typesize = None if shuffle == "noshuffle" else self.typesize or itemsize
        return BloscCodec(self.cname, self.clevel, shuffle, typesize, self.blocksize)

    def encode(self, data: Buffer) -> Buffer:
        check_cname_available(self.cname)
        return compress(
            data,
            cname=self.cname,
            clevel=self.clevel,
            shuffle=BLOSC_SHUFFLES[self.shuffle or "noshuffle"],
            typesize=self.typesize or 1,
            blocksize=self.blocksize,
        )

    def decode(self, data: Buffer) -> Buffer:
        return decompress(data).data


def _parse_blosc(config: dict[str, Any]) -> BloscCodec:
    check_config_members(config, ("cname", "clevel", "shuffle", "typesize", "blocksize"))
    cname = config.get("cname", "lz4")
    if cname not in BLOSC_CNAMES:
        raise config_member_error(
            "cname",
            f"Expected one of {', '.join(json_text(c) for c in BLOSC_CNAMES)}, but received: "
            f"{json_text(cname)}",
        )
    shuffle = config.get("shuffle")
    if "shuffle" in config and (not isinstance(shuffle, str) or shuffle not in BLOSC_SHUFFLES):
        raise config_member_error(
            "shuffle",
            'Expected one of "noshuffle", "shuffle", "bitshuffle", but received: '
            f"{json_text(shuffle)}",
        )
    clevel = _int_member(config, "clevel", 0, 9)
    return BloscCodec(
        cname=cname,
        clevel=5 if clevel is None else clevel,
        shuffle=shuffle,
        typesize=_int_member(config, "typesize", 1, 255),
        blocksize=_int_member(config, "blocksize", 0, 2**31 - 1) or 0,
    )


@attrs.frozen
class GzipCodec:
    """``{"name": "gzip", "configuration": {"level": 0..9}}`` (default level 6)."""

    level: int = 6
    kind: Literal["bytes_to_bytes"] = attrs.field(default="bytes_to_bytes", init=False)

    def to_json(self) -> dict[str, Any]:
        return {"configuration": {"level": self.level}, "name": "gzip"}

    def resolve(self, info: ArrayInfo) -> BytesToBytesCodec:
        return self

    def encode(self, data: Buffer) -> Buffer:
        # zlib's own gzip wrapper, as tensorstore's: modification time 0 (the same
        # data gives the same bytes, where numcodecs stamps the current time).
        compressor = zlib.compressobj(self.level, zlib.DEFLATED, 31)
        return compressor.compress(data) + compressor.flush()

    def decode(self, data: Buffer) -> Buffer:
        try:
            return bytes(numcodecs.GZip(self.level).decode(data))
        except Exception as exc:  # zlib raises assorted types on corrupt input
            raise DataLossError(f"gzip: {exc}") from exc


def _parse_gzip(config: dict[str, Any]) -> GzipCodec:
    check_config_members(config, ("level",))
    level = _int_member(config, "level", 0, 9)
    return GzipCodec(6 if level is None else level)


@attrs.frozen
class ZstdCodec:
    """``{"name": "zstd", "configuration": {"level": -131072..22, "checksum": bool}}``."""

    level: int = 3
    checksum: bool = False
    kind: Literal["bytes_to_bytes"] = attrs.field(default="bytes_to_bytes", init=False)

    def to_json(self) -> dict[str, Any]:
        return {"configuration": {"checksum": self.checksum, "level": self.level}, "name": "zstd"}

    def resolve(self, info: ArrayInfo) -> BytesToBytesCodec:
        return self

    def encode(self, data: Buffer) -> Buffer:
        return bytes(numcodecs.Zstd(level=self.level, checksum=self.checksum).encode(data))

    def decode(self, data: Buffer) -> Buffer:
        try:
            return bytes(numcodecs.Zstd(level=self.level).decode(data))
        except Exception as exc:  # zstd raises assorted types on corrupt input
            raise DataLossError(f"zstd: {exc}") from exc


def _parse_zstd(config: dict[str, Any]) -> ZstdCodec:
    check_config_members(config, ("level", "checksum"))
    level = _int_member(config, "level", -131072, 22)
    checksum = config.get("checksum", False)
    if not isinstance(checksum, bool):
        raise config_member_error("checksum", f"Expected boolean, but received: {json_text(checksum)}")
    return ZstdCodec(3 if level is None else level, checksum)


register_codec("blosc", _parse_blosc)
register_codec("gzip", _parse_gzip)
register_codec("zstd", _parse_zstd)
