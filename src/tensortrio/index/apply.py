"""Apply an ``IndexTransform`` to a NumPy array (pure; used by the ``array`` driver and tests)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError, OutOfRangeError
from .compose import evaluate_map
from .output_map import OutputIndexMethod

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .transform import IndexTransform

__all__ = ["check_index_arrays", "output_bounds", "output_indices", "strided_view", "transform_array"]


def output_bounds(transform: IndexTransform) -> list[tuple[int, int]]:
    """Per output dimension, the lowest and highest index ``transform`` maps its (finite,
    non-empty) domain to: the box a read or write through it reaches."""
    box = []
    for m in transform.maps:
        if m.method is OutputIndexMethod.constant:
            box.append((m.offset, m.offset))
            continue
        assert m.stride is not None
        if m.method is OutputIndexMethod.single_input_dimension:
            assert m.input_dimension is not None
            dim = transform.domain[m.input_dimension]
            ends = (m.offset + m.stride * dim.inclusive_min, m.offset + m.stride * dim.inclusive_max)
        else:
            assert m.index_array is not None
            values = m.offset + m.stride * np.asarray(m.index_array, dtype=np.int64)
            ends = (int(values.min()), int(values.max()))
        box.append((min(ends), max(ends)))
    return box


def output_indices(
    transform: IndexTransform, origin: Sequence[int], shape: Sequence[int]
) -> list[npt.NDArray[np.int64]]:
    """Per output dimension, the 0-based positions in an array with ``origin``/``shape``.

    Each is a compact array (extent 1 where it does not vary) broadcastable to the
    input shape.

    Raises:
      InvalidArgumentError: the input domain is unbounded, or ranks differ.
      OutOfRangeError: an output index falls outside ``[origin, origin + shape)`` or an
        index array value outside its ``index_range``; the message names the dimension.
    """
    if len(origin) != transform.output_rank or len(shape) != transform.output_rank:
        raise InvalidArgumentError(
            f"Array of rank {len(shape)} does not match output rank {transform.output_rank}"
        )
    for i, dim in enumerate(transform.domain.dims):
        if not dim.finite:
            raise InvalidArgumentError(
                f"Input dimension {i} has unbounded domain {dim.bounds_str()}; cannot index an array"
            )
    check_index_arrays(transform)
    positions = []
    for j, m in enumerate(transform.maps):
        values = evaluate_map(m, transform.domain) - origin[j]
        if values.size and transform.domain.size:
            low, high = int(values.min()), int(values.max())
            if low < 0 or high >= shape[j]:
                bad = (low if low < 0 else high) + origin[j]
                raise OutOfRangeError(
                    f"Output dimension {j}: Index {bad} is outside valid range "
                    f"[{origin[j]}, {origin[j] + shape[j]})"
                )
        positions.append(values)
    return positions


def check_index_arrays(transform: IndexTransform) -> None:
    """Check that every index array value lies in its map's ``index_range``.

    Indexing a view with an array keeps the view's bounds as the array's
    valid range (TensorStore checks it when the transform is used, not when
    it is made): ``store[1:3][[0, 5]]`` must not reach elements 0 and 5.

    Raises:
        OutOfRangeError: naming the output dimension and the first value outside.
    """
    if not transform.domain.size:
        return
    for j, m in enumerate(transform.maps):
        if m.method is not OutputIndexMethod.array:
            continue
        assert m.index_array is not None
        assert m.index_range is not None
        low, high = int(m.index_array.min()), int(m.index_array.max())
        r = m.index_range
        if low < r.inclusive_min or high >= r.exclusive_max:
            bad = low if low < r.inclusive_min else high
            raise OutOfRangeError(
                f"Index array for output dimension {j}: Index {bad} is outside valid range "
                f"{r.bounds_str()}"
            )


def transform_array(
    transform: IndexTransform, array: npt.NDArray[Any], origin: Sequence[int] | None = None
) -> npt.NDArray[Any]:
    """The array seen through ``transform``: ``result[x] = array[transform(x) - origin]``.

    ``array`` spans the output space from ``origin`` (default all zeros); the result
    has the transform's input shape (a read-only broadcast where the transform does
    not vary along a dimension).
    """
    base = np.asarray(array)
    start = (0,) * base.ndim if origin is None else tuple(origin)
    positions = output_indices(transform, start, base.shape)
    input_shape = transform.domain.shape
    if transform.domain.size == 0:
        return np.empty(input_shape, dtype=base.dtype)
    if not positions:
        return np.broadcast_to(base, input_shape)
    gathered = base[tuple(positions)]
    return np.broadcast_to(gathered, input_shape)


def strided_view(
    transform: IndexTransform, array: npt.NDArray[Any], origin: Sequence[int] | None = None
) -> npt.NDArray[Any] | None:
    """``transform_array``'s result as a view of ``array`` (slices and a transpose), or None.

    None when the transform needs a gather or a broadcast (an index array, an
    input dimension used twice, by no map, or with stride 0), its domain is
    empty or unbounded, or an index falls outside ``array``: then
    ``transform_array`` gives the result, or the error.
    """
    base = np.asarray(array)
    start = (0,) * base.ndim if origin is None else tuple(origin)
    if transform.output_rank != base.ndim or transform.domain.size == 0:
        return None
    index: list[int | slice] = []
    order: list[int] = []  # the input dimension of each axis the slices keep
    for j, m in enumerate(transform.maps):
        extent = base.shape[j]
        if m.method is OutputIndexMethod.constant:
            position = m.offset - start[j]
            if not 0 <= position < extent:
                return None
            index.append(position)
            continue
        if m.method is not OutputIndexMethod.single_input_dimension or not m.stride:
            return None
        assert m.input_dimension is not None
        dim = transform.domain[m.input_dimension]
        if m.input_dimension in order or not dim.finite:
            return None
        first = m.offset + m.stride * dim.inclusive_min - start[j]
        last = first + m.stride * (dim.size - 1)
        if not (0 <= first < extent and 0 <= last < extent):
            return None
        stop = last + (1 if m.stride > 0 else -1)
        index.append(slice(first, None if stop < 0 else stop, m.stride))
        order.append(m.input_dimension)
    if len(order) != transform.input_rank:
        return None
    return base[(*index, Ellipsis)].transpose([order.index(i) for i in range(len(order))])
