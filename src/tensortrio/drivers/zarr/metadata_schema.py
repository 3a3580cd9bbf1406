"""Zarr v2 metadata and ``ts.Schema``: creating metadata from constraints, checking it, describing it.

TensorStore's mapping: the domain is ``[0, shape)`` with resizable (implicit)
upper bounds, then the data type's inner dimensions (``|S4``: ``[0, 4)``,
explicit); one chunk grid (read = write chunk) with origin 0 whose chunks
span the inner dimensions; ``order`` is ``inner_order`` (C: ``[0, 1, ...]``,
F: the element dimensions reversed, inner dimensions last); the codec is
``{"driver": "zarr", "compressor": ..., "filters": ...}``; a ``null``
fill value is no fill value; dimension units cannot be stored.

New metadata takes the spec's ``"metadata"`` members first, then schema
constraints, then defaults: native-endian dtype, chunks from the chunk layout
(:func:`~tensortrio.schema.chunk_shape.choose_read_write_chunk_grid`), blosc
``lz4`` level 5 with automatic shuffle, C order, ``"."`` separator, ``null``
fill value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import attrs

from ...errors import FailedPreconditionError, InvalidArgumentError
from ...index.domain import IndexDomain
from ...index.interval import INF, IndexInterval
from ...schema.chunk_grid import GridConstraints, format_vector
from ...schema.chunk_json import json_text
from ...schema.chunk_layout import LayoutConstraints
from ...schema.chunk_shape import choose_read_write_chunk_grid
from ...schema.codec_spec import CodecSpec
from ...schema.dtype import dtype as ts_dtype
from ...schema.fill_value import fill_values_identical, format_array, unbroadcast
from ...schema.schema import Schema, SchemaConstraints, merge_domains
from ..format_metadata import check_schema_rank_dtype_domain, metadata_domain
from ..text_codec import VLEN_CODECS
from .codec_spec import zarr_codec_members
from .compressor import ZarrCodecConfig, parse_compressor, parse_filters
from .dtype import choose_zarr_dtype, object_codec, with_object_codec
from .fill_value import convert_fill_value
from .metadata import ZarrMetadata, check_metadata_constraints

if TYPE_CHECKING:
    import numpy as np

    from .dtype import ZarrDType
    from .spec_members import ZarrSpecMembers

__all__ = ["create_metadata", "field_metadata", "metadata_schema", "validate_metadata"]

_DEFAULT_COMPRESSOR: Final = {"id": "blosc"}


def _inner_order(order: str, rank: int, inner_rank: int = 0) -> tuple[int, ...]:
    if order == "C":
        return tuple(range(rank))
    outer = rank - inner_rank
    return (*range(outer - 1, -1, -1), *range(outer, rank))


def _full_domain(
    rank: int,
    shape: tuple[int, ...] | None,
    dtype: ZarrDType | None,
    labels: tuple[str, ...] | None = None,
) -> IndexDomain:
    """``metadata_domain`` of the element dimensions, then ``dtype``'s explicit inner dimensions."""
    domain = metadata_domain(rank, shape, labels)
    if dtype is None or not dtype.field_shape:
        return domain
    inner = (IndexInterval.make(0, n, False, False) for n in dtype.field_shape)
    return IndexDomain.from_dims((*domain.dims, *inner))


def _metadata_layout(
    base: LayoutConstraints,
    rank: int,
    chunks: tuple[int, ...] | None,
    order: str | None,
    inner_rank: int = 0,
) -> LayoutConstraints:
    """``base`` with the metadata's hard constraints: origin 0, ``chunks``, ``order``.

    ``rank`` counts the ``inner_rank`` inner dimensions of the data type, which
    ``chunks`` (then the full chunk shape) includes.
    """
    out = base.with_rank(rank)
    try:
        out = out.with_grid_origin((0,) * rank, (True,) * rank)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"Error setting grid_origin: {exc}") from None
    shape = chunks if chunks is not None else (0,) * rank
    grid = GridConstraints(
        rank=rank,
        shape=shape,
        shape_hard=tuple(n != 0 for n in shape),
        aspect_ratio=(0.0,) * rank,
        aspect_ratio_hard=(False,) * rank,
    )
    out = out.with_grid("write", grid).with_grid("read", grid)
    if order is not None:
        try:
            out = out.with_inner_order(_inner_order(order, rank, inner_rank), True)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Error setting inner_order: {exc}") from None
    return out


def _codec_spec(compressor: ZarrCodecConfig | None, filters: Any) -> CodecSpec:
    return CodecSpec(
        {
            "driver": "zarr",
            "compressor": None if compressor is None else compressor.to_json(),
            "filters": None if filters is None else [f.to_json() for f in filters],
        }
    )


