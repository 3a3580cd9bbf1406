"""``ChunkedFormat``: what a kvstore-backed chunked array format tells the generic driver.

The generic driver (``chunked_driver.py``) owns the open flow, the metadata
cache, the chunk cache and the ``TensorStore`` surface; a format (zarr, later
zarr3 and n5) only knows its metadata and its chunks. A format is a stateless
value registered under its driver id with :func:`register_chunked_format`.

``Metadata`` is the format's own frozen metadata value; ``Members`` is the
parsed form of the driver-specific spec members (for zarr: ``"metadata"``,
``"key_encoding"``...). Every method raises ``ValueError`` (an
``InvalidArgumentError``) naming the offending member on bad input, or
``DataLossError`` for stored bytes that cannot be decoded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

from ..errors import InvalidArgumentError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ..schema.schema import Schema
    from .chunk_codec import ChunkCodec
    from .record_field import RecordField

__all__ = [
    "ChunkedFormat",
    "chunked_format",
    "chunked_format_ids",
    "register_chunked_format",
]

MetadataT = TypeVar("MetadataT")
MembersT = TypeVar("MembersT")


class ChunkedFormat(Protocol[MetadataT, MembersT]):
    """One chunked array format stored as a metadata key plus one key per chunk."""

    @property
    def driver_id(self) -> str:
        """The TensorStore ``"driver"`` id, e.g. ``"zarr"``."""
        ...

    @property
    def metadata_key(self) -> str:
        """The metadata key relative to the array's kvstore path, e.g. ``".zarray"``."""
        ...

    def parse_spec_members(self, members: Mapping[str, Any]) -> MembersT:
        """Validate the driver-specific spec members.

        ``members`` holds every spec member the generic driver does not know
        (it handles ``driver``, ``kvstore``, ``path``, ``context``, ``dtype``,
        ``rank``, ``transform``, ``schema``, the open-mode flags, ``cache_pool``,
        ``metadata_cache_pool``, ``data_copy_concurrency``, ``recheck_cached_*``,
        ``fill_missing_data_reads`` and ``store_data_equal_to_fill_value``).
        Unknown members are an error naming them.
        """
        ...

    def decode_metadata(self, data: bytes) -> MetadataT:
        """Parse stored metadata bytes (raise ``DataLossError`` naming the member)."""
        ...

    def encode_metadata(self, metadata: MetadataT) -> bytes:
        """The bytes stored under ``metadata_key``."""
        ...

    def create_metadata(self, schema: Schema, spec_members: MembersT) -> MetadataT:
        """Choose metadata for a new array from schema constraints and the spec members.

        Unconstrained properties get the format's defaults (chunk shape from the
        schema chunk chooser, default compressor, ...). Conflicts between the
        schema and the members raise naming both.
        """
        ...

    def validate_metadata(
        self, metadata: MetadataT, schema: Schema, spec_members: MembersT
    ) -> None:
        """Check existing metadata against the open request's constraints.

        A mismatch raises ``ValueError`` naming the member and both values.
        """
        ...

    def metadata_schema(self, metadata: MetadataT) -> Schema:
        """The schema the metadata implies (domain with resizable bounds implicit)."""
        ...

    def metadata_json(self, metadata: MetadataT) -> dict[str, Any]:
        """The ``"metadata"`` spec member as ``TensorStore.spec()`` shows it."""
        ...

    def opened_members_json(self, spec_members: MembersT, metadata: MetadataT) -> dict[str, Any]:
        """The spec members other than ``"metadata"`` that ``spec()`` of an opened array shows."""
        ...

    def chunk_codec(self, metadata: MetadataT) -> ChunkCodec:
        """The codec the chunk cache uses to name, decode and encode chunks."""
        ...

    def resize_metadata(self, metadata: MetadataT, new_shape: Sequence[int]) -> MetadataT:
        """The metadata with its shape changed to ``new_shape`` (same rank)."""
        ...

    def chunk_grid(self, metadata: MetadataT) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """``(chunk_shape, grid_origin)`` of the regular chunk grid."""
        ...

    def record_field(self, metadata: MetadataT, spec_members: MembersT) -> RecordField | None:
        """The field the spec opens, if the elements are records of several fields; else None.

        The chunks then hold the records' raw bytes (``metadata_schema`` is
        theirs) and the opened array is that field's view of them.
        """
        ...

    def field_schema(self, metadata: MetadataT, spec_members: MembersT) -> Schema:
        """The schema of the field :meth:`record_field` gives (its data type, inner dimensions
        and fill value); only called when there is one."""
        ...


_FORMATS: Final[dict[str, ChunkedFormat[Any, Any]]] = {}


def register_chunked_format(fmt: ChunkedFormat[Any, Any]) -> None:
    """Make ``fmt.driver_id`` openable with ``ts.open({"driver": ...})``.

    Registering the same value again is allowed (module re-import); a
    different format under the same id is an error.
    """
    existing = _FORMATS.get(fmt.driver_id)
    if existing is not None and existing is not fmt and existing != fmt:
        raise InvalidArgumentError(f'chunked format "{fmt.driver_id}" is already registered')
    _FORMATS[fmt.driver_id] = fmt


def chunked_format(driver_id: str) -> ChunkedFormat[Any, Any] | None:
    """The format registered for ``driver_id``, or None."""
    return _FORMATS.get(driver_id)


def chunked_format_ids() -> tuple[str, ...]:
    """Every registered chunked driver id, sorted."""
    return tuple(sorted(_FORMATS))
