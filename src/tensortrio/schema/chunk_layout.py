"""``ts.ChunkLayout``: hard and soft constraints on a TensorStore's storage layout.

A layout constrains the ``inner_order`` of elements within a chunk, the
``grid_origin`` of the chunk grids, and three grids (``write_chunk``,
``read_chunk``, ``codec_chunk``), each a :class:`~.chunk_grid.Grid`.
The combined ``chunk`` form (JSON member or ``chunk_*`` keyword arguments)
applies ``shape`` and ``elements`` to write and read chunks, and
``aspect_ratio`` to all three.  Merging rules are those of ``Grid``.

:class:`LayoutConstraints` is the frozen value; :class:`ChunkLayout` is
TensorStore's mutable Python object around it.  Constructor keyword arguments,
JSON members, error messages and ``repr`` follow TensorStore, except where
TensorStore contradicts its own documentation (``codec_chunk_shape`` and
``codec_chunk_aspect_ratio`` constrain the codec chunk here, not the read
chunk; ``grid_soft_constraint`` merges as soft constraints; layouts of
different rank compare unequal).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal

import attrs

from ..errors import InvalidArgumentError
from ..index.domain import check_rank_in_range
from ..index.json import json_value
from .chunk_grid import (
    INF_INDEX,
    INT64_MIN,
    MAX_FINITE_INDEX,
    MAX_RANK,
    GridConstraints,
    empty_vector,
    expect_grid,
    float_vector,
    format_vector,
    grid_from_json,
    int_vector,
    merge_vector,
    rank_mismatch,
    to_int,
)
from .chunk_grid import Grid as _Grid
from .chunk_json import expect_object, json_int_vector, json_ranged_int, json_ranged_int_vector
from .json_member import member_error
from .value_handle import ValueHandle

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..index.domain import IndexDomain

__all__ = ["USAGES", "ChunkLayout", "LayoutConstraints", "Usage", "merge_layouts"]

Usage = Literal["write", "read", "codec"]
USAGES: Final[tuple[Usage, ...]] = ("write", "read", "codec")
_ALL: Final = "chunk"
"""The combined usage: shape/elements go to write+read, aspect_ratio to all three."""

GridMember = Literal["shape", "aspect_ratio", "elements"]


def _usages_for(usage: Usage | Literal["chunk"], member: GridMember) -> tuple[Usage, ...]:
    if usage != _ALL:
        return (usage,)
    return USAGES if member == "aspect_ratio" else ("write", "read")


def _valid_origin(value: int | None) -> bool:
    return value is None or -MAX_FINITE_INDEX <= value <= MAX_FINITE_INDEX


@attrs.frozen
class LayoutConstraints:
    """Frozen chunk layout constraints (``rank=None``: rank unspecified).

    ``grid_origin`` uses ``None`` for "no constraint"; ``*_hard`` flags mark
    hard constraints.  Each grid has the layout's rank once it is known.
    """

    rank: int | None = None
    inner_order: tuple[int, ...] | None = None
    inner_order_hard: bool = False
    grid_origin: tuple[int | None, ...] = ()
    grid_origin_hard: tuple[bool, ...] = ()
    write: GridConstraints = attrs.field(factory=GridConstraints)
    read: GridConstraints = attrs.field(factory=GridConstraints)
    codec: GridConstraints = attrs.field(factory=GridConstraints)

    def grid(self, usage: Usage) -> GridConstraints:
        """Constraints of the ``usage`` ("write", "read" or "codec") grid."""
        return {"write": self.write, "read": self.read, "codec": self.codec}[usage]

    def with_rank(self, rank: int | None) -> LayoutConstraints:
        """Fix the rank; ``ValueError`` if it differs from an existing one."""
        if rank is None or rank == self.rank:
            return self
        check_rank_in_range(rank)
        if self.rank is not None:
            raise rank_mismatch(rank, self.rank)
        return attrs.evolve(
            self,
            rank=rank,
            grid_origin=(None,) * rank,
            grid_origin_hard=(False,) * rank,
            write=self.write.with_rank(rank),
            read=self.read.with_rank(rank),
            codec=self.codec.with_rank(rank),
        )

    def with_inner_order(self, order: tuple[int, ...], hard: bool) -> LayoutConstraints:
        if sorted(order) != list(range(len(order))):
            raise InvalidArgumentError(f"Invalid permutation: {format_vector(order)}")
        out = self.with_rank(len(order))
        if out.inner_order is not None:
            if not hard:
                return out
            if out.inner_order_hard:
                if out.inner_order != order:
                    raise InvalidArgumentError(
                        f"New hard constraint ({format_vector(order)}) does not match "
                        f"existing hard constraint ({format_vector(out.inner_order)})"
                    )
                return out
        if len(order) == 0:
            return out
        return attrs.evolve(out, inner_order=order, inner_order_hard=hard)

    def with_grid_origin(
        self, origin: tuple[int | None, ...], hard: tuple[bool, ...]
    ) -> LayoutConstraints:
        out = self.with_rank(len(origin))
        values, flags = merge_vector(
            out.grid_origin, out.grid_origin_hard, origin, hard, None, valid=_valid_origin
        )
        return attrs.evolve(out, grid_origin=values, grid_origin_hard=flags)

    def _with_usage_grid(self, usage: Usage, grid: GridConstraints) -> LayoutConstraints:
        if usage == "write":
            return attrs.evolve(self, write=grid)
        if usage == "read":
            return attrs.evolve(self, read=grid)
        return attrs.evolve(self, codec=grid)

    def with_grid_member(
        self,
        usage: Usage | Literal["chunk"],
        member: GridMember,
        value: Any,
        hard: tuple[bool, ...] | bool,
    ) -> LayoutConstraints:
        """Merge one grid member (shape, aspect_ratio or elements) into ``usage``."""
        out = self
        if member != "elements":
            out = out.with_rank(len(value))
        for target in _usages_for(usage, member):
            grid = out.grid(target)
            if member == "shape":
                grid = grid.with_shape(value, hard)  # type: ignore[arg-type]
            elif member == "aspect_ratio":
                grid = grid.with_aspect_ratio(value, hard)  # type: ignore[arg-type]
            else:
                grid = grid.with_elements(value, bool(hard))
            out = out._with_usage_grid(target, grid)
        return out

    def with_grid(
        self, usage: Usage | Literal["chunk"], other: GridConstraints, *, as_soft: bool = False
    ) -> LayoutConstraints:
        """Merge a whole grid into ``usage``, with TensorStore's "Error setting" messages."""
        out = self
        for target in USAGES if usage == _ALL else (usage,):
            members: tuple[GridMember, ...] = (
                ("aspect_ratio",)
                if usage == _ALL and target == "codec"
                else ("shape", "aspect_ratio", "elements")
            )
            for member in members:
                if member == "elements":
                    value: Any = other.elements
                    hard: Any = other.elements_hard and not as_soft
                    if value is None:
                        continue
                elif other.rank is None:
                    continue
                elif member == "shape":
                    value = other.shape
                    hard = tuple(h and not as_soft for h in other.shape_hard)
                else:
                    value = other.aspect_ratio
                    hard = tuple(h and not as_soft for h in other.aspect_ratio_hard)
                try:
                    out = out.with_grid_member(target, member, value, hard)
                except InvalidArgumentError as exc:
                    raise InvalidArgumentError(
                        f"Error setting {target}_chunk {member}: {exc}"
                    ) from None
        return out

    def with_layout(self, other: LayoutConstraints, *, as_soft: bool = False) -> LayoutConstraints:
        """Merge all of ``other`` (as soft constraints only, if ``as_soft``)."""
        out = self.with_rank(other.rank)
        if other.inner_order is not None:
            try:
                out = out.with_inner_order(
                    other.inner_order, other.inner_order_hard and not as_soft
                )
            except InvalidArgumentError as exc:
                raise InvalidArgumentError(f"Error setting inner_order: {exc}") from None
        if other.rank is not None:
            try:
                out = out.with_grid_origin(
                    other.grid_origin, tuple(h and not as_soft for h in other.grid_origin_hard)
                )
            except InvalidArgumentError as exc:
                raise InvalidArgumentError(f"Error setting grid_origin: {exc}") from None
        for usage in USAGES:
            out = out.with_grid(usage, other.grid(usage), as_soft=as_soft)
        return out

    def rank_dependent_unset(self) -> bool:
        return (
            self.inner_order is None
            and all(v is None for v in self.grid_origin)
            and all(
                all(v == 0 for v in g.shape) and all(v == 0.0 for v in g.aspect_ratio)
                for g in (self.write, self.read, self.codec)
            )
        )

    def finalized(self) -> LayoutConstraints:
        """TensorStore's ``Finalize``: a *precise* layout (see ``ChunkLayout(finalize=True)``)."""
        rank = self.rank
        if rank is None:
            raise InvalidArgumentError("rank must be specified")
        for dim in range(rank):
            if not self.grid_origin_hard[dim]:
                raise InvalidArgumentError(f"No grid_origin hard constraint for dimension {dim}")
        origin = tuple(o for o in self.grid_origin if o is not None)
        grids: dict[Usage, GridConstraints] = {}
        for usage in USAGES:
            grid = self.grid(usage)
            shape = list(grid.shape)
            hard = list(grid.shape_hard)
            for dim in range(rank):
                if not hard[dim]:
                    shape[dim] = 0
                if origin[dim] + shape[dim] > MAX_FINITE_INDEX:
                    raise InvalidArgumentError(
                        f"Invalid {usage} chunk grid: Invalid origin/shape: "
                        f"origin={format_vector(origin)}, shape={format_vector(shape)}"
                    )
                if shape[dim] == 0 and usage == "read":
                    shape[dim] = grids["write"].shape[dim]
                    hard[dim] = grids["write"].shape_hard[dim]
            grids[usage] = GridConstraints(
                rank=rank,
                shape=tuple(shape),
                shape_hard=tuple(hard),
                aspect_ratio=(0.0,) * rank,
                aspect_ratio_hard=(False,) * rank,
            )
        write_shape, read_shape = grids["write"].shape, grids["read"].shape
        for dim in range(rank):
            if read_shape[dim] != 0 and write_shape[dim] % read_shape[dim] != 0:
                raise InvalidArgumentError(
                    f"write chunk shape {format_vector(write_shape)} is not a multiple of "
                    f"read chunk shape {format_vector(read_shape)}"
                )
        return attrs.evolve(self, write=grids["write"], read=grids["read"], codec=grids["codec"])

    def to_json(self) -> dict[str, Any]:
        """The ``ChunkLayout`` JSON object (unset members omitted, keys sorted)."""
        json: dict[str, Any] = {}
        if self.rank is not None and self.rank_dependent_unset():
            json["rank"] = self.rank
        if self.inner_order is not None:
            key = "inner_order" if self.inner_order_hard else "inner_order_soft_constraint"
            json[key] = list(self.inner_order)
        for want_hard, key in ((True, "grid_origin"), (False, "grid_origin_soft_constraint")):
            vector = [
                v if h == want_hard else None
                for v, h in zip(self.grid_origin, self.grid_origin_hard, strict=True)
            ]
            if any(v is not None for v in vector):
                json[key] = vector
        for usage in USAGES:
            grid = self.grid(usage)
            if not grid.is_unset():
                json[f"{usage}_chunk"] = grid.to_json()
        return dict(sorted(json.items()))

    @classmethod
    def from_json(cls, json: Any) -> LayoutConstraints:
        """Parse ``ChunkLayout`` JSON; ``ValueError`` names the offending member."""
        members = expect_object(json_value(json), _JSON_MEMBERS)
        out = cls()
        for key in _JSON_MEMBERS:
            if key not in members:
                continue
            try:
                out = _json_member(out, key, members[key])
            except InvalidArgumentError as exc:
                raise member_error(key, exc) from None
        return out


