"""The ``"zarr"`` codec driver of ``ts.CodecSpec``: ``{"driver": "zarr", "compressor": ..., "filters": ...}``.

``compressor`` is normalised as in the metadata (an explicit ``null`` is a
constraint: no compression); ``filters`` defaults to ``null``, as TensorStore
shows it.  Merging takes each member from whichever spec sets it; two
different values are an error naming the member.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import InvalidArgumentError
from ...schema.chunk_json import check_known_members, json_text
from ...schema.codec_spec import CodecDriver, register_codec_driver
from ...schema.json_member import member_error
from .compressor import parse_compressor, parse_filters

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ZARR_CODEC_DRIVER", "zarr_codec_members"]


def zarr_codec_members(members: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise the members of a zarr codec spec.

    Raises:
        ValueError: an unknown member, or an invalid ``compressor``/``filters``.
    """
    check_known_members(members, ("compressor", "filters"))
    out: dict[str, Any] = {}
    if "compressor" in members:
        try:
            compressor = parse_compressor(members["compressor"])
        except InvalidArgumentError as exc:
            raise member_error("compressor", exc) from None
        out["compressor"] = None if compressor is None else compressor.to_json()
    try:
        filters = parse_filters(members.get("filters"))
    except InvalidArgumentError as exc:
        raise member_error("filters", exc) from None
    out["filters"] = None if filters is None else [f.to_json() for f in filters]
    return out


def _spec_text(members: Mapping[str, Any]) -> str:
    return json_text(dict(sorted({"driver": "zarr", **members}.items())))


def _merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(a)
    for name in ("filters", "compressor"):
        if name not in b or (name == "filters" and b[name] is None):
            continue
        if name not in merged or (name == "filters" and merged[name] is None):
            merged[name] = b[name]
        elif merged[name] != b[name]:
            raise InvalidArgumentError(
                f'Cannot merge codec spec {_spec_text(a)} with {_spec_text(b)}: "{name}" does '
                "not match"
            )
    return merged


ZARR_CODEC_DRIVER = CodecDriver("zarr", from_json=zarr_codec_members, merge=_merge)
register_codec_driver(ZARR_CODEC_DRIVER)
