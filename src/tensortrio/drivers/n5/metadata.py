"""N5 dataset metadata (``attributes.json``): the full stored form and the partial spec form.

:class:`N5Metadata` is what is stored: ``dimensions``, ``blockSize``,
``dataType`` and ``compression`` required; ``axes`` (dimension labels),
``units`` and ``resolution`` (dimension units) optional; every other
attribute kept and written back untouched.  :class:`N5PartialMetadata` is the
spec's ``"metadata"`` member: every member optional, other members are
attributes the stored ones must contain.  Dimensions are in TensorStore's
order (the block data is Fortran order, so the first dimension varies
fastest, as N5 defines it).  Messages are TensorStore's, e.g. ``Error parsing
object member "blockSize": Array has length 1 but should have length 2``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import attrs

from ...errors import FailedPreconditionError, InvalidArgumentError
from ...schema.chunk_grid import format_vector
from ...schema.chunk_json import json_text
from ...schema.dtype import dtype as ts_dtype
from ...schema.json_member import json_each, json_integer_in, json_rank_array, parse_member
from ..format_metadata import add_unknown_members, resized_shape, unknown_members
from .compression import N5Compression, parse_compression

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "N5_DATA_TYPES",
    "N5Metadata",
    "N5PartialMetadata",
    "check_metadata_constraints",
    "parse_n5_metadata",
    "parse_partial_metadata",
]

N5_DATA_TYPES: Final = (
    "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "float32", "float64",
)  # fmt: skip
_KNOWN: Final = (
    "dimensions",
    "blockSize",
    "dataType",
    "compression",
    "axes",
    "units",
    "resolution",
)
_MAX_INDEX: Final = 2**63 - 2
_MAX_BLOCK_BYTES: Final = 1 << 31


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise InvalidArgumentError(f"Expected string, but received: {json_text(value)}")


def _number(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise InvalidArgumentError(
        f"Expected 64-bit floating-point number, but received: {json_text(value)}"
    )


def _data_type(value: Any) -> str:
    name = _string(value)
    if name not in N5_DATA_TYPES:
        try:
            shown = ts_dtype(name).name
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"Unsupported data type: {json_text(name)}") from None
        raise InvalidArgumentError(
            f"{shown} data type is not one of the supported data types: {', '.join(N5_DATA_TYPES)}"
        )
    return name


def _labels(rank: int | None) -> Callable[[Any], tuple[str, ...]]:
    def parse(value: Any) -> tuple[str, ...]:
        labels: tuple[str, ...] = json_each(json_rank_array(value, rank), _string)
        seen: set[str] = set()
        for label in labels:
            if label and label in seen:
                raise InvalidArgumentError(f'Dimension label(s) "{label}" not unique')
            seen.add(label)
        return labels

    return parse


def check_block_size(block_size: Sequence[int], data_type: str) -> None:
    """N5 limits a block to 2 GiB (TensorStore applies it to the decoded size).

    Raises:
        ValueError: ``"blockSize" of {70000, 70000} with data type of uint16
            exceeds maximum chunk size of 2GB``.
    """
    count = 1
    for n in block_size:
        count *= n
    if count > _MAX_BLOCK_BYTES // ts_dtype(data_type).numpy_dtype.itemsize:
        raise InvalidArgumentError(
            f'"blockSize" of {format_vector(block_size)} with data type of {data_type} exceeds '
            "maximum chunk size of 2GB"
        )


@attrs.frozen
class N5Metadata:
    """The complete metadata of an n5 dataset, as stored in ``attributes.json``.

    ``axes`` has one label per dimension (``""``: unlabeled; written only when
    one is set); ``units``/``resolution`` are None when absent.
    """

    shape: tuple[int, ...]
    block_size: tuple[int, ...]
    data_type: str
    compression: N5Compression
    axes: tuple[str, ...]
    units: tuple[str, ...] | None = None
    resolution: tuple[float, ...] | None = None
    extra_attributes: tuple[tuple[str, str], ...] = ()

    @property
    def rank(self) -> int:
        return len(self.shape)

    def to_json(self) -> dict[str, Any]:
        """The ``attributes.json`` object (other attributes included, keys sorted)."""
        json: dict[str, Any] = {
            "blockSize": list(self.block_size),
            "compression": self.compression.to_json(),
            "dataType": self.data_type,
            "dimensions": list(self.shape),
        }
        if any(self.axes):
            json["axes"] = list(self.axes)
        if self.units is not None:
            json["units"] = list(self.units)
        if self.resolution is not None:
            json["resolution"] = list(self.resolution)
        add_unknown_members(json, self.extra_attributes)
        return dict(sorted(json.items()))

    def resize(self, new_shape: Sequence[int]) -> N5Metadata:
        """This metadata with ``dimensions`` replaced (same rank, non-negative sizes).

        Raises:
            ValueError: a different rank or an invalid size.
        """
        shape = resized_shape("n5", new_shape, self.rank, _MAX_INDEX)
        return attrs.evolve(self, shape=shape)


@attrs.frozen
class _Members:
    rank: int | None
    shape: tuple[int, ...] | None
    block_size: tuple[int, ...] | None
    data_type: str | None
    compression: N5Compression | None
    axes: tuple[str, ...] | None
    units: tuple[str, ...] | None
    resolution: tuple[float, ...] | None


def _parse_members(json: Any, required: bool) -> _Members:
    if not isinstance(json, dict):
        raise InvalidArgumentError(f"Expected object, but received: {json_text(json)}")
    # The first vector member present fixes the rank for the others, as TensorStore binds them.
    rank: int | None = None

    def vector(parse: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, ...]]:
        def parse_vector(value: Any) -> tuple[Any, ...]:
            nonlocal rank
            out: tuple[Any, ...] = json_each(json_rank_array(value, rank), parse)
            rank = len(out)
            return out

        return parse_vector

    def labels(value: Any) -> tuple[str, ...]:
        nonlocal rank
        out = _labels(rank)(value)
        rank = len(out)
        return out

    shape = parse_member(json, "dimensions", vector(json_integer_in(0, _MAX_INDEX)), "array" if required else None)
    block_size = parse_member(json, "blockSize", vector(json_integer_in(1, _MAX_INDEX)), "array" if required else None)
    data_type = parse_member(json, "dataType", _data_type, "string" if required else None)
    compression = parse_member(
        json, "compression", parse_compression, "object" if required else None
    )
    axes = parse_member(json, "axes", labels, None)
    units = parse_member(json, "units", vector(_string), None)
    resolution = parse_member(json, "resolution", vector(_number), None)
    return _Members(rank, shape, block_size, data_type, compression, axes, units, resolution)


def parse_n5_metadata(json: Any) -> N5Metadata:
    """Parse a complete ``attributes.json`` object.

    Raises:
        ValueError: not an object, a missing or invalid member (message names
            it), or blocks over 2 GiB.
    """
    m = _parse_members(json, required=True)
    assert m.shape is not None
    assert m.block_size is not None
    assert m.data_type is not None
    assert m.compression is not None
    check_block_size(m.block_size, m.data_type)
    return N5Metadata(
        shape=m.shape,
        block_size=m.block_size,
        data_type=m.data_type,
        compression=m.compression,
        axes=m.axes if m.axes is not None else ("",) * len(m.shape),
        units=m.units,
        resolution=m.resolution,
        extra_attributes=unknown_members(json, _KNOWN),
    )


@attrs.frozen
class N5PartialMetadata:
    """The spec's ``"metadata"`` member: constraints on some ``attributes.json`` members.

    ``extra_attributes`` are attributes a new dataset gets and an existing one
    must have with equal values.
    """

    shape: tuple[int, ...] | None = None
    block_size: tuple[int, ...] | None = None
    data_type: str | None = None
    compression: N5Compression | None = None
    axes: tuple[str, ...] | None = None
    units: tuple[str, ...] | None = None
    resolution: tuple[float, ...] | None = None
    extra_attributes: tuple[tuple[str, str], ...] = ()
    rank: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The normalised ``"metadata"`` JSON (given members only, keys sorted)."""
        json: dict[str, Any] = {}
        if self.shape is not None:
            json["dimensions"] = list(self.shape)
        if self.block_size is not None:
            json["blockSize"] = list(self.block_size)
        if self.data_type is not None:
            json["dataType"] = self.data_type
        if self.compression is not None:
            json["compression"] = self.compression.to_json()
        if self.axes is not None:
            json["axes"] = list(self.axes)
        if self.units is not None:
            json["units"] = list(self.units)
        if self.resolution is not None:
            json["resolution"] = list(self.resolution)
        add_unknown_members(json, self.extra_attributes)
        return dict(sorted(json.items()))