_JSON_MEMBERS: Final = (
    "rank",
    "inner_order",
    "inner_order_soft_constraint",
    "grid_origin",
    "grid_origin_soft_constraint",
    "chunk",
    "write_chunk",
    "read_chunk",
    "codec_chunk",
)


def _json_member(out: LayoutConstraints, key: str, json: Any) -> LayoutConstraints:
    if key == "rank":
        return out.with_rank(json_ranged_int(json, 0, MAX_RANK))
    hard = not key.endswith("_soft_constraint")
    if key.startswith("inner_order"):
        if json is None:
            return out
        return out.with_inner_order(json_ranged_int_vector(json, 0, MAX_RANK - 1), hard)
    if key.startswith("grid_origin"):
        return _origin_from_json(out, json, hard)
    usage: Any = _ALL if key == "chunk" else key.removesuffix("_chunk")
    return _grid_json_into(out, usage, json)


def _origin_from_json(out: LayoutConstraints, json: Any, hard: bool) -> LayoutConstraints:
    origin = tuple(None if v == INT64_MIN else v for v in json_int_vector(json, none_as=None))
    return out.with_grid_origin(origin, (hard,) * len(origin))


def _grid_json_into(out: LayoutConstraints, usage: Any, json: Any) -> LayoutConstraints:
    result = out

    def apply(member: str, value: Any, hard: bool) -> None:
        nonlocal result
        flags: Any = hard if member == "elements" else (hard,) * len(value)
        result = result.with_grid_member(usage, member, value, flags)  # type: ignore[arg-type]

    grid_from_json(json, apply)
    return result


