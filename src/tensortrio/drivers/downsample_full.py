"""Downsampling full blocks: the interior of a region, reduced in cache-sized pieces.

Every block here holds all of its ``prod(factors)`` elements, so no padding
and no per-block counts are needed, and one divisor serves every block. The
region is cut along its outer dimensions into pieces of about
:data:`PIECE_BYTES` of input, so that each piece's temporaries stay in the
CPU cache while NumPy makes its passes over them (each pass releases the
GIL). The results are those of ``downsample_array``'s general path, value
for value:

- integer ``mean``: summed exactly in the narrowest integer type that holds
  the block sums, one dimension at a time (outer dimensions first: their
  views are whole contiguous rows), then divided with the rounding (to the
  nearest, ties to even) folded into integer shifts or floor divisions;
- floating-point ``mean``: summed from zero in the accumulation type, in the
  block's C order, as the general path sums (the order changes the rounding);
- ``min``/``max``: integers one dimension at a time (the minimum of minima),
  floats in the block's C order, as the general path;
- ``median``/``mode``: the same sorting network as the general path, with
  only the operations the median's position needs, and the mode as the first
  of the longest runs of equal sorted values.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any, Final

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

__all__ = ["NETWORK_WIDTH", "PIECE_BYTES", "reduce_full", "sorted_views"]

#: Input bytes per piece: its temporaries stay in L2 (2 MiB a core here), and few enough
#: pieces that two threads do not contend for the GIL between short NumPy calls.
PIECE_BYTES: Final = 1 << 20

#: Numbers NumPy does not know as such (ml_dtypes floats), taken by every method.
_OTHER_NUMBERS: Final = frozenset({"bfloat16", "float8_e4m3fn"})

#: Blocks of at most this many elements sort by compare-exchange of whole views.
NETWORK_WIDTH: Final = 16


def reduce_full(
    data: np.ndarray, factors: Sequence[int], method: str, out: np.ndarray, has_nan: bool
) -> bool:
    """Reduce ``data``, whole blocks of ``factors``, into ``out``; False if this path does not apply.

    ``method`` is not ``stride``; ``has_nan``: whether the region the blocks
    come from holds a NaN (``median`` and ``mode`` then sort as the general
    path does). Nothing is written when False is returned: 64-bit integer
    sums that may overflow, ``median``/``mode`` of wide or complex blocks, or
    elements that are not numbers.
    """
    dtype = data.dtype
    if dtype.kind not in "biufc" and dtype.name not in _OTHER_NUMBERS:
        return False
    width = math.prod(factors)
    kernel: Callable[[np.ndarray, np.ndarray], None]
    if method == "mean":
        if dtype.kind == "b":
            kernel = _bool_mean(factors, width)
        elif dtype.kind in "iu":
            accumulate = _integer_accumulator(data, width)
            if accumulate is None:
                return False
            kernel = _integer_mean(factors, width, accumulate)
        else:
            kernel = _float_mean(factors, width, dtype)
    elif method in ("min", "max"):
        kernel = _extreme(factors, method)
    else:
        if width > NETWORK_WIDTH or dtype.kind == "c":
            return False
        if method == "median":
            kernel = _median(factors, width, has_nan)
        else:
            kernel = _mode(factors, width, has_nan)
    itemsize = dtype.itemsize * width
    if out.ndim == 0:  # (indexing with () would give scalars)
        kernel(data, out)
        return True
    for out_index, in_index in _pieces(out.shape, factors, itemsize):
        kernel(data[in_index], out[out_index])
    return True


def _pieces(
    counts: Sequence[int], factors: Sequence[int], itemsize: int
) -> Iterator[tuple[tuple[slice, ...], tuple[slice, ...]]]:
    """(output, input) index pairs of the pieces: runs along the outermost dimension
    whose one step still fits :data:`PIECE_BYTES`, single positions along those before it."""
    rank = len(counts)
    axis = 0
    while axis < rank - 1 and math.prod(counts[axis + 1 :]) * itemsize > PIECE_BYTES:
        axis += 1
    step = max(PIECE_BYTES // max(math.prod(counts[axis + 1 :]) * itemsize, 1), 1)
    for outer in itertools.product(*(range(c) for c in counts[:axis])):
        out_outer = tuple(slice(p, p + 1) for p in outer)
        in_outer = tuple(slice(p * f, (p + 1) * f) for p, f in zip(outer, factors, strict=False))
        for low in range(0, counts[axis], step):
            high = min(low + step, counts[axis])
            f = factors[axis]
            yield (*out_outer, slice(low, high)), (*in_outer, slice(low * f, high * f))


def _offset_views(data: np.ndarray, factors: Sequence[int]) -> list[np.ndarray]:
    """One strided view per offset within a block, in the block's C order."""
    return [
        data[tuple(slice(o, None, f) for o, f in zip(offset, factors, strict=True))]
        for offset in np.ndindex(*factors)
    ]