def _choose_compressor(
    members: ZarrSpecMembers, codec: CodecSpec | None
) -> tuple[ZarrCodecConfig | None, tuple[ZarrCodecConfig, ...] | None]:
    partial = members.metadata
    wanted: dict[str, Any] = {}
    if partial.compressor_given:
        wanted["compressor"] = None if partial.compressor is None else partial.compressor.to_json()
    if partial.filters is not None:
        wanted["filters"] = [f.to_json() for f in partial.filters]
    spec = CodecSpec({"driver": "zarr", **wanted})
    if codec is not None:
        spec = spec.merge(codec)
    json = spec.to_json()
    compressor = parse_compressor(json.get("compressor", _DEFAULT_COMPRESSOR))
    return compressor, parse_filters(json.get("filters"))


def _choose_order(layout: LayoutConstraints, rank: int, inner_rank: int) -> str:
    inner = layout.inner_order
    if inner is None or inner == _inner_order("C", rank):
        return "C"
    if inner == _inner_order("F", rank, inner_rank):
        return "F"
    if layout.inner_order_hard:
        raise InvalidArgumentError(f'Invalid "inner_order" constraint: {format_vector(inner)}')
    return "C"


def _choose_fill_value(
    members: ZarrSpecMembers, constraints: SchemaConstraints, dtype: ZarrDType
) -> np.ndarray | None:
    if members.metadata.fill_value_given:
        return members.metadata.fill_value
    if constraints.fill_value is None:
        return None
    if dtype.fields:
        # The schema's fill value is one field's; the metadata's is a whole record's.
        raise InvalidArgumentError(
            "Invalid fill_value: Cannot specify fill_value through schema for structured zarr "
            f"data type {json_text(dtype.to_json())}"
        )
    return convert_fill_value(constraints.fill_value, dtype)


def create_metadata(schema: Schema, members: ZarrSpecMembers) -> ZarrMetadata:
    """Metadata for a new array from the spec's ``"metadata"`` and the schema constraints.

    Raises:
        ValueError: no dtype or domain given, a rank/domain/chunk layout/codec/
            fill value conflict (message names it), or an inner order that is
            neither C nor Fortran as a hard constraint.
    """
    constraints = schema.constraints
    partial = members.metadata
    if partial.dtype is not None:
        dtype = partial.dtype
    elif members.field is not None:
        raise InvalidArgumentError('"dtype" must be specified in "metadata" if "field" is specified')
    elif constraints.dtype is not None:
        dtype = choose_zarr_dtype(constraints.dtype)
    else:
        raise InvalidArgumentError('"dtype" must be specified')
    check_field(dtype, members.field)
    # The schema constrains the view of the opened field (its type and inner dimensions).
    view = dtype.select(members.field) if dtype.fields and members.field is not None else dtype
    inner = view.field_shape
    rank = partial.rank
    if constraints.rank is not None:
        # The schema's rank counts the data type's inner dimensions; the metadata's does not.
        implied = constraints.rank - len(inner)
        if implied < 0 or rank not in (None, implied):
            raise InvalidArgumentError(
                f"Rank specified by schema ({constraints.rank}) is not compatible with metadata"
            )
        rank = implied
    # A rank-0 domain has nothing to specify (TensorStore creates one from the rank alone).
    if rank is None or (partial.shape is None and constraints.domain is None and rank != 0):
        raise InvalidArgumentError("domain must be specified")
    domain = _full_domain(rank, partial.shape, view)
    if constraints.domain is not None:
        try:
            domain = merge_domains(domain, constraints.domain)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Invalid domain: {exc}") from None
    if any(lo == -INF or hi == INF + 1 for lo, hi in zip(domain.inclusive_min, domain.exclusive_max, strict=True)):
        raise InvalidArgumentError("domain must be specified")
    full_rank = rank + len(inner)
    chunks = (partial.chunks or (0,) * rank) + inner
    layout = _metadata_layout(constraints.chunk_layout, full_rank, chunks, partial.order, len(inner))
    chosen = choose_read_write_chunk_grid(layout, domain).shape
    compressor, filters = _choose_compressor(members, constraints.codec)
    if dtype.kind == "O":
        dtype, filters = _object_filters(dtype, filters, constraints)
    else:
        with_object_codec(dtype, tuple(f.id for f in filters or ()))  # refuses object codecs
    metadata = ZarrMetadata(
        shape=tuple(domain.shape)[:rank],
        chunks=tuple(chosen)[:rank],
        dtype=dtype,
        compressor=compressor,
        fill_value=_choose_fill_value(members, constraints, dtype),
        # An order the metadata asks for is kept even where both mean the same (rank 0 or 1:
        # tensorstore stores "C" there, then fails its own check of the metadata).
        order=partial.order  # type: ignore[arg-type]
        or ("C" if rank == 0 else _choose_order(layout, full_rank, len(inner))),
        filters=filters,
        dimension_separator=partial.dimension_separator or ".",
    )
    validate_metadata_schema(field_metadata(metadata, members.field), constraints)
    return metadata


