"""``ts.Schema``: driver-independent constraints on a TensorStore.

A schema constrains the ``rank``, ``dtype``, ``domain``, ``chunk_layout``,
``codec``, ``fill_value`` and ``dimension_units``.  Constraints only ever
accumulate: setting one that is already set must agree with it (or, for the
domain, chunk layout, codec and units, merge with it), otherwise a
``ValueError`` names the argument and both values, e.g.
``Invalid dtype: Specified dtype (uint8) does not match existing value (int32)``.

:class:`SchemaConstraints` is the frozen value drivers consume;
:class:`Schema` is TensorStore's mutable Python object around it.
"""

from __future__ import annotations

import json as _json
import operator
from typing import TYPE_CHECKING, Any, Final

import attrs

from ..errors import InvalidArgumentError
from ..index.domain import MAX_RANK, IndexDomain, check_rank_in_range
from ..index.interval import INF, IndexInterval
from ..index.json import json_value
from ..index.shortcut import TransformIndexable
from .chunk_json import expect_object, json_ranged_int, json_text
from .chunk_layout import ChunkLayout, LayoutConstraints
from .codec_spec import CodecSpec
from .dtype import dtype as DType
from .fill_value import (
    check_fill_value_broadcast,
    fill_value_from_json,
    fill_value_from_python,
    fill_value_to_json,
    fill_values_equal,
    format_array,
    unbroadcast,
)
from .json_member import NOT_GIVEN, member_error
from .unit import (
    Unit,
    dimension_units_from_json,
    dimension_units_to_json,
    normalize_dimension_units,
)
from .value_handle import ValueHandle

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from ..index.transform import IndexTransform

__all__ = [
    "SCHEMA_KEYWORDS",
    "Schema",
    "SchemaConstraints",
    "apply_schema_keywords",
    "merge_domains",
]


SCHEMA_KEYWORDS: Final = (
    "rank",
    "dtype",
    "domain",
    "shape",
    "chunk_layout",
    "codec",
    "fill_value",
    "dimension_units",
    "schema",
)
"""The keyword arguments of ``Schema(...)``/``update``, in the order they are applied."""

_JSON_MEMBERS: Final = (
    "rank",
    "dtype",
    "domain",
    "chunk_layout",
    "codec",
    "fill_value",
    "dimension_units",
)


def _merge_bound(
    a: int, a_implicit: bool, b: int, b_implicit: bool, infinite: int
) -> tuple[int, bool] | None:
    """Merge one bound; ``None`` if they conflict.  An implicit infinite bound yields."""
    if a_implicit and a == infinite:
        return b, b_implicit
    if b_implicit and b == infinite:
        return a, a_implicit
    if a != b:
        return None
    return a, a_implicit and b_implicit


def merge_domains(a: IndexDomain, b: IndexDomain) -> IndexDomain:
    """Merge two domains as TensorStore's schema does.

    Bounds must match, except that an implicit infinite bound yields to the
    other; a non-empty label wins over an empty one.

    Raises:
        ValueError: ``Cannot merge index domain {a} with index domain {b}:
            Mismatch in dimension 0: Lower bounds do not match``.
    """

    def fail(detail: str) -> InvalidArgumentError:
        return InvalidArgumentError(f"Cannot merge index domain {a} with index domain {b}: {detail}")

    if a.rank != b.rank:
        raise fail(f"Rank mismatch: {a.rank} vs {b.rank}")
    dims: list[IndexInterval] = []
    for i, (x, y) in enumerate(zip(a.dims, b.dims, strict=True)):
        lower = _merge_bound(x.inclusive_min, x.implicit_lower, y.inclusive_min, y.implicit_lower, -INF)
        if lower is None:
            raise fail(f"Mismatch in dimension {i}: Lower bounds do not match")
        upper = _merge_bound(
            x.exclusive_max, x.implicit_upper, y.exclusive_max, y.implicit_upper, INF + 1
        )
        if upper is None:
            raise fail(f"Mismatch in dimension {i}: Upper bounds do not match")
        if x.label and y.label and x.label != y.label:
            raise fail(f"Mismatch in dimension {i}: Dimension labels do not match")
        dims.append(
            IndexInterval.make(lower[0], upper[0], lower[1], upper[1], x.label or y.label)
        )
    return IndexDomain.from_dims(dims)


def _units_text(units: tuple[Unit | None, ...]) -> str:
    return "[" + ", ".join("null" if u is None else json_text(str(u)) for u in units) + "]"


