"""What the ``codecs`` of a stored ``zarr.json`` must spell out.

A spec's codecs are constraints: ``{"name": "gzip"}`` or a bare ``"bytes"``
leave the rest to defaults. A ``zarr.json`` is the array's record, and
another writer's defaults need not be ours: TensorStore refuses a stored
codec that leaves out a member its encoding depends on (a multi-byte
``bytes`` codec without ``endian`` could be read with the wrong byte order),
and so does tensortrio, with its messages.
"""

from __future__ import annotations

from typing import Any, Final

from ...errors import InvalidArgumentError
from ...schema.chunk_json import json_text
from ...schema.json_member import member_error
from .dtype import numpy_dtype

__all__ = ["check_stored_codecs"]

_DISCARDED: Final = "but received: <discarded>"
#: Per codec: configuration members a stored codec must give, and TensorStore's message without one.
_REQUIRED: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "gzip": (("level", f"Expected integer in the range [0, 9], {_DISCARDED}"),),
    "zstd": (("level", f"Expected integer in the range [-131072, 22], {_DISCARDED}"),),
    "blosc": (
        ("cname", "Expected string, but member is missing"),
        ("clevel", f"Expected integer in the range [0, 9], {_DISCARDED}"),
        ("shuffle", 'Expected one of "noshuffle", "shuffle", "bitshuffle", but member is missing'),
        ("typesize", f"Expected integer in the range [1, 255], {_DISCARDED}"),
        ("blocksize", f"Expected integer in the range [0, 715827542], {_DISCARDED}"),
    ),
    "sharding_indexed": (
        ("chunk_shape", "Expected array, but member is missing"),
        ("codecs", "Expected array, but member is missing"),
        ("index_codecs", "Expected array, but member is missing"),
    ),
}


def check_stored_codecs(codecs: Any, data_type: str) -> None:
    """Check a stored ``codecs`` list names every codec in full, for arrays of ``data_type``.

    Raises:
        InvalidArgumentError: a codec that is not an object, a missing
            configuration member, a multi-byte ``bytes`` codec without
            ``endian``, or no array→bytes codec (naming the position).
    """
    if not isinstance(codecs, list):
        return  # the parser reports what it is
    if not codecs:
        raise InvalidArgumentError("array -> bytes codec must be specified")
    for position, codec in enumerate(codecs):
        try:
            _check_codec(codec, data_type)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Error parsing value at position {position}: {exc}") from None


def _check_codec(codec: Any, data_type: str) -> None:
    if not isinstance(codec, dict):
        raise InvalidArgumentError(f"Expected object, but received: {json_text(codec)}")
    name = codec.get("name")
    config = codec.get("configuration", {})
    if not isinstance(config, dict):
        return  # the parser reports it
    required = _REQUIRED.get(name, ()) if isinstance(name, str) else ()
    missing = [(member, message) for member, message in required if member not in config]
    if name == "blosc" and config.get("shuffle") == "noshuffle":
        missing = [m for m in missing if m[0] != "typesize"]  # no shuffle: no type size
    if missing:
        member, message = missing[0]
        raise member_error("configuration", member_error(member, message))
    if name == "bytes" and "endian" not in config and numpy_dtype(data_type).itemsize > 1:
        raise InvalidArgumentError(
            f'"bytes" codec requires that "endian" option is specified for data type {data_type}'
        )
    if name == "sharding_indexed":
        for member, inner_type in (("codecs", data_type), ("index_codecs", "uint64")):
            try:
                check_stored_codecs(config[member], inner_type)
            except InvalidArgumentError as exc:
                raise member_error("configuration", member_error(member, exc)) from None
