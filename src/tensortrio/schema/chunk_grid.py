"""``ts.ChunkLayout.Grid``: hard/soft constraints on one chunk grid.

A grid constrains a chunk ``shape`` and ``aspect_ratio`` per dimension and a
target number of ``elements``.  Each value is either a *hard* constraint or a
*soft* (preferred) one.  Merging follows TensorStore (``ChunkLayout``
documentation, "ChunkLayout/Grid" JSON schema):

- a new hard value replaces a soft one, and must equal an existing hard one
  (else ``ValueError`` naming the dimension and both values);
- a new soft value only fills a dimension that has no value yet;
- ``0``/``None`` (no constraint) never changes anything, and a shape of ``-1``
  (full extent of the domain) is always a soft constraint.

The frozen :class:`GridConstraints` is the value; :class:`Grid` is TensorStore's
mutable Python object around it (``update`` swaps in a new value, so a failed
update changes nothing).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable
from typing import Any, Final, TypeVar

import attrs
import numpy as np

from ..errors import InvalidArgumentError
from ..index.domain import MAX_RANK, check_rank_in_range
from ..index.interval import INF as INF_INDEX
from ..index.interval import INT64_MAX, INT64_MIN, MAX_FINITE_INDEX
from .json_member import member_error
from .value_handle import ValueHandle

__all__ = [
    "INF_INDEX",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_FINITE_INDEX",
    "MAX_RANK",
    "Grid",
    "GridConstraints",
    "expect_grid",
    "format_vector",
    "merge_elements",
    "merge_vector",
]


T = TypeVar("T", int, float, "int | None")


def format_number(value: object) -> str:
    """Format one constraint value as TensorStore's messages do."""
    if value is None:
        return str(INT64_MIN)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def format_vector(values: Iterable[object]) -> str:
    """Format a vector as TensorStore's messages do: ``{1, 2, 3}``."""
    return "{" + ", ".join(format_number(v) for v in values) + "}"


def rank_mismatch(new_rank: int, existing_rank: int) -> InvalidArgumentError:
    return InvalidArgumentError(f"Rank {new_rank} does not match existing rank {existing_rank}")


def merge_vector(
    existing: tuple[T, ...],
    existing_hard: tuple[bool, ...],
    new: tuple[T, ...],
    new_hard: tuple[bool, ...],
    default: T,
    *,
    valid: Callable[[T], bool],
    always_soft: Callable[[T], bool] = lambda _: False,
) -> tuple[tuple[T, ...], tuple[bool, ...]]:
    """Merge per-dimension constraints ``new`` into ``existing``; both are full rank.

    Returns the merged (values, hard flags).  Raises ``ValueError`` for an
    invalid value or a hard constraint that conflicts with an existing one.
    """
    for i, value in enumerate(new):
        if not valid(value):
            raise InvalidArgumentError(f"Invalid value for dimension {i}: {format_vector(new)}")
    hard_in = tuple(h and not always_soft(v) for v, h in zip(new, new_hard, strict=True))
    for i, (value, hard) in enumerate(zip(new, hard_in, strict=True)):
        if hard and existing_hard[i] and value != default and existing[i] != value:
            raise InvalidArgumentError(
                f"New hard constraint ({format_number(value)}) for dimension {i} does not "
                f"match existing hard constraint ({format_number(existing[i])})"
            )
    values = list(existing)
    hard_out = list(existing_hard)
    for i, (value, hard) in enumerate(zip(new, hard_in, strict=True)):
        if value == default:
            continue
        if hard or values[i] == default:
            values[i] = value
            hard_out[i] = hard_out[i] or hard
    return tuple(values), tuple(hard_out)


def merge_elements(
    existing: int | None, existing_hard: bool, new: int | None, new_hard: bool
) -> tuple[int | None, bool]:
    """Merge a target-elements constraint; ``None`` means unset."""
    if new is None:
        return existing, existing_hard
    if new < 0 or new > MAX_FINITE_INDEX:
        raise InvalidArgumentError(f"Invalid value: {new}")
    if existing is not None:
        if not new_hard:
            return existing, existing_hard
        if existing_hard and existing != new:
            raise InvalidArgumentError(
                f"New hard constraint ({new}) does not match existing hard constraint ({existing})"
            )
    return new, existing_hard or new_hard


def valid_shape(value: int) -> bool:
    return -1 <= value <= MAX_FINITE_INDEX


def valid_aspect_ratio(value: float) -> bool:
    return math.isfinite(value) and value >= 0


