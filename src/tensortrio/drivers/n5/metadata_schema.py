"""N5 metadata and ``ts.Schema``: creating metadata from constraints, checking it, describing it.

TensorStore's mapping: the domain is ``[0, dimensions)`` with implicit
(resizable) upper bounds and ``axes`` as labels; one chunk grid (read = write
chunk = ``blockSize``) with origin 0 and Fortran ``inner_order``; the codec is
``{"driver": "n5", "compression": ...}``; no fill value (unwritten elements
read as zero); dimension unit ``i`` is ``resolution[i]`` (default 1) times
``units[i]``, present only when ``units`` is.

New metadata takes the spec's ``"metadata"`` members first, then schema
constraints, then TensorStore's defaults: blocks from the chunk layout
(:func:`~tensortrio.schema.chunk_shape.choose_read_write_chunk_grid`), blosc
``lz4`` level 5 with byte shuffle (bit shuffle for 1-byte types).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import FailedPreconditionError, InvalidArgumentError
from ...index.domain import IndexDomain
from ...index.interval import INF, IndexInterval
from ...schema.chunk_grid import GridConstraints
from ...schema.chunk_layout import LayoutConstraints
from ...schema.chunk_shape import choose_read_write_chunk_grid
from ...schema.codec_spec import CodecSpec
from ...schema.dtype import dtype as ts_dtype
from ...schema.schema import Schema, SchemaConstraints, merge_domains
from ...schema.unit import Unit
from ..format_metadata import metadata_domain
from .compression import N5Compression, default_compression, parse_compression
from .metadata import N5_DATA_TYPES, N5Metadata, check_block_size, check_metadata_constraints

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .metadata import N5PartialMetadata
    from .spec_members import N5SpecMembers

__all__ = [
    "codec_spec",
    "create_metadata",
    "metadata_schema",
    "spec_schema",
    "validate_metadata",
]

Units = tuple[Unit | None, ...]


def _units_text(units: Units) -> str:
    return "[" + ", ".join("null" if u is None else f'"{u}"' for u in units) + "]"


def _metadata_units(
    rank: int | None, units: Sequence[str] | None, resolution: Sequence[float] | None
) -> Units | None:
    """Dimension units the metadata gives (None: none, when ``units`` is absent)."""
    if rank is None or units is None:
        return None
    return tuple(
        Unit(resolution[i] if resolution is not None else 1.0, units[i]) for i in range(rank)
    )


def _layout(
    base: LayoutConstraints, rank: int, block_size: Sequence[int] | None
) -> LayoutConstraints:
    """``base`` with n5's hard constraints: Fortran inner order, ``blockSize``, origin 0."""
    out = base.with_rank(rank)
    try:
        out = out.with_inner_order(tuple(range(rank - 1, -1, -1)), True)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"Error setting inner_order: {exc}") from None
    if block_size is not None:
        grid = GridConstraints(
            rank=rank,
            shape=tuple(block_size),
            shape_hard=(True,) * rank,
            aspect_ratio=(0.0,) * rank,
            aspect_ratio_hard=(False,) * rank,
        )
        out = out.with_grid("write", grid).with_grid("read", grid)
    try:
        return out.with_grid_origin((0,) * rank, (True,) * rank)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"Error setting grid_origin: {exc}") from None


def codec_spec(compression: N5Compression | None) -> CodecSpec:
    """The ``ts.CodecSpec`` of ``compression`` (None: unconstrained)."""
    members = {} if compression is None else {"compression": compression.to_json()}
    return CodecSpec({"driver": "n5", **members})


def _effective_domain(
    partial: N5PartialMetadata, constraints: SchemaConstraints
) -> IndexDomain | None:
    rank = partial.rank
    if partial.shape is None and partial.axes is None and constraints.domain is None:
        return IndexDomain.from_dims([]) if constraints.rank == 0 else None
    rank = max(
        rank if rank is not None else -1, constraints.rank if constraints.rank is not None else -1
    )
    domain = metadata_domain(rank, partial.shape, partial.axes)
    if constraints.domain is not None:
        try:
            domain = merge_domains(constraints.domain, domain)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Mismatch between metadata and schema: {exc}") from None
    return IndexDomain.from_dims(
        IndexInterval.make(d.inclusive_min, d.exclusive_max, False, True, d.label) for d in domain
    )