def _object_filters(
    dtype: ZarrDType,
    filters: tuple[ZarrCodecConfig, ...] | None,
    constraints: SchemaConstraints,
) -> tuple[ZarrDType, tuple[ZarrCodecConfig, ...]]:
    """An ``"|O"`` type and the filters that start with its object codec.

    Filters that name an object codec say what the elements are; otherwise
    the schema's ``string``/``ustring`` does (text if neither), and its codec
    goes first.
    """
    ids = tuple(f.id for f in filters or ())
    if ids and ids[0] in VLEN_CODECS:
        return with_object_codec(dtype, ids), filters or ()
    if constraints.dtype is not None and constraints.dtype.name in VLEN_CODECS.values():
        dtype = attrs.evolve(dtype, name=constraints.dtype.name)
    return dtype, (*(parse_filters([object_codec(dtype)]) or ()), *(filters or ()))


def validate_metadata(metadata: ZarrMetadata, schema: Schema, members: ZarrSpecMembers) -> None:
    """Check existing metadata against the spec's ``"metadata"`` and the schema.

    Raises:
        ValueError: the first mismatch, naming the member and both values.
    """
    check_metadata_constraints(metadata, members.metadata)
    check_field(metadata.dtype, members.field)
    validate_metadata_schema(field_metadata(metadata, members.field), schema.constraints)


def field_metadata(metadata: ZarrMetadata, field: str | None) -> ZarrMetadata:
    """``metadata`` as the array of field ``field`` sees it, for a structured type of several
    fields: that field's data type and fill value. Other metadata is returned as it is.

    The result describes the field's view (its schema); chunks are still
    stored as ``metadata`` says.
    """
    dtype = metadata.dtype
    if not dtype.fields or field is None:
        return metadata
    record = dtype.record_field(field)
    fill = metadata.fill_value
    return attrs.evolve(
        metadata,
        dtype=dtype.select(field),
        fill_value=None if fill is None else record.fill_value(fill),
    )


def check_field(dtype: ZarrDType, field: str | None) -> None:
    """Check the spec's ``"field"`` against the data type, with TensorStore's messages.

    Raises:
        FailedPreconditionError: a field is named but the data type has no
            named fields, or none of that name; or the data type has several
            fields and none is named.
    """
    names = dtype.field_names
    if field is None:
        if dtype.fields:
            raise FailedPreconditionError(
                f'Must specify a "field" that is one of: {json_text(list(names))}'
            )
        return
    if not names:
        raise FailedPreconditionError(
            f"Requested field {json_text(field)} but dtype does not have named fields"
        )
    if field not in names:
        raise FailedPreconditionError(
            f"Requested field {json_text(field)} is not one of: {json_text(list(names))}"
        )


def validate_metadata_schema(metadata: ZarrMetadata, constraints: SchemaConstraints) -> None:
    """Check metadata against schema constraints, with TensorStore's messages.

    Raises:
        FailedPreconditionError: rank or dtype differ.
        ValueError: domain, codec, fill value, chunk layout or dimension units conflict.
    """
    inner_rank = len(metadata.dtype.field_shape)
    rank = metadata.rank + inner_rank
    check_schema_rank_dtype_domain(
        constraints,
        rank,
        metadata.dtype.name,
        _full_domain(metadata.rank, metadata.shape, metadata.dtype),
    )
    if constraints.codec is not None:
        try:
            _codec_spec(metadata.compressor, metadata.filters).merge(constraints.codec)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(
                f"codec from metadata does not match codec in schema: {exc}"
            ) from None
    _check_fill_value(metadata, constraints)
    if constraints.chunk_layout.rank is not None:
        layout = _metadata_layout(
            constraints.chunk_layout, rank, metadata.chunk_shape, metadata.order, inner_rank
        )
        if any(layout.codec.shape_hard):
            raise InvalidArgumentError("codec_chunk_shape not supported")
    units = constraints.dimension_units
    if units is not None and any(u is not None for u in units):
        raise InvalidArgumentError("Dimension units not supported by zarr driver")


def _check_fill_value(metadata: ZarrMetadata, constraints: SchemaConstraints) -> None:
    wanted = constraints.fill_value
    if wanted is None:
        return
    if metadata.fill_value is None:
        raise InvalidArgumentError(
            f"Invalid fill_value: schema requires fill value of {format_array(wanted)}, but "
            "metadata specifies no fill value"
        )
    converted = convert_fill_value(wanted, metadata.dtype)
    if not fill_values_identical(converted, metadata.fill_value):
        raise InvalidArgumentError(
            f"Invalid fill_value: schema requires fill value of {format_array(converted)}, "
            f"but metadata specifies fill value of {format_array(metadata.fill_value)}"
        )