def _fill_value_for_rank(fill: np.ndarray[Any, Any], rank: int) -> np.ndarray[Any, Any] | None:
    """``fill`` without the leading unit dimensions it has beyond ``rank``; None if more remain."""
    while fill.ndim > rank and fill.shape[0] == 1:
        fill = fill.reshape(fill.shape[1:])
    return fill if fill.ndim <= rank else None


@attrs.frozen(eq=False)
class SchemaConstraints:
    """Frozen schema constraints; each ``with_*`` returns a new value or raises ``ValueError``.

    Messages carry no argument prefix; :class:`Schema` adds ``Invalid <arg>: `` and
    JSON parsing adds ``Error parsing object member "<member>": ``.
    """

    rank: int | None = None
    dtype: DType | None = None
    domain: IndexDomain | None = None
    chunk_layout: LayoutConstraints = attrs.field(factory=LayoutConstraints)
    codec: CodecSpec | None = None
    fill_value: np.ndarray[Any, Any] | None = None
    dimension_units: tuple[Unit | None, ...] | None = None

    def with_rank(self, rank: int, what: str = "rank") -> SchemaConstraints:
        """Constrain the rank; ``what`` names the source in the mismatch message."""
        check_rank_in_range(rank)
        if self.rank is None:
            if self.fill_value is None:
                return attrs.evolve(self, rank=rank)
            fitted = _fill_value_for_rank(self.fill_value, rank)
            if fitted is None:
                shape = ", ".join(map(str, self.fill_value.shape))
                raise InvalidArgumentError(
                    f"Rank specified by {what} ({rank}) is incompatible with existing "
                    f"fill_value of shape {{{shape}}}"
                )
            return attrs.evolve(self, rank=rank, fill_value=fitted)
        if self.rank != rank:
            raise InvalidArgumentError(
                f"Rank specified by {what} ({rank}) does not match existing rank specified "
                f"by schema ({self.rank})"
            )
        return self

    def with_dtype(self, dtype: DType) -> SchemaConstraints:
        if self.dtype is not None:
            if self.dtype is not dtype:
                raise InvalidArgumentError(
                    f"Specified dtype ({dtype.name}) does not match existing value "
                    f"({self.dtype.name})"
                )
            return self
        out = attrs.evolve(self, dtype=dtype)
        if self.fill_value is not None:
            # A fill value given before the dtype is converted now, so that drivers and
            # comparisons always see an array of the schema's dtype.
            try:
                converted = _convert_fill_value(self.fill_value, dtype)
            except (InvalidArgumentError, OverflowError, TypeError) as exc:
                raise InvalidArgumentError(
                    f"fill_value {format_array(self.fill_value)} is incompatible with "
                    f"dtype {dtype.name}: {exc}"
                ) from None
            out = attrs.evolve(out, fill_value=converted)
        return out

    def with_domain(self, domain: IndexDomain, what: str = "domain") -> SchemaConstraints:
        out = self.with_rank(domain.rank, what)
        merged = domain if out.domain is None else merge_domains(out.domain, domain)
        if out.fill_value is not None:
            check_fill_value_broadcast(out.fill_value, merged.shape)
        return attrs.evolve(out, domain=merged)

    def with_chunk_layout(self, layout: LayoutConstraints) -> SchemaConstraints:
        out = self
        if layout.rank is not None:
            out = out.with_rank(layout.rank, "chunk_layout")
        merged = out.chunk_layout.with_layout(layout)
        return attrs.evolve(out, chunk_layout=merged)

    def with_codec(self, codec: CodecSpec) -> SchemaConstraints:
        if self.codec is None:
            return attrs.evolve(self, codec=codec)
        if self.codec.driver != codec.driver:
            raise InvalidArgumentError(
                f"Cannot merge codec spec {json_text(self.codec.to_json())} with "
                f"{json_text(codec.to_json())}"
            )
        try:
            merged = self.codec.merge(codec)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(
                f"Cannot merge codec spec {json_text(self.codec.to_json())} with "
                f"{json_text(codec.to_json())}: {exc}"
            ) from None
        return attrs.evolve(self, codec=merged)

    def with_fill_value(self, fill_value: np.ndarray[Any, Any]) -> SchemaConstraints:
        if self.rank is not None:
            fitted = _fill_value_for_rank(fill_value, self.rank)
            if fitted is None:
                raise InvalidArgumentError(
                    f"Invalid fill_value for rank {self.rank}: {format_array(fill_value)}"
                )
            fill_value = fitted
        if self.domain is not None:
            check_fill_value_broadcast(fill_value, self.domain.shape)
        if self.fill_value is not None:
            if not fill_values_equal(self.fill_value, fill_value):
                raise InvalidArgumentError(
                    f"Specified fill_value ({format_array(fill_value)}) does not match "
                    f"existing value in schema ({format_array(self.fill_value)})"
                )
            return self
        return attrs.evolve(self, fill_value=fill_value)

    def with_dimension_units(self, units: tuple[Unit | None, ...]) -> SchemaConstraints:
        out = self.with_rank(len(units), "dimension_units")
        if out.dimension_units is None:
            return attrs.evolve(out, dimension_units=units)
        merged: list[Unit | None] = []
        for new, old in zip(units, out.dimension_units, strict=True):
            if new is not None and old is not None and new != old:
                raise InvalidArgumentError(
                    f"Cannot merge dimension units {_units_text(units)} and "
                    f"{_units_text(out.dimension_units)}"
                )
            merged.append(old if new is None else new)
        return attrs.evolve(out, dimension_units=tuple(merged))

    def with_schema(self, other: SchemaConstraints) -> SchemaConstraints:
        """Merge every constraint of ``other``."""
        out = self
        if other.rank is not None:
            out = out.with_rank(other.rank)
        if other.dtype is not None:
            out = out.with_dtype(other.dtype)
        if other.domain is not None:
            out = out.with_domain(other.domain)
        out = out.with_chunk_layout(other.chunk_layout)
        if other.codec is not None:
            out = out.with_codec(other.codec)
        if other.fill_value is not None:
            fill_value = other.fill_value
            if out.dtype is not None and fill_value.dtype != out.dtype.numpy_dtype:
                fill_value = _convert_fill_value(fill_value, out.dtype)
            out = out.with_fill_value(fill_value)
        if other.dimension_units is not None:
            out = out.with_dimension_units(other.dimension_units)
        return out

    def to_json(self) -> dict[str, Any]:
        """The ``Schema`` JSON (unset members omitted, keys sorted)."""
        json: dict[str, Any] = {}
        layout = {k: v for k, v in self.chunk_layout.to_json().items() if k != "rank"}
        if layout:
            json["chunk_layout"] = layout
        if self.codec is not None:
            json["codec"] = self.codec.to_json()
        if self.dimension_units is not None:
            units = dimension_units_to_json(self.dimension_units)
            if units is not None:
                json["dimension_units"] = units
        if self.domain is not None:
            json["domain"] = self.domain.to_json()
        if self.dtype is not None:
            json["dtype"] = self.dtype.name
        if self.fill_value is not None:
            json["fill_value"] = fill_value_to_json(self.fill_value, self.dtype)
        if self.rank is not None:
            json["rank"] = self.rank
        return json

    @classmethod
    def from_json(cls, json: Any) -> SchemaConstraints:
        """Parse ``Schema`` JSON; ``ValueError`` names the offending member."""
        members = expect_object(json_value(json), _JSON_MEMBERS)
        out = cls()
        for key in _JSON_MEMBERS:
            if key not in members:
                continue
            try:
                out = _JSON_PARSERS[key](out, members[key])
            except InvalidArgumentError as exc:
                raise member_error(key, exc) from None
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SchemaConstraints):
            return NotImplemented
        return _json_key(self.to_json()) == _json_key(other.to_json())

    def __hash__(self) -> int:
        return hash(_json_key(self.to_json()))