def _fold_dimensions(
    data: np.ndarray, factors: Sequence[int], combine: np.ufunc, out: np.ndarray, dtype: Any = None
) -> None:
    """``combine`` each block into ``out``, one dimension at a time, outermost first.

    ``dtype``: the loop's type (the inputs are cast to it), for sums.
    """
    axes = [axis for axis, f in enumerate(factors) if f > 1]
    if not axes:
        np.copyto(out, data, casting="unsafe")
        return
    kwargs: dict[str, Any] = {} if dtype is None else {"dtype": dtype, "casting": "unsafe"}
    current = data
    for axis in axes:
        f = factors[axis]
        lead = (slice(None),) * axis
        views = [current[(*lead, slice(k, None, f))] for k in range(f)]
        target = out if axis == axes[-1] else np.empty(views[0].shape, dtype=out.dtype if dtype is None else dtype)
        combine(views[0], views[1], out=target, **kwargs)
        for view in views[2:]:
            combine(target, view, out=target, **kwargs)
        current = target


def _integer_accumulator(data: np.ndarray, width: int) -> Any:
    """The narrowest signed integer type that holds a block sum plus the rounding terms, or None."""
    if data.dtype.itemsize == 8:  # the values at hand decide whether 64-bit sums are safe
        largest = max(abs(int(data.min())), abs(int(data.max()))) if data.size else 0
    else:
        info = np.iinfo(data.dtype)
        largest = max(abs(int(info.min)), int(info.max))
    bound = (largest + 1) * width
    for candidate in (np.int16, np.int32, np.int64):
        if bound < 2 ** (8 * np.dtype(candidate).itemsize - 2):
            return candidate
    return None


def _integer_mean(
    factors: Sequence[int], width: int, accumulate: Any
) -> Callable[[np.ndarray, np.ndarray], None]:
    half = width // 2
    shift = width.bit_length() - 1

    def kernel(data: np.ndarray, out: np.ndarray) -> None:
        sums = np.empty(out.shape, dtype=accumulate)
        _fold_dimensions(data, factors, np.add, sums, accumulate)
        if width == 1:
            pass
        elif width & (width - 1) == 0:
            # q = floor(s / n) by a shift; floor((s + n/2 - 1 + (q & 1)) / n) rounds to the
            # nearest with ties to the even quotient.
            odd = np.right_shift(sums, shift)
            odd &= 1
            sums += odd
            sums += half - 1
            sums >>= shift
        elif width % 2:
            sums += half  # an odd count has no ties: floor((s + (n - 1) / 2) / n)
            np.floor_divide(sums, width, out=sums)
        else:
            odd = np.floor_divide(sums, width)
            odd &= 1
            sums += odd
            sums += half - 1
            np.floor_divide(sums, width, out=sums)
        np.copyto(out, sums, casting="unsafe")

    return kernel


