"""The ``"compression"`` member of n5 metadata, and compressing a block's data with it.

Types and members are TensorStore's (``raw``, ``gzip``, ``bzip2``, ``xz``,
``zstd``, ``blosc``), validated and normalised with TensorStore's defaults
and messages: ``{"type": "gzip"}`` becomes ``{"level": -1, "type": "gzip",
"useZlib": false}``.  Beyond TensorStore, a blosc ``nthreads`` member (which
n5-blosc and zarr-python write, and n5-blosc requires) is accepted and kept
as given; it does not change the bytes.

Only the data after a block's header is compressed.  Decompression is lenient
where the format allows it: ``gzip`` reads both gzip and zlib streams.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from typing import TYPE_CHECKING, Any, Final

import attrs
import numcodecs
import numpy as np

from ...errors import DataLossError, InvalidArgumentError
from ...schema.chunk_json import check_known_members, json_text
from ...schema.json_member import json_bool, json_integer_in, member_error, registered_member
from ..blosc_codec import check_cname_available
from ..blosc_format import blosc_header_sizes, parse_blosc_cname

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["N5Compression", "parse_compression"]

_UINT64_MAX: Final = 2**64 - 1
_ZSTD_MIN_LEVEL: Final = -131072


def _unsigned(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _UINT64_MAX:
        return value
    raise InvalidArgumentError(
        f"Expected 64-bit unsigned integer, but received: {json_text(value)}"
    )


_REQUIRED: Final = object()
_OPTIONAL: Final = object()
# type -> member -> (parser, default, message when a required member is missing)
_Member = tuple["Callable[[Any], Any]", Any, str]
_TYPES: Final[dict[str, dict[str, _Member]]] = {
    "raw": {},
    "gzip": {"level": (json_integer_in(-1, 9), -1, ""), "useZlib": (json_bool, False, "")},
    "bzip2": {"blockSize": (json_integer_in(1, 9), 9, "")},
    "xz": {"preset": (json_integer_in(0, 9), 6, "")},
    "zstd": {"level": (json_integer_in(_ZSTD_MIN_LEVEL, 22), 0, "")},
    "blosc": {
        "cname": (parse_blosc_cname, _REQUIRED, "Expected string, but member is missing"),
        "clevel": (
            json_integer_in(0, 9),
            _REQUIRED,
            "Expected integer in the range [0, 9], but received: <discarded>",
        ),
        "shuffle": (
            json_integer_in(0, 2),
            _REQUIRED,
            "Expected integer in the range [0, 2], but received: <discarded>",
        ),
        "blocksize": (_unsigned, 0, ""),
        "nthreads": (json_integer_in(0, 2**31 - 1), _OPTIONAL, ""),
    },
}


def _corrupt(kind: str, exc: BaseException) -> DataLossError:
    return DataLossError(f"Error decoding {kind} block: {exc}")


@attrs.frozen
class N5Compression:
    """One normalised n5 compression (hashable); ``type`` ``"raw"`` means none."""

    type: str
    members: tuple[tuple[str, Any], ...] = ()

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.members)

    @property
    def is_fast(self) -> bool:
        """Raw and blosc (de)compress faster than a thread hop costs for small blocks."""
        return self.type in ("raw", "blosc")

    def to_json(self) -> dict[str, Any]:
        """The ``"compression"`` JSON object (keys sorted)."""
        return dict(sorted({"type": self.type, **self.config}.items()))

    def check_available(self) -> None:
        """Refuse, before any block is read or written, a compressor this process lacks.

        Raises:
            InvalidArgumentError: a blosc ``cname`` (e.g. ``"snappy"``) that
                numcodecs' c-blosc was built without, as the zarr driver says.
        """
        if self.type == "blosc":
            check_cname_available(self.config["cname"])

    def compress(self, data: np.ndarray) -> bytes:
        """Compress the big-endian element bytes ``data`` (a contiguous array of the stored dtype)."""
        config = self.config
        raw = data.data.cast("B")
        if self.type == "raw":
            return raw.tobytes()
        if self.type == "gzip":
            compressor = zlib.compressobj(
                config["level"], zlib.DEFLATED, 15 if config["useZlib"] else 31
            )
            return compressor.compress(raw) + compressor.flush()
        if self.type == "bzip2":
            return bz2.compress(raw, config["blockSize"])
        if self.type == "xz":
            return lzma.compress(raw, format=lzma.FORMAT_XZ, preset=config["preset"])
        if self.type == "zstd":
            return bytes(numcodecs.Zstd(level=config["level"]).encode(raw))
        # blosc shuffles by element: its typesize comes from the buffer's item size.
        plain = data.view(np.dtype(f"u{data.dtype.itemsize}"))
        codec = numcodecs.Blosc(
            cname=config["cname"],
            clevel=config["clevel"],
            shuffle=config["shuffle"],
            blocksize=config["blocksize"],
        )
        return bytes(codec.encode(plain))

    def decompress(self, data: memoryview, nbytes: int) -> bytes | memoryview:
        """Decompress a block's data, which must hold exactly ``nbytes`` bytes.

        Raises:
            DataLossError: the data does not decompress, or not to ``nbytes``.
        """
        kind = self.type
        if kind == "raw":
            out: bytes | memoryview = data
        else:
            try:
                out = self._decompress(data, nbytes)
            except DataLossError:
                raise
            except Exception as exc:  # decompressors raise assorted types on corrupt input
                raise _corrupt(kind, exc) from exc
        if len(out) != nbytes:
            raise DataLossError(
                f"{kind} block data is {len(out)} bytes, but its header's shape needs {nbytes}"
            )
        return out

    def _decompress(self, data: memoryview, nbytes: int) -> bytes:
        kind = self.type
        if kind == "blosc":
            _check_blosc_header(data, nbytes)
            return bytes(numcodecs.blosc.decompress(data))
        if kind == "zstd":
            return bytes(numcodecs.Zstd().decode(data))
        if kind == "gzip":
            # wbits 47: a gzip or a zlib header, whichever the stream has.
            stream: Any = zlib.decompressobj(47)
        elif kind == "bzip2":
            stream = bz2.BZ2Decompressor()
        else:
            stream = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        # One byte more than needed shows a block that decodes to too much.
        out = stream.decompress(data, nbytes + 1)
        if len(out) <= nbytes and not stream.eof:
            raise DataLossError(f"Error decoding {kind} block: truncated stream")
        return bytes(out)


def _check_blosc_header(data: memoryview, nbytes: int) -> None:
    # Blosc trusts its header: check it before decompressing anything.
    sizes = blosc_header_sizes(data)
    if sizes is None:
        raise DataLossError(f"Error decoding blosc block: {len(data)} bytes is too short")
    decoded, compressed = sizes
    if compressed != len(data):
        raise DataLossError(
            f"Error decoding blosc block: header says {compressed} compressed bytes, "
            f"but the block has {len(data)}"
        )
    if decoded != nbytes:
        raise DataLossError(
            f"blosc block data is {decoded} bytes, but its header's shape needs {nbytes}"
        )


def parse_compression(json: Any) -> N5Compression:
    """Validate and normalise a ``"compression"`` member.

    Raises:
        ValueError: TensorStore's message, e.g. ``Error parsing object member
            "level": Expected integer in the range [-1, 9], but received: 10``.
    """
    if not isinstance(json, dict):
        raise InvalidArgumentError(f"Expected object, but received: {json_text(json)}")
    kind, members = registered_member(json, "type", _TYPES)
    out: dict[str, Any] = {}
    for name, (parse, default, missing) in members.items():
        if name in json:
            try:
                out[name] = parse(json[name])
            except InvalidArgumentError as exc:
                raise member_error(name, exc) from None
        elif default is _REQUIRED:
            raise member_error(name, missing)
        elif default is not _OPTIONAL:
            out[name] = default
    check_known_members(json, ("type", *members))
    return N5Compression(kind, tuple(sorted(out.items())))


def default_compression(itemsize: int) -> N5Compression:
    """TensorStore's default for new arrays: blosc lz4 level 5, bit shuffle for bytes."""
    return parse_compression(
        {"type": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 2 if itemsize == 1 else 1}
    )
