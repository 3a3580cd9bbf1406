"""Choosing a chunk grid from ``ChunkLayout`` constraints, exactly as TensorStore does.

Drivers call these when creating an array:

- zarr (v2), n5: :func:`choose_read_write_chunk_grid` — one grid; the write
  constraints are merged into the read constraints first.
- zarr3: :func:`choose_read_write_chunk_shapes` — a read (inner) and a write
  (outer, shard) shape, the write shape a multiple of the read shape.

The rules (TensorStore's ``chunk_layout.cc``): hard or soft ``shape`` values
are used as given (``-1`` means the full extent of the domain); the remaining
dimensions are sized by ``aspect_ratio`` (unset: ``1``) so that the chunk holds
about ``elements`` elements (unset: ``1024 * 1024``, whatever the data type),
never exceeding the domain's extent (or ``elements``) in any dimension.  The
scale factor is found by a geometric-then-bisecting search (tensorstore
0.1.86's, reproduced step for step so results match exactly); the chunk then
holds at most ``elements`` elements unless some dimension is already larger.  The grid
origin defaults to the domain origin modulo the chunk shape (``0`` for an
unbounded origin).

For example, a ``[1000, 2000, 3000]`` domain gets ``[101, 101, 101]``
chunks, and ``chunk_shape=[10, None, None], chunk_aspect_ratio=[None, 2, 1],
chunk_elements=10_000_000`` gets ``[10, 1414, 707]``.
"""

from __future__ import annotations

import functools
import math
import sys
from typing import TYPE_CHECKING, Final, Protocol, TypeAlias

import attrs

from ..errors import InvalidArgumentError
from .chunk_grid import INF_INDEX, INT64_MAX, MAX_FINITE_INDEX, Grid, GridConstraints
from .chunk_layout import ChunkLayout, LayoutConstraints

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "DEFAULT_CHUNK_ELEMENTS",
    "BoxLike",
    "ChunkGridTemplate",
    "DomainLike",
    "choose_chunk_grid",
    "choose_chunk_shape",
    "choose_read_write_chunk_grid",
    "choose_read_write_chunk_shapes",
]

DEFAULT_CHUNK_ELEMENTS: Final = 1024 * 1024
"""Target elements per chunk when no ``elements`` constraint is given."""
_MAX_DIVISOR_SEARCH: Final = 1_000_000
_MAX_CHUNK_SIZE: Final = float.fromhex("0x1.fffffffffffffp61")
"""Largest double below 2**62: no chunk dimension may reach ``ts.inf``."""
_DBL_MIN: Final = sys.float_info.min
_DBL_MAX: Final = sys.float_info.max


class BoxLike(Protocol):
    """A box such as ``ts.IndexDomain``: ``inclusive_min`` and ``exclusive_max`` per dimension.

    ``-ts.inf`` / ``ts.inf + 1`` bounds mark unbounded dimensions.
    """

    @property
    def inclusive_min(self) -> Sequence[int]: ...

    @property
    def exclusive_max(self) -> Sequence[int]: ...


DomainLike: TypeAlias = "BoxLike | Sequence[int]"
"""A box, or just a shape (origin ``0``, every dimension bounded)."""


@attrs.frozen
class ChunkGridTemplate:
    """One chosen chunk grid: the cell at ``origin`` with ``shape``."""

    origin: tuple[int, ...]
    shape: tuple[int, ...]


@attrs.frozen
class _Domain:
    origin: tuple[int, ...]
    size: tuple[int, ...]
    finite: tuple[bool, ...]

    @property
    def rank(self) -> int:
        return len(self.origin)


def _as_domain(domain: DomainLike) -> _Domain:
    if hasattr(domain, "inclusive_min") and hasattr(domain, "exclusive_max"):
        lower = tuple(int(x) for x in domain.inclusive_min)
        upper = tuple(int(x) for x in domain.exclusive_max)
    else:
        upper = tuple(int(x) for x in domain)
        lower = (0,) * len(upper)
        for i, size in enumerate(upper):
            if size < 0:
                raise InvalidArgumentError(f"domain shape[{i}] must be >= 0, got {size}")
    finite = tuple(
        lo != -INF_INDEX and hi != INF_INDEX + 1 for lo, hi in zip(lower, upper, strict=True)
    )
    return _Domain(lower, tuple(hi - lo for lo, hi in zip(lower, upper, strict=True)), finite)


def _format_interval(lower: int, upper: int) -> str:
    """An interval as TensorStore prints it: ``[0, 5)``, ``(-inf, +inf)``."""
    low = "(-inf" if lower == -INF_INDEX else f"[{lower}"
    high = "+inf)" if upper == INF_INDEX + 1 else f"{upper})"
    return f"{low}, {high}"


def _rank_error(constraints_rank: int, domain_rank: int) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"Rank of constraints ({constraints_rank}) does not match rank of domain ({domain_rank})"
    )


