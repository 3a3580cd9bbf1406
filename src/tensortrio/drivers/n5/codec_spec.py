"""The ``"n5"`` codec driver of ``ts.CodecSpec``: ``{"driver": "n5", "compression": ...}``.

``compression`` is normalised as in the metadata (defaults filled in) and
may be absent (unconstrained).  Merging takes it from whichever spec sets it;
two different values are an error, with TensorStore's message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import InvalidArgumentError
from ...schema.chunk_json import check_known_members
from ...schema.codec_spec import CodecDriver, register_codec_driver
from ...schema.json_member import member_error
from .compression import parse_compression

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["N5_CODEC_DRIVER", "n5_codec_members"]


def n5_codec_members(members: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise the members of an n5 codec spec.

    Raises:
        ValueError: an unknown member, or an invalid ``compression``.
    """
    check_known_members(members, ("compression",))
    if "compression" not in members:
        return {}
    try:
        compression = parse_compression(members["compression"])
    except InvalidArgumentError as exc:
        raise member_error("compression", exc) from None
    return {"compression": compression.to_json()}


def _merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(a)
    if "compression" in b:
        if "compression" not in merged:
            merged["compression"] = b["compression"]
        elif merged["compression"] != b["compression"]:
            raise InvalidArgumentError('"compression" does not match')
    return merged


N5_CODEC_DRIVER = CodecDriver("n5", from_json=n5_codec_members, merge=_merge)
register_codec_driver(N5_CODEC_DRIVER)