def parse_partial_metadata(json: Any) -> N5PartialMetadata:
    """Parse the spec's ``"metadata"`` member (all members optional, other attributes kept).

    Raises:
        ValueError: not an object, or an invalid member (message names it).
    """
    m = _parse_members(json, required=False)
    return N5PartialMetadata(
        shape=m.shape,
        block_size=m.block_size,
        data_type=m.data_type,
        compression=m.compression,
        axes=m.axes,
        units=m.units,
        resolution=m.resolution,
        extra_attributes=unknown_members(json, _KNOWN),
        rank=m.rank,
    )


def _mismatch(name: str, expected: Any, actual: Any) -> FailedPreconditionError:
    shown = "<discarded>" if actual is _ABSENT else json_text(actual)
    return FailedPreconditionError(
        f'Expected "{name}" of {json_text(expected)} but received: {shown}'
    )


_ABSENT: Final = object()


def check_metadata_constraints(metadata: N5Metadata, constraints: N5PartialMetadata) -> None:
    """Check stored ``metadata`` against the spec's ``"metadata"`` constraints.

    Raises:
        FailedPreconditionError: a member differs, e.g. ``Expected "blockSize"
            of [2,2] but received: [2,3]``; an attribute the spec names that is
            absent shows as ``<discarded>``, as in TensorStore.
    """
    wanted = constraints.to_json()
    stored = metadata.to_json()
    stored["axes"] = list(metadata.axes)
    for name in (
        "dimensions",
        "axes",
        "blockSize",
        "dataType",
        "compression",
        "units",
        "resolution",
    ):
        if name in wanted and wanted[name] != stored.get(name, _ABSENT):
            raise _mismatch(name, wanted[name], stored.get(name, _ABSENT))
    for key, _ in constraints.extra_attributes:
        if wanted[key] != stored.get(key, _ABSENT):
            raise _mismatch(key, wanted[key], stored.get(key, _ABSENT))
