"""Zarr v2 array metadata (``.zarray``): the full stored form and the partial spec form.

:class:`ZarrMetadata` is what is stored: every member required, unknown
members kept (and written back) as TensorStore does.  :class:`ZarrPartialMetadata`
is the spec's ``"metadata"`` member: every member optional, unknown members an
error, ``fill_value`` only together with ``dtype``.  Messages are TensorStore's,
e.g. ``Error parsing object member "chunks": Array has length 1 but should have
length 2``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from ...errors import InvalidArgumentError
from ...schema.chunk_json import expect_object, json_text
from ...schema.fill_value import fill_values_identical
from ...schema.json_member import (
    json_each,
    json_integer_in,
    json_rank_array,
    member_error,
    parse_member,
)
from ..format_metadata import add_unknown_members, metadata_mismatch, resized_shape, unknown_members
from .compressor import ZarrCodecConfig, parse_compressor, parse_filters
from .dtype import ZarrDType, parse_zarr_dtype, with_object_codec
from .fill_value import decode_fill_value, encode_fill_value

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

__all__ = [
    "ZarrMetadata",
    "ZarrPartialMetadata",
    "parse_partial_metadata",
    "parse_zarr_metadata",
]

Order = Literal["C", "F"]
Separator = Literal[".", "/"]
_MAX_INDEX: Final = 2**63 - 2
_MAX_INT64: Final = 2**63 - 1
_KNOWN: Final = (
    "zarr_format",
    "shape",
    "chunks",
    "dtype",
    "compressor",
    "fill_value",
    "order",
    "filters",
    "dimension_separator",
)


def _missing(expected: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"Expected {expected}, but member is missing")


def _vector(value: Any, low: int, rank: int | None) -> tuple[int, ...]:
    return json_each(json_rank_array(value, rank), json_integer_in(low, _MAX_INDEX))


def _zarr_format(value: Any) -> int:
    if value == 2 and not isinstance(value, bool):
        return 2
    raise InvalidArgumentError(f"Expected integer in the range [2, 2], but received: {json_text(value)}")


def _order(value: Any) -> Order:
    if value == "C" or value == "F":
        return "C" if value == "C" else "F"
    raise InvalidArgumentError(f'Expected one of "C", "F", but received: {json_text(value)}')


def _separator(value: Any) -> Separator:
    if value == "." or value == "/":
        return "." if value == "." else "/"
    raise InvalidArgumentError(f'Expected one of ".", "/", but received: {json_text(value)}')


@attrs.frozen
class ZarrMetadata:
    """The complete metadata of a zarr v2 array, as stored in ``.zarray``.

    ``dimension_separator`` is ``None`` when the stored metadata omits it
    (meaning ``"."``); ``fill_value`` is a 0-d native array or ``None``
    (``null``: unwritten elements read as zeros).
    """

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: ZarrDType
    compressor: ZarrCodecConfig | None
    fill_value: np.ndarray | None = attrs.field(eq=attrs.cmp_using(eq=fill_values_identical), hash=False)
    order: Order = "C"
    filters: tuple[ZarrCodecConfig, ...] | None = None
    dimension_separator: Separator | None = None
    extra_members: tuple[tuple[str, str], ...] = ()

    def __attrs_post_init__(self) -> None:
        # As TensorStore: a chunk must be countable, elements and bytes, in 64 bits.
        elements = math.prod(self.chunks)
        if elements > _MAX_INT64:
            raise InvalidArgumentError(
                f"Product of chunk dimensions {{{', '.join(map(str, self.chunks))}}} is too large"
            )
        if elements * self.dtype.element_nbytes > _MAX_INT64:
            raise InvalidArgumentError("Total number of bytes per chunk is too large")

    @property
    def rank(self) -> int:
        """The rank of the stored array of elements (``shape``), without ``dtype.field_shape``."""
        return len(self.shape)

    @property
    def chunk_shape(self) -> tuple[int, ...]:
        """The shape of one decoded chunk: ``chunks`` and then the data type's inner dimensions."""
        return self.chunks + self.dtype.field_shape

    @property
    def key_separator(self) -> Separator:
        """The separator used in chunk keys (``"."`` when unspecified)."""
        return self.dimension_separator or "."

    def to_json(self) -> dict[str, Any]:
        """The ``.zarray`` JSON object (unknown members included, keys sorted)."""
        json: dict[str, Any] = {
            "chunks": list(self.chunks),
            "compressor": None if self.compressor is None else self.compressor.to_json(),
            "dtype": self.dtype.to_json(),
            "fill_value": encode_fill_value(self.fill_value, self.dtype),
            "filters": None if self.filters is None else [f.to_json() for f in self.filters],
            "order": self.order,
            "shape": list(self.shape),
            "zarr_format": 2,
        }
        if self.dimension_separator is not None:
            json["dimension_separator"] = self.dimension_separator
        add_unknown_members(json, self.extra_members)
        return dict(sorted(json.items()))

    def resize(self, new_shape: Sequence[int]) -> ZarrMetadata:
        """This metadata with ``shape`` replaced (same rank, non-negative sizes).

        Raises:
            ValueError: a different rank or a negative size.
        """
        shape = resized_shape("zarr", new_shape, self.rank, _MAX_INDEX)
        return attrs.evolve(self, shape=shape)


