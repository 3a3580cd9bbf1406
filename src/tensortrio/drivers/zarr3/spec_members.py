"""The zarr3 driver's own spec members: ``metadata`` (and ``field``/``open_as_void`` off values)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import attrs

from ...errors import InvalidArgumentError
from ...schema.chunk_json import check_known_members, json_text
from ...schema.json_member import member_error
from .metadata import Zarr3PartialMetadata, parse_partial_metadata

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["METADATA_KEY", "Zarr3SpecMembers", "parse_zarr3_spec_members"]

METADATA_KEY: Final = "zarr.json"
_MEMBERS: Final = ("metadata", "field", "open_as_void")


@attrs.frozen
class Zarr3SpecMembers:
    """The parsed driver-specific members of a ``zarr3`` spec."""

    metadata: Zarr3PartialMetadata = attrs.field(factory=Zarr3PartialMetadata)

    def to_json(self) -> dict[str, Any]:
        metadata = self.metadata.to_json()
        if metadata:
            metadata.setdefault("node_type", "array")  # as tensorstore shows a metadata constraint
        return {"metadata": metadata} if metadata else {}


def parse_zarr3_spec_members(members: Mapping[str, Any]) -> Zarr3SpecMembers:
    """Validate the zarr3-specific members of a spec.

    Raises:
        ValueError: an unknown or invalid member (``Error parsing object member "metadata": ...``).
    """
    check_known_members(members, _MEMBERS)
    metadata = Zarr3PartialMetadata()
    if "metadata" in members:
        try:
            metadata = parse_partial_metadata(members["metadata"])
        except InvalidArgumentError as exc:
            raise member_error("metadata", exc) from None
    if members.get("field") is not None:
        raise InvalidArgumentError(
            'Error parsing object member "field": structured data types are not supported by '
            f"tensortrio, so \"field\" must be null, but received: {json_text(members['field'])}"
        )
    if members.get("open_as_void", False) is not False:
        raise InvalidArgumentError(
            'Error parsing object member "open_as_void": must be false, but received: '
            f"{json_text(members['open_as_void'])}"
        )
    return Zarr3SpecMembers(metadata)
