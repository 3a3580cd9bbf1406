"""Hypothesis: JSON/pickle round trips and composition agree with applying transforms one after another."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tensortrio as ts
from tensortrio.index.apply import transform_array


@st.composite
def indexed_transforms(draw: st.DrawFn) -> tuple[ts.IndexTransform, tuple[int, ...]]:
    """A transform over an array of the returned shape, built by one random indexing step."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    origin = tuple(draw(st.lists(st.integers(-3, 3), min_size=len(shape), max_size=len(shape))))
    labels = [draw(st.sampled_from(["", f"d{i}"])) for i in range(len(shape))]
    t = ts.IndexTransform(input_inclusive_min=origin, input_shape=shape, input_labels=labels)
    key: list[Any] = []
    for lo, n in zip(origin, shape, strict=True):
        kind = draw(st.sampled_from(["slice", "array", "full"]))
        if kind == "slice":
            start = draw(st.integers(lo, lo + n - 1))
            key.append(slice(start, draw(st.integers(start + 1, lo + n)), draw(st.sampled_from([1, 2]))))
        elif kind == "array":
            key.append(np.array(draw(st.lists(st.integers(lo, lo + n - 1), min_size=2, max_size=2))))
        else:
            key.append(slice(None))
    mode = draw(st.sampled_from(["default", "oindex"]))
    indexed = t[tuple(key)] if mode == "default" else t.oindex[tuple(key)]
    return indexed, origin


@settings(max_examples=80, deadline=None)
@given(case=indexed_transforms())
def test_json_and_pickle_round_trip(case: tuple[ts.IndexTransform, tuple[int, ...]]) -> None:
    t, _ = case
    # Like TensorStore, to_json drops index_array_bounds that every value satisfies, so the
    # parsed transform equals the original only up to that (as in tensorstore itself).
    assert ts.IndexTransform(json=t.to_json()).to_json() == t.to_json()
    assert pickle.loads(pickle.dumps(t)) == t
    assert ts.IndexDomain(json=t.domain.to_json()) == t.domain
    assert pickle.loads(pickle.dumps(t.domain)) == t.domain


@settings(max_examples=80, deadline=None)
@given(case=indexed_transforms(), data=st.data())
def test_composition_equals_sequential_application(
    case: tuple[ts.IndexTransform, tuple[int, ...]], data: st.DataObject
) -> None:
    t, origin = case
    # The source array spans the original domain [origin, origin + 4] in every dimension.
    source_shape = (4,) * len(origin)
    source = np.arange(int(np.prod(source_shape))).reshape(source_shape)
    # Second step: a random slice of t's (finite) domain.
    second: list[Any] = []
    for dim in t.domain:
        start = data.draw(st.integers(dim.inclusive_min, max(dim.inclusive_min, dim.exclusive_max - 1)))
        second.append(slice(start, data.draw(st.integers(start, dim.exclusive_max))))
    inner = ts.IndexTransform(t.domain)[tuple(second)]
    composed = t[inner]
    seen = transform_array(t, source, origin)
    expected = transform_array(inner, seen, t.domain.origin)
    np.testing.assert_array_equal(transform_array(composed, source, origin), expected)