def metadata_schema(metadata: ZarrMetadata) -> Schema:
    """The schema an existing array has (what ``TensorStore.schema`` shows)."""
    dtype = metadata.dtype
    inner_rank = len(dtype.field_shape)
    rank = metadata.rank + inner_rank
    layout = _metadata_layout(
        LayoutConstraints(), rank, metadata.chunk_shape, metadata.order, inner_rank
    )
    fill_value = None
    if metadata.fill_value is not None:
        # As TensorStore shows it, without leading inner dimensions of size 1.
        fill_value = unbroadcast(metadata.fill_value.astype(dtype.native).reshape(dtype.field_shape))
    constraints = SchemaConstraints(
        rank=rank,
        dtype=ts_dtype(dtype.name),
        domain=_full_domain(metadata.rank, metadata.shape, dtype),
        chunk_layout=layout,
        codec=_codec_spec(metadata.compressor, metadata.filters),
        fill_value=fill_value,
    )
    return Schema.from_constraints(constraints)


def spec_schema(
    members: ZarrSpecMembers, domain: IndexDomain | None = None, known_rank: int | None = None
) -> Schema:
    """The schema constraints the spec's ``"metadata"`` member implies (for ``Spec.schema``).

    The codec always; the chunk layout (origin 0, ``chunks``, ``order``) once
    the rank is known: from ``shape`` or ``chunks`` with the dtype, else as
    ``known_rank`` (the spec's own); the domain once ``shape`` and the dtype
    are.  ``domain``, the spec schema's, stands in for a metadata ``shape``
    not given: the domain is then ``[0, n*)`` (resizable) in those
    dimensions, as TensorStore shows it.
    """
    partial = members.metadata
    codec_members: dict[str, Any] = {}
    if partial.compressor_given:
        codec_members["compressor"] = (
            None if partial.compressor is None else partial.compressor.to_json()
        )
    if partial.filters is not None:
        codec_members["filters"] = [f.to_json() for f in partial.filters]
    constraints = SchemaConstraints(
        codec=CodecSpec({"driver": "zarr", **zarr_codec_members(codec_members)})
    )
    dtype = partial.dtype
    fill_value = partial.fill_value
    if dtype is not None and dtype.kind == "O" and partial.filters is None:
        dtype = None  # text or bytes: the filters say which
    if dtype is not None and dtype.fields:
        # Records of several fields: the view is the opened field's (unknown without one).
        if members.field not in dtype.field_names:
            dtype = None
        else:
            assert members.field is not None
            if fill_value is not None:
                fill_value = dtype.record_field(members.field).fill_value(fill_value)
            dtype = dtype.select(members.field)
    if dtype is not None:
        constraints = constraints.with_dtype(ts_dtype(dtype.name))
        if fill_value is not None:
            constraints = constraints.with_fill_value(fill_value.astype(dtype.native))
    rank = partial.rank
    inner = () if dtype is None else dtype.field_shape
    if rank is not None and dtype is not None and partial.shape is not None:
        constraints = constraints.with_domain(_full_domain(rank, partial.shape, dtype))
    # Without a dtype (whose inner dimensions count), as in tensorstore, only the spec's
    # own rank is known, and an "F" order says where dimensions go only beside ``chunks``
    # of that rank (no inner dimensions).
    full_rank = known_rank if rank is None or dtype is None else rank + len(inner)
    if full_rank is not None:
        chunks = partial.chunks
        if chunks is not None and len(chunks) + len(inner) == full_rank:
            chunks += inner
        else:
            chunks = None  # (a rank that differs is refused where the ranks merge)
        order = None if dtype is None and chunks is None and partial.order == "F" else partial.order
        constraints = constraints.with_rank(full_rank).with_chunk_layout(
            _metadata_layout(LayoutConstraints(), full_rank, chunks, order, len(inner))
        )
    inner_rank = len(inner)
    if domain is not None and rank in (None, domain.rank - inner_rank) and (dtype is None or partial.shape is None):
        # (Without a dtype, as tensorstore, only beside the schema's shape does the
        # metadata's imply a domain.)
        outer_rank = domain.rank - inner_rank
        outer = partial.shape or tuple(domain.shape)[:outer_rank]
        implied = _full_domain(outer_rank, outer, dtype, domain.labels[:outer_rank])
        constraints = constraints.with_domain(implied)
    return Schema.from_constraints(constraints)
