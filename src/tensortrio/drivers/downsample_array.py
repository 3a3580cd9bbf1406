"""Downsampling an array by whole blocks, as TensorStore's ``downsample`` driver defines it.

Pure NumPy, no I/O. Blocks are aligned to index 0 in every dimension: with a
factor ``f``, output position ``p`` covers base indices ``[p * f, (p + 1) * f)``,
and only the base indices that exist count (a block at the edge of the base
domain is partial). ``stride`` instead takes the element at ``p * f``.

The methods, as TensorStore's documentation gives them:

- ``mean``: the arithmetic mean; integers exactly, rounded to the nearest and
  ties to even; ``bool`` takes the mode. Floating-point sums are accumulated
  in the element type in C order of the block, as TensorStore accumulates them.
- ``min``, ``max``: non-complex numbers and ``bool`` (a NaN is skipped).
- ``median``: the lower median, always a value present in the block.
- ``mode``: the most frequent value; ties go to the lowest (for text, the
  lexicographically first).
"""

from __future__ import annotations

import json as _json
from collections import Counter
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np

from ..errors import InvalidArgumentError
from ..index.domain import IndexDomain
from ..index.interval import INF, IndexInterval
from .downsample_full import NETWORK_WIDTH, reduce_full, sorted_views

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from ..schema.dtype import dtype as DType

__all__ = [
    "METHODS",
    "TEXT_DTYPES",
    "DownsampleMethod",
    "check_method_supports",
    "downsample_block",
    "downsampled_domain",
    "parse_method",
]

DownsampleMethod = Literal["stride", "mean", "min", "max", "median", "mode"]
METHODS: Final[tuple[DownsampleMethod, ...]] = ("stride", "mean", "min", "max", "median", "mode")

#: Data types whose elements are Python objects, compared as values.
TEXT_DTYPES: Final = frozenset({"string", "ustring", "json"})


def parse_method(value: Any) -> DownsampleMethod:
    """A ``downsample_method`` value.

    Raises:
        InvalidArgumentError: not one of :data:`METHODS` (TensorStore's message).
    """
    for method in METHODS:
        if value == method and isinstance(value, str):
            return method
    options = ", ".join(f'"{m}"' for m in METHODS)
    raise InvalidArgumentError(
        f"Expected one of {options}, but received: {_json.dumps(value)}"
    )


def check_method_supports(method: DownsampleMethod, dtype: DType) -> None:
    """Refuse a data type ``method`` cannot downsample.

    ``stride`` and ``mode`` take every type; ``mean`` numbers and ``bool``;
    ``min``, ``max`` and ``median`` non-complex numbers and ``bool``.

    Raises:
        InvalidArgumentError: ``Downsample method "median" does not support data type "complex128"``.
    """
    if method in ("stride", "mode"):
        return
    kind = dtype.numpy_dtype.kind
    numeric = (dtype.name not in TEXT_DTYPES and kind in "biufc") or dtype.name in ("bfloat16", "float8_e4m3fn")
    if not numeric or (kind == "c" and method != "mean") or dtype.name in ("char", "byte"):
        raise InvalidArgumentError(
            f'Downsample method "{method}" does not support data type "{dtype.name}"'
        )


