"""``N5_FORMAT``: the n5 format as a ``ChunkedFormat``, registered as driver ``"n5"``.

Metadata lives in ``attributes.json``; blocks under ``"i/j/k"`` keys.  Other
attributes in ``attributes.json`` are kept across resize, and ``axes``,
``units`` and ``resolution`` are the domain's labels and dimension units.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import attrs

from ...schema.tensorstore_driver import register_tensorstore_driver
from ..chunked_format import register_chunked_format
from ..format_metadata import decode_json_metadata, encode_json_metadata
from . import codec_spec as _codec_spec  # noqa: F401  (registers the "n5" codec driver)
from .codec import N5ChunkCodec, chunk_codec_for
from .metadata import N5Metadata, parse_n5_metadata
from .metadata_schema import create_metadata, metadata_schema, spec_schema, validate_metadata
from .spec_members import METADATA_KEY, N5SpecMembers, parse_n5_spec_members

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ...index.domain import IndexDomain
    from ...schema.schema import Schema, SchemaConstraints

__all__ = ["N5_FORMAT", "N5Format"]


@attrs.frozen
class N5Format:
    """N5 (``attributes.json`` + one key per block), TensorStore's ``n5`` driver."""

    driver_id: str = "n5"
    metadata_key: str = METADATA_KEY

    def parse_spec_members(self, members: Mapping[str, Any]) -> N5SpecMembers:
        return parse_n5_spec_members(members)

    def decode_metadata(self, data: bytes) -> N5Metadata:
        """Parse stored ``attributes.json`` bytes.

        Raises:
            DataLossError: not JSON, or not valid n5 dataset metadata (names the member).
        """
        return decode_json_metadata(data, parse_n5_metadata)

    def encode_metadata(self, metadata: N5Metadata) -> bytes:
        """Compact JSON with sorted keys, as TensorStore writes ``attributes.json``."""
        return encode_json_metadata(metadata.to_json(), sort_keys=True)

    def create_metadata(self, schema: Schema, spec_members: N5SpecMembers) -> N5Metadata:
        return create_metadata(schema, spec_members)

    def validate_metadata(
        self, metadata: N5Metadata, schema: Schema, spec_members: N5SpecMembers
    ) -> None:
        validate_metadata(metadata, schema, spec_members)

    def metadata_schema(self, metadata: N5Metadata) -> Schema:
        return metadata_schema(metadata)

    def spec_schema(self, spec_members: N5SpecMembers) -> Schema:
        """Schema constraints implied by the spec members alone (for ``Spec.schema``)."""
        return spec_schema(spec_members)

    def opened_members_json(self, spec_members: N5SpecMembers, metadata: N5Metadata) -> dict[str, Any]:
        """None: ``"metadata"`` is the only member of this format."""
        return {}

    def metadata_json(self, metadata: N5Metadata) -> dict[str, Any]:
        """The ``"metadata"`` member of ``spec()``: ``attributes.json`` as stored."""
        return metadata.to_json()

    def chunk_codec(self, metadata: N5Metadata) -> N5ChunkCodec:
        return chunk_codec_for(metadata)

    def resize_metadata(self, metadata: N5Metadata, new_shape: Sequence[int]) -> N5Metadata:
        return metadata.resize(new_shape)

    def chunk_grid(self, metadata: N5Metadata) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return metadata.block_size, (0,) * metadata.rank

    def record_field(self, metadata: N5Metadata, spec_members: Any) -> None:
        """Never: elements are never records of several fields."""
        return None

    def field_schema(self, metadata: N5Metadata, spec_members: Any) -> Schema:
        raise AssertionError("no record fields, so no field schema")


def _spec_members_json(members: dict[str, Any]) -> dict[str, Any]:
    return parse_n5_spec_members(members).to_json()


def _spec_members_schema(
    members: dict[str, Any], domain: IndexDomain | None = None, rank: int | None = None
) -> SchemaConstraints:
    return spec_schema(parse_n5_spec_members(members), domain, rank).constraints


N5_FORMAT: Final = N5Format()
register_chunked_format(N5_FORMAT)
register_tensorstore_driver("n5", _spec_members_json, url_scheme="n5", schema=_spec_members_schema)