def _initial_shape(grid: GridConstraints, domain: _Domain) -> tuple[list[int], list[bool]]:
    """The explicitly constrained sizes (``0`` where free) and which are hard."""
    rank = domain.rank
    if grid.rank is None:
        return [0] * rank, [False] * rank
    if grid.rank != rank:
        raise _rank_error(grid.rank, rank)
    shape = list(grid.shape)
    hard = list(grid.shape_hard)
    for i in range(rank):
        if shape[i] == 0:
            hard[i] = False
        elif shape[i] == -1:
            if not domain.finite[i]:
                bounds = _format_interval(domain.origin[i], domain.origin[i] + domain.size[i])
                raise InvalidArgumentError(
                    f"Cannot match chunk size for dimension {i} to unbounded domain {bounds}"
                )
            shape[i] = max(1, domain.size[i])
    return shape, hard


def _fill_from_aspect_ratio(
    grid: GridConstraints,
    domain: _Domain,
    shape: list[int],
    map_size: Callable[[int, int], int],
) -> None:
    """Size the free (``0``) dimensions of ``shape`` in place."""
    rank = domain.rank
    if all(size != 0 for size in shape):
        return
    if grid.rank is None:
        aspect = [1.0] * rank
    else:
        if grid.rank != rank:
            raise _rank_error(grid.rank, rank)
        aspect = [a if a != 0 else 1.0 for a in grid.aspect_ratio]
    target = DEFAULT_CHUNK_ELEMENTS if grid.elements is None else grid.elements
    _choose_sizes(aspect, shape, target, domain, map_size)


def _choose_sizes(
    aspect: list[float],
    shape: list[int],
    target: int,
    domain: _Domain,
    map_size: Callable[[int, int], int],
) -> None:
    rank = len(shape)
    max_size: list[float] = []
    for i in range(rank):
        bound = float(target)
        if domain.finite[i]:
            bound = min(bound, max(1.0, float(domain.size[i])))
        max_size.append(min(bound, _MAX_CHUNK_SIZE))

    free = [i for i in range(rank) if shape[i] == 0]
    # Aspect ratios are scaled so the largest free one is 1.
    largest = max((aspect[i] for i in free if math.isfinite(aspect[i])), default=0.0)
    ratio: list[float] = []
    for value in aspect:
        if not math.isfinite(value) or value <= 0:
            value = 1.0
        elif largest > 0:
            value = value / largest or _DBL_MIN
        ratio.append(value)

    def size_for(i: int, factor: float) -> int:
        if shape[i] != 0:
            return shape[i]
        return map_size(i, max(1, int(min(ratio[i] * factor, max_size[i]))))

    def total_for(factor: float) -> int:
        total = 1
        for i in range(rank):
            total *= size_for(i, factor)
            if total > INT64_MAX:
                return INT64_MAX
        return total

    # Search the scale factor between bounds a little wider than any useful
    # value: geometrically while they are far apart, then by bisection.
    min_increment = max(min(1.0 / ratio[i] for i in free) / 2, _DBL_MIN)
    high = min(max(max_size[i] / ratio[i] for i in free), _DBL_MAX / 4.0) * 2.0
    low = min_increment
    high_total = total_for(high)
    for _ in range(100):
        if not low + min_increment < high:
            break
        mid = math.sqrt(low * high) if high > low * 4.0 and low > 0 else low + (high - low) / 2.0
        if not math.isfinite(mid) or mid <= low or mid >= high:
            break
        mid_total = total_for(mid)
        if mid_total >= target:
            high = mid
            high_total = mid_total
        if mid_total <= target:
            low = mid
    factor = high if high_total == target else low
    shape[:] = [size_for(i, factor) for i in range(rank)]


@functools.lru_cache(maxsize=4096)
def _nearest_divisor(dividend: int, target: int) -> int:
    """The divisor of ``dividend`` nearest ``target`` (the smaller one on a tie)."""
    if target >= dividend:
        return dividend
    if dividend % target == 0:
        return target
    for offset in range(1, _MAX_DIVISOR_SEARCH):
        if target > offset and dividend % (target - offset) == 0:
            return target - offset
        if dividend % (target + offset) == 0:
            return target + offset
    return dividend


def _nearest_multiple(divisor: int, target: int) -> int:
    """The multiple of ``divisor`` nearest ``target`` (at least ``divisor``)."""
    if target < divisor:
        return divisor
    lower = target // divisor * divisor
    upper = lower + divisor
    if upper > MAX_FINITE_INDEX:
        return lower
    return lower if target - lower <= upper - target else upper


def _valid_sized(origin: int, size: int) -> bool:
    """TensorStore's ``IndexInterval::ValidSized``."""
    return (
        -INF_INDEX <= origin < INF_INDEX
        and 0 <= size <= INT64_MAX
        and origin <= INF_INDEX + 1 - size
        and origin + size > -INF_INDEX + 1
    )


