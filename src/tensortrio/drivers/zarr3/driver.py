"""``ZARR3_FORMAT``: the zarr v3 format as a ``ChunkedFormat``, registered as driver ``"zarr3"``.

Metadata lives in ``zarr.json``; chunks (shards when sharded) under keys
from ``chunk_key_encoding``.  ``attributes`` and ``dimension_names`` are kept
across resize; ``dimension_names`` are the domain's labels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import attrs

from ...schema.tensorstore_driver import (
    register_tensorstore_driver,
    register_tensorstore_driver_module,
)
from ..chunked_format import register_chunked_format
from ..format_metadata import decode_json_metadata, encode_json_metadata
from . import codec_spec as _codec_spec  # noqa: F401  (registers the "zarr3" codec driver)
from .codec import Zarr3ChunkCodec, chunk_codec_for
from .codec_constraint import codecs_json_shown, codecs_json_stored
from .metadata import Zarr3Metadata, parse_zarr3_metadata
from .metadata_schema import (
    create_metadata,
    metadata_schema,
    spec_schema,
    validate_metadata,
)
from .spec_members import METADATA_KEY, Zarr3SpecMembers, parse_zarr3_spec_members

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ...index.domain import IndexDomain
    from ...schema.schema import Schema, SchemaConstraints

__all__ = ["ZARR3_FORMAT", "Zarr3Format"]


@attrs.frozen
class Zarr3Format:
    """Zarr v3 (``zarr.json`` + one key per chunk or shard), TensorStore's ``zarr3`` driver."""

    driver_id: str = "zarr3"
    metadata_key: str = METADATA_KEY

    def parse_spec_members(self, members: Mapping[str, Any]) -> Zarr3SpecMembers:
        return parse_zarr3_spec_members(members)

    def decode_metadata(self, data: bytes) -> Zarr3Metadata:
        """Parse stored ``zarr.json`` bytes.

        Raises:
            DataLossError: not JSON, or not valid zarr v3 array metadata (names the member).
        """
        return decode_json_metadata(data, parse_zarr3_metadata)

    def encode_metadata(self, metadata: Zarr3Metadata) -> bytes:
        """Compact JSON with sorted keys, as TensorStore writes ``zarr.json``."""
        json = metadata.to_json()
        json["codecs"] = codecs_json_stored(json["codecs"])
        return encode_json_metadata(json)

    def create_metadata(self, schema: Schema, spec_members: Zarr3SpecMembers) -> Zarr3Metadata:
        return create_metadata(schema, spec_members)

    def validate_metadata(
        self, metadata: Zarr3Metadata, schema: Schema, spec_members: Zarr3SpecMembers
    ) -> None:
        validate_metadata(metadata, schema, spec_members)

    def metadata_schema(self, metadata: Zarr3Metadata) -> Schema:
        return metadata_schema(metadata)

    def spec_schema(self, spec_members: Zarr3SpecMembers) -> Schema:
        return spec_schema(spec_members)

    def opened_members_json(self, spec_members: Zarr3SpecMembers, metadata: Zarr3Metadata) -> dict[str, Any]:
        """None: ``"metadata"`` is the only member of this format."""
        return {}

    def metadata_json(self, metadata: Zarr3Metadata) -> dict[str, Any]:
        """``zarr.json`` as ``spec()`` shows it (sharding ``index_location`` always given)."""
        json = metadata.to_json()
        json["codecs"] = codecs_json_shown(json["codecs"])
        return json

    def chunk_codec(self, metadata: Zarr3Metadata) -> Zarr3ChunkCodec:
        return chunk_codec_for(metadata)

    def resize_metadata(self, metadata: Zarr3Metadata, new_shape: Sequence[int]) -> Zarr3Metadata:
        return metadata.resize(new_shape)

    def chunk_grid(self, metadata: Zarr3Metadata) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return metadata.chunk_shape, (0,) * metadata.rank

    def record_field(self, metadata: Zarr3Metadata, spec_members: Any) -> None:
        """Never: elements are never records of several fields."""
        return None

    def field_schema(self, metadata: Zarr3Metadata, spec_members: Any) -> Schema:
        raise AssertionError("no record fields, so no field schema")


def _spec_members_json(members: dict[str, Any]) -> dict[str, Any]:
    return parse_zarr3_spec_members(members).to_json()


def _spec_members_schema(
    members: dict[str, Any], domain: IndexDomain | None = None, rank: int | None = None
) -> SchemaConstraints:
    return spec_schema(parse_zarr3_spec_members(members), domain, rank).constraints


ZARR3_FORMAT: Final = Zarr3Format()
register_chunked_format(ZARR3_FORMAT)
register_tensorstore_driver(
    "zarr3", _spec_members_json, url_scheme="zarr3", schema=_spec_members_schema
)
register_tensorstore_driver_module(__name__.rpartition(".")[0], ["zarr3"], ["zarr3"])
