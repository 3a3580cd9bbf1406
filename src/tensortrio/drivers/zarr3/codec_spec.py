"""The ``"zarr3"`` codec driver of ``ts.CodecSpec``: ``{"driver": "zarr3", "codecs": [...]}``.

``codecs`` is kept as given (see ``codec_constraint``): a codec's
configuration members left out stay unconstrained. Merging two specs merges
their chains member by member; chains that disagree are an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import InvalidArgumentError
from ...schema.chunk_json import check_known_members
from ...schema.codec_spec import CodecDriver, register_codec_driver
from ...schema.json_member import member_error
from .codec_constraint import given_codecs, merge_given_codecs

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ZARR3_CODEC_DRIVER", "zarr3_codec_members"]


def zarr3_codec_members(members: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise the members of a zarr3 codec spec.

    Raises:
        ValueError: an unknown member or an invalid ``codecs`` chain.
    """
    check_known_members(members, ("codecs",))
    if "codecs" not in members:
        return {}
    try:
        return {"codecs": given_codecs(members["codecs"])}
    except InvalidArgumentError as exc:
        raise member_error("codecs", exc) from None


def _merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    if "codecs" in a and "codecs" in b:
        return {**a, **b, "codecs": merge_given_codecs(a["codecs"], b["codecs"])}
    return {**a, **b}


ZARR3_CODEC_DRIVER = CodecDriver("zarr3", from_json=zarr3_codec_members, merge=_merge)
register_codec_driver(ZARR3_CODEC_DRIVER)