def _json_key(json: Any) -> str:
    return _json.dumps(json, sort_keys=True, default=repr)


def _convert_fill_value(array: np.ndarray[Any, Any], dtype: DType) -> np.ndarray[Any, Any]:
    if array.dtype.kind == "O" and dtype.numpy_dtype.kind != "O":
        # An object array holds JSON parsed before the dtype was known.
        return fill_value_from_json(array.tolist(), dtype)
    if array.dtype.kind == "O":
        return array
    # Converted as the Python value it was given as (``5`` then dtype uint8 is fine).
    return fill_value_from_python(array.tolist(), dtype)


def _json_rank(out: SchemaConstraints, json: Any) -> SchemaConstraints:
    return out.with_rank(json_ranged_int(json, 0, MAX_RANK))


def _json_dtype(out: SchemaConstraints, json: Any) -> SchemaConstraints:
    if not isinstance(json, str):
        raise InvalidArgumentError(f"Expected string, but received: {json_text(json)}")
    try:
        dtype = DType(json)
    except InvalidArgumentError:
        raise InvalidArgumentError(f"Unsupported data type: {json_text(json)}") from None
    return out.with_dtype(dtype)


def _json_domain(out: SchemaConstraints, json: Any) -> SchemaConstraints:
    return out.with_domain(IndexDomain(json=json))