def _identity(_dim: int, size: int) -> int:
    return size


def _grid_constraints(grid: Grid | GridConstraints) -> GridConstraints:
    return grid.constraints if isinstance(grid, Grid) else grid


def _layout_constraints(layout: ChunkLayout | LayoutConstraints) -> LayoutConstraints:
    return layout.constraints if isinstance(layout, ChunkLayout) else layout


def choose_chunk_shape(grid: Grid | GridConstraints, domain: DomainLike) -> tuple[int, ...]:
    """Choose one chunk shape for ``domain`` from one grid's constraints.

    Raises:
        ValueError: the constraints' rank differs from the domain's, or a ``-1``
            (full extent) size is asked of an unbounded dimension.
    """
    constraints = _grid_constraints(grid)
    box = _as_domain(domain)
    shape, _ = _initial_shape(constraints, box)
    _fill_from_aspect_ratio(constraints, box, shape, _identity)
    return tuple(shape)


def choose_chunk_grid(
    origin_constraints: Sequence[int | None] | None,
    grid: Grid | GridConstraints,
    domain: DomainLike,
) -> ChunkGridTemplate:
    """Choose a chunk shape, then the grid origin (given, else domain origin mod shape).

    Raises:
        ValueError: rank mismatch, or an origin/shape pair beyond the index range.
    """
    box = _as_domain(domain)
    shape = choose_chunk_shape(grid, domain)
    rank = box.rank
    if not origin_constraints:
        origins: list[int | None] = [None] * rank
    else:
        if len(origin_constraints) != rank:
            raise _rank_error(len(origin_constraints), rank)
        origins = list(origin_constraints)
    chosen: list[int] = []
    for i in range(rank):
        origin = origins[i]
        if origin is None:
            origin = 0 if box.origin[i] == -INF_INDEX else box.origin[i] % shape[i]
        if not _valid_sized(origin, shape[i]):
            raise InvalidArgumentError(
                f"Invalid chunk constraints for dimension {i}: ({origin}, {shape[i]}) do not "
                "specify a valid sized index interval"
            )
        chosen.append(origin)
    return ChunkGridTemplate(tuple(chosen), shape)


def choose_read_write_chunk_grid(
    layout: ChunkLayout | LayoutConstraints, domain: DomainLike
) -> ChunkGridTemplate:
    """The single chunk grid of a zarr v2 / n5 array, as TensorStore chooses it.

    The write chunk constraints are merged into the read chunk constraints
    (hard ones must agree), then :func:`choose_chunk_grid` runs with the
    layout's grid origin (hard and soft values alike).

    Raises:
        ValueError: conflicting write/read hard constraints (message says so),
            rank mismatch, or unsatisfiable constraints.
    """
    value = _layout_constraints(layout)
    try:
        combined = value.with_grid("read", value.write)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(
            f"write_chunk constraints not compatible with existing read_chunk constraints: {exc}"
        ) from None
    origin = combined.grid_origin if combined.rank is not None else None
    return choose_chunk_grid(origin, combined.read, domain)


def choose_read_write_chunk_shapes(
    layout: ChunkLayout | LayoutConstraints, domain: DomainLike
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(read_shape, write_shape)`` for a zarr3 array (write = shard, read = inner chunk).

    Each write size is a multiple of the read size: a soft size gives way to
    a hard one (nearest divisor/multiple); with both soft, the write size wins.

    Raises:
        ValueError: hard read and write sizes of a dimension are not multiples
            (``Incompatible chunk size constraints for dimension 1: read size of
            3, write size of 10``), rank mismatch, or a ``-1`` size on an
            unbounded dimension.
    """
    value = _layout_constraints(layout)
    box = _as_domain(domain)
    write_shape, write_hard = _initial_shape(value.write, box)
    read_shape, read_hard = _initial_shape(value.read, box)
    for i in range(box.rank):
        read_size, write_size = read_shape[i], write_shape[i]
        if read_size == 0 or write_size == 0 or write_size % read_size == 0:
            continue
        if read_hard[i] and write_hard[i]:
            raise InvalidArgumentError(
                f"Incompatible chunk size constraints for dimension {i}: read size of "
                f"{read_size}, write size of {write_size}"
            )
        if read_hard[i]:
            write_shape[i] = _nearest_multiple(read_size, write_size)
        else:
            read_shape[i] = _nearest_divisor(write_size, read_size)

    def map_read(i: int, size: int) -> int:
        return size if write_shape[i] == 0 else _nearest_divisor(write_shape[i], size)

    _fill_from_aspect_ratio(value.read, box, read_shape, map_read)

    def map_write(i: int, size: int) -> int:
        return _nearest_multiple(read_shape[i], size)

    _fill_from_aspect_ratio(value.write, box, write_shape, map_write)
    return tuple(read_shape), tuple(write_shape)