def to_int(value: object, what: str) -> int:
    """Convert ``value`` to a 64-bit int (float and str refused, as tensorstore), naming ``what``."""
    if isinstance(value, str | bytes | float):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    try:
        result = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{what} must be an integer, got {value!r}") from None
    if not INT64_MIN <= result <= INT64_MAX:
        raise TypeError(f"{what} must be a 64-bit integer, got {result}")
    return result


def to_float(value: object, what: str) -> float:
    if isinstance(value, str | bytes) or not hasattr(value, "__float__"):
        raise TypeError(f"{what} must be a number, got {value!r}")
    return float(value)


def empty_vector(value: object) -> bool:
    """Whether a vector keyword argument is empty (a list, tuple or array), which TensorStore's
    keywords take as not given."""
    return isinstance(value, list | tuple | np.ndarray) and len(value) == 0


def int_vector(values: object, what: str, none_as: int | None) -> tuple[Any, ...]:
    """Convert a sequence of ``int | None`` (``None`` becomes ``none_as``)."""
    if isinstance(values, str | bytes | dict | set) or not isinstance(values, Iterable):
        raise TypeError(f"{what} must be a sequence, got {values!r}")
    return tuple(none_as if v is None else to_int(v, f"{what}[{i}]") for i, v in enumerate(values))


def float_vector(values: object, what: str) -> tuple[float, ...]:
    if isinstance(values, str | bytes | dict | set) or not isinstance(values, Iterable):
        raise TypeError(f"{what} must be a sequence, got {values!r}")
    return tuple(0.0 if v is None else to_float(v, f"{what}[{i}]") for i, v in enumerate(values))


def _optional_vector(
    values: tuple[Any, ...], hard: tuple[bool, ...], want_hard: bool, default: Any
) -> tuple[Any, ...]:
    return tuple(
        v if (v != default and h == want_hard) else None for v, h in zip(values, hard, strict=True)
    )


@attrs.frozen
class GridConstraints:
    """Frozen constraints on one chunk grid (``rank=None``: rank unspecified).

    ``shape`` uses ``0`` and ``aspect_ratio`` uses ``0.0`` for "no constraint";
    the ``*_hard`` flags say which values are hard constraints.
    """

    rank: int | None = None
    shape: tuple[int, ...] = ()
    shape_hard: tuple[bool, ...] = ()
    aspect_ratio: tuple[float, ...] = ()
    aspect_ratio_hard: tuple[bool, ...] = ()
    elements: int | None = None
    elements_hard: bool = False

    def with_rank(self, rank: int | None) -> GridConstraints:
        """Fix the rank (no-op if equal or ``None``); raise ``ValueError`` on mismatch."""
        if rank is None or rank == self.rank:
            return self
        check_rank_in_range(rank)
        if self.rank is not None:
            raise rank_mismatch(rank, self.rank)
        return attrs.evolve(
            self,
            rank=rank,
            shape=(0,) * rank,
            shape_hard=(False,) * rank,
            aspect_ratio=(0.0,) * rank,
            aspect_ratio_hard=(False,) * rank,
        )

    def with_shape(self, shape: tuple[int, ...], hard: tuple[bool, ...]) -> GridConstraints:
        out = self.with_rank(len(shape))
        values, flags = merge_vector(
            out.shape, out.shape_hard, shape, hard, 0, valid=valid_shape, always_soft=_is_minus_one
        )
        return attrs.evolve(out, shape=values, shape_hard=flags)

    def with_aspect_ratio(
        self, aspect_ratio: tuple[float, ...], hard: tuple[bool, ...]
    ) -> GridConstraints:
        out = self.with_rank(len(aspect_ratio))
        values, flags = merge_vector(
            out.aspect_ratio,
            out.aspect_ratio_hard,
            aspect_ratio,
            hard,
            0.0,
            valid=valid_aspect_ratio,
        )
        return attrs.evolve(out, aspect_ratio=values, aspect_ratio_hard=flags)

    def with_elements(self, elements: int | None, hard: bool) -> GridConstraints:
        value, flag = merge_elements(self.elements, self.elements_hard, elements, hard)
        return attrs.evolve(self, elements=value, elements_hard=flag)

    def with_grid(self, other: GridConstraints, *, as_soft: bool = False) -> GridConstraints:
        """Merge every constraint of ``other`` (all as soft ones if ``as_soft``)."""
        out = self
        if other.rank is not None:
            keep = not as_soft
            out = out.with_shape(other.shape, tuple(h and keep for h in other.shape_hard))
            out = out.with_aspect_ratio(
                other.aspect_ratio, tuple(h and keep for h in other.aspect_ratio_hard)
            )
        return out.with_elements(other.elements, other.elements_hard and not as_soft)

    def is_unset(self) -> bool:
        """True if no shape, aspect ratio or elements constraint is set."""
        return (
            all(v == 0 for v in self.shape)
            and all(v == 0.0 for v in self.aspect_ratio)
            and self.elements is None
        )

    def to_json(self) -> dict[str, Any]:
        """The ``ChunkLayout/Grid`` JSON object (unset members omitted, keys sorted)."""
        json: dict[str, Any] = {}
        for name, values, hard, default in (
            ("aspect_ratio", self.aspect_ratio, self.aspect_ratio_hard, 0.0),
            ("shape", self.shape, self.shape_hard, 0),
        ):
            for want_hard, key in ((True, name), (False, f"{name}_soft_constraint")):
                vector = _optional_vector(values, hard, want_hard, default)
                if any(v is not None for v in vector):
                    json[key] = list(vector)
        if self.elements is not None:
            json["elements" if self.elements_hard else "elements_soft_constraint"] = self.elements
        return dict(sorted(json.items()))