def downsampled_domain(
    domain: IndexDomain, factors: Sequence[int], method: DownsampleMethod
) -> IndexDomain:
    """The domain a ``downsample`` view of ``domain`` has (labels and implicit flags kept).

    Each interval ``[lo, hi)`` becomes the blocks it meets, ``[floor(lo / f),
    ceil(hi / f))``, or for ``stride`` the positions whose ``p * f`` it holds,
    ``[ceil(lo / f), floor((hi - 1) / f) + 1)``. Infinite bounds stay infinite.
    """
    dims = []
    for dim, f in zip(domain.dims, factors, strict=True):
        lo, hi = dim.inclusive_min, dim.exclusive_max
        if method == "stride":
            new_lo = lo if lo == -INF else -(-lo // f)
            new_hi = hi if hi == INF + 1 else (hi - 1) // f + 1
        else:
            new_lo = lo if lo == -INF else lo // f
            new_hi = hi if hi == INF + 1 else -(-hi // f)
        if lo == hi:
            new_hi = new_lo  # an empty interval stays empty
        new_hi = max(new_hi, new_lo)
        dims.append(IndexInterval.make(new_lo, new_hi, dim.implicit_lower, dim.implicit_upper, dim.label))
    return IndexDomain.from_dims(dims)


def downsample_block(
    data: np.ndarray,
    origin: Sequence[int],
    factors: Sequence[int],
    method: DownsampleMethod,
    text: bool = False,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Downsample ``data``, the base region starting at ``origin``; the result and its origin.

    The result covers every block (every stride position) the region meets;
    a block is only as full as the region, so the region must hold all of the
    base domain that the blocks it meets hold. ``text``: the elements are
    Python objects compared as values (``string``, ``ustring``, ``json``).
    ``out``: where to put the result (of the result's shape), else a new array.
    """
    if method == "stride":
        starts = [-(-o // f) for o, f in zip(origin, factors, strict=True)]
        picks = tuple(
            slice(s * f - o, None, f) for s, o, f in zip(starts, origin, factors, strict=True)
        )
        if out is None:
            return np.array(data[picks]), tuple(starts)
        np.copyto(out, data[picks])
        return out, tuple(starts)
    lows = [o // f for o, f in zip(origin, factors, strict=True)]
    counts = [
        -(-(o + n) // f) - lo
        for o, n, f, lo in zip(origin, data.shape, factors, lows, strict=True)
    ]
    if data.size == 0:
        empty = [0 if n == 0 else c for n, c in zip(data.shape, counts, strict=True)]
        return (np.empty(empty, data.dtype) if out is None else out), tuple(lows)
    before = [o - lo * f for o, lo, f in zip(origin, lows, factors, strict=True)]
    # A dimension whose region lies in one block reduces over the region itself (however
    # large the factor): nothing to pad, one offset per element.
    factors = [n if c == 1 else f for n, c, f in zip(data.shape, counts, factors, strict=True)]
    before = [0 if c == 1 else b for c, b in zip(counts, before, strict=True)]
    if text:
        result = _object_blocks(data, before, counts, factors, method)
        if out is None:
            return result, tuple(lows)
        out[...] = result
        return out, tuple(lows)
    # Whether a NaN makes median and mode sort with np.sort: decided for the whole region.
    has_nan = method in ("median", "mode") and data.dtype.kind in "fc" and bool(np.isnan(data).any())
    if out is None:
        out = np.empty(counts, dtype=data.dtype)
    # The blocks the region holds whole (all but a partial first or last one per dimension)
    # take the fast path; the shell of partial blocks around them the general one.
    inner = [
        (1 if b else 0, c if b + n == c * f else c - 1)
        for b, n, c, f in zip(before, data.shape, counts, factors, strict=True)
    ]
    if all(lo < hi for lo, hi in inner):
        window = tuple(
            slice(lo * f - b, hi * f - b) for (lo, hi), f, b in zip(inner, factors, before, strict=True)
        )
        target = tuple(slice(lo, hi) for lo, hi in inner)
        if reduce_full(data[window], factors, method, out[target] if target else out, has_nan):
            for box in _shell(inner, counts):
                _general(data, box, before, factors, method, has_nan, out)
            return out, tuple(lows)
    _general(data, [(0, c) for c in counts], before, factors, method, has_nan, out)
    return out, tuple(lows)


def _shell(inner: Sequence[tuple[int, int]], counts: Sequence[int]) -> Iterator[list[tuple[int, int]]]:
    """Boxes of block positions that, with the box ``inner``, tile ``[0, counts)``: per
    dimension, those before and after ``inner`` (inside it along the dimensions before)."""
    for d, ((lo, hi), c) in enumerate(zip(inner, counts, strict=True)):
        head = [*inner[:d]]
        tail = [(0, n) for n in counts[d + 1 :]]
        if lo > 0:
            yield [*head, (0, lo), *tail]
        if hi < c:
            yield [*head, (hi, c), *tail]


def _general(
    data: np.ndarray,
    box: Sequence[tuple[int, int]],
    before: Sequence[int],
    factors: Sequence[int],
    method: DownsampleMethod,
    has_nan: bool,
    out: np.ndarray,
) -> None:
    """The blocks at positions ``box`` (full or partial) into ``out[box]``, by padding the
    partial ones with a value ``method`` ignores and reducing strided views."""
    window = tuple(
        slice(max(lo * f - b, 0), min(hi * f - b, n))
        for (lo, hi), f, b, n in zip(box, factors, before, data.shape, strict=True)
    )
    part = data[window]
    part_before = [b if lo == 0 else 0 for (lo, _), b in zip(box, before, strict=True)]
    part_counts = [hi - lo for lo, hi in box]
    valid = _valid_counts(part.shape, part_before, part_counts, factors)
    padded = _padded(part, part_before, part_counts, factors, _padding(data.dtype, method))
    # One strided view per offset within a block, in the block's C order: each is ``counts``-shaped.
    views = [
        padded[tuple(slice(o, None, f) for o, f in zip(offset, factors, strict=True))]
        for offset in np.ndindex(*factors)
    ]
    out[tuple(slice(lo, hi) for lo, hi in box)] = _reduce(views, valid, method, data.dtype, has_nan)


def _valid_counts(
    shape: Sequence[int], before: Sequence[int], counts: Sequence[int], factors: Sequence[int]
) -> np.ndarray:
    """Per block, how many of its elements the region holds (an outer product of per-dimension counts)."""
    total = np.ones((), dtype=np.int64)
    for n, b, c, f in zip(shape, before, counts, factors, strict=True):
        starts = np.arange(c, dtype=np.int64) * f - b
        per_dim = np.minimum(starts + f, n) - np.maximum(starts, 0)
        total = np.multiply.outer(total, per_dim)
    return total


def _padding(dtype: np.dtype[Any], method: DownsampleMethod) -> Any:
    """A value that pads partial blocks without changing ``method``'s result.

    ``median`` and ``mode`` read only each block's valid elements once sorted
    or counted, so padding sorts last (for complex numbers, which sort by
    real part then imaginary part, NaN + NaN j: an infinity would sort before
    inf + 1j); ``min`` ignores the largest value, ``max`` the smallest,
    ``mean`` adds zeros.
    """
    if method == "mean":
        return 0
    kind = dtype.kind
    if kind == "c":  # (only mode takes complex numbers)
        return complex(np.nan, np.nan)
    low = method == "max"
    if kind == "b":
        return not low
    if kind in "iu":
        info = np.iinfo(dtype)
        return info.min if low else info.max
    return -np.inf if low else np.inf


def _padded(
    data: np.ndarray, before: Sequence[int], counts: Sequence[int], factors: Sequence[int], fill: Any
) -> np.ndarray:
    shape = [c * f for c, f in zip(counts, factors, strict=True)]
    if list(shape) == list(data.shape):
        return data
    out = np.full(shape, fill, dtype=data.dtype)
    out[tuple(slice(b, b + n) for b, n in zip(before, data.shape, strict=True))] = data
    return out


def _reduce(
    views: list[np.ndarray], valid: np.ndarray, method: DownsampleMethod, dtype: np.dtype[Any], has_nan: bool
) -> np.ndarray:
    if method in ("min", "max"):
        # fmin/fmax skip a NaN, as TensorStore's comparisons do.
        combine: Any
        if dtype.kind in "fc":
            combine = np.fmin if method == "min" else np.fmax
        else:
            combine = np.minimum if method == "min" else np.maximum
        out = np.array(views[0])
        for view in views[1:]:
            combine(out, view, out=out)
        return out
    if method == "mean":
        return _mean(views, valid, dtype)
    ordered = sorted_views(views, has_nan)  # each block's valid values first, then its padding
    if method == "median":
        return _pick(ordered, (valid - 1) // 2)
    return _mode(ordered, valid)


def _pick(ordered: list[np.ndarray], index: np.ndarray) -> np.ndarray:
    """Block by block, the ``index``-th of the ``ordered`` views."""
    out = np.array(ordered[0])
    for k in range(1, len(ordered)):
        np.copyto(out, ordered[k], where=index == k)
    return out


def _mean(views: list[np.ndarray], valid: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    if dtype.kind == "b":
        # As TensorStore: the mean of booleans is their mode (a tie is False).
        trues = np.zeros(valid.shape, dtype=np.int64)
        for view in views:
            trues += view
        return np.asarray(2 * trues > valid)
    if dtype.kind in "iu":
        return _integer_mean(views, valid, dtype)
    # Floating point: summed in order in the element type (float16 and the like in float32).
    accumulate = np.result_type(dtype, np.float32)
    total = np.zeros(valid.shape, dtype=accumulate)
    for view in views:
        total += view
    count = valid.astype(total.real.dtype)
    if dtype.kind == "c":  # each part divided by the count (not a complex division)
        out = np.empty_like(total)
        out.real = total.real / count
        out.imag = total.imag / count
        return out.astype(dtype)
    return np.asarray(total / count).astype(dtype)


def _integer_mean(views: list[np.ndarray], valid: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    """The exact mean, rounded to the nearest and ties to even."""
    info = np.iinfo(dtype)
    largest = max(abs(int(info.min)), int(info.max))
    if dtype.itemsize == 8:  # the values at hand decide whether 64-bit sums are safe
        largest = max(max(abs(int(v.min())), abs(int(v.max()))) for v in views)
    if largest * len(views) >= 2**62:  # sums that could overflow: exactly, as Python integers
        totals = [sum(int(v) for v in values) for values in zip(*(view.reshape(-1) for view in views), strict=True)]
        means = [_round_half_even(t, int(n)) for t, n in zip(totals, valid.reshape(-1), strict=True)]
        return np.array(means, dtype=dtype).reshape(valid.shape)
    # The narrowest exact accumulator (less memory to stream through).
    accumulate = np.int32 if largest * len(views) < 2**31 else np.int64
    sums: np.ndarray = np.zeros(valid.shape, dtype=accumulate)
    for view in views:
        np.add(sums, view.astype(np.int64) if dtype == np.uint64 else view, out=sums, casting="unsafe")
    count: Any = valid
    if valid.size and valid.min() == valid.max():  # every block full (or as full): one divisor
        count = int(valid.reshape(-1)[0])
    if isinstance(count, int) and count & (count - 1) == 0:
        quotient = sums >> (count.bit_length() - 1)
        twice = sums & (count - 1)
    else:
        quotient, twice = np.divmod(sums, count)
    twice <<= 1  # (in place: these arrays are as large as the result)
    up = twice > count
    tie = twice == count
    tie &= (quotient & 1).astype(bool)
    up |= tie
    quotient += up
    return np.asarray(quotient).astype(dtype)


def _round_half_even(total: int, count: int) -> int:
    quotient, remainder = divmod(total, count)
    return quotient + (2 * remainder > count or (2 * remainder == count and quotient % 2 == 1))


def _mode(ordered: list[np.ndarray], valid: np.ndarray) -> np.ndarray:
    """The most frequent of each block's valid values (sorted, first ``valid``); ties go to the lowest."""
    width = len(ordered)
    if width <= NETWORK_WIDTH:
        # Count each value's equals among the valid ones (width**2 comparisons); the
        # first of the most frequent, in ascending order, is the lowest.
        best_count = np.full(valid.shape, -1, dtype=np.int64)
        best = np.array(ordered[0])
        for k, value in enumerate(ordered):
            count = np.zeros(valid.shape, dtype=np.int64)
            for j, other in enumerate(ordered):
                count += (other == value) & (j < valid)
            better = (count > best_count) & (k < valid)
            best_count[better] = count[better]
            np.copyto(best, value, where=better)
        return best
    rows = np.stack(ordered, axis=-1).reshape(-1, width)
    counts = valid.reshape(-1)
    starts = np.ones(rows.shape, dtype=bool)
    starts[:, 1:] = rows[:, 1:] != rows[:, :-1]
    run = np.cumsum(starts, axis=1) - 1
    inside = np.arange(width)[None, :] < counts[:, None]
    flat = (np.arange(len(rows))[:, None] * width + run).reshape(-1)
    lengths = np.bincount(flat, weights=inside.reshape(-1), minlength=rows.size).reshape(rows.shape)
    best_run = np.argmax(lengths, axis=1)  # the first longest run: the lowest value
    first = np.argmax(run == best_run[:, None], axis=1)
    return np.asarray(rows[np.arange(len(rows)), first]).reshape(valid.shape)


def _object_blocks(
    data: np.ndarray,
    before: Sequence[int],
    counts: Sequence[int],
    factors: Sequence[int],
    method: DownsampleMethod,
) -> np.ndarray:
    """``mode`` of Python values block by block (text: ties to the first in order)."""
    assert method == "mode"  # (check_method_supports allows nothing else for text)
    out = np.empty(counts, dtype=object)
    for position in np.ndindex(*counts):
        window = tuple(
            slice(max(p * f - b, 0), max((p + 1) * f - b, 0))
            for p, b, f in zip(position, before, factors, strict=True)
        )
        values = np.asarray(data[window]).reshape(-1).tolist()
        tally = Counter(_key(v) for v in values)
        top = max(tally.values())
        chosen = min(k for k, n in tally.items() if n == top)
        out[position] = next(v for v in values if _key(v) == chosen)
    return out


def _key(value: Any) -> Any:
    """A sortable, hashable key: text and bytes as they are, JSON values as canonical text."""
    if isinstance(value, str | bytes):
        return (0, value) if isinstance(value, str) else (1, value)
    return (2, _json.dumps(value, sort_keys=True))
