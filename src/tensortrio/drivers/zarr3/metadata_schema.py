"""Zarr v3 metadata and ``ts.Schema``: creating metadata from constraints, checking it, describing it.

TensorStore's mapping: the domain is ``[0, shape)`` with implicit (resizable)
upper bounds and ``dimension_names`` as labels; the write chunk is the
``chunk_grid`` chunk (the shard when sharded) and the read chunk the
innermost sharding's inner chunk; ``inner_order`` comes from ``transpose``
codecs; the codec is ``{"driver": "zarr3", "codecs": [...]}``.

New metadata takes the spec's ``"metadata"`` first, then the schema, then
defaults: chunk shapes from :func:`~tensortrio.schema.chunk_shape.choose_read_write_chunk_shapes`;
when the read chunk differs from the write chunk a ``sharding_indexed``
codec (inner chunk = read chunk, index ``bytes`` + ``crc32c`` at the end)
wraps the codecs, as TensorStore does; a non-C ``inner_order`` adds a
``transpose``; fill value 0; no compression.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import attrs

from ...errors import InvalidArgumentError
from ...index.interval import INF
from ...schema.chunk_grid import GridConstraints
from ...schema.chunk_layout import LayoutConstraints
from ...schema.chunk_shape import choose_read_write_chunk_shapes
from ...schema.codec_spec import CodecSpec
from ...schema.dtype import dtype as ts_dtype
from ...schema.fill_value import fill_values_identical, format_array
from ...schema.schema import Schema, SchemaConstraints, merge_domains
from ..blosc_codec import check_cname_available
from ..format_metadata import check_schema_rank_dtype_domain, metadata_domain
from .chunk_key_encoding import ChunkKeyEncoding
from .codec_constraint import codecs_json_shown, merge_given_codecs
from .codecs import BloscCodec, CodecChain, ShardingCodec, TransposeCodec, parse_codec_chain
from .dimension_units import units_from_attributes, units_into_attributes
from .dtype import data_type_for, ts_name
from .fill_value import convert_fill_value, default_fill_value
from .metadata import (
    Zarr3Metadata,
    chain_inner_order,
    chain_read_chunk_shape,
    check_metadata_constraints,
    check_sub_chunk_rank,
    given_codecs_match,
    resolve_codecs,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

    from ...index.domain import IndexDomain
    from .spec_members import Zarr3SpecMembers

__all__ = ["create_metadata", "metadata_schema", "spec_schema", "validate_metadata"]


def _grid(rank: int, shape: Sequence[int] | None) -> GridConstraints:
    values = tuple(shape) if shape is not None else (0,) * rank
    return GridConstraints(
        rank=rank,
        shape=values,
        shape_hard=tuple(n != 0 for n in values),
        aspect_ratio=(0.0,) * rank,
        aspect_ratio_hard=(False,) * rank,
    )


def _layout(
    base: LayoutConstraints,
    rank: int,
    write: Sequence[int] | None,
    read: Sequence[int] | None,
    inner_order: tuple[int, ...] | None,
) -> LayoutConstraints:
    out = base.with_rank(rank)
    try:
        out = out.with_grid_origin((0,) * rank, (True,) * rank)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"Error setting grid_origin: {exc}") from None
    if write is not None:
        out = out.with_grid("write", _grid(rank, write))
    if read is not None:
        out = out.with_grid("read", _grid(rank, read))
    if inner_order is not None:
        try:
            out = out.with_inner_order(inner_order, True)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Error setting inner_order: {exc}") from None
    return out


def _schema_codecs(codec: CodecSpec | None) -> list[dict[str, Any]] | None:
    """The schema's zarr3 codecs constraint as given (see ``codec_constraint``), or None."""
    if codec is None:
        return None
    json = codec.to_json()
    if json.get("driver") != "zarr3":
        raise InvalidArgumentError(f"Cannot use {json.get('driver')} codec spec with zarr3 driver")
    codecs: list[dict[str, Any]] | None = json.get("codecs")
    return codecs


def _choose_codecs(members: Zarr3SpecMembers, codec: CodecSpec | None) -> CodecChain:
    given = members.metadata.given_codecs
    from_schema = _schema_codecs(codec)
    if given is not None and from_schema is not None:
        try:
            given = merge_given_codecs(given, from_schema)
        except InvalidArgumentError:
            raise InvalidArgumentError(
                f"codec from metadata does not match codec in schema: {given} vs {from_schema}"
            ) from None
    chosen = given if given is not None else from_schema
    return CodecChain() if chosen is None else parse_codec_chain(chosen)


def _innermost(chain: CodecChain) -> CodecChain:
    while isinstance(chain.array_to_bytes, ShardingCodec):
        chain = chain.array_to_bytes.codecs
    return chain


