"""The operations of a dimension expression, applied to an ``IndexTransform``.

Each function takes the transform and the currently selected input dimensions
(already resolved to indices) and returns the new transform and the new
selection, as TensorStore's ``DimExpression`` operations do: translate, stride,
label, mark_bounds_implicit, diagonal and transpose.  Messages follow
TensorStore's and name the dimension and value at fault.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidArgumentError, OutOfRangeError
from .domain import IndexDomain, check_unique_labels, normalize_dim_index
from .interval import INF, IndexInterval
from .output_map import OutputIndexMap, OutputIndexMethod, checked_index
from .transform import IndexTransform, normalize_output_maps

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .output_map import IndexArray

__all__ = [
    "Selection",
    "apply_diagonal",
    "apply_label",
    "apply_mark_bounds_implicit",
    "apply_stride",
    "apply_translate",
    "apply_transpose",
    "broadcast_vector",
    "resolve_dim_range",
]

Selection = tuple[int, ...]
"""Selected input dimensions, in selection order."""

_NEG_INF = -INF
_POS_INF_EXCL = INF + 1
_FINITE_RANGE = f"[{-INF + 1}, {INF})"


def broadcast_vector(
    values: int | tuple[int | None, ...] | None, dims: Selection, what: str
) -> tuple[int | None, ...]:
    """Expand a scalar to one value per selected dimension, or check the vector's length."""
    if values == ():
        # TensorStore reads an empty vector as the scalar 0 (``translate_by[()]`` is a no-op).
        values = 0
    if not isinstance(values, tuple):
        return (values,) * len(dims)
    if len(values) != len(dims):
        raise InvalidArgumentError(
            f"Number of dimensions ({len(dims)}) does not match number of {what} ({len(values)})"
        )
    return values


def _rebuild(
    transform: IndexTransform, dims: list[IndexInterval], maps: Sequence[OutputIndexMap]
) -> IndexTransform:
    domain = IndexDomain.from_dims(dims)
    return IndexTransform.make(domain, normalize_output_maps(domain, maps))


def _is_finite(value: int) -> bool:
    return -INF < value < INF


def apply_translate(
    transform: IndexTransform,
    dims: Selection,
    values: int | tuple[int | None, ...] | None,
    kind: str,
) -> IndexTransform:
    """Shift the domains of ``dims`` (``kind``: ``to``, ``by`` or ``backward_by``).

    Raises:
      InvalidArgumentError: wrong number of values, or ``translate_to`` on an
        unbounded-below dimension.
      OutOfRangeError: a shifted bound or the origin leaves the finite index range.
    """
    vector = broadcast_vector(values, dims, "indices")
    intervals = list(transform.domain.dims)
    shifts = [0] * transform.input_rank
    for dim, value in zip(dims, vector, strict=True):
        if value is None:
            continue
        old = intervals[dim]
        if kind == "to":
            if not _is_finite(value):
                raise OutOfRangeError(
                    f"Translating input dimension {dim}: origin {value} is outside valid range {_FINITE_RANGE}"
                )
            if old.inclusive_min == _NEG_INF:
                raise InvalidArgumentError(
                    f"Translating input dimension {dim}: interval {old.bounds_str()} is not bounded below"
                )
            shift = value - old.inclusive_min
        else:
            shift = value if kind == "by" else -value
        lo, hi = old.inclusive_min, old.inclusive_max
        if lo != _NEG_INF:
            if not _is_finite(lo + shift):
                raise OutOfRangeError(
                    f"Translating input dimension {dim}: {lo} + {shift} is outside valid range {_FINITE_RANGE}"
                )
            lo += shift
        if hi != INF:
            if not _is_finite(hi + shift):
                raise OutOfRangeError(
                    f"Translating input dimension {dim}: {hi} + {shift} is outside valid range {_FINITE_RANGE}"
                )
            hi += shift
        intervals[dim] = IndexInterval.make(
            lo, hi + 1, old.implicit_lower, old.implicit_upper, old.label
        )
        shifts[dim] = shift
    maps: list[OutputIndexMap] = []
    for m in transform.maps:
        # Index arrays are stored relative to the input origin: they move with it.
        if m.method is OutputIndexMethod.single_input_dimension:
            assert m.input_dimension is not None
            assert m.stride is not None
            shift = shifts[m.input_dimension]
            if shift:
                offset = checked_index(
                    m.offset - m.stride * shift, f"output offset for dimension {len(maps)}"
                )
                m = OutputIndexMap.single(m.input_dimension, offset, m.stride)
        maps.append(m)
    return _rebuild(transform, intervals, maps)