def _json_chunk_layout(out: SchemaConstraints, json: Any) -> SchemaConstraints:
    return out.with_chunk_layout(LayoutConstraints.from_json(json))


def _json_codec(out: SchemaConstraints, json: Any) -> SchemaConstraints:
    return out.with_codec(CodecSpec(json))


def _json_fill_value(out: SchemaConstraints, json: Any) -> SchemaConstraints:
    return out.with_fill_value(fill_value_from_json(json, out.dtype))


def _json_units(out: SchemaConstraints, json: Any) -> SchemaConstraints:
    if json == []:
        return out  # (as TensorStore reads it: no units, not a rank of 0)
    return out.with_dimension_units(dimension_units_from_json(json))


_JSON_PARSERS: Final[dict[str, Callable[[SchemaConstraints, Any], SchemaConstraints]]] = {
    "rank": _json_rank,
    "dtype": _json_dtype,
    "domain": _json_domain,
    "chunk_layout": _json_chunk_layout,
    "codec": _json_codec,
    "fill_value": _json_fill_value,
    "dimension_units": _json_units,
}


def _kw_rank(out: SchemaConstraints, value: Any) -> SchemaConstraints:
    rank = operator.index(value)
    if rank == -1:  # TensorStore's "dynamic rank": no constraint.
        return out
    return out.with_rank(rank)


def _kw_dtype(out: SchemaConstraints, value: Any) -> SchemaConstraints:
    return out.with_dtype(DType(value))


def _kw_domain(out: SchemaConstraints, value: Any) -> SchemaConstraints:
    if not isinstance(value, IndexDomain):
        raise TypeError(f"domain must be an IndexDomain, got {value!r}")
    return out.with_domain(value)


def _kw_shape(out: SchemaConstraints, value: Any) -> SchemaConstraints:
    try:
        if isinstance(value, str | bytes):
            raise TypeError
        shape = [operator.index(v) for v in value]
    except TypeError:
        raise TypeError(f"shape must be a sequence of integers, got {value!r}") from None
    return out.with_domain(IndexDomain(shape=shape), "shape")


def _kw_chunk_layout(out: SchemaConstraints, value: Any) -> SchemaConstraints:
    if not isinstance(value, ChunkLayout):
        raise TypeError(f"chunk_layout must be a ChunkLayout, got {value!r}")
    return out.with_chunk_layout(value.constraints)


def _kw_codec(out: SchemaConstraints, value: Any) -> SchemaConstraints:
    if not isinstance(value, CodecSpec):
        raise TypeError(f"codec must be a CodecSpec, got {value!r}")
    return out.with_codec(value)


def _kw_fill_value(out: SchemaConstraints, value: Any) -> SchemaConstraints:
    return out.with_fill_value(unbroadcast(fill_value_from_python(value, out.dtype)))


def _kw_units(out: SchemaConstraints, value: Any) -> SchemaConstraints:
    if isinstance(value, list | tuple) and not value:
        return out  # (as TensorStore's keyword: an empty vector is not given)
    try:
        units = normalize_dimension_units(value)
    except TypeError:
        raise TypeError("Invalid dimension_units") from None
    return out.with_dimension_units(units)


def _kw_schema(out: SchemaConstraints, value: Any) -> SchemaConstraints:
    if not isinstance(value, Schema):
        raise TypeError(f"schema must be a Schema, got {value!r}")
    return out.with_schema(value.constraints)


_KW_SETTERS: Final[dict[str, Callable[[SchemaConstraints, Any], SchemaConstraints]]] = {
    "rank": _kw_rank,
    "dtype": _kw_dtype,
    "domain": _kw_domain,
    "shape": _kw_shape,
    "chunk_layout": _kw_chunk_layout,
    "codec": _kw_codec,
    "fill_value": _kw_fill_value,
    "dimension_units": _kw_units,
    "schema": _kw_schema,
}


def apply_schema_keywords(out: SchemaConstraints, kwargs: dict[str, Any]) -> SchemaConstraints:
    """Apply ``Schema(...)`` keyword arguments (``None`` means "not given") in TensorStore's order.

    Raises:
        TypeError: an unknown keyword or a value of the wrong type.
        ValueError: ``Invalid <keyword>: <reason>``.
    """
    unknown = [k for k in kwargs if k not in _KW_SETTERS]
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r}")
    for key in SCHEMA_KEYWORDS:
        value = kwargs.get(key)
        if value is None:
            continue
        try:
            out = _KW_SETTERS[key](out, value)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Invalid {key}: {exc}") from None
    return out