def create_metadata(schema: Schema, members: Zarr3SpecMembers) -> Zarr3Metadata:
    """Metadata for a new array from the spec's ``"metadata"`` and the schema constraints.

    Raises:
        ValueError: no dtype or domain, a conflict between the schema and the
            metadata (message names it), or codecs that do not fit the chunks.
    """
    constraints = schema.constraints
    partial = members.metadata
    if partial.data_type is not None:
        data_type = partial.data_type
    elif constraints.dtype is not None:
        data_type = data_type_for(constraints.dtype.name)
    else:
        raise InvalidArgumentError('"dtype" must be specified')
    rank = partial.rank
    if rank is not None and constraints.rank is not None and rank != constraints.rank:
        raise InvalidArgumentError(
            f"Rank specified by schema ({constraints.rank}) is not compatible with metadata"
        )
    if rank is None:
        rank = constraints.rank
    # A rank-0 domain has nothing to specify (TensorStore creates one from the rank alone).
    if rank is None or (partial.shape is None and constraints.domain is None and rank != 0):
        raise InvalidArgumentError("domain must be specified")
    domain = metadata_domain(rank, partial.shape, partial.dimension_names)
    if constraints.domain is not None:
        try:
            domain = merge_domains(domain, constraints.domain)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Invalid domain: {exc}") from None
    if any(lo != 0 for lo in domain.inclusive_min) or any(hi == INF + 1 for hi in domain.exclusive_max):
        raise InvalidArgumentError("domain must be specified with an origin of 0 and finite bounds")
    attributes = partial.attributes
    units = constraints.dimension_units
    # No unit for any dimension is nothing to store (TensorStore writes no attributes).
    if units is not None and any(unit is not None for unit in units):
        stored_units = units_from_attributes(attributes, rank)
        try:
            merged = (
                constraints if stored_units is None else constraints.with_dimension_units(stored_units)
            ).dimension_units
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Invalid dimension_units: {exc}") from None
        assert merged is not None
        attributes = units_into_attributes(attributes, merged)
    labels = domain.labels
    names: tuple[str | None, ...] | None = partial.dimension_names
    if names is not None and all(name is None for name in names):
        names = None  # no name at all is not stored (as TensorStore)
    if names is None and any(labels):
        names = tuple(label or None for label in labels)
    if partial.fill_value is not None:
        fill_value = partial.fill_value
    elif constraints.fill_value is not None:
        fill_value = convert_fill_value(constraints.fill_value, data_type)
    else:
        fill_value = default_fill_value(data_type)
    chain = _choose_codecs(members, constraints.codec)
    sharding = chain.array_to_bytes if isinstance(chain.array_to_bytes, ShardingCodec) else None
    if sharding is not None and sharding.chunk_shape is not None:
        check_sub_chunk_rank(sharding.chunk_shape, rank)
    layout = _layout(
        constraints.chunk_layout,
        rank,
        partial.chunk_shape,
        None if sharding is None or sharding.chunk_shape is None else _array_order(chain, sharding.chunk_shape),
        None,
    )
    read, write = choose_read_write_chunk_shapes(layout, domain)
    if sharding is not None and sharding.chunk_shape is None:
        # A codec spec that leaves the inner chunks to the layout: its read chunks (as tensorstore).
        sharding = attrs.evolve(sharding, chunk_shape=_codec_order(chain, read))
        chain = attrs.evolve(chain, array_to_bytes=sharding)
    if partial.codecs is None:
        # Codecs the metadata names are stored as given; others follow the layout.
        order = layout.inner_order
        if order is not None and order != tuple(range(rank)) and not _innermost(chain).array_to_array:
            chain = _with_transpose(chain, order)
        if sharding is None and read != write:
            chain = CodecChain(array_to_bytes=ShardingCodec(read, codecs=chain))
    metadata = Zarr3Metadata(
        shape=tuple(domain.shape),
        data_type=data_type,
        chunk_shape=write,
        fill_value=fill_value,
        codecs=resolve_codecs(chain, write, data_type, fill_value),
        chunk_key_encoding=partial.chunk_key_encoding or ChunkKeyEncoding(),
        attributes=attributes,
        dimension_names=names,
        extensions=partial.extensions,
    )
    # What the metadata member says holds for what was made (a schema codec merged in may not).
    check_metadata_constraints(metadata, partial)
    validate_metadata_schema(metadata, constraints)
    _check_available(metadata.codecs)
    return metadata


def _check_available(chain: CodecChain) -> None:
    """Refuse to create an array this process could not write (a blosc ``cname`` like ``"snappy"``)."""
    for codec in chain.codecs:
        if isinstance(codec, BloscCodec):
            check_cname_available(codec.cname)
        elif isinstance(codec, ShardingCodec):
            _check_available(codec.codecs)


