"""Composition of index transforms and the bounds propagation it needs.

``compose(b_to_c, a_to_b)`` is ``b_to_c[a_to_b]``: the transform mapping ``x`` to
``b_to_c(a_to_b(x))``.  The bounds of ``b`` (``b_to_c.domain``) are propagated
back through ``a_to_b``: explicit bounds of ``a`` must lie within the
propagated ones, implicit bounds of ``a`` are replaced by them, and index array
maps get their ``index_range`` narrowed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidArgumentError, OutOfRangeError
from .domain import IndexDomain
from .interval import INF, MAX_FINITE_INDEX, MIN_FINITE_INDEX, IndexInterval, format_bounds
from .output_map import IndexArray, OutputIndexMap, OutputIndexMethod, checked_index
from .transform import IndexTransform, normalize_output_maps

if TYPE_CHECKING:
    from collections.abc import Sequence
from typing import Any

__all__ = [
    "affine_preimage",
    "compose",
    "evaluate_map",
    "permute_input_dims",
    "propagate_bounds",
    "slice_by_domain",
]

_NEG_INF = -INF
_POS_INF_EXCL = INF + 1


def _floor_div(a: int, b: int) -> int:
    return a // b


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def affine_preimage(
    bounds: IndexInterval, offset: int, stride: int, *, clamp: bool = True
) -> IndexInterval:
    """The interval of ``x`` with ``offset + stride * x`` in ``bounds`` (flags follow bounds).

    Infinite bounds stay infinite; a negative stride swaps the sides.  A finite bound
    whose preimage is not a finite index is clamped, or with ``clamp=False`` raises.

    Raises:
      OutOfRangeError: (``clamp=False``) a finite bound overflows the index range.
    """
    lo_inf = bounds.inclusive_min == _NEG_INF
    hi_inf = bounds.exclusive_max == _POS_INF_EXCL
    lo, hi = bounds.inclusive_min, bounds.inclusive_max
    if bounds.empty:
        # As TensorStore: an empty interval maps to the empty interval at the preimage of its
        # position.
        at = _ceil_div(lo - offset, stride)
        flags = (bounds.implicit_lower, bounds.implicit_upper)
        lo_flag, hi_flag = flags if stride > 0 else flags[::-1]
        return IndexInterval.make(at, at, lo_flag, hi_flag)
    if stride > 0:
        new_lo = _NEG_INF if lo_inf else _ceil_div(lo - offset, stride)
        new_hi = INF if hi_inf else _floor_div(hi - offset, stride)
        lo_implicit, hi_implicit = bounds.implicit_lower, bounds.implicit_upper
    else:
        new_lo = _NEG_INF if hi_inf else _ceil_div(hi - offset, stride)
        new_hi = INF if lo_inf else _floor_div(lo - offset, stride)
        lo_implicit, hi_implicit = bounds.implicit_upper, bounds.implicit_lower
    finite_lo = new_lo != _NEG_INF
    finite_hi = new_hi != INF
    if not clamp and (
        (finite_lo and not MIN_FINITE_INDEX <= new_lo <= MAX_FINITE_INDEX)
        or (finite_hi and not MIN_FINITE_INDEX <= new_hi <= MAX_FINITE_INDEX)
    ):
        shown = format_bounds(bounds.inclusive_min, bounds.exclusive_max, False, False)
        sign = 1 if stride > 0 else -1
        raise OutOfRangeError(
            f"Integer overflow propagating range {shown} through inverse affine "
            f"transform with offset {sign * offset} and multiplier {sign * stride}"
        )
    new_lo = max(new_lo, _NEG_INF)
    new_hi = min(new_hi, INF)
    return IndexInterval.make(new_lo, max(new_hi + 1, new_lo), lo_implicit, hi_implicit)


def _with_size(bounds: str, size: int) -> str:
    # TensorStore leaves out the size of an interval unbounded on both sides.
    return bounds if size == 2 * INF + 1 else f"{bounds}, with size={size}"


def _tighter(a: IndexInterval, b: IndexInterval) -> IndexInterval:
    """Combine two propagated constraints: implicit bounds do not constrain, explicit ones do."""

    def side(x: tuple[int, bool], y: tuple[int, bool], choose: Any) -> tuple[int, bool]:
        if x[1] != y[1]:
            return y if x[1] else x
        return choose(x[0], y[0]), x[1]

    lo = side((a.inclusive_min, a.implicit_lower), (b.inclusive_min, b.implicit_lower), max)
    hi = side((a.exclusive_max, a.implicit_upper), (b.exclusive_max, b.implicit_upper), min)
    return IndexInterval.make(lo[0], max(hi[0], lo[0]), lo[1], hi[1])


def _explicit_part(bounds: IndexInterval) -> IndexInterval:
    """Bounds with implicit sides replaced by infinity (they do not constrain)."""
    return IndexInterval.make(
        _NEG_INF if bounds.implicit_lower else bounds.inclusive_min,
        _POS_INF_EXCL if bounds.implicit_upper else bounds.exclusive_max,
    )


def propagate_bounds(
    b_domain: IndexDomain, a_to_b: IndexTransform
) -> tuple[IndexDomain, list[OutputIndexMap]]:
    """Propagate ``b_domain`` back through ``a_to_b``.

    Returns the new ``a`` domain and ``a_to_b``'s maps with narrowed index ranges.

    Raises:
      OutOfRangeError: an explicit bound of ``a`` or a constant lies outside ``b_domain``.
    """
    a_dims = list(a_to_b.domain.dims)
    # An (explicitly) empty domain maps no index, so no bound can be violated (as TensorStore).
    check = not any(d.empty and not d.implicit_lower and not d.implicit_upper for d in a_dims)
    inferred: list[IndexInterval | None] = [None] * len(a_dims)
    maps: list[OutputIndexMap] = []
    for j, (m, b) in enumerate(zip(a_to_b.maps, b_domain.dims, strict=True)):
        if m.method is OutputIndexMethod.constant:
            explicit = _explicit_part(b)
            # An index is finite even where the bounds are not: +-inf is no index.
            lo = max(explicit.inclusive_min, MIN_FINITE_INDEX)
            hi = min(explicit.exclusive_max, MAX_FINITE_INDEX + 1)
            if check and not lo <= m.offset < hi:
                raise OutOfRangeError(
                    f"Checking bounds of constant output index map for dimension {j}: Index "
                    f"{m.offset} is outside valid range {explicit.bounds_str()}"
                )
            maps.append(m)
            continue
        assert m.stride is not None
        if m.method is OutputIndexMethod.single_input_dimension:
            assert m.input_dimension is not None
            i = m.input_dimension
            try:
                propagated = affine_preimage(b, m.offset, m.stride, clamp=False)
            except OutOfRangeError as exc:
                raise OutOfRangeError(
                    f"Propagating bounds from dimension {j} to input dimension {i}: {exc}"
                ) from None
            previous = inferred[i]
            inferred[i] = propagated if previous is None else _tighter(previous, propagated)
            maps.append(m)
            continue
        assert m.index_array is not None
        assert m.index_range is not None
        allowed = affine_preimage(_explicit_part(b), m.offset, m.stride)
        narrowed = m.index_range.intersect(allowed)
        maps.append(OutputIndexMap.array(
            m.index_array, m.offset, m.stride,
            IndexInterval.make(narrowed.inclusive_min, narrowed.exclusive_max),
        ))
    new_dims: list[IndexInterval] = []
    for i, (existing, bound) in enumerate(zip(a_dims, inferred, strict=True)):
        if bound is None:
            new_dims.append(existing)
            continue
        lo, lo_implicit = (
            (bound.inclusive_min, bound.implicit_lower) if existing.implicit_lower
            else (existing.inclusive_min, False)
        )
        hi, hi_implicit = (
            (bound.exclusive_max, bound.implicit_upper) if existing.implicit_upper
            else (existing.exclusive_max, False)
        )
        if check and (
            (not bound.implicit_lower and lo < bound.inclusive_min)
            or (not bound.implicit_upper and hi > bound.exclusive_max)
        ):
            raise OutOfRangeError(
                f"Propagated bounds {_with_size(bound.bounds_str(), bound.size)}, for dimension {i} "
                f"are incompatible with existing bounds "
                f"{_with_size(format_bounds(lo, hi, False, False), hi - lo)}."
            )
        new_dims.append(IndexInterval.make(lo, max(hi, lo), lo_implicit, hi_implicit, existing.label))
    return IndexDomain.from_dims(new_dims), maps


def evaluate_map(m: OutputIndexMap, domain: IndexDomain) -> IndexArray:
    """Output indices of one map over a finite ``domain``, in compact broadcastable form.

    Raises:
      InvalidArgumentError: the map depends on an unbounded input dimension.
    """
    rank = domain.rank
    if m.method is OutputIndexMethod.constant:
        return np.full((1,) * rank, m.offset, dtype=np.int64)
    assert m.stride is not None
    if m.method is OutputIndexMethod.single_input_dimension:
        assert m.input_dimension is not None
        dim = domain.dims[m.input_dimension]
        if not dim.finite:
            raise InvalidArgumentError(
                f"Input dimension {m.input_dimension} with unbounded domain {dim.bounds_str()} "
                "cannot be used to index an array"
            )
        shape = [1] * rank
        shape[m.input_dimension] = dim.size
        values = np.arange(dim.inclusive_min, dim.exclusive_max, dtype=np.int64) * m.stride + m.offset
        return values.reshape(shape)
    assert m.index_array is not None
    return m.offset + m.stride * m.index_array


def _check_within(values: IndexArray, bounds: IndexInterval, what: str) -> None:
    if values.size == 0:
        return
    outside = (values < bounds.inclusive_min) | (values >= bounds.exclusive_max)
    if outside.any():
        bad = int(values.reshape(-1)[int(np.argmax(outside.reshape(-1)))])
        raise OutOfRangeError(f"{what}: Index {bad} is outside valid range {bounds.bounds_str()}")


def compose(b_to_c: IndexTransform, a_to_b: IndexTransform) -> IndexTransform:
    """``b_to_c[a_to_b]``: the transform ``x -> b_to_c(a_to_b(x))``.

    Raises:
      OutOfRangeError: ranks differ or ``a_to_b`` maps outside ``b_to_c``'s domain.
    """
    if a_to_b.output_rank != b_to_c.input_rank:
        raise OutOfRangeError(
            f"Rank {b_to_c.input_rank} -> {b_to_c.output_rank} transform cannot be composed with "
            f"rank {a_to_b.input_rank} -> {a_to_b.output_rank} transform."
        )
    a_domain, ab_maps = propagate_bounds(b_to_c.domain, a_to_b)
    empty = 0 in a_domain.shape
    explicitly_empty = any(
        d.empty and not d.implicit_lower and not d.implicit_upper for d in a_domain.dims
    )
    result: list[OutputIndexMap] = []
    gathered_b: list[IndexArray | None] = [None] * b_to_c.input_rank
    for m in b_to_c.maps:
        if m.method is OutputIndexMethod.constant:
            result.append(m)
            continue
        assert m.stride is not None
        if m.method is OutputIndexMethod.single_input_dimension:
            assert m.input_dimension is not None
            inner = ab_maps[m.input_dimension]
            j = len(result)
            offset = checked_index(m.offset + m.stride * inner.offset, f"output offset for dimension {j}")
            if inner.method is OutputIndexMethod.constant:
                result.append(OutputIndexMap.constant(offset))
            elif inner.method is OutputIndexMethod.single_input_dimension:
                assert inner.input_dimension is not None
                assert inner.stride is not None
                stride = checked_index(m.stride * inner.stride, f"stride for output dimension {j}")
                result.append(OutputIndexMap.single(inner.input_dimension, offset, stride))
            else:
                assert inner.index_array is not None
                assert inner.stride is not None
                assert inner.index_range is not None
                if not explicitly_empty:
                    # As TensorStore: the index range of an index array that ``b_to_c`` reads
                    # through an affine map is recomputed from ``b``'s bounds, and there a
                    # preimage bound that overflows is an error rather than clamped.
                    b_dim = b_to_c.domain.dims[m.input_dimension]
                    affine_preimage(_explicit_part(b_dim), inner.offset, inner.stride, clamp=False)
                stride = checked_index(m.stride * inner.stride, f"stride for output dimension {j}")
                result.append(OutputIndexMap.array(inner.index_array, offset, stride, inner.index_range))
            continue
        assert m.index_array is not None
        assert m.index_range is not None
        if empty:
            result.append(OutputIndexMap.constant(0))
            continue
        positions = []
        for k, b_dim in enumerate(b_to_c.domain.dims):
            if m.index_array.shape[k] == 1:
                positions.append(np.zeros((1,) * a_domain.rank, dtype=np.int64))
                continue
            values = gathered_b[k]
            if values is None:
                inner = ab_maps[k]
                if inner.index_array is not None:
                    assert inner.index_range is not None
                    _check_within(
                        inner.index_array, inner.index_range,
                        f"In index array map for output dimension {k}",
                    )
                values = evaluate_map(inner, a_domain)
                _check_within(values, b_dim, f"In index array map for output dimension {k}")
                gathered_b[k] = values
            positions.append(values - b_dim.inclusive_min)
        gathered = np.asarray(m.index_array[tuple(positions)], dtype=np.int64)
        gathered.flags.writeable = False
        result.append(OutputIndexMap.array(gathered, m.offset, m.stride, m.index_range))
    return IndexTransform.make(a_domain, simplify_maps(a_domain, result))


def simplify_maps(domain: IndexDomain, maps: Sequence[OutputIndexMap]) -> tuple[OutputIndexMap, ...]:
    """Normalize maps after composition; a one-element index array becomes a constant.

    Raises:
      OutOfRangeError: such a single index lies outside its ``index_range``.
    """
    normalized = []
    for m in normalize_output_maps(domain, maps):
        if m.index_array is not None and m.index_array.size == 1:
            assert m.index_range is not None
            assert m.stride is not None
            value = int(m.index_array.reshape(-1)[0])
            if value not in m.index_range:
                raise OutOfRangeError(
                    f"Index {value} is outside valid range {m.index_range.bounds_str()}"
                )
            m = OutputIndexMap.constant(m.offset + m.stride * value)
        normalized.append(m)
    return tuple(normalized)


def permute_input_dims(transform: IndexTransform, order: Sequence[int]) -> IndexTransform:
    """New transform whose input dimension ``i`` is the old dimension ``order[i]``."""
    inverse = {old: new for new, old in enumerate(order)}
    domain = IndexDomain.from_dims(transform.domain.dims[old] for old in order)
    maps = []
    for m in transform.maps:
        if m.method is OutputIndexMethod.single_input_dimension:
            assert m.input_dimension is not None
            assert m.stride is not None
            maps.append(OutputIndexMap.single(inverse[m.input_dimension], m.offset, m.stride))
        elif m.method is OutputIndexMethod.array:
            assert m.index_array is not None
            assert m.index_range is not None
            assert m.stride is not None
            array = np.transpose(m.index_array, order)
            maps.append(OutputIndexMap.array(array, m.offset, m.stride, m.index_range))
        else:
            maps.append(m)
    return IndexTransform.make(domain, maps)


def _match_dims(target: IndexDomain, other: IndexDomain) -> list[int]:
    """Dimensions of ``target`` matched by ``other``'s dimensions (by label, else by order)."""
    target_labeled = any(target.labels)
    other_labeled = any(other.labels)
    if not target_labeled or not other_labeled:
        if target.rank != other.rank:
            raise InvalidArgumentError(
                f"Rank of {other} ({other.rank}) does not match rank of {target} ({target.rank})"
            )
        return list(range(target.rank))
    unlabeled_target = [i for i, label in enumerate(target.labels) if not label]
    dims: list[int] = []
    next_unlabeled = 0
    if not all(other.labels) and target.rank != other.rank:
        raise InvalidArgumentError(
            f"Rank of {other} ({other.rank}) does not match rank of {target} ({target.rank})"
        )
    for label in other.labels:
        if label:
            if label not in target.labels:
                raise InvalidArgumentError(f'Label "{label}" does not match one of {target}')
            dims.append(target.labels.index(label))
        else:
            if next_unlabeled >= len(unlabeled_target):
                raise InvalidArgumentError(f"Too many unlabeled dimensions in {other} for {target}")
            dims.append(unlabeled_target[next_unlabeled])
            next_unlabeled += 1
    return dims


def slice_by_domain(transform: IndexTransform, other: IndexDomain) -> IndexTransform:
    """``transform[domain]``: ``transform[ts.d[dims][other.inclusive_min:other.exclusive_max]]``.

    Dimensions are matched by label where both sides are labeled, else by position;
    an entirely unlabeled ``transform`` takes ``other``'s labels.  Implicit flags of
    ``other`` have no effect.

    Raises:
      OutOfRangeError: ``other``'s bounds are not contained in an explicit bound.
      InvalidArgumentError: dimensions cannot be matched.
    """
    from .indexing import IndexingMode, apply_index_terms

    dims = _match_dims(transform.domain, other)
    if not dims:
        return transform
    key = tuple(slice(d.inclusive_min, d.exclusive_max) for d in other.dims)
    result, _ = apply_index_terms(transform, tuple(dims), key, IndexingMode.DEFAULT)
    if any(other.labels) and not any(transform.domain.labels):
        labeled = [
            IndexInterval.make(d.inclusive_min, d.exclusive_max, d.implicit_lower, d.implicit_upper, label)
            for d, label in zip(result.domain.dims, other.labels, strict=True)
        ]
        result = IndexTransform.make(IndexDomain.from_dims(labeled), result.maps)
    return result