_GRID_USAGE_KWARGS: Final[dict[str, Any]] = {
    "chunk": _ALL,
    "write_chunk": "write",
    "read_chunk": "read",
    "codec_chunk": "codec",
}
_GRID_MEMBER_KWARGS: Final[dict[str, tuple[Any, GridMember]]] = {
    f"{prefix}_{member}{suffix}": (usage, member)
    for member in ("shape", "aspect_ratio", "elements")
    for prefix, usage in _GRID_USAGE_KWARGS.items()
    for suffix in ("", "_soft_constraint")
}
# Keyword arguments in the order TensorStore applies them.
_KWARG_ORDER: Final = (
    "rank",
    "inner_order",
    "inner_order_soft_constraint",
    "grid_origin",
    "grid_origin_soft_constraint",
    *_GRID_USAGE_KWARGS,
    *_GRID_MEMBER_KWARGS,
    "finalize",
)
_KWARG_NAMES: Final = frozenset(_KWARG_ORDER)


def _apply_kwargs(value: LayoutConstraints, kwargs: dict[str, Any]) -> LayoutConstraints:
    unknown = sorted(set(kwargs) - _KWARG_NAMES)
    if unknown:
        raise TypeError(f"ChunkLayout got unexpected keyword arguments: {', '.join(unknown)}")
    for name in _KWARG_ORDER:
        arg = kwargs.get(name)
        if arg is None or (name not in _GRID_USAGE_KWARGS and empty_vector(arg)):
            continue
        try:
            value = _apply_kwarg(value, name, arg)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Invalid {name}: {exc}") from None
    return value


