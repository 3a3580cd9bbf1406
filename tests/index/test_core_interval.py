"""ts.Dim / IndexInterval: construction forms, accessors, set operations, str/repr (checked against tensorstore)."""

from __future__ import annotations

import pickle

import pytest

import tensortrio as ts
from tensortrio.errors import InvalidArgumentError


@pytest.mark.parametrize(
    ("dim", "expected_repr", "expected_str"),
    [
        (ts.Dim(5, label="x"), 'Dim(inclusive_min=0, exclusive_max=5, label="x")', '"x": [0, 5)'),
        (ts.Dim(inclusive_min=2, exclusive_max=5, implicit_lower=True), "Dim(inclusive_min=2, implicit_lower=True, exclusive_max=5)", "[2*, 5)"),
        (ts.Dim(), "Dim()", "(-inf*, +inf*)"),
        (ts.Dim(inclusive_min=1, inclusive_max=4), "Dim(inclusive_min=1, exclusive_max=5)", "[1, 5)"),
        (ts.Dim(inclusive_min=-ts.inf, exclusive_max=5, implicit_lower=False), "Dim(implicit_lower=False, exclusive_max=5)", "(-inf, 5)"),
        (ts.Dim(inclusive_min=3, implicit_upper=False), "Dim(inclusive_min=3, implicit_upper=False)", "[3, +inf)"),
        (ts.Dim(size=5, label="x", implicit_upper=True), 'Dim(inclusive_min=0, exclusive_max=5, implicit_upper=True, label="x")', '"x": [0, 5*)'),
        (ts.Dim("x", implicit_upper=False), 'Dim(implicit_upper=False, label="x")', '"x": (-inf*, +inf)'),
        (ts.Dim(3, "x", inclusive_min=2), 'Dim(inclusive_min=2, exclusive_max=5, label="x")', '"x": [2, 5)'),
        (ts.Dim(5, 10), "Dim(inclusive_min=5, exclusive_max=10)", "[5, 10)"),
        (ts.Dim(3, label="a\nb\"c\\é"), 'Dim(inclusive_min=0, exclusive_max=3, label="a\\nb\\"c\\\\\\xc3\\xa9")', '"a\\nb\\"c\\\\\\xc3\\xa9": [0, 3)'),
        (ts.Dim(None), "Dim()", "(-inf*, +inf*)"),
    ],
)
def test_repr_and_str(dim: ts.Dim, expected_repr: str, expected_str: str) -> None:
    assert repr(dim) == expected_repr
    assert str(dim) == expected_str


def test_repr_round_trips_through_eval() -> None:
    for dim in (ts.Dim(5, label="x"), ts.Dim(), ts.Dim(inclusive_min=3, implicit_upper=False)):
        assert eval(repr(dim), {"Dim": ts.Dim}) == dim


def test_accessors() -> None:
    dim = ts.Dim(inclusive_min=5, inclusive_max=10)
    assert (dim.inclusive_min, dim.inclusive_max, dim.exclusive_min, dim.exclusive_max) == (5, 10, 4, 11)
    assert dim.size == len(dim) == 6
    assert dim.finite
    assert not dim.empty
    assert ts.Dim().inclusive_min == -ts.inf == -4611686018427387903
    assert ts.Dim().exclusive_max == 4611686018427387904
    assert ts.Dim().size == 9223372036854775807
    assert not ts.Dim(exclusive_max=10).finite
    assert ts.Dim(exclusive_max=5).implicit_lower
    assert not ts.Dim(exclusive_max=5).implicit_upper
    assert ts.Dim(0).empty


def test_contains_and_iter() -> None:
    assert 5 in ts.Dim(inclusive_min=1, exclusive_max=10)
    assert 5 in ts.Dim()
    assert 5 not in ts.Dim(inclusive_min=6)
    assert ts.inf not in ts.Dim()
    assert ts.Dim(inclusive_min=1, exclusive_max=5) in ts.Dim(10)
    assert ts.Dim(inclusive_min=1, exclusive_max=5) not in ts.Dim(4)
    assert list(ts.Dim(inclusive_min=1, exclusive_max=6)) == [1, 2, 3, 4, 5]
    with pytest.raises(InvalidArgumentError, match=r"^Cannot iterate over infinite interval$"):
        list(ts.Dim())


def test_intersect_and_hull() -> None:
    a = ts.Dim(inclusive_min=1, exclusive_max=5, label="x")
    assert repr(a.intersect(ts.Dim(size=3))) == 'Dim(inclusive_min=1, exclusive_max=3, label="x")'
    assert repr(a.hull(ts.Dim(size=3))) == 'Dim(inclusive_min=0, exclusive_max=5, label="x")'
    assert repr(ts.Dim(inclusive_min=1, exclusive_max=5).intersect(ts.Dim(7, 9))) == "Dim(inclusive_min=7, exclusive_max=7)"
    assert repr(ts.Dim(inclusive_min=3).hull(ts.Dim(5))) == "Dim(inclusive_min=0)"
    assert repr(ts.Dim(3, 3).hull(ts.Dim(8, 10))) == "Dim(inclusive_min=8, exclusive_max=10)"
    with pytest.raises(InvalidArgumentError, match=r"^Dimension labels do not match"):
        ts.Dim(5, label="x").intersect(ts.Dim(3, label="y"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"inclusive_min": 5, "exclusive_max": 3}, r"^\(5, 3\) do not specify a valid half-open index interval$"),
        ({"size": -1}, r"^\(0, -1\) do not specify a valid sized index interval$"),
        ({"inclusive_min": ts.inf}, r"^\(4611686018427387903, 4611686018427387904\) do not specify a valid half-open index interval$"),
        ({"inclusive_min": 1, "inclusive_max": -1}, r"^\(1, -1\) do not specify a valid closed index interval$"),
    ],
)
def test_invalid(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        ts.Dim(**kwargs)


def test_invalid_is_value_error_and_bad_keyword() -> None:
    with pytest.raises(ValueError, match=r"valid half-open"):
        ts.Dim(5, 3)
    with pytest.raises(TypeError, match=r"^Dim\(\): incompatible constructor arguments"):
        ts.Dim(5, bogus=1)


def test_equality_and_pickle() -> None:
    assert ts.Dim(inclusive_min=5, exclusive_max=10) == ts.Dim(inclusive_min=5, inclusive_max=9)
    assert ts.Dim(5) != ts.Dim(5, label="x")
    assert ts.Dim(5) != ts.Dim(5, implicit_upper=True)
    dim = ts.Dim(inclusive_min=3, label="x")
    assert pickle.loads(pickle.dumps(dim)) == dim
