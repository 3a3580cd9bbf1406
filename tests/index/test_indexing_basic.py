"""The direct path for everyday keys (ints and slices) gives what the general indexing gives."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tensortrio as ts
from tensortrio.index import indexing
from tensortrio.index.indexing import IndexingMode, apply_numpy_indexing


def _general(t: ts.IndexTransform, key: Any) -> ts.IndexTransform:
    saved = indexing._basic_indexing
    indexing._basic_indexing = lambda *args: None  # type: ignore[assignment]
    try:
        return apply_numpy_indexing(t, key, IndexingMode.DEFAULT)
    finally:
        indexing._basic_indexing = saved


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except (IndexError, ValueError, TypeError) as exc:
        return (type(exc), str(exc))


# NumPy integers (bounds computed from arrays) are ints to indexing.
_numpy_int = st.sampled_from([int, np.int64, np.int32, np.uint8])
_bound = st.one_of(
    st.none(),
    st.builds(lambda k, i: k(i) if i >= 0 or k is not np.uint8 else i, _numpy_int, st.integers(-12, 12)),
)


@st.composite
def _cases(draw: st.DrawFn) -> tuple[ts.IndexTransform, Any]:
    rank = draw(st.integers(0, 3))
    t = ts.IndexTransform(
        input_inclusive_min=[draw(st.integers(-6, 6)) for _ in range(rank)],
        input_shape=[draw(st.integers(0, 9)) for _ in range(rank)],
        implicit_lower_bounds=[draw(st.booleans()) for _ in range(rank)],
        implicit_upper_bounds=[draw(st.booleans()) for _ in range(rank)],
        input_labels=[draw(st.sampled_from(["", "x", "y", "z"])) + str(i) for i in range(rank)],
    )
    if rank and draw(st.booleans()):
        t = t[ts.d[draw(st.integers(0, rank - 1))].translate_by[draw(st.integers(-3, 3))]]
    if rank > 1 and draw(st.booleans()):
        t = t.T
    if rank and draw(st.booleans()):
        t = t[ts.d[0].stride[draw(st.sampled_from([2, -1, 3]))]]
    terms: list[Any] = []
    for _ in range(draw(st.integers(0, rank + 1))):
        if draw(st.booleans()):
            value = draw(st.integers(-10, 12))
            terms.append(draw(_numpy_int)(value) if value >= 0 else value)
        else:
            step = draw(st.one_of(st.none(), st.sampled_from([1, 2, -1, -3, 0])))
            terms.append(slice(draw(_bound), draw(_bound), step))
    if draw(st.booleans()):
        terms.append(...)
    key: Any = tuple(terms)
    if len(terms) == 1 and draw(st.booleans()):
        key = terms[0]
    return t, key


@settings(max_examples=500, deadline=None)
@given(_cases())
def test_basic_indexing_equals_general_indexing(case: tuple[ts.IndexTransform, Any]) -> None:
    t, key = case
    assert _outcome(t.__getitem__, key) == _outcome(_general, t, key)


def test_basic_indexing_takes_everyday_keys_only() -> None:
    t = ts.IndexTransform(input_shape=[10, 20])
    assert indexing._basic_indexing(t, (3, slice(0, 10))) is not None
    assert indexing._basic_indexing(t, (slice(1, 9, 2), ...)) is not None
    assert indexing._basic_indexing(t, ([1, 2], 3)) is None  # index array
    assert indexing._basic_indexing(t, (None, 3)) is None  # newaxis
    assert indexing._basic_indexing(t, (30, 3)) is None  # out of range: the general error
    assert indexing._basic_indexing(t[[1, 2, 3], :], (0, 1)) is None  # array map
    numpy_ints = indexing._basic_indexing(t, (np.int64(3), slice(np.int32(2), np.int64(9))))
    assert numpy_ints == t[3, 2:9]
