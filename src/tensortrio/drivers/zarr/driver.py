"""``ZARR_FORMAT``: the zarr v2 format as a ``ChunkedFormat``, registered as driver ``"zarr"``.

The generic chunked driver calls it to parse the spec's zarr members, to
read, create, check and resize ``.zarray`` metadata, and for the chunk codec
and grid.  ``.zattrs`` is never read, written or created (TensorStore does
not either), so an existing one is left untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import attrs

from ...schema.tensorstore_driver import register_tensorstore_driver
from ..chunked_format import register_chunked_format
from ..format_metadata import decode_json_metadata, encode_json_metadata
from .codec import ZarrChunkCodec, chunk_codec_for
from .metadata import ZarrMetadata, parse_zarr_metadata
from .metadata_schema import (
    create_metadata,
    field_metadata,
    metadata_schema,
    spec_schema,
    validate_metadata,
)
from .spec_members import DEFAULT_METADATA_KEY, ZarrSpecMembers, parse_zarr_spec_members

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ...index.domain import IndexDomain
    from ...schema.schema import Schema, SchemaConstraints
    from ..record_field import RecordField

__all__ = ["ZARR_FORMAT", "ZarrFormat"]


@attrs.frozen
class ZarrFormat:
    """Zarr v2 (``.zarray`` + one key per chunk), TensorStore's ``zarr`` driver."""

    driver_id: str = "zarr"
    metadata_key: str = DEFAULT_METADATA_KEY

    def parse_spec_members(self, members: Mapping[str, Any]) -> ZarrSpecMembers:
        """Parse ``metadata``, ``key_encoding``, ``metadata_key``, ``field``, ``open_as_void``.

        ``members.metadata_key`` is where the metadata lives for this spec
        (``".zarray"`` unless the spec says otherwise).
        """
        return parse_zarr_spec_members(members)

    def decode_metadata(self, data: bytes) -> ZarrMetadata:
        """Parse stored ``.zarray`` bytes.

        Raises:
            DataLossError: not JSON, or not valid zarr v2 metadata (names the member).
        """
        return decode_json_metadata(data, parse_zarr_metadata)

    def encode_metadata(self, metadata: ZarrMetadata) -> bytes:
        """Compact JSON with sorted keys, as TensorStore writes ``.zarray``."""
        return encode_json_metadata(metadata.to_json())

    def create_metadata(self, schema: Schema, spec_members: ZarrSpecMembers) -> ZarrMetadata:
        return create_metadata(schema, spec_members)

    def validate_metadata(
        self, metadata: ZarrMetadata, schema: Schema, spec_members: ZarrSpecMembers
    ) -> None:
        validate_metadata(metadata, schema, spec_members)

    def metadata_schema(self, metadata: ZarrMetadata) -> Schema:
        return metadata_schema(metadata)

    def spec_schema(self, spec_members: ZarrSpecMembers) -> Schema:
        """Schema constraints implied by the spec members alone (for ``Spec.schema``)."""
        return spec_schema(spec_members)

    def opened_members_json(
        self, spec_members: ZarrSpecMembers, metadata: ZarrMetadata
    ) -> dict[str, Any]:
        """``metadata_key`` if not the default, and the ``field`` of a structured data type."""
        json: dict[str, Any] = {}
        if spec_members.metadata_key != DEFAULT_METADATA_KEY:
            json["metadata_key"] = spec_members.metadata_key
        names = metadata.dtype.field_names
        if names:
            json["field"] = spec_members.field or names[0]
        return json

    def metadata_json(self, metadata: ZarrMetadata) -> dict[str, Any]:
        """The ``"metadata"`` member of ``spec()``: ``.zarray`` without unknown members,
        ``dimension_separator`` always shown."""
        json = metadata.to_json()
        for key, _ in metadata.extra_members:
            del json[key]
        json["dimension_separator"] = metadata.key_separator
        return dict(sorted(json.items()))

    def chunk_codec(self, metadata: ZarrMetadata) -> ZarrChunkCodec:
        return chunk_codec_for(metadata)

    def resize_metadata(self, metadata: ZarrMetadata, new_shape: Sequence[int]) -> ZarrMetadata:
        """``new_shape`` counts the data type's inner dimensions, which cannot change."""
        inner = metadata.dtype.field_shape
        if inner and tuple(new_shape[metadata.rank :]) == inner:
            new_shape = new_shape[: metadata.rank]
        return metadata.resize(new_shape)

    def chunk_grid(self, metadata: ZarrMetadata) -> tuple[tuple[int, ...], tuple[int, ...]]:
        chunk_shape = metadata.chunk_shape
        return chunk_shape, (0,) * len(chunk_shape)

    def record_field(self, metadata: ZarrMetadata, spec_members: ZarrSpecMembers) -> RecordField | None:
        """The ``"field"`` opened on a structured type of several fields (checked when opened)."""
        if not metadata.dtype.fields or spec_members.field is None:
            return None
        return metadata.dtype.record_field(spec_members.field)

    def field_schema(self, metadata: ZarrMetadata, spec_members: ZarrSpecMembers) -> Schema:
        return metadata_schema(field_metadata(metadata, spec_members.field))


def _spec_members_json(members: dict[str, Any]) -> dict[str, Any]:
    return parse_zarr_spec_members(members).to_json()


def _spec_members_schema(
    members: dict[str, Any], domain: IndexDomain | None = None, rank: int | None = None
) -> SchemaConstraints:
    return spec_schema(parse_zarr_spec_members(members), domain, rank).constraints


ZARR_FORMAT: Final = ZarrFormat()
register_chunked_format(ZARR_FORMAT)
register_tensorstore_driver(
    "zarr", _spec_members_json, url_scheme="zarr2", schema=_spec_members_schema
)