def _stride_interval(old: IndexInterval, stride: int, dim: int) -> IndexInterval:
    """The interval of ``x`` with ``x * stride`` in ``old`` (TensorStore's affine domain)."""
    if old.inclusive_min == _NEG_INF and old.exclusive_max == _POS_INF_EXCL:
        # Unbounded stays unbounded, but a negative stride still swaps which side is implicit.
        flags = (old.implicit_lower, old.implicit_upper)
        lower_implicit, upper_implicit = flags if stride > 0 else flags[::-1]
        return IndexInterval.make(
            old.inclusive_min, old.exclusive_max, lower_implicit, upper_implicit, old.label
        )
    empty = old.empty
    if stride < 0:
        lower, upper = -old.inclusive_max, -old.inclusive_min
        if empty:
            lower, upper = lower - 1, upper - 1
        implicit_lower, implicit_upper = old.implicit_upper, old.implicit_lower
    else:
        lower, upper = old.inclusive_min, old.inclusive_max
        implicit_lower, implicit_upper = old.implicit_lower, old.implicit_upper
    divisor = abs(stride)
    new_lo = _NEG_INF if lower == _NEG_INF else -(-lower // divisor)
    if empty:
        new_hi = new_lo - 1
    elif upper == INF:
        new_hi = INF
    else:
        new_hi = upper // divisor
    return IndexInterval.make(new_lo, new_hi + 1, implicit_lower, implicit_upper, old.label)


def apply_stride(
    transform: IndexTransform, dims: Selection, values: int | tuple[int | None, ...] | None
) -> IndexTransform:
    """Stride the domains of ``dims``: the new domain holds ``x`` with ``x * stride`` in the old.

    Raises:
      InvalidArgumentError: wrong number of strides, or a stride of 0.
    """
    vector = broadcast_vector(values, dims, "indices")
    intervals = list(transform.domain.dims)
    strides = [1] * transform.input_rank
    for dim, value in zip(dims, vector, strict=True):
        if value is None or value == 1:
            continue
        if value == 0:
            raise InvalidArgumentError(
                f"Applying stride to input dimension {dim}: Stride must be non-zero"
            )
        intervals[dim] = _stride_interval(intervals[dim], value, dim)
        strides[dim] = value
    old_origin = transform.domain.origin
    # As TensorStore: over an explicitly empty domain an index array holds no element,
    # so its map becomes the constant 0.
    explicitly_empty = any(d.empty and not d.implicit_lower and not d.implicit_upper for d in intervals)
    maps: list[OutputIndexMap] = []
    for m in transform.maps:
        if m.method is OutputIndexMethod.array and explicitly_empty:
            maps.append(OutputIndexMap.constant(0))
        elif m.method is OutputIndexMethod.single_input_dimension:
            assert m.input_dimension is not None
            assert m.stride is not None
            s = strides[m.input_dimension]
            if s != 1:
                stride = checked_index(m.stride * s, f"stride for output dimension {len(maps)}")
                m = OutputIndexMap.single(m.input_dimension, m.offset, stride)
            maps.append(m)
        elif m.method is OutputIndexMethod.array:
            assert m.index_array is not None
            assert m.index_range is not None
            assert m.stride is not None
            array: IndexArray = m.index_array
            for dim, s in enumerate(strides):
                if s != 1 and array.shape[dim] != 1:
                    new = intervals[dim]
                    positions = np.arange(new.inclusive_min, new.exclusive_max, dtype=np.int64) * s
                    array = np.take(array, positions - old_origin[dim], axis=dim)
            mapped = OutputIndexMap.array(_readonly(array), m.offset, m.stride, m.index_range)
            maps.append(_constant_if_unvarying(mapped, len(maps)))
        else:
            maps.append(m)
    return _rebuild(transform, intervals, maps)


def _constant_if_unvarying(m: OutputIndexMap, j: int) -> OutputIndexMap:
    """An index-array map that varies along no input dimension, as a constant map.

    TensorStore's stride operation does this (checking the value
    against the map's ``index_range``).

    Raises:
      OutOfRangeError: the array's value lies outside its ``index_range``.
    """
    array = m.index_array
    if array is None or any(n != 1 for n in array.shape):
        return m
    assert m.index_range is not None
    assert m.stride is not None
    value = int(array.reshape(-1)[0])
    if value not in m.index_range:
        raise OutOfRangeError(
            f"Index array for output dimension {j}: Index {value} is outside valid range "
            f"{m.index_range.bounds_str()}"
        )
    return OutputIndexMap.constant(m.offset + m.stride * value)


def _readonly(array: IndexArray) -> IndexArray:
    if array.flags.writeable:
        array = np.array(array, dtype=np.int64)
        array.flags.writeable = False
    return array


def apply_label(
    transform: IndexTransform, dims: Selection, labels: tuple[str, ...]
) -> IndexTransform:
    """Set the labels of ``dims``.

    Raises:
      InvalidArgumentError: wrong number of labels, or a label would repeat.
    """
    if len(labels) != len(dims):
        raise InvalidArgumentError(
            f"Number of dimensions ({len(dims)}) does not match number of labels ({len(labels)})"
        )
    intervals = list(transform.domain.dims)
    for dim, label in zip(dims, labels, strict=True):
        old = intervals[dim]
        intervals[dim] = IndexInterval.make(
            old.inclusive_min, old.exclusive_max, old.implicit_lower, old.implicit_upper, label
        )
    check_unique_labels([iv.label for iv in intervals])
    return IndexTransform.make(IndexDomain.from_dims(intervals), transform.maps)


def apply_mark_bounds_implicit(
    transform: IndexTransform, dims: Selection, lower: bool | None, upper: bool | None
) -> IndexTransform:
    """Mark the lower/upper bounds of ``dims`` implicit (True), explicit (False) or keep (None).

    Raises:
      InvalidArgumentError: a dimension an index array depends on would get an implicit bound.
    """
    if lower or upper:
        for j, m in enumerate(transform.maps):
            if m.index_array is None:
                continue
            for dim in dims:
                if m.index_array.shape[dim] != 1:
                    raise InvalidArgumentError(
                        f"Cannot mark input dimension {dim} as having implicit bounds because it "
                        f"indexes the index array map for output dimension {j}"
                    )
    intervals = list(transform.domain.dims)
    for dim in dims:
        old = intervals[dim]
        intervals[dim] = IndexInterval.make(
            old.inclusive_min,
            old.exclusive_max,
            old.implicit_lower if lower is None else lower,
            old.implicit_upper if upper is None else upper,
            old.label,
        )
    return _rebuild(transform, intervals, transform.maps)


def apply_diagonal(transform: IndexTransform, dims: Selection) -> tuple[IndexTransform, Selection]:
    """Replace ``dims`` by one new first dimension, their diagonal (intersection of domains)."""
    old_dims = transform.domain.dims
    selected = set(dims)
    lo, hi = _NEG_INF, _POS_INF_EXCL
    for dim in dims:
        lo = max(lo, old_dims[dim].inclusive_min)
        hi = min(hi, old_dims[dim].exclusive_max)
    hi = max(hi, lo)
    implicit_lower = all(old_dims[d].implicit_lower for d in dims)
    implicit_upper = all(old_dims[d].implicit_upper for d in dims)
    rest = [d for d in range(transform.input_rank) if d not in selected]
    new_index = {d: k + 1 for k, d in enumerate(rest)}
    for d in dims:
        new_index[d] = 0
    intervals = [
        IndexInterval.make(lo, hi, implicit_lower, implicit_upper),
        *(old_dims[d] for d in rest),
    ]
    origin = transform.domain.origin
    maps: list[OutputIndexMap] = []
    for m in transform.maps:
        if m.method is OutputIndexMethod.single_input_dimension:
            assert m.input_dimension is not None
            assert m.stride is not None
            maps.append(OutputIndexMap.single(new_index[m.input_dimension], m.offset, m.stride))
        elif m.method is OutputIndexMethod.array:
            assert m.index_array is not None
            assert m.index_range is not None
            assert m.stride is not None
            array = _diagonal_array(m.index_array, dims, rest, origin, lo, hi)
            maps.append(OutputIndexMap.array(array, m.offset, m.stride, m.index_range))
        else:
            maps.append(m)
    return _rebuild(transform, intervals, maps), (0,)


def _diagonal_array(
    array: IndexArray, dims: Selection, rest: list[int], origin: tuple[int, ...], lo: int, hi: int
) -> IndexArray:
    """The index array over the diagonal domain: new axis 0, then the remaining axes."""
    moved = np.transpose(array, [*dims, *rest])
    varying = [k for k, d in enumerate(dims) if array.shape[d] != 1]
    if not varying or hi <= lo:
        # Constant along the diagonal (or empty): keep a compact extent-1 axis.
        taken = moved[(0,) * len(dims)] if dims else moved
        return _readonly(np.expand_dims(taken, 0))
    positions = np.arange(lo, hi, dtype=np.int64)
    index = tuple(positions - origin[d] if k in varying else 0 for k, d in enumerate(dims))
    return _readonly(np.asarray(moved[index]))


def resolve_dim_range(start: int | None, stop: int | None, step: int, rank: int) -> list[int]:
    """Resolve a ``start:stop:step`` dimension range against ``rank`` as TensorStore does.

    Raises:
      OutOfRangeError: start or stop lies outside the valid range.
      InvalidArgumentError: the range runs backwards.
    """
    first = (0 if step > 0 else rank - 1) if start is None else normalize_dim_index(start, rank)
    if stop is None:
        end = rank if step > 0 else -1
    else:
        if not -rank - 1 <= stop <= rank:
            raise OutOfRangeError(
                f"Dimension exclusive stop index {stop} is outside valid range [{-rank - 1}, {rank}]"
            )
        end = stop + rank if stop < 0 else stop
        if (step > 0 and end < first) or (step < 0 and end > first):
            text = f"{'' if start is None else start}:{stop}" + ("" if step == 1 else f":{step}")
            raise InvalidArgumentError(f"{text} is not a valid range")
    count = max(0, -((first - end) // step)) if step > 0 else max(0, -((end - first) // -step))
    return [first + step * i for i in range(count)]


def apply_transpose(
    transform: IndexTransform, dims: Selection, target: tuple[int, ...] | int
) -> tuple[IndexTransform, Selection]:
    """Move the selected dimensions to ``target`` positions (or to start at one index).

    ``target`` is an int when a single index was given (``transpose[i]``).

    Raises:
      InvalidArgumentError: the number of targets differs from the selection, or a
        target repeats.
      OutOfRangeError: a target index is out of range.
    """
    rank = transform.input_rank
    k = len(dims)
    if isinstance(target, int):
        if k == 0:
            return transform, dims
        start = normalize_dim_index(target, rank - k + 1)
        targets: tuple[int, ...] = tuple(range(start, start + k))
    else:
        if len(target) != k:
            raise InvalidArgumentError(
                f"Number of selected dimensions ({k}) must equal number of target dimensions ({len(target)})"
            )
        normalized = []
        for t in target:
            t = normalize_dim_index(t, rank)
            if t in normalized:
                raise InvalidArgumentError(f"Target dimension {t} occurs more than once")
            normalized.append(t)
        targets = tuple(normalized)
    order = [-1] * rank
    for source, t in zip(dims, targets, strict=True):
        order[t] = source
    remaining = iter(d for d in range(rank) if d not in set(dims))
    order = [next(remaining) if o == -1 else o for o in order]
    from .compose import permute_input_dims

    return permute_input_dims(transform, order), targets