def parse_zarr_metadata(json: Any) -> ZarrMetadata:
    """Parse complete ``.zarray`` JSON.

    Raises:
        ValueError: not an object, a missing or invalid member (message names it).
    """
    if not isinstance(json, dict):
        raise InvalidArgumentError(f"Expected object, but received: {json_text(json)}")
    parse_member(json, "zarr_format", _zarr_format, "integer in the range [2, 2]")
    shape = parse_member(json, "shape", lambda v: _vector(v, 0, None), "array")
    chunks = parse_member(json, "chunks", lambda v: _vector(v, 1, len(shape)), "array")
    dtype: ZarrDType = parse_member(json, "dtype", parse_zarr_dtype, "array")
    if "compressor" not in json:
        raise member_error("compressor", _missing("object"))
    compressor = parse_member(json, "compressor", parse_compressor, None)
    if dtype.kind == "O":
        # The object codec (the first filter) says what the elements are; the fill value needs it.
        dtype = _resolve_object_dtype(dtype, parse_member(json, "filters", parse_filters, None))
    if "fill_value" not in json:
        raise member_error("fill_value", InvalidArgumentError("member is missing"))
    fill_value = parse_member(json, "fill_value", lambda v: decode_fill_value(v, dtype), None)
    order = parse_member(json, "order", _order, 'one of "C", "F"')
    if "filters" not in json:
        raise member_error("filters", _missing("null or array"))
    filters = parse_member(json, "filters", parse_filters, None)
    if dtype.kind != "O":
        _resolve_object_dtype(dtype, filters)  # no object codec for other types
    separator = parse_member(json, "dimension_separator", _separator, None)
    return ZarrMetadata(
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        compressor=compressor,
        fill_value=fill_value,
        order=order,
        filters=filters,
        dimension_separator=separator,
        extra_members=unknown_members(json, _KNOWN),
    )