def _bool_mean(factors: Sequence[int], width: int) -> Callable[[np.ndarray, np.ndarray], None]:
    accumulate = np.uint8 if width < 256 else np.int64

    def kernel(data: np.ndarray, out: np.ndarray) -> None:
        trues = np.empty(out.shape, dtype=accumulate)
        _fold_dimensions(data, factors, np.add, trues, accumulate)
        np.greater(trues, width // 2, out=out)  # more trues than falses (a tie is False)

    return kernel


def _float_mean(
    factors: Sequence[int], width: int, dtype: np.dtype[Any]
) -> Callable[[np.ndarray, np.ndarray], None]:
    accumulate = np.result_type(dtype, np.float32)
    count = np.array(width, dtype=np.zeros((), accumulate).real.dtype)

    def kernel(data: np.ndarray, out: np.ndarray) -> None:
        total = np.zeros(out.shape, dtype=accumulate)
        for view in _offset_views(data, factors):
            total += view  # in order, from zero: the general path's rounding
        if dtype.kind == "c":  # each part divided by the count (not a complex division)
            np.divide(total.real, count, out=out.real)
            np.divide(total.imag, count, out=out.imag)
            return
        np.divide(total, count, out=total)
        np.copyto(out, total, casting="unsafe")

    return kernel


def _extreme(factors: Sequence[int], method: str) -> Callable[[np.ndarray, np.ndarray], None]:
    def kernel(data: np.ndarray, out: np.ndarray) -> None:
        if data.dtype.kind in "biu":  # (exact: any order gives the same result)
            _fold_dimensions(data, factors, np.minimum if method == "min" else np.maximum, out)
            return
        # Floats in the block's C order, as the general path: which of a -0.0 and a 0.0
        # (or of two NaNs) comes out depends on the order. fmin/fmax skip a NaN, as
        # TensorStore's comparisons do.
        combine: np.ufunc
        if data.dtype.kind in "fc":
            combine = np.fmin if method == "min" else np.fmax
        else:
            combine = np.minimum if method == "min" else np.maximum
        views = _offset_views(data, factors)
        np.copyto(out, views[0])
        for view in views[1:]:
            combine(out, view, out=out)

    return kernel


def sorted_views(views: list[np.ndarray], has_nan: bool, needed: Sequence[int] | None = None) -> list[np.ndarray]:
    """The views rearranged so that, block by block, their values ascend.

    Small blocks go through an odd-even transposition network of
    ``minimum``/``maximum`` over whole views (NumPy sorts rows of a few
    elements slowly); larger ones, floats with a NaN (``has_nan``), or complex
    numbers through ``np.sort``. ``needed``: the positions wanted (the others
    may be left unsorted); the network skips the operations they do not need.
    """
    width = len(views)
    if width > NETWORK_WIDTH or has_nan or views[0].dtype.kind == "c":
        stacked = np.sort(np.stack(views, axis=-1), axis=-1)
        return [stacked[..., k] for k in range(width)]
    steps = [(k, k + 1) for step in range(width) for k in range(step % 2, width - 1, 2)]
    # Backwards from the wanted positions: which halves of which compare-exchanges matter.
    wanted = set(range(width) if needed is None else needed)
    plan = []
    for low, high in reversed(steps):
        keep_low, keep_high = low in wanted, high in wanted
        if keep_low or keep_high:
            wanted |= {low, high}
        plan.append((low, high, keep_low, keep_high))
    out = list(views)
    for low, high, keep_low, keep_high in reversed(plan):
        if keep_low and keep_high:
            out[low], out[high] = np.minimum(out[low], out[high]), np.maximum(out[low], out[high])
        elif keep_low:
            out[low] = np.minimum(out[low], out[high])
        elif keep_high:
            out[high] = np.maximum(out[low], out[high])
    return out


def _median(factors: Sequence[int], width: int, has_nan: bool) -> Callable[[np.ndarray, np.ndarray], None]:
    middle = (width - 1) // 2  # the lower median

    def kernel(data: np.ndarray, out: np.ndarray) -> None:
        ordered = sorted_views(_offset_views(data, factors), has_nan, [middle])
        np.copyto(out, ordered[middle])

    return kernel


def _mode(factors: Sequence[int], width: int, has_nan: bool) -> Callable[[np.ndarray, np.ndarray], None]:
    def kernel(data: np.ndarray, out: np.ndarray) -> None:
        # Along each block's sorted values, the length of the run of equals ending at
        # each; the first value whose run outgrows every earlier one starts the first
        # longest run: the most frequent value, the lowest of a tie.
        ordered = sorted_views(_offset_views(data, factors), has_nan)
        np.copyto(out, ordered[0])
        if width == 1:
            return
        run = np.ones(out.shape, dtype=np.uint8)
        best = np.ones(out.shape, dtype=np.uint8)
        # Values equal but for the sign of a zero: the run's first is the one taken.
        first = None if data.dtype.kind in "biu" else np.array(ordered[0])
        for k in range(1, width):
            same = np.equal(ordered[k], ordered[k - 1])
            run *= same
            run += 1
            if first is None:
                start = ordered[k]
            else:
                np.copyto(first, ordered[k], where=~same)
                start = first
            longer = np.greater(run, best)
            np.copyto(out, start, where=longer)
            np.maximum(best, run, out=best)

    return kernel