def _array_order(chain: CodecChain, shape: tuple[int, ...]) -> tuple[int, ...]:
    """``shape``, as the array-to-bytes codec sees it, in the array's own dimension order.

    A ``transpose`` before a sharding codec makes its inner chunk shape refer to
    the transposed dimensions (a ``C``/``F`` order, unresolved here, is the
    identity or the reversal).
    """
    out = [0] * len(shape)
    for position, dim in enumerate(_transposed_dims(chain, len(shape))):
        out[dim] = shape[position]
    return tuple(out)


def _codec_order(chain: CodecChain, shape: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` in the array's dimension order, as the array-to-bytes codec sees it (the inverse)."""
    return tuple(shape[dim] for dim in _transposed_dims(chain, len(shape)))


def _transposed_dims(chain: CodecChain, rank: int) -> list[int]:
    """The array dimension at each position the array-to-bytes codec sees, after the transposes."""
    dims = list(range(rank))
    for codec in chain.array_to_array:
        order = getattr(codec, "order", None)
        if order == "F":
            dims = dims[::-1]
        elif isinstance(order, tuple):
            dims = [dims[i] for i in order]
    return dims


def _with_transpose(chain: CodecChain, order: tuple[int, ...]) -> CodecChain:
    if isinstance(chain.array_to_bytes, ShardingCodec):
        inner = chain.array_to_bytes
        return CodecChain(
            chain.array_to_array,
            ShardingCodec(inner.chunk_shape, _with_transpose(inner.codecs, order), inner.index_codecs, inner.index_location),
            chain.bytes_to_bytes,
        )
    return CodecChain((TransposeCodec(order), *chain.array_to_array), chain.array_to_bytes, chain.bytes_to_bytes)


def validate_metadata(metadata: Zarr3Metadata, schema: Schema, members: Zarr3SpecMembers) -> None:
    """Check existing metadata against the spec's ``"metadata"`` and the schema.

    Raises:
        ValueError: the first mismatch, naming the member and both values.
    """
    check_metadata_constraints(metadata, members.metadata)
    validate_metadata_schema(metadata, schema.constraints)


def validate_metadata_schema(metadata: Zarr3Metadata, constraints: SchemaConstraints) -> None:
    """Check metadata against schema constraints.

    Raises:
        FailedPreconditionError: rank or dtype differ.
        ValueError: domain, codec, fill value, chunk layout or dimension units conflict.
    """
    rank = metadata.rank
    check_schema_rank_dtype_domain(
        constraints,
        rank,
        ts_name(metadata.data_type),
        metadata_domain(rank, metadata.shape, metadata.dimension_names),
    )
    wanted = _schema_codecs(constraints.codec)
    if wanted is not None and not _codecs_match(wanted, metadata):
        raise InvalidArgumentError(
            f"codec from metadata does not match codec in schema: {metadata.codecs.to_json()} "
            f"vs {wanted}"
        )
    if constraints.fill_value is not None:
        converted = convert_fill_value(constraints.fill_value, metadata.data_type)
        if not fill_values_identical(converted, metadata.fill_value):
            raise InvalidArgumentError(
                f"Invalid fill_value: schema requires fill value of {format_array(converted)}, "
                f"but metadata specifies fill value of {format_array(metadata.fill_value)}"
            )
    layout = constraints.chunk_layout
    if layout.rank is not None:
        for usage, actual in (("write", metadata.chunk_shape), ("read", metadata.read_chunk_shape)):
            grid = layout.grid(usage)  # type: ignore[arg-type]
            for i, (n, hard) in enumerate(zip(grid.shape, grid.shape_hard, strict=False)):
                if hard and n not in (0, -1, actual[i]):
                    raise InvalidArgumentError(
                        f"{usage}_chunk shape {list(actual)} does not match the schema's "
                        f"{list(grid.shape)} in dimension {i}"
                    )
        if layout.inner_order_hard and layout.inner_order != metadata.inner_order:
            raise InvalidArgumentError(
                f"inner_order {list(metadata.inner_order)} does not match the schema's "
                f"{list(layout.inner_order or ())}"
            )
    units = constraints.dimension_units
    # An array that stores no units takes any asked for without them (as TensorStore).
    if units is not None and metadata.dimension_units is not None:
        for i, (want, have) in enumerate(zip(units, metadata.dimension_units, strict=True)):
            # Compared as stored: the text keeps 6 significant digits of a multiplier.
            if want is not None and (have is None or str(want) != str(have)):
                raise InvalidArgumentError(
                    f"dimension_units from metadata ({have}) does not match dimension_units "
                    f"in schema ({want}) for dimension {i}"
                )


def _codecs_match(given: list[dict[str, Any]], metadata: Zarr3Metadata) -> bool:
    """Whether the schema's codecs (as given) describe the metadata's, or, for an unsharded
    constraint, the (implicitly added) sharding codec's inner codecs.

    What the constraint gives must match (see ``codec_constraint``); resolved
    for the array, it may also equal the chain outright. A constraint without
    array-to-array codecs leaves them open (a ``transpose`` from an
    ``inner_order``, say), as in TensorStore.
    """
    wanted = parse_codec_chain(given)
    stored = metadata.codecs
    if not wanted.array_to_array and stored.array_to_array:
        stored = CodecChain(array_to_bytes=stored.array_to_bytes, bytes_to_bytes=stored.bytes_to_bytes)
    data_type, fill_value = metadata.data_type, metadata.fill_value
    if given_codecs_match(given, wanted, stored, metadata.chunk_shape, data_type, fill_value):
        return True
    sharding = metadata.codecs.array_to_bytes
    if isinstance(wanted.array_to_bytes, ShardingCodec) or not isinstance(sharding, ShardingCodec):
        return False
    assert sharding.chunk_shape is not None  # stored metadata gives it
    return given_codecs_match(
        given, wanted, sharding.codecs, sharding.chunk_shape, data_type, fill_value
    )


def _codec_spec(chain: CodecChain) -> CodecSpec:
    return CodecSpec({"driver": "zarr3", "codecs": codecs_json_shown(chain.to_json())})


def metadata_schema(metadata: Zarr3Metadata) -> Schema:
    """The schema an existing array has (what ``TensorStore.schema`` shows)."""
    rank = metadata.rank
    layout = _layout(
        LayoutConstraints(), rank, metadata.chunk_shape, metadata.read_chunk_shape, metadata.inner_order
    )
    constraints = SchemaConstraints(
        rank=rank,
        dtype=ts_dtype(ts_name(metadata.data_type)),
        domain=metadata_domain(rank, metadata.shape, metadata.dimension_names),
        chunk_layout=layout,
        codec=_codec_spec(metadata.codecs),
        fill_value=metadata.fill_value,
    )
    units = metadata.dimension_units
    if units is not None:
        constraints = constraints.with_dimension_units(units)
    return Schema.from_constraints(constraints)


def spec_schema(
    members: Zarr3SpecMembers, domain: IndexDomain | None = None, known_rank: int | None = None
) -> Schema:
    """The schema constraints the spec's ``"metadata"`` member implies (for ``Spec.schema``).

    ``domain``, the spec schema's, stands in for a metadata ``shape`` not given
    (``[0, n*)``, as TensorStore shows it); ``known_rank``, the spec's own, for
    a rank the metadata does not fix (the chunk layout then has origin 0).
    """
    partial = members.metadata
    # The codec always (no codecs: just the driver), as given, as TensorStore reports it.
    given = partial.given_codecs
    constraints = SchemaConstraints(
        codec=CodecSpec({"driver": "zarr3", **({} if given is None else {"codecs": given})})
    )
    if partial.data_type is not None:
        constraints = constraints.with_dtype(ts_dtype(ts_name(partial.data_type)))
        if partial.fill_value is not None:
            fill: np.ndarray = partial.fill_value
            constraints = constraints.with_fill_value(fill)
    rank = partial.rank
    if rank is None and domain is not None:
        constraints = constraints.with_domain(
            metadata_domain(domain.rank, tuple(domain.shape), domain.labels)
        )
    if rank is None:
        rank = known_rank
    if rank is not None:
        constraints = constraints.with_rank(rank)
        if partial.shape is not None:
            constraints = constraints.with_domain(
                metadata_domain(rank, partial.shape, partial.dimension_names)
            )
        elif domain is not None and domain.rank == rank:
            labels = partial.dimension_names or domain.labels
            constraints = constraints.with_domain(metadata_domain(rank, tuple(domain.shape), labels))
        # Codecs given fix the read chunk (a sharding's inner chunk) and the inner order.
        codecs = partial.codecs
        read: tuple[int, ...] | None = None
        order: tuple[int, ...] | None = None
        if codecs is not None:
            with contextlib.suppress(InvalidArgumentError):  # a "C"/"F" transpose: not known yet
                read = chain_read_chunk_shape(codecs, partial.chunk_shape, rank)
                order = chain_inner_order(codecs, rank)
        constraints = constraints.with_chunk_layout(
            _layout(LayoutConstraints(), rank, partial.chunk_shape, read, order)
        )
    units = units_from_attributes(partial.attributes, rank)
    if units is not None:
        constraints = constraints.with_dimension_units(units)
    return Schema.from_constraints(constraints)