@attrs.frozen
class ZarrPartialMetadata:
    """The spec's ``"metadata"`` member: constraints on some ``.zarray`` members.

    A member that was not given is ``None`` — except ``compressor``,
    ``fill_value`` and ``filters``, where ``null`` is a value, so "not given" is
    tracked by the ``*_given`` flags.
    """

    shape: tuple[int, ...] | None = None
    chunks: tuple[int, ...] | None = None
    dtype: ZarrDType | None = None
    compressor: ZarrCodecConfig | None = None
    compressor_given: bool = False
    fill_value: np.ndarray | None = attrs.field(
        default=None, eq=attrs.cmp_using(eq=fill_values_identical), hash=False
    )
    fill_value_given: bool = False
    order: Order | None = None
    filters: tuple[ZarrCodecConfig, ...] | None = None
    filters_given: bool = False
    dimension_separator: Separator | None = None
    zarr_format: int | None = None

    @property
    def rank(self) -> int | None:
        """The chunked rank, if ``shape`` or ``chunks`` is given."""
        if self.shape is not None:
            return len(self.shape)
        return None if self.chunks is None else len(self.chunks)

    def to_json(self) -> dict[str, Any]:
        """The normalised ``"metadata"`` JSON (given members only, keys sorted)."""
        json: dict[str, Any] = {}
        if self.chunks is not None:
            json["chunks"] = list(self.chunks)
        if self.compressor_given:
            json["compressor"] = None if self.compressor is None else self.compressor.to_json()
        if self.dimension_separator is not None:
            json["dimension_separator"] = self.dimension_separator
        if self.dtype is not None:
            json["dtype"] = self.dtype.to_json()
            if self.fill_value_given:
                json["fill_value"] = encode_fill_value(self.fill_value, self.dtype)
        if self.filters_given:
            json["filters"] = None if self.filters is None else [f.to_json() for f in self.filters]
        if self.order is not None:
            json["order"] = self.order
        if self.shape is not None:
            json["shape"] = list(self.shape)
        if self.zarr_format is not None:
            json["zarr_format"] = self.zarr_format
        return json


def parse_partial_metadata(json: Any) -> ZarrPartialMetadata:
    """Parse the spec's ``"metadata"`` member (all members optional, no unknown ones).

    Raises:
        ValueError: not an object, an unknown or invalid member, or
            ``fill_value`` without ``dtype``.
    """
    json = expect_object(json, _KNOWN)
    zarr_format = parse_member(json, "zarr_format", _zarr_format, None)
    shape = parse_member(json, "shape", lambda v: _vector(v, 0, None), None)
    rank = None if shape is None else len(shape)
    chunks = parse_member(json, "chunks", lambda v: _vector(v, 1, rank), None)
    dtype: ZarrDType | None = parse_member(json, "dtype", parse_zarr_dtype, None)
    compressor = parse_member(json, "compressor", parse_compressor, None)
    if dtype is not None and dtype.kind == "O" and "filters" in json:
        dtype = _resolve_object_dtype(dtype, parse_member(json, "filters", parse_filters, None))
    fill_value = None
    if "fill_value" in json:
        if dtype is None:
            raise member_error(
                "fill_value", InvalidArgumentError('must be specified in conjunction with "dtype"')
            )
        fill_value = parse_member(json, "fill_value", lambda v: decode_fill_value(v, dtype), None)
    return ZarrPartialMetadata(
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        compressor=compressor,
        compressor_given="compressor" in json,
        fill_value=fill_value,
        fill_value_given="fill_value" in json,
        order=parse_member(json, "order", _order, None),
        filters=parse_member(json, "filters", parse_filters, None),
        filters_given="filters" in json,
        dimension_separator=parse_member(json, "dimension_separator", _separator, None),
        zarr_format=zarr_format,
    )


def _resolve_object_dtype(
    dtype: ZarrDType, filters: tuple[ZarrCodecConfig, ...] | None
) -> ZarrDType:
    try:
        return with_object_codec(dtype, None if filters is None else tuple(f.id for f in filters))
    except InvalidArgumentError as exc:
        raise member_error("filters", exc) from None


def check_metadata_constraints(metadata: ZarrMetadata, constraints: ZarrPartialMetadata) -> None:
    """Check stored ``metadata`` against the spec's ``"metadata"`` constraints.

    Raises:
        FailedPreconditionError: a member differs, e.g. ``Expected "chunks" of
            [5,6] but received: [5,5]``.
    """
    stored = metadata.to_json()
    wanted = constraints.to_json()
    for name in ("shape", "chunks", "compressor", "order", "dtype", "fill_value", "filters"):
        if name in wanted and wanted[name] != stored[name]:
            raise metadata_mismatch(name, wanted[name], stored[name])
    separator = constraints.dimension_separator
    if (
        separator is not None
        and metadata.dimension_separator is not None
        and separator != metadata.dimension_separator
    ):
        raise metadata_mismatch("dimension_separator", separator, metadata.dimension_separator)
