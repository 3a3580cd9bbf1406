"""IndexDomain: construction, accessors, selection, geometric operations, JSON (checked against tensorstore)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import tensortrio as ts
from tensortrio.errors import InvalidArgumentError, OutOfRangeError


def test_construction_forms_and_str() -> None:
    assert repr(ts.IndexDomain(rank=2)) == "{ (-inf*, +inf*), (-inf*, +inf*) }"
    assert repr(ts.IndexDomain(shape=[2, 3])) == "{ [0, 2), [0, 3) }"
    assert repr(ts.IndexDomain([ts.Dim(5), ts.Dim(6, label="y")])) == '{ [0, 5), "y": [0, 6) }'
    assert repr(ts.IndexDomain(rank=0)) == "{  }"
    d = ts.IndexDomain(inclusive_min=[5], exclusive_max=[8], implicit_upper_bounds=[True])
    assert str(d) == "{ [5, 8*) }"


def test_accessors() -> None:
    d = ts.IndexDomain(inclusive_min=[1, 2, 3], shape=[3, 4, 5], labels=["x", "y", "z"])
    assert d.rank == d.ndim == len(d) == 3
    assert d.origin == d.inclusive_min == (1, 2, 3)
    assert d.shape == (3, 4, 5)
    assert d.exclusive_max == (4, 6, 8)
    assert d.inclusive_max == (3, 5, 7)
    assert d.labels == ("x", "y", "z")
    assert d.size == 60
    assert d.implicit_lower_bounds == (False, False, False)
    assert ts.IndexDomain(inclusive_min=[4]).implicit_upper_bounds == (True,)
    assert ts.IndexDomain(exclusive_max=[2]).implicit_lower_bounds == (True,)
    assert next(iter(d)) == ts.Dim(inclusive_min=1, exclusive_max=4, label="x")


def test_index_exp() -> None:
    assert ts.IndexDomain(rank=2).index_exp == (slice(None), slice(None))
    assert ts.IndexDomain(inclusive_min=[1, 2], exclusive_max=[5, 10]).index_exp == (slice(1, 5), slice(2, 10))
    arr = np.array([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]])
    np.testing.assert_array_equal(arr[ts.IndexDomain(inclusive_min=[0, 2], shape=[3, 2]).index_exp], [[3, 4], [8, 9]])
    with pytest.raises(InvalidArgumentError, match=r"^Cannot convert domain \{ \[-2, 5\) \} with negative bounds to index expression$"):
        ts.IndexDomain(inclusive_min=[-2], exclusive_max=[5]).index_exp


def test_selection() -> None:
    d = ts.IndexDomain(inclusive_min=[1, 2, 3], exclusive_max=[4, 5, 6], labels=["x", "y", "z"])
    assert repr(d[0]) == 'Dim(inclusive_min=1, exclusive_max=4, label="x")'
    assert repr(d["y"]) == 'Dim(inclusive_min=2, exclusive_max=5, label="y")'
    assert repr(d[-1]) == 'Dim(inclusive_min=3, exclusive_max=6, label="z")'
    assert str(d[:2]) == '{ "x": [1, 4), "y": [2, 5) }'
    assert str(d[0, -1]) == '{ "x": [1, 4), "z": [3, 6) }'
    assert str(d["y", "x"]) == '{ "y": [2, 5), "x": [1, 4) }'
    with pytest.raises(InvalidArgumentError, match=r"^Input dimensions \{1\} specified more than once$"):
        d["y", 1]
    with pytest.raises(OutOfRangeError, match=r'^Label "w" does not match one of \{"x", "y", "z"\}$'):
        d["w"]
    with pytest.raises(OutOfRangeError, match=r"^Dimension index 3 is outside valid range \[-3, 3\)$"):
        d[3]


def test_transpose() -> None:
    d = ts.IndexDomain(labels=["x", "y", "z"])
    assert str(d.T) == '{ "z": (-inf*, +inf*), "y": (-inf*, +inf*), "x": (-inf*, +inf*) }'
    assert str(ts.IndexDomain(shape=[3, 4]).transpose([1, 0])) == "{ [0, 4), [0, 3) }"
    with pytest.raises(InvalidArgumentError, match=r"^Source dimension list \{0\} is not a valid dimension permutation for rank 2$"):
        ts.IndexDomain(shape=[3, 4]).transpose([0])


def test_intersect_hull() -> None:
    a = ts.IndexDomain(inclusive_min=[1, 2, 3], exclusive_max=[4, 5, 6], labels=["x", "y", ""])
    assert str(a.intersect(ts.IndexDomain(shape=[2, 3, 4]))) == '{ "x": [1, 2), "y": [2, 3), [3, 4) }'
    assert str(a.hull(ts.IndexDomain(shape=[2, 3, 4]))) == '{ "x": [0, 4), "y": [0, 5), [0, 6) }'
    with pytest.raises(InvalidArgumentError, match=r"^Cannot intersect index domain .*: Ranks do not match$"):
        a.intersect(ts.IndexDomain(shape=[3]))


def test_slice_by_domain() -> None:
    a = ts.IndexDomain(inclusive_min=[0, 1], exclusive_max=[5, 7])
    assert str(a[ts.IndexDomain(inclusive_min=[2, 3], exclusive_max=[4, 6])]) == "{ [2, 4), [3, 6) }"
    a = ts.IndexDomain(inclusive_min=[0, 1, 2], exclusive_max=[5, 7, 8], labels=["x", "y", "z"])
    b = ts.IndexDomain(inclusive_min=[2, 3], exclusive_max=[6, 4], labels=["y", "x"])
    assert str(a[b]) == '{ "x": [3, 4), "y": [2, 6), "z": [2, 8) }'
    a = ts.IndexDomain(inclusive_min=[0] * 4, exclusive_max=[10] * 4, labels=["x", "", "", "y"])
    b = ts.IndexDomain(inclusive_min=[1, 2, 3, 4], exclusive_max=[6, 7, 8, 9], labels=["y", "", "x", ""])
    assert str(a[b]) == '{ "x": [3, 8), [2, 7), [4, 9), "y": [1, 6) }'


def test_domain_by_transform() -> None:
    domain = ts.IndexDomain(inclusive_min=[1, 2, 3], exclusive_max=[6, 7, 8])
    transform = ts.IndexTransform(
        input_rank=4,
        output=[
            ts.OutputIndexMap(offset=5, input_dimension=3),
            ts.OutputIndexMap(offset=-7, input_dimension=0),
            ts.OutputIndexMap(offset=3, input_dimension=1),
        ],
    )
    assert str(domain[transform]) == "{ [9, 14), [0, 5), (-inf*, +inf*), [-4, 1) }"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shape": [2, 3], "inclusive_max": [2, 3]}, r"^Cannot specify both `inclusive_max` and `shape`$"),
        ({"shape": [2, 3], "labels": ["a"]}, r"^Rank specified by `labels` \(1\) does not match rank specified by `shape` \(2\)$"),
        ({"rank": 3, "shape": [2, 3]}, r"^Rank specified by `shape` \(2\) does not match rank specified by `rank` \(3\)$"),
        ({}, r"^Must specify `rank`$"),
        ({"shape": [-2, 3]}, r"^\(0, -2\) do not specify a valid sized index interval for dimension 0$"),
        ({"shape": [2, 3], "labels": ["a", "a"]}, r'^Dimension label\(s\) "a" not unique$'),
        ({"rank": 33}, r"^Invalid rank: 33$"),
    ],
)
def test_invalid(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        ts.IndexDomain(**kwargs)


def test_json() -> None:
    d = ts.IndexDomain(json={"inclusive_min": ["-inf", 7, ["-inf"], [8]], "exclusive_max": ["+inf", 10, ["+inf"], [17]], "labels": ["x", "y", "z", ""]})
    assert str(d) == '{ "x": (-inf, +inf), "y": [7, 10), "z": (-inf*, +inf*), [8*, 17*) }'
    assert d.to_json() == {"inclusive_min": ["-inf", 7, ["-inf"], [8]], "exclusive_max": ["+inf", 10, ["+inf"], [17]], "labels": ["x", "y", "z", ""]}
    assert ts.IndexDomain(rank=2).to_json() == {"rank": 2}
    assert ts.IndexDomain(shape=[2, 3]).to_json() == {"exclusive_max": [2, 3], "inclusive_min": [0, 0]}
    assert ts.IndexDomain([ts.Dim(), ts.Dim(3)]).to_json() == {"exclusive_max": [["+inf"], 3], "inclusive_min": [["-inf"], 0]}
    assert ts.IndexDomain(json={"inclusive_max": [1, [2]]}).to_json() == {"exclusive_max": [2, [3]]}
    assert pickle.loads(pickle.dumps(d)) == d


@pytest.mark.parametrize(
    ("json", "message"),
    [
        ({"shape": [2, 3], "inclusive_max": [1, 2]}, r'At most one of "shape", "inclusive_max", "exclusive_max" members is allowed$'),
        ({"inclusive_min": [1, "-inf"], "exclusive_max": ["+inf", 4], "foo": 1}, r'Object includes extra members: "foo"$'),
        ({"inclusive_min": [1, "-inf"], "exclusive_max": ["+inf", 4], "labels": ["a"]}, r'Error parsing object member "labels": Array has length 1 but should have length 2$'),
        ({"inclusive_min": [1, "-inf"], "exclusive_max": ["+inf", "x"]}, r'Error parsing object member "exclusive_max": Error parsing value at position 1: Expected 64-bit signed integer or "\+inf", but received: "x"$'),
        (5, r"Expected object, but received: 5$"),
        ({}, r'At least one of "rank", "inclusive_min", "shape", "inclusive_max", "exclusive_max", "labels" members must be specified$'),
    ],
)
def test_json_errors(json: object, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^Error parsing index domain from JSON: " + message):
        ts.IndexDomain(json=json)