class Schema(ValueHandle[SchemaConstraints], TransformIndexable):
    """Driver-independent options for defining a TensorStore (``ts.Schema``).

    ``Schema(json)`` parses the ``Schema`` JSON; ``Schema(*, rank=None, dtype=None,
    domain=None, shape=None, chunk_layout=None, codec=None, fill_value=None,
    dimension_units=None, schema=None)`` and :meth:`update` add constraints.

    Raises:
        ValueError: a malformed member or a conflicting constraint, naming it.
        TypeError: an argument of the wrong type.
    """

    __slots__ = ()
    _REPR_NAME = "Schema"

    def __init__(self, json: Any = NOT_GIVEN, **kwargs: Any) -> None:
        if json is not NOT_GIVEN:
            if kwargs:
                raise TypeError("Schema(json) takes no keyword arguments")
            self._value = SchemaConstraints.from_json(json)
        else:
            self._value = apply_schema_keywords(SchemaConstraints(), kwargs)

    @classmethod
    def from_constraints(cls, value: SchemaConstraints) -> Schema:
        """Wrap a frozen :class:`SchemaConstraints`."""
        return cls._wrap(value)

    @property
    def constraints(self) -> SchemaConstraints:
        """The frozen constraints value."""
        return self._value

    def update(self, **kwargs: Any) -> None:
        """Add constraints (same keyword arguments as the constructor).

        A failing update leaves the schema unchanged.
        """
        self._value = apply_schema_keywords(self._value, kwargs)

    def copy(self) -> Schema:
        """A copy (updates to it do not affect this schema)."""
        return Schema.from_constraints(self._value)

    @property
    def rank(self) -> int | None:
        """Rank, or ``None`` if unspecified."""
        return self._value.rank

    @property
    def ndim(self) -> int | None:
        """Alias for :py:obj:`rank`."""
        return self._value.rank

    @property
    def dtype(self) -> DType | None:
        """Data type, or ``None`` if unspecified."""
        return self._value.dtype

    @property
    def domain(self) -> IndexDomain | None:
        """Domain, or ``None`` if unspecified."""
        return self._value.domain

    @property
    def shape(self) -> tuple[int, ...] | None:
        """Shape of the domain, or ``None`` if the domain is unspecified."""
        domain = self._value.domain
        return None if domain is None else domain.shape

    @property
    def origin(self) -> tuple[int, ...] | None:
        """Inclusive lower bounds of the domain, or ``None``."""
        domain = self._value.domain
        return None if domain is None else domain.origin

    @property
    def size(self) -> int | None:
        """Number of elements in the domain, or ``None``."""
        domain = self._value.domain
        return None if domain is None else domain.size

    @property
    def chunk_layout(self) -> ChunkLayout:
        """Chunk layout constraints (empty if none)."""
        return ChunkLayout.from_constraints(self._value.chunk_layout)

    @property
    def codec(self) -> CodecSpec | None:
        """Codec constraints, or ``None``."""
        return self._value.codec

    @property
    def fill_value(self) -> np.ndarray[Any, Any] | None:
        """Fill value (a copy), or ``None`` if unspecified."""
        value = self._value.fill_value
        return None if value is None else value.copy()

    @property
    def dimension_units(self) -> tuple[Unit | None, ...] | None:
        """Physical unit of each dimension (``None`` entries: unknown), or ``None`` if the rank is."""
        units = self._value.dimension_units
        if units is not None:
            return units
        rank = self._value.rank
        return None if rank is None else (None,) * rank

    def to_json(self, include_defaults: bool = False) -> dict[str, Any]:
        """The ``Schema`` JSON representation.

        Raises:
            ValueError: the fill value is ``char`` or ``byte`` data, which has no
                JSON form (tensorstore's message).
        """
        json = self._value.to_json()
        dtype = self._value.dtype
        if "fill_value" in json and dtype is not None and dtype.name in ("char", "byte"):
            raise InvalidArgumentError(
                'Error converting object member "fill_value": Conversion from '
                f"{dtype.name} to JSON is not implemented"
            )
        return json

    def _indexable(self) -> IndexTransform:
        """Indexing applies to the domain (unbounded dimensions without one)."""
        from .schema_transform import indexing_transform

        return indexing_transform(self._value.domain, self._value.rank, "Schema")

    def _with_transform(self, transform: IndexTransform) -> Schema:
        """The schema of ``transform``'s input space (see ``schema_transform``)."""
        from .schema_transform import transform_schema

        return transform_schema(self, transform)

    def __reduce__(self) -> tuple[Callable[..., Schema], tuple[Any, ...]]:
        # The frozen value (not JSON) so a fill value keeps its exact dtype.
        return (Schema.from_constraints, (self._value,))
