"""Random strided views of a chunked array read and write exactly as NumPy does."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tensortrio as ts

SHAPE = (6, 7, 5)


@st.composite
def _slices(draw: st.DrawFn) -> tuple[Any, ...]:
    key: list[Any] = []
    for size in SHAPE:
        kind = draw(st.sampled_from(["slice", "int", "all"]))
        if kind == "int":
            key.append(draw(st.integers(0, size - 1)))
        elif kind == "slice":
            step = draw(st.sampled_from([1, 2, 3, -1, -2]))
            if step > 0:
                # TensorStore refuses slices whose stop precedes their start.
                start = draw(st.none() | st.integers(0, size - 1))
                stop = draw(st.none() | st.integers(start or 0, size))
                key.append(slice(start, stop, step))
            else:
                # TensorStore (unlike NumPy) runs an open-ended negative slice to the
                # dimension's implicit bound; bounded ones agree with NumPy.
                start = draw(st.integers(0, size - 1))
                key.append(slice(start, draw(st.integers(0, start)), step))
        else:
            key.append(slice(None))
    return tuple(key)


_STORE = ts.open(
    {"driver": "zarr", "kvstore": "memory://", "metadata": {"chunks": [4, 3, 2]}},
    create=True,
    dtype=ts.int32,
    shape=SHAPE,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=_slices(), value=st.integers(-1000, 1000), transpose=st.booleans())
def test_random_views_match_numpy(key: tuple[Any, ...], value: int, transpose: bool) -> None:
    store = _STORE.result()
    reference = np.arange(np.prod(SHAPE), dtype=np.int32).reshape(SHAPE)
    store.write(reference).result()
    view = store[key]
    expected_view = reference[(*key, Ellipsis)]  # a view even when every term is an int
    if transpose:
        view, expected_view = view.T, expected_view.T
    np.testing.assert_array_equal(view.read().result(), expected_view)
    source = np.arange(expected_view.size, dtype=np.int32).reshape(expected_view.shape) + value
    view.write(source).result()
    expected_view[...] = source  # writes through to `reference`
    np.testing.assert_array_equal(store.read().result(), reference)