def _apply_kwarg(value: LayoutConstraints, name: str, arg: Any) -> LayoutConstraints:
    if name == "rank":
        rank = to_int(arg, "rank")
        return value.with_rank(None if rank == -1 else rank)
    if name == "finalize":
        return value.finalized() if arg else value
    hard = not name.endswith("_soft_constraint")
    if name.startswith("inner_order"):
        return _kw_inner_order(value, arg, hard)
    if name.startswith("grid_origin"):
        return _kw_origin(value, arg, hard)
    if name in _GRID_USAGE_KWARGS:
        return value.with_grid(_GRID_USAGE_KWARGS[name], expect_grid(arg, name))
    usage, member = _GRID_MEMBER_KWARGS[name]
    return _kw_grid_member(value, usage, member, arg, hard, name)


def _kw_inner_order(value: LayoutConstraints, arg: Any, hard: bool) -> LayoutConstraints:
    name = "inner_order" if hard else "inner_order_soft_constraint"
    order = int_vector(arg, name, none_as=None)
    if not order:
        return value
    try:
        return value.with_inner_order(order, hard)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"Error setting inner_order: {exc}") from None


def _kw_origin(value: LayoutConstraints, arg: Any, hard: bool) -> LayoutConstraints:
    name = "grid_origin" if hard else "grid_origin_soft_constraint"
    origin = tuple(None if v == INT64_MIN else v for v in int_vector(arg, name, none_as=None))
    try:
        return value.with_grid_origin(origin, (hard,) * len(origin))
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"Error setting grid_origin: {exc}") from None