def _is_minus_one(value: int) -> bool:
    return value == -1


_GRID_MEMBERS: Final = (
    "shape",
    "shape_soft_constraint",
    "aspect_ratio",
    "aspect_ratio_soft_constraint",
    "elements",
    "elements_soft_constraint",
)


def grid_from_json(json: Any, apply: Callable[[str, Any, bool], None]) -> None:
    """Walk a ``ChunkLayout/Grid`` JSON object, calling ``apply(member, value, hard)``.

    Values are converted (``None`` entries become "no constraint"); errors name
    the member as TensorStore's do: ``Error parsing object member "shape": ...``.
    """
    from .chunk_json import expect_object, json_float_vector, json_int, json_int_vector

    members = expect_object(json, _GRID_MEMBERS)
    for key in _GRID_MEMBERS:
        if key not in members:
            continue
        raw = members[key]
        hard = not key.endswith("_soft_constraint")
        try:
            if key.startswith("shape"):
                apply("shape", json_int_vector(raw, none_as=0), hard)
            elif key.startswith("aspect_ratio"):
                apply("aspect_ratio", json_float_vector(raw), hard)
            else:
                apply("elements", json_int(raw), hard)
        except InvalidArgumentError as exc:
            raise member_error(key, exc) from None


def _set_rank(value: GridConstraints, rank: Any) -> GridConstraints:
    number = to_int(rank, "rank")
    # -1 is TensorStore's "dynamic rank": no constraint (as ChunkLayout and Schema take it).
    return value if number == -1 else value.with_rank(number)


