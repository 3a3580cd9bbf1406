"""NumPy-style indexing of transforms: TensorStore cases (verified with tensorstore) and Hypothesis vs NumPy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensortrio as ts
from tensortrio.errors import InvalidArgumentError, OutOfRangeError
from tensortrio.index.apply import strided_view, transform_array
from tensortrio.index.indexing import IndexingMode, apply_index_terms

T = ts.IndexTransform(input_inclusive_min=[0, 2], input_shape=[10, 5], input_labels=["x", "y"])


@pytest.mark.parametrize(
    ("key", "domain", "maps"),
    [
        (np.s_[1:8:2], '{ "x": [0, 4), "y": [2, 7) }', [ts.OutputIndexMap(input_dimension=0, offset=1, stride=2), ts.OutputIndexMap(input_dimension=1)]),
        (np.s_[::-1], '{ "x": [-9, 1), "y": [2, 7) }', [ts.OutputIndexMap(input_dimension=0, stride=-1), ts.OutputIndexMap(input_dimension=1)]),
        (np.s_[8:1:-2], '{ "x": [-4, 0), "y": [2, 7) }', [ts.OutputIndexMap(input_dimension=0, stride=-2), ts.OutputIndexMap(input_dimension=1)]),
        (np.s_[None, ..., None], '{ [0*, 1*), "x": [0, 10), "y": [2, 7), [0*, 1*) }', [ts.OutputIndexMap(input_dimension=1), ts.OutputIndexMap(input_dimension=2)]),
        (np.s_[..., 3], '{ "x": [0, 10) }', [ts.OutputIndexMap(input_dimension=0), ts.OutputIndexMap(3)]),
        (np.s_[[1, 2]], '{ [0, 2), "y": [2, 7) }', [ts.OutputIndexMap([[1], [2]], index_range=ts.Dim(0, 10)), ts.OutputIndexMap(input_dimension=1)]),
        (np.s_[[1, 2], [3, 4]], "{ [0, 2) }", [ts.OutputIndexMap([1, 2], index_range=ts.Dim(0, 10)), ts.OutputIndexMap([3, 4], index_range=ts.Dim(2, 7))]),
        (np.s_[np.array(3), [2, 3]], "{ [0, 2) }", [ts.OutputIndexMap(3), ts.OutputIndexMap([2, 3], index_range=ts.Dim(2, 7))]),
        (np.s_[True], '{ [0, 1), "x": [0, 10), "y": [2, 7) }', [ts.OutputIndexMap(input_dimension=1), ts.OutputIndexMap(input_dimension=2)]),
        (np.s_[[]], '{ [0, 0), "y": [2, 7) }', [ts.OutputIndexMap(0), ts.OutputIndexMap(input_dimension=1)]),
    ],
)
def test_tensorstore_cases(key: Any, domain: str, maps: list[ts.OutputIndexMap]) -> None:
    result = T[key]
    assert str(result.domain) == domain
    assert result.output == maps


def test_placement_rules() -> None:
    t = ts.IndexTransform(input_shape=[4, 5, 6], input_labels=["x", "y", "z"])
    assert str(t[[1, 2], :, 3].domain) == '{ [0, 2), "y": [0, 5) }'
    assert str(t[1, :, [1, 2]].domain) == '{ "y": [0, 5), [0, 2) }'  # integers do not count (unlike NumPy)
    assert str(t.vindex[:, 3, [1, 2]].domain) == '{ [0, 2), "x": [0, 4) }'
    assert str(t.oindex[[1, 2], 3, [[1], [2]]].domain) == "{ [0, 2), [0, 2), [0, 1) }"
    t4 = ts.IndexTransform(input_shape=[4, 5, 6, 7], input_labels=["x", "y", "z", "w"])
    assert str(t4[:, [0, 1], None, [0, 1]].domain) == '{ [0, 2), "x": [0, 4), [0*, 1*), "w": [0, 7) }'
    assert str(t4[:, [1, 2], 3, [1, 2]].domain) == '{ "x": [0, 4), [0, 2) }'
    assert str(t4.oindex[:, np.array([[True, False, True, False, False, False]] * 5)].domain) == '{ "x": [0, 4), [0, 10), "w": [0, 7) }'


def test_implicit_bounds() -> None:
    u = ts.IndexTransform(input_rank=2)
    assert str(u[3::2].domain) == "{ [1, +inf*), (-inf*, +inf*) }"
    v = ts.IndexTransform(input_inclusive_min=[0], input_exclusive_max=[10], implicit_upper_bounds=[True])
    assert str(v[3:15].domain) == "{ [3, 15) }"
    assert str(v[3:].domain) == "{ [3, 10*) }"
    assert v[15].output[0] == ts.OutputIndexMap(15)
    assert str(ts.IndexTransform(input_shape=[10], implicit_upper_bounds=[True])[::-2].domain) == "{ [-4*, 1) }"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (np.s_[-1], r"^Checking bounds of constant output index map for dimension 0: Index -1 is outside valid range \[0, 10\)$"),
        (np.s_[0:11], r"^Computing interval slice for dimension 0: Slice interval \[0, 11\) is not contained within domain \[0, 10\)$"),
        (np.s_[5:3], r"^Computing interval slice for dimension 0: \(5, 2\) do not specify a valid closed index interval$"),
        (np.s_[::0], r"^Computing interval slice for dimension 0: Invalid stride 0$"),
        (np.s_[1, 2, 3], r"^Indexing expression requires 3 dimensions, and cannot be applied to a domain of rank 2$"),
        (np.s_[..., ...], r"^An index can only have a single ellipsis \(`...`\)$"),
        (np.s_[[1, 2], [1, 2, 3]], r"^Incompatible index array shapes: \{3\} vs \{2\}$"),
        (np.s_[1.5], r"^Only integers, slices"),
        (np.s_[[12]], r"^Index 12 is outside valid range \[0, 10\)$"),
        (np.s_[np.array([1.0])], r"^Arrays used as indices must be of integer \(or boolean\) type$"),
    ],
)
def test_errors(key: Any, message: str) -> None:
    with pytest.raises(OutOfRangeError, match=message):
        T[key]
    with pytest.raises(IndexError):
        T[key]


def test_unbounded_strided_slice_and_gather_errors() -> None:
    with pytest.raises(OutOfRangeError, match=r"requires a finite start index$"):
        ts.IndexTransform(input_rank=1)[::2]
    arr = ts.IndexTransform(input_shape=[5], output=[ts.OutputIndexMap([1, 7, 2, 3, 4])])
    assert arr[[1, 3]].output[0] == ts.OutputIndexMap([7, 3])
    with pytest.raises(OutOfRangeError, match=r"^In index array map for output dimension 0: Index 9 is outside valid range \[0, 5\)$"):
        arr[[1, 9]]


def test_apply_index_terms_for_dim_expressions() -> None:
    t = ts.IndexTransform(input_labels=["x", "y", "z"])
    result, dims = apply_index_terms(t, ("x", "z"), (5, 6), IndexingMode.DEFAULT)
    assert str(result.domain) == '{ "y": (-inf*, +inf*) }'
    assert dims == ()
    result, dims = apply_index_terms(t, ("x", "y"), 5, IndexingMode.DEFAULT)
    assert result.output == [ts.OutputIndexMap(5), ts.OutputIndexMap(5), ts.OutputIndexMap(input_dimension=0)]
    result, dims = apply_index_terms(t, ("x", "z"), slice(5, 30), IndexingMode.DEFAULT)
    assert str(result.domain) == '{ "x": [5, 30), "y": (-inf*, +inf*), "z": [5, 30) }'
    assert dims == (0, 2)
    result, dims = apply_index_terms(t, ("x", "z"), slice([5, 20], [10, 30]), IndexingMode.DEFAULT)
    assert str(result.domain) == '{ "x": [5, 10), "y": (-inf*, +inf*), "z": [20, 30) }'
    t2 = ts.IndexTransform(input_labels=["x", "y"])
    result, dims = apply_index_terms(t2, 1, None, IndexingMode.DEFAULT)
    assert str(result.domain) == '{ "x": (-inf*, +inf*), [0*, 1*), "y": (-inf*, +inf*) }'
    assert dims == (1,)
    result, dims = apply_index_terms(t2, (0, -1), (None, None), IndexingMode.DEFAULT)
    assert str(result.domain) == '{ [0*, 1*), "x": (-inf*, +inf*), "y": (-inf*, +inf*), [0*, 1*) }'
    assert dims == (0, 3)
    with pytest.raises(OutOfRangeError, match=r"^New dimensions cannot be specified by label$"):
        apply_index_terms(t2, "x", None, IndexingMode.DEFAULT)
    x = ts.IndexTransform(input_shape=[2, 2, 2], input_labels=["x", "y", "z"])
    result, dims = apply_index_terms(x, ("z", "y"), ([1, 0], [1, 1]), IndexingMode.DEFAULT)
    assert str(result.domain) == '{ "x": [0, 2), [0, 2) }'
    assert dims == (1,)
    data = np.array([[[1, 2], [3, 4]], [[5, 6], [7, 8]]])
    np.testing.assert_array_equal(transform_array(result, data), [[4, 3], [8, 7]])
    result, _ = apply_index_terms(x, ("z", "x"), ([1, 0], [1, 1]), IndexingMode.DEFAULT)
    assert str(result.domain) == '{ "y": [0, 2), [0, 2) }'
    result, _ = apply_index_terms(x, ("x", "z"), np.array([[True, False], [True, True]]), IndexingMode.DEFAULT)
    np.testing.assert_array_equal(transform_array(result, data), [[1, 3], [5, 7], [6, 8]])


def test_transform_array_bounds_error() -> None:
    t = ts.IndexTransform(input_shape=[3], output=[ts.OutputIndexMap(input_dimension=0, offset=2)])
    with pytest.raises(OutOfRangeError, match=r"^Output dimension 0: Index 4 is outside valid range \[0, 3\)$"):
        transform_array(t, np.arange(3))
    with pytest.raises(InvalidArgumentError, match=r"^Input dimension 0 has unbounded domain"):
        transform_array(ts.IndexTransform(1), np.arange(3))


# --- Hypothesis: indexing a transform then applying it equals NumPy's indexing -----------------


@st.composite
def shapes(draw: st.DrawFn) -> tuple[int, ...]:
    return tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=4)))


@st.composite
def basic_term(draw: st.DrawFn, n: int) -> Any:
    kind = draw(st.sampled_from(["int", "slice", "full"]))
    if kind == "int":
        return draw(st.integers(0, n - 1))
    if kind == "full":
        return slice(None)
    step = draw(st.sampled_from([None, 1, 2, 3, -1, -2]))
    if step is None or step > 0:
        start = draw(st.integers(0, n))
        stop = draw(st.integers(start, n))
        return slice(draw(st.sampled_from([start, None])) if start == 0 else start, stop, step)
    start = draw(st.integers(0, n - 1))
    stop = draw(st.integers(-1, start))
    return slice(start, None if stop == -1 else stop, step)


@st.composite
def array_term(draw: st.DrawFn, n: int, length: int) -> Any:
    if draw(st.booleans()):
        return np.array(draw(st.lists(st.integers(0, n - 1), min_size=length, max_size=length)), dtype=np.int64)
    mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if int(mask.sum()) == length:
        return mask
    return np.array(draw(st.lists(st.integers(0, n - 1), min_size=length, max_size=length)), dtype=np.int64)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_basic_indexing_matches_numpy(data: st.DataObject) -> None:
    shape = data.draw(shapes())
    labels = [data.draw(st.sampled_from(["", f"l{i}"])) for i in range(len(shape))]
    array = np.arange(int(np.prod(shape))).reshape(shape)
    rank = len(shape)
    n_terms = data.draw(st.integers(0, rank))
    # With an ellipsis, terms after it index the trailing dimensions.
    split = data.draw(st.integers(0, n_terms)) if data.draw(st.booleans()) else None
    head = n_terms if split is None else split
    key: list[Any] = [data.draw(basic_term(shape[i])) for i in range(head)]
    if split is not None:
        key.append(Ellipsis)
        key += [data.draw(basic_term(shape[i])) for i in range(rank - (n_terms - split), rank)]
    for _ in range(data.draw(st.integers(0, 2))):
        key.insert(data.draw(st.integers(0, len(key))), None)
    t = ts.IndexTransform(input_shape=shape, input_labels=labels)
    result = t[tuple(key)]
    np.testing.assert_array_equal(transform_array(result, array), array[tuple(key)])
    np.testing.assert_array_equal(transform_array(ts.IndexTransform(json=result.to_json()), array), array[tuple(key)])
    view = strided_view(result, array)  # (None for a new axis, or an empty result)
    if view is not None:
        np.testing.assert_array_equal(view, array[tuple(key)])
        assert view.base is not None  # a view, not a copy


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_strided_view_is_the_gathered_array(data: st.DataObject) -> None:
    shape = data.draw(shapes())
    array = np.arange(int(np.prod(shape))).reshape(shape)
    key = tuple(data.draw(basic_term(n)) for n in shape)
    t = ts.IndexTransform(input_shape=shape)[key]
    # The array placed at ``origin``: every output index moved by it.
    origin = [data.draw(st.integers(-3, 3)) for _ in shape]
    json = t.to_json()
    json.setdefault("output", [{"input_dimension": i} for i in range(t.input_rank)])  # (an identity omits it)
    for m, o in zip(json["output"], origin, strict=True):
        m["offset"] = m.get("offset", 0) + o
    t = ts.IndexTransform(json=json)
    order = data.draw(st.permutations(range(t.input_rank)))
    t = t[ts.d[list(order)].transpose[:]] if t.input_rank else t
    t = t[ts.d[:].translate_by[data.draw(st.integers(-4, 4))]] if t.input_rank else t
    view = strided_view(t, array, origin)
    if t.domain.size == 0:
        assert view is None
        return
    assert view is not None
    np.testing.assert_array_equal(view, transform_array(t, array, origin))
    np.testing.assert_array_equal(view, np.transpose(array[key], order) if t.input_rank else array[key])


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_array_indexing_matches_numpy(data: st.DataObject) -> None:
    shape = data.draw(shapes())
    array = np.arange(int(np.prod(shape))).reshape(shape)
    length = data.draw(st.integers(0, 3))
    key: list[Any] = []
    for n in shape:
        kind = data.draw(st.sampled_from(["array", "slice", "full"]))
        key.append(data.draw(array_term(n, length)) if kind == "array" else slice(None) if kind == "full" else data.draw(basic_term(n).filter(lambda k: isinstance(k, slice))))
    mode = data.draw(st.sampled_from(["default", "oindex", "vindex"]))
    t = ts.IndexTransform(input_shape=shape)
    array_terms = [i for i, k in enumerate(key) if isinstance(k, np.ndarray)]
    if mode == "default":
        expected = array[tuple(key)]
        got = transform_array(t[tuple(key)], array)
    elif mode == "vindex":
        expected = array[tuple(key)]
        if array_terms and array_terms == list(range(array_terms[0], array_terms[-1] + 1)):
            expected = np.moveaxis(expected, array_terms[0], 0)
        got = transform_array(t.vindex[tuple(key)], array)
    else:
        expected = array
        for axis in reversed(range(len(key))):
            k = key[axis]
            expected = expected[(slice(None),) * axis + (np.nonzero(k)[0] if k.dtype == bool else k,)] if isinstance(k, np.ndarray) else expected[(slice(None),) * axis + (k,)]
        got = transform_array(t.oindex[tuple(key)], array)
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_composition_matches_sequential_numpy(data: st.DataObject) -> None:
    shape = data.draw(shapes())
    array = np.arange(int(np.prod(shape))).reshape(shape)
    first = tuple(data.draw(basic_term(n).filter(lambda k: isinstance(k, slice))) for n in shape)
    t = ts.IndexTransform(input_shape=shape)[first]
    inner = array[first]
    second = tuple(data.draw(array_term(n, 2)) if n and data.draw(st.booleans()) else slice(None) for n in inner.shape)
    if any(n == 0 for n in inner.shape):
        return
    # Domains of t start at arbitrary origins; index arrays address them in domain coordinates.
    shifted = tuple(
        (k.nonzero()[0] if k.dtype == bool else k) + lo if isinstance(k, np.ndarray) else k
        for k, lo in zip(second, t.domain.origin, strict=True)
    )
    np.testing.assert_array_equal(transform_array(t[shifted], array), inner[second])
