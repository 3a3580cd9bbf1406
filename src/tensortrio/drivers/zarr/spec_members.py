"""The zarr driver's own spec members: ``metadata``, ``key_encoding``, ``metadata_key``, ``field``.

``key_encoding`` is TensorStore's deprecated spelling of
``metadata.dimension_separator`` and is folded into it.  ``field`` names the
field of a structured data type to open: required when the type has several
fields, optional for one.  ``open_as_void`` (raw byte access) is not
supported: only ``false`` is accepted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import attrs

from ...errors import InvalidArgumentError
from ...schema.chunk_json import check_known_members, json_text
from ...schema.json_member import member_error
from .metadata import Separator, ZarrPartialMetadata, parse_partial_metadata

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DEFAULT_METADATA_KEY", "ZarrSpecMembers", "parse_zarr_spec_members"]

DEFAULT_METADATA_KEY: Final = ".zarray"
_MEMBERS: Final = ("metadata", "key_encoding", "metadata_key", "field", "open_as_void")


@attrs.frozen
class ZarrSpecMembers:
    """The parsed driver-specific members of a ``zarr`` spec."""

    metadata: ZarrPartialMetadata = attrs.field(factory=ZarrPartialMetadata)
    metadata_key: str = DEFAULT_METADATA_KEY
    field: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The normalised members as ``Spec.to_json()`` shows them (unset ones omitted)."""
        json: dict[str, Any] = {}
        metadata = self.metadata.to_json()
        if metadata:
            json["metadata"] = metadata
        if self.metadata_key != DEFAULT_METADATA_KEY:
            json["metadata_key"] = self.metadata_key
        if self.field is not None:
            json["field"] = self.field
        return json



def parse_zarr_spec_members(members: Mapping[str, Any]) -> ZarrSpecMembers:
    """Validate the zarr-specific members of a spec.

    Raises:
        ValueError: an unknown member, or an invalid one, named as TensorStore
            names it (``Error parsing object member "metadata": ...``).
    """
    check_known_members(members, _MEMBERS)
    metadata = ZarrPartialMetadata()
    if "metadata" in members:
        try:
            metadata = parse_partial_metadata(members["metadata"])
        except InvalidArgumentError as exc:
            raise member_error("metadata", str(exc)) from None
    if "key_encoding" in members:
        encoding = members["key_encoding"]
        if encoding not in (".", "/") or not isinstance(encoding, str):
            raise member_error(
                "key_encoding", f'Expected one of ".", "/", but received: {json_text(encoding)}'
            )
        existing = metadata.dimension_separator
        if existing is not None and existing != encoding:
            raise member_error(
                "key_encoding",
                f"value ({json_text(encoding)}) does not match value in metadata "
                f"({json_text(existing)})",
            )
        separator: Separator = "." if encoding == "." else "/"
        metadata = attrs.evolve(metadata, dimension_separator=separator)
    metadata_key = members.get("metadata_key", DEFAULT_METADATA_KEY)
    if not isinstance(metadata_key, str):
        raise member_error("metadata_key", f"Expected string, but received: {json_text(metadata_key)}")
    field = members.get("field")
    if field is not None and not isinstance(field, str):
        raise member_error("field", f"Expected string, but received: {json_text(field)}")
    if members.get("open_as_void", False) is not False:
        raise member_error(
            "open_as_void",
            "raw byte access is not supported by tensortrio, so \"open_as_void\" must be "
            f"false, but received: {json_text(members['open_as_void'])}",
        )
    return ZarrSpecMembers(metadata=metadata, metadata_key=metadata_key, field=field)
