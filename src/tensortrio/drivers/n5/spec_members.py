"""The n5 driver's own spec member: ``metadata``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import attrs

from ...errors import InvalidArgumentError
from ...schema.chunk_json import check_known_members
from ...schema.json_member import member_error
from .metadata import N5PartialMetadata, parse_partial_metadata

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["METADATA_KEY", "N5SpecMembers", "parse_n5_spec_members"]

METADATA_KEY: Final = "attributes.json"


@attrs.frozen
class N5SpecMembers:
    """The parsed driver-specific members of an ``n5`` spec."""

    metadata: N5PartialMetadata = attrs.field(factory=N5PartialMetadata)

    def to_json(self) -> dict[str, Any]:
        """The normalised members as ``Spec.to_json()`` shows them (unset ones omitted)."""
        metadata = self.metadata.to_json()
        return {"metadata": metadata} if metadata else {}


def parse_n5_spec_members(members: Mapping[str, Any]) -> N5SpecMembers:
    """Validate the n5-specific members of a spec.

    Raises:
        ValueError: an unknown member, or an invalid ``metadata``, named as
            TensorStore names it (``Error parsing object member "metadata": ...``).
    """
    check_known_members(members, ("metadata",))
    if "metadata" not in members:
        return N5SpecMembers()
    try:
        return N5SpecMembers(parse_partial_metadata(members["metadata"]))
    except InvalidArgumentError as exc:
        raise member_error("metadata", exc) from None