def _kw_grid_member(
    value: LayoutConstraints, usage: Any, member: GridMember, arg: Any, hard: bool, name: str
) -> LayoutConstraints:
    converted: Any
    if member == "shape":
        converted = int_vector(arg, name, none_as=0)
    elif member == "aspect_ratio":
        converted = float_vector(arg, name)
    else:
        converted = to_int(arg, name)
    flags: Any = hard if member == "elements" else (hard,) * len(converted)
    out = value
    for target in _usages_for(usage, member):
        try:
            out = out.with_grid_member(target, member, converted, flags)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Error setting {target}_chunk {member}: {exc}") from None
    return out


class ChunkLayout(ValueHandle[LayoutConstraints]):
    """Describes the storage layout of a TensorStore (``ts.ChunkLayout``).

    ``ChunkLayout(json)`` parses the ``ChunkLayout`` JSON; ``ChunkLayout(**kwargs)``
    and ``update(**kwargs)`` take TensorStore's keyword arguments: ``rank``,
    ``inner_order[_soft_constraint]``, ``grid_origin[_soft_constraint]``,
    ``chunk``/``write_chunk``/``read_chunk``/``codec_chunk`` (a ``Grid``),
    ``{chunk,write_chunk,read_chunk,codec_chunk}_{shape,aspect_ratio,elements}``
    each with a ``_soft_constraint`` twin, and ``finalize``.

    Raises:
        ValueError: an invalid value or conflicting hard constraint, naming the
            argument, grid and dimension, e.g. ``Invalid write_chunk_shape: Error
            setting write_chunk shape: New hard constraint (11) for dimension 0
            does not match existing hard constraint (10)``.
    """

    Grid: ClassVar[type[_Grid]] = _Grid

    __slots__ = ()
    _REPR_NAME = "ChunkLayout"

    def __init__(self, json: Any = None, **kwargs: Any) -> None:
        if json is not None:
            if kwargs:
                raise TypeError("ChunkLayout(json) takes no keyword arguments")
            self._value = LayoutConstraints.from_json(json)
        else:
            self._value = _apply_kwargs(LayoutConstraints(), kwargs)

    @classmethod
    def from_constraints(cls, value: LayoutConstraints) -> ChunkLayout:
        """Wrap a frozen :class:`LayoutConstraints`."""
        return cls._wrap(value)

    @property
    def constraints(self) -> LayoutConstraints:
        """The frozen constraints value (what drivers and the chunk chooser consume)."""
        return self._value

    def update(self, **kwargs: Any) -> None:
        """Add constraints (same keyword arguments as the constructor).

        Unlike TensorStore, a failing update leaves the layout unchanged.
        """
        self._value = _apply_kwargs(self._value, kwargs)

    @property
    def rank(self) -> int:
        """Number of dimensions, or ``-1`` if unspecified (as TensorStore)."""
        return -1 if self._value.rank is None else self._value.rank

    @property
    def ndim(self) -> int:
        """Alias for :py:obj:`rank`."""
        return self.rank

    @property
    def inner_order(self) -> tuple[int, ...] | None:
        """Hard constraint on the element storage order within chunks, else ``None``."""
        v = self._value
        return v.inner_order if v.inner_order_hard else None

    @property
    def inner_order_soft_constraint(self) -> tuple[int, ...] | None:
        """Soft constraint on the element storage order, else ``None``."""
        v = self._value
        if v.rank == 0:
            return ()  # (as TensorStore: the one order of no dimensions, never a hard one)
        return None if v.inner_order_hard else v.inner_order

    def _origin(self, want_hard: bool) -> tuple[int | None, ...] | None:
        v = self._value
        if v.rank is None:
            return None
        return tuple(
            o if h == want_hard else None
            for o, h in zip(v.grid_origin, v.grid_origin_hard, strict=True)
        )

    @property
    def grid_origin(self) -> tuple[int | None, ...] | None:
        """Hard constraints on the grid origin (``None`` per unconstrained dimension)."""
        return self._origin(True)

    @property
    def grid_origin_soft_constraint(self) -> tuple[int | None, ...] | None:
        """Soft constraints on the grid origin."""
        return self._origin(False)

    def _grid(self, grid: GridConstraints) -> _Grid:
        # As TensorStore: a rank-0 layout's grids have no per-dimension vectors, so no rank.
        return _Grid._wrap(attrs.evolve(grid, rank=None) if grid.rank == 0 else grid)

    @property
    def write_chunk(self) -> _Grid:
        """Chunk grid for efficient writes (a copy)."""
        return self._grid(self._value.write)

    @property
    def read_chunk(self) -> _Grid:
        """Chunk grid for efficient reads (a copy)."""
        return self._grid(self._value.read)

    @property
    def codec_chunk(self) -> _Grid:
        """Chunk grid used by the codec (a copy)."""
        return self._grid(self._value.codec)

    def _template(self, usage: Usage) -> IndexDomain:
        from ..index.domain import IndexDomain

        v = self._value
        if v.rank is None:
            raise InvalidArgumentError("Rank of chunk layout is unspecified")
        grid = v.grid(usage)
        lower: list[int] = []
        upper: list[int] = []
        for dim in range(v.rank):
            origin, size = v.grid_origin[dim], grid.shape[dim]
            if (
                origin is None
                or not v.grid_origin_hard[dim]
                or size == 0
                or not grid.shape_hard[dim]
            ):
                lower.append(-INF_INDEX)
                upper.append(INF_INDEX + 1)
                continue
            if origin + size > INF_INDEX + 1:
                raise InvalidArgumentError(
                    f"Incompatible grid origin/chunk shape for dimension {dim}: "
                    f"({origin}, {size}) do not specify a valid sized index interval"
                )
            lower.append(origin)
            upper.append(origin + size)
        return IndexDomain(inclusive_min=lower, exclusive_max=upper)

    @property
    def write_chunk_template(self) -> IndexDomain:
        """Chunk offset and shape for efficient writes (hard constraints only)."""
        return self._template("write")

    @property
    def read_chunk_template(self) -> IndexDomain:
        """Chunk offset and shape for efficient reads (hard constraints only)."""
        return self._template("read")

    def to_json(self) -> dict[str, Any]:
        """The ``ChunkLayout`` JSON representation."""
        return self._value.to_json()

    def __reduce__(self) -> tuple[Callable[..., ChunkLayout], tuple[Any, ...]]:
        return (_layout_from_pickle, (self._value.to_json(),))


def _layout_from_pickle(json: dict[str, Any]) -> ChunkLayout:
    return ChunkLayout(json)


_Grid.__qualname__ = "ChunkLayout.Grid"


def _as_constraints(layout: ChunkLayout | LayoutConstraints) -> LayoutConstraints:
    return layout.constraints if isinstance(layout, ChunkLayout) else layout


def merge_layouts(
    base: ChunkLayout | LayoutConstraints,
    other: ChunkLayout | LayoutConstraints,
    *,
    as_soft: bool = False,
) -> ChunkLayout:
    """A new layout: ``base`` with ``other`` merged in (``Schema`` uses this)."""
    return ChunkLayout.from_constraints(
        _as_constraints(base).with_layout(_as_constraints(other), as_soft=as_soft)
    )