class Grid(ValueHandle[GridConstraints]):
    """Describes a regular grid layout for write/read/codec chunks (``ts.ChunkLayout.Grid``).

    ``Grid(json)`` parses the ``ChunkLayout/Grid`` JSON; ``Grid(**kwargs)`` and
    ``update(**kwargs)`` take ``rank``, ``shape``, ``shape_soft_constraint``,
    ``aspect_ratio``, ``aspect_ratio_soft_constraint``, ``elements``,
    ``elements_soft_constraint``, ``grid`` and ``grid_soft_constraint``.
    """

    __slots__ = ()
    _REPR_NAME = "ChunkLayout.Grid"

    def __init__(self, json: Any = None, **kwargs: Any) -> None:
        self._value = GridConstraints()
        if json is not None:
            if kwargs:
                raise TypeError("ChunkLayout.Grid(json) takes no keyword arguments")
            self._value = grid_constraints_from_json(json)
        elif kwargs:
            self.update(**kwargs)

    @property
    def constraints(self) -> GridConstraints:
        """The frozen constraints value (what drivers consume)."""
        return self._value

    def update(
        self,
        *,
        rank: int | None = None,
        shape: Iterable[int | None] | None = None,
        shape_soft_constraint: Iterable[int | None] | None = None,
        aspect_ratio: Iterable[float | None] | None = None,
        aspect_ratio_soft_constraint: Iterable[float | None] | None = None,
        elements: int | None = None,
        elements_soft_constraint: int | None = None,
        grid: Grid | None = None,
        grid_soft_constraint: Grid | None = None,
    ) -> None:
        """Add constraints; on error (naming the argument) nothing changes."""
        value = self._value
        steps: list[tuple[str, Any, Callable[[GridConstraints, Any], GridConstraints]]] = [
            ("rank", rank, _set_rank),
            ("shape", shape, lambda v, x: _set_shape(v, x, True, "shape")),
            (
                "shape_soft_constraint",
                shape_soft_constraint,
                lambda v, x: _set_shape(v, x, False, "shape_soft_constraint"),
            ),
            ("aspect_ratio", aspect_ratio, lambda v, x: _set_aspect(v, x, True, "aspect_ratio")),
            (
                "aspect_ratio_soft_constraint",
                aspect_ratio_soft_constraint,
                lambda v, x: _set_aspect(v, x, False, "aspect_ratio_soft_constraint"),
            ),
            ("elements", elements, lambda v, x: v.with_elements(to_int(x, "elements"), True)),
            (
                "elements_soft_constraint",
                elements_soft_constraint,
                lambda v, x: v.with_elements(to_int(x, "elements_soft_constraint"), False),
            ),
            ("grid", grid, lambda v, x: v.with_grid(expect_grid(x, "grid"))),
            (
                "grid_soft_constraint",
                grid_soft_constraint,
                lambda v, x: v.with_grid(expect_grid(x, "grid_soft_constraint"), as_soft=True),
            ),
        ]
        for name, arg, step in steps:
            if arg is None or (name not in ("grid", "grid_soft_constraint") and empty_vector(arg)):
                continue
            try:
                value = step(value, arg)
            except InvalidArgumentError as exc:
                raise InvalidArgumentError(f"Invalid {name}: {exc}") from None
        self._value = value

    @property
    def rank(self) -> int | None:
        """Number of dimensions, or ``None`` if unspecified."""
        return self._value.rank

    @property
    def ndim(self) -> int | None:
        """Alias for :py:obj:`rank`."""
        return self._value.rank

    def _vector(self, name: str, want_hard: bool) -> tuple[Any, ...] | None:
        v = self._value
        if v.rank is None:
            return None
        if name == "shape":
            return _optional_vector(v.shape, v.shape_hard, want_hard, 0)
        return _optional_vector(v.aspect_ratio, v.aspect_ratio_hard, want_hard, 0.0)

    @property
    def shape(self) -> tuple[int | None, ...] | None:
        """Hard constraints on chunk shape (``None`` per unconstrained dimension)."""
        return self._vector("shape", True)

    @property
    def shape_soft_constraint(self) -> tuple[int | None, ...] | None:
        """Soft constraints on chunk shape."""
        return self._vector("shape", False)

    @property
    def aspect_ratio(self) -> tuple[float | None, ...] | None:
        """Chunk shape aspect ratio (hard constraints)."""
        return self._vector("aspect_ratio", True)

    @property
    def aspect_ratio_soft_constraint(self) -> tuple[float | None, ...] | None:
        """Soft constraints on chunk shape aspect ratio."""
        return self._vector("aspect_ratio", False)

    @property
    def elements(self) -> int | None:
        """Target number of elements per chunk (hard constraint)."""
        return self._value.elements if self._value.elements_hard else None

    @property
    def elements_soft_constraint(self) -> int | None:
        """Soft constraint on target number of elements per chunk."""
        return None if self._value.elements_hard else self._value.elements

    def to_json(self, include_defaults: bool = False) -> dict[str, Any]:
        """The ``ChunkLayout/Grid`` JSON representation."""
        return self._value.to_json()

    def __reduce__(self) -> tuple[Callable[..., Grid], tuple[Any, ...]]:
        return (_grid_from_pickle, (self._value.rank, self._value.to_json()))


def _grid_from_pickle(rank: int | None, json: dict[str, Any]) -> Grid:
    grid = Grid(json)
    grid._value = grid._value.with_rank(rank)
    return grid


def expect_grid(value: object, what: str) -> GridConstraints:
    """The constraints of ``value``, a ``ts.ChunkLayout.Grid`` given as keyword argument ``what``.

    Raises:
        TypeError: ``value`` is not a Grid.
    """
    if not isinstance(value, Grid):
        raise TypeError(f"{what} must be a ts.ChunkLayout.Grid, got {value!r}")
    return value.constraints


def _set_shape(value: GridConstraints, arg: Any, hard: bool, what: str) -> GridConstraints:
    shape = int_vector(arg, what, none_as=0)
    return value.with_shape(shape, (hard,) * len(shape))


def _set_aspect(value: GridConstraints, arg: Any, hard: bool, what: str) -> GridConstraints:
    ratio = float_vector(arg, what)
    return value.with_aspect_ratio(ratio, (hard,) * len(ratio))


def grid_constraints_from_json(json: Any) -> GridConstraints:
    """Parse ``ChunkLayout/Grid`` JSON into a frozen value (``ValueError`` on bad JSON)."""
    result = GridConstraints()

    def apply(member: str, value: Any, hard: bool) -> None:
        nonlocal result
        if member == "shape":
            result = result.with_shape(value, (hard,) * len(value))
        elif member == "aspect_ratio":
            result = result.with_aspect_ratio(value, (hard,) * len(value))
        else:
            result = result.with_elements(value, hard)

    grid_from_json(json, apply)
    return result