def _choose_units(
    partial: N5PartialMetadata, constraints: SchemaConstraints, rank: int
) -> tuple[tuple[str, ...] | None, tuple[float, ...] | None]:
    units, resolution = partial.units, partial.resolution
    merged = _metadata_units(partial.rank, units, resolution)
    wanted = constraints.dimension_units
    if wanted is not None:
        if merged is None:
            merged = wanted
        else:
            merged = (
                SchemaConstraints(dimension_units=merged)
                .with_dimension_units(wanted)
                .dimension_units
            )
        assert merged is not None
        _check_resolution(merged, partial)
    if merged is None or all(u is None for u in merged):
        return units, resolution
    units_out = list(units) if units is not None else [""] * rank
    resolution_out = list(resolution) if resolution is not None else [1.0] * rank
    for i, unit in enumerate(merged):
        if unit is not None:
            units_out[i] = unit.base_unit
            resolution_out[i] = unit.multiplier
    return tuple(units_out), tuple(resolution_out)


def _check_resolution(units: Units, partial: N5PartialMetadata) -> None:
    """Without ``units``, a given ``resolution`` must still agree with the schema's multipliers."""
    resolution = partial.resolution
    if partial.units is not None or resolution is None:
        return
    for i, unit in enumerate(units):
        if unit is not None and resolution[i] != unit.multiplier:
            shown = "{" + ", ".join(f"{r:g}" for r in resolution) + "}"
            raise InvalidArgumentError(
                f'"resolution" from metadata {shown} does not match dimension units from schema '
                f"{_units_text(units)}"
            )


def _choose_compression(
    partial: N5PartialMetadata, codec: CodecSpec | None, itemsize: int
) -> N5Compression:
    spec = codec_spec(partial.compression)
    if codec is not None:
        spec = SchemaConstraints(codec=spec).with_codec(codec).codec or spec
    json = spec.to_json()
    if "compression" in json:
        return parse_compression(json["compression"])
    return default_compression(itemsize)


def create_metadata(schema: Schema, members: N5SpecMembers) -> N5Metadata:
    """Metadata for a new dataset from the spec's ``"metadata"`` and the schema constraints.

    Raises:
        ValueError: no domain or dtype, an unsupported dtype, a conflict
            between the schema and the metadata (message names it), blocks
            over 2 GiB, or a fill value (n5 has none).
    """
    constraints = schema.constraints
    partial = members.metadata
    rank = partial.rank
    if rank is not None and constraints.rank is not None and rank != constraints.rank:
        raise InvalidArgumentError(
            f"Rank specified by schema ({constraints.rank}) does not match rank specified by "
            f"metadata ({rank})"
        )
    domain = _effective_domain(partial, constraints)
    if domain is None or any(
        lo == -INF or hi == INF + 1
        for lo, hi in zip(domain.inclusive_min, domain.exclusive_max, strict=True)
    ):
        raise InvalidArgumentError("domain must be specified")
    rank = domain.rank
    if partial.data_type is not None:
        if constraints.dtype is not None and constraints.dtype.name != partial.data_type:
            raise InvalidArgumentError(
                f"Specified dtype ({constraints.dtype.name}) does not match existing value "
                f"({partial.data_type})"
            )
        data_type = partial.data_type
    elif constraints.dtype is not None:
        data_type = constraints.dtype.name
        if data_type not in N5_DATA_TYPES:
            raise InvalidArgumentError(
                f"{data_type} data type is not one of the supported data types: "
                f"{', '.join(N5_DATA_TYPES)}"
            )
    else:
        raise InvalidArgumentError("dtype must be specified")
    layout = _layout(constraints.chunk_layout, rank, partial.block_size)
    block_size = choose_read_write_chunk_grid(layout, domain).shape
    itemsize = ts_dtype(data_type).numpy_dtype.itemsize
    units, resolution = _choose_units(partial, constraints, rank)
    metadata = N5Metadata(
        shape=tuple(domain.shape),
        block_size=tuple(block_size),
        data_type=data_type,
        compression=_choose_compression(partial, constraints.codec, itemsize),
        axes=tuple(domain.labels),
        units=units,
        resolution=resolution,
        extra_attributes=partial.extra_attributes,
    )
    check_block_size(metadata.block_size, data_type)
    validate_metadata_schema(metadata, constraints)
    return metadata


def validate_metadata(metadata: N5Metadata, schema: Schema, members: N5SpecMembers) -> None:
    """Check existing metadata against the spec's ``"metadata"`` and the schema.

    Raises:
        ValueError: the first mismatch, naming the member and both values.
    """
    partial = members.metadata
    constraints = schema.constraints
    dtype = constraints.dtype
    if partial.data_type is not None and dtype is not None and dtype.name != partial.data_type:
        raise InvalidArgumentError(
            f"Specified dtype ({dtype.name}) does not match existing value ({partial.data_type})"
        )
    check_metadata_constraints(metadata, partial)
    validate_metadata_schema(metadata, constraints)


def validate_metadata_schema(metadata: N5Metadata, constraints: SchemaConstraints) -> None:
    """Check metadata against schema constraints, with TensorStore's messages.

    Raises:
        FailedPreconditionError: rank, dtype, codec or dimension units differ.
        ValueError: domain or chunk layout conflict, or a fill value.
    """
    rank = metadata.rank
    if constraints.rank is not None and constraints.rank != rank:
        raise FailedPreconditionError(
            f"Rank specified by schema ({constraints.rank}) does not match rank specified by "
            f"metadata ({rank})"
        )
    if constraints.domain is not None:
        try:
            merge_domains(constraints.domain, metadata_domain(rank, metadata.shape, metadata.axes))
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Mismatch between metadata and schema: {exc}") from None
    if constraints.dtype is not None and constraints.dtype.name != metadata.data_type:
        raise FailedPreconditionError(
            f"dtype from metadata ({metadata.data_type}) does not match dtype in schema "
            f"({constraints.dtype.name})"
        )
    if constraints.codec is not None:
        try:
            SchemaConstraints(codec=codec_spec(metadata.compression)).with_codec(constraints.codec)
        except InvalidArgumentError as exc:
            raise FailedPreconditionError(
                f"codec from metadata does not match codec in schema: {exc}"
            ) from None
    if constraints.chunk_layout.rank is not None:
        layout = _layout(constraints.chunk_layout, rank, metadata.block_size)
        if any(layout.codec.shape_hard):
            raise InvalidArgumentError("codec_chunk_shape not supported")
    if constraints.fill_value is not None:
        raise InvalidArgumentError("fill_value not supported by N5 format")
    wanted = constraints.dimension_units
    if wanted is not None:
        stored = _metadata_units(rank, metadata.units, metadata.resolution) or (None,) * rank
        try:
            merged = SchemaConstraints(dimension_units=wanted).with_dimension_units(stored)
        except InvalidArgumentError as exc:
            raise FailedPreconditionError(str(exc)) from None
        if merged.dimension_units != stored:
            raise FailedPreconditionError(
                f"Dimension units in metadata {_units_text(stored)} do not match dimension "
                f"units in schema {_units_text(wanted)}"
            )


def metadata_schema(metadata: N5Metadata) -> Schema:
    """The schema an existing dataset has (what ``TensorStore.schema`` shows)."""
    rank = metadata.rank
    constraints = SchemaConstraints(
        rank=rank,
        dtype=ts_dtype(metadata.data_type),
        domain=metadata_domain(rank, metadata.shape, metadata.axes),
        chunk_layout=_layout(LayoutConstraints(), rank, metadata.block_size),
        codec=codec_spec(metadata.compression),
    )
    units = _metadata_units(rank, metadata.units, metadata.resolution)
    if units is not None:
        constraints = constraints.with_dimension_units(units)
    return Schema.from_constraints(constraints)


def spec_schema(
    members: N5SpecMembers, domain: IndexDomain | None = None, known_rank: int | None = None
) -> Schema:
    """The schema constraints the spec's ``"metadata"`` member implies (for ``Spec.schema``).

    The codec always; rank and chunk layout once a vector member or
    ``known_rank`` (the spec's own) fixes the rank; the domain once
    ``dimensions`` or ``axes`` is given.  ``domain``, the spec schema's,
    stands in for ``dimensions`` not given (``[0, n*)``, as TensorStore shows it).
    """
    partial = members.metadata
    constraints = SchemaConstraints(codec=codec_spec(partial.compression))
    if partial.data_type is not None:
        constraints = constraints.with_dtype(ts_dtype(partial.data_type))
    rank = partial.rank if partial.rank is not None else known_rank
    if rank is not None:
        constraints = constraints.with_rank(rank)
        constraints = constraints.with_chunk_layout(
            _layout(LayoutConstraints(), rank, partial.block_size)
        )
        if partial.shape is not None or partial.axes is not None:
            constraints = constraints.with_domain(
                metadata_domain(rank, partial.shape, partial.axes)
            )
        units = _metadata_units(rank, partial.units, partial.resolution)
        if units is not None:
            constraints = constraints.with_dimension_units(units)
    if partial.shape is None and partial.axes is None and domain is not None and rank in (None, domain.rank):
        constraints = constraints.with_domain(
            metadata_domain(domain.rank, tuple(domain.shape), domain.labels)
        )
    return Schema.from_constraints(constraints)
