"""ts.Unit and dimension_units normalisation (expectations checked against tensorstore 0.1.86)."""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np
import pytest

import tensortrio as ts
from tensortrio.schema.unit import (
    dimension_units_from_json,
    dimension_units_to_json,
    normalize_dimension_units,
)


@pytest.mark.parametrize(
    ("args", "kwargs", "expected_repr"),
    [
        (("4nm",), {}, 'Unit(4, "nm")'),
        ((" 4  nm ",), {}, 'Unit(4, "nm")'),
        (("\n4\tnm\n",), {}, 'Unit(4, "nm")'),
        (("nm",), {}, 'Unit(1, "nm")'),
        (("",), {}, 'Unit(1, "")'),
        (("3e5",), {}, 'Unit(300000, "")'),
        (("4.5e3nm",), {}, 'Unit(4500, "nm")'),
        (("-4nm",), {}, 'Unit(-4, "nm")'),
        (("+4nm",), {}, 'Unit(4, "nm")'),
        ((".5nm",), {}, 'Unit(0.5, "nm")'),
        (("5.nm",), {}, 'Unit(5, "nm")'),
        (("4 n m",), {}, 'Unit(4, "n m")'),
        (("4e nm",), {}, 'Unit(4, "e nm")'),
        (("4.5.6nm",), {}, 'Unit(4.5, ".6nm")'),
        (("0x10nm",), {}, 'Unit(0, "x10nm")'),
        (("1_000nm",), {}, 'Unit(1, "_000nm")'),
        (("inf nm",), {}, 'Unit(1, "inf nm")'),
        (("1e400nm",), {}, 'Unit(1, "1e400nm")'),  # out of range: not a number
        (("1e-400nm",), {}, 'Unit(1, "1e-400nm")'),
        (("- 4nm",), {}, 'Unit(1, "- 4nm")'),
        (("4ñm",), {}, 'Unit(4, "\\xc3\\xb1m")'),
        ((b"4nm",), {}, 'Unit(4, "nm")'),
        ((np.str_("4nm"),), {}, 'Unit(4, "nm")'),
        ((4, "nm"), {}, 'Unit(4, "nm")'),
        ((4.5, "nm"), {}, 'Unit(4.5, "nm")'),
        ((4, " nm "), {}, 'Unit(4, " nm ")'),  # the two-argument form keeps the base unit as is
        ((4, "5nm"), {}, 'Unit(4, "5nm")'),
        ((4, b"nm"), {}, 'Unit(4, "nm")'),
        ((np.float32(4.5), "nm"), {}, 'Unit(4.5, "nm")'),
        ((np.int64(4), "nm"), {}, 'Unit(4, "nm")'),
        (((4, "nm"),), {}, 'Unit(4, "nm")'),
        (([4, "nm"],), {}, 'Unit(4, "nm")'),
        ((4,), {}, 'Unit(4, "")'),
        ((3.5,), {}, 'Unit(3.5, "")'),
        ((True,), {}, 'Unit(1, "")'),
        ((), {}, 'Unit(1, "")'),
        ((float("inf"),), {}, 'Unit(inf, "")'),
        ((float("nan"),), {}, 'Unit(nan, "")'),
        ((), {"multiplier": 4, "base_unit": "nm"}, 'Unit(4, "nm")'),
        ((), {"multiplier": 4}, 'Unit(4, "")'),
        ((), {"unit": "4nm"}, 'Unit(4, "nm")'),
        ((), {"unit": (4, "nm")}, 'Unit(4, "nm")'),
        ((), {"json": [3.5, "nm"]}, 'Unit(3.5, "nm")'),
        ((), {"json": "4nm"}, 'Unit(4, "nm")'),
        ((), {"json": " nm "}, 'Unit(1, "nm")'),
        ((), {"json": [4, " nm "]}, 'Unit(4, " nm ")'),
        ((), {"json": 4}, 'Unit(4, "")'),
        ((), {"json": -4}, 'Unit(-4, "")'),
        ((1 / 3, "nm"), {}, 'Unit(0.333333, "nm")'),
        ((123456789012, "nm"), {}, 'Unit(1.23457e+11, "nm")'),
        ((1e20, "nm"), {}, 'Unit(1e+20, "nm")'),
        ((1e-7, "nm"), {}, 'Unit(1e-07, "nm")'),
        ((-0.0, "nm"), {}, 'Unit(-0, "nm")'),
        ((4, 'a"b'), {}, 'Unit(4, "a\\"b")'),
        ((4, "a\nb\tc"), {}, 'Unit(4, "a\\nb\\tc")'),
        ((4, "a\x01b\x7f"), {}, 'Unit(4, "a\\x01\\x62\\x7f")'),  # hex digit after \x01 escaped
    ],
)
def test_construction_forms_and_repr(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected_repr: str
) -> None:
    assert repr(ts.Unit(*args, **kwargs)) == expected_repr


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        (ts.Unit(4, "nm"), "4 nm"),
        (ts.Unit(1, "nm"), "nm"),
        (ts.Unit(1, ""), "1"),
        (ts.Unit(3, ""), "3"),
        (ts.Unit(4.5, "nm"), "4.5 nm"),
        (ts.Unit(1, " nm"), " nm"),
        (ts.Unit(4, "ñ"), "4 ñ"),
        (ts.Unit(float("-inf"), "nm"), "-inf nm"),
        (ts.Unit(1 / 3, "nm"), "0.333333 nm"),
    ],
)
def test_str(unit: ts.Unit, expected: str) -> None:
    assert str(unit) == expected


def test_accessors_and_json() -> None:
    unit = ts.Unit("3.5nm")
    assert unit.multiplier == 3.5
    assert unit.base_unit == "nm"
    assert ts.Unit("3nm").to_json() == [3.0, "nm"]
    assert ts.Unit(4, "").to_json() == [4.0, ""]
    assert ts.Unit.from_json([3.5, "nm"]) == ts.Unit(3.5, "nm")


def test_arithmetic() -> None:
    assert ts.Unit("3.5nm") * 2 == ts.Unit(7, "nm")
    assert 2 * ts.Unit("3.5nm") == ts.Unit(7, "nm")
    assert ts.Unit("7nm") / 2 == ts.Unit(3.5, "nm")
    assert ts.Unit(4, "nm") * np.float64(2) == ts.Unit(8, "nm")
    assert ts.Unit(4, "nm") / 0 == ts.Unit(math.inf, "nm")
    assert ts.Unit(4, "nm") / -0.0 == ts.Unit(-math.inf, "nm")
    assert math.isnan((ts.Unit(0, "nm") / 0).multiplier)
    assert ts.Unit(1e300, "nm") * 1e300 == ts.Unit(math.inf, "nm")
    with pytest.raises(TypeError, match=r"^multiplier must be a number, got '2'$"):
        ts.Unit(4, "nm") * "2"  # type: ignore[operator]


def test_equality_hash_pickle() -> None:
    assert ts.Unit(4, "nm") == ts.Unit("4.0 nm")
    assert ts.Unit(4, "nm") != ts.Unit("5nm")
    assert ts.Unit(4, "nm") != ts.Unit(4, "um")
    assert ts.Unit(4, "nm") != "4nm"
    assert len({ts.Unit(4, "nm"), ts.Unit("4nm")}) == 1
    assert pickle.loads(pickle.dumps(ts.Unit(4, "nm"))) == ts.Unit(4, "nm")
    with pytest.raises(AttributeError):
        ts.Unit(4, "nm").multiplier = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (((4,),), {}, r"^Unit pair must be \(multiplier, base_unit\), got \(4,\)$"),
        (((4, "nm", 3),), {}, r"^Unit pair must be \(multiplier, base_unit\), got \(4, 'nm', 3\)$"),
        (((4, 5),), {}, r"^Unit base_unit must be a string, got 5$"),
        (("4", "nm"), {}, r"^Unit multiplier must be a number, got '4'$"),
        ((None,), {}, r"^Unit multiplier must be a number, got None$"),
        ((4, "nm", 3), {}, r"^Unit\(\) takes at most 2 arguments, got 3$"),
        ((), {"base_unit": "nm"}, r"^Unit\(base_unit=\.\.\.\) also needs a multiplier$"),
        ((), {"foo": 1}, r"^Unit\(\) got unexpected keyword arguments: \['foo'\]$"),
        ((4,), {"json": 4}, r"^Unit\(json=\.\.\.\) takes no other arguments$"),
    ],
)
def test_bad_arguments(args: tuple[Any, ...], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        ts.Unit(*args, **kwargs)


@pytest.mark.parametrize(
    ("json", "message"),
    [
        ([4], r"^Array has length 1 but should have length 2$"),
        ([4, "nm", 1], r"^Array has length 3 but should have length 2$"),
        (
            ["4", "nm"],
            r'^Error parsing value at position 0: Expected 64-bit floating-point number, but received: "4"$',
        ),
        (
            [True, "nm"],
            r"^Error parsing value at position 0: Expected 64-bit floating-point number, but received: true$",
        ),
        ([4, 5], r"^Error parsing value at position 1: Expected string, but received: 5$"),
        (
            [-4, "nm"],
            r"^Error parsing value at position 0: Expected finite positive number, but received: -4\.0$",
        ),
        (
            [0, "nm"],
            r"^Error parsing value at position 0: Expected finite positive number, but received: 0\.0$",
        ),
        (
            [float("nan"), "nm"],
            r"^Error parsing value at position 0: Expected finite positive number, but received: null$",
        ),
        (None, r"^Expected array, but received: null$"),
        (True, r"^Expected array, but received: true$"),
        ({"a": 1}, r'^Expected array, but received: \{"a":1\}$'),
    ],
)
def test_bad_json(json: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ts.Unit(json=json)


def test_normalize_dimension_units() -> None:
    units = normalize_dimension_units(["4nm", None, (5, "um"), ts.Unit("3s"), 7, "", [4, "nm"]])
    assert units == (
        ts.Unit(4, "nm"),
        None,
        ts.Unit(5, "um"),
        ts.Unit(3, "s"),
        ts.Unit(7, ""),
        ts.Unit(1, ""),
        ts.Unit(4, "nm"),
    )
    assert normalize_dimension_units([], rank=0) == ()
    assert normalize_dimension_units(iter([b"nm", np.float32(1.5)])) == (
        ts.Unit("nm"),
        ts.Unit(1.5),
    )


@pytest.mark.parametrize(
    ("units", "rank", "error", "message"),
    [
        (
            "nm",
            None,
            TypeError,
            r"^dimension_units must be a sequence with one entry per dimension, got 'nm'$",
        ),
        (
            5,
            None,
            TypeError,
            r"^dimension_units must be a sequence with one entry per dimension, got 5$",
        ),
        (
            [None, {}],
            None,
            TypeError,
            r"^dimension_units\[1\] must be a Unit, str, number, \(multiplier, base_unit\) or None, got \{\}$",
        ),
        (
            [(4,)],
            None,
            TypeError,
            r"^dimension_units\[0\] must be a Unit, str, number, \(multiplier, base_unit\) or None, got \(4,\)$",
        ),
        (["4nm"], 2, ValueError, r"^dimension_units has 1 entries, but the rank is 2$"),
    ],
)
def test_normalize_dimension_units_errors(
    units: Any, rank: int | None, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        normalize_dimension_units(units, rank=rank)


def test_dimension_units_json() -> None:
    units = dimension_units_from_json(["4nm", None, [3, "um"], 5])
    assert units == (ts.Unit(4, "nm"), None, ts.Unit(3, "um"), ts.Unit(5, ""))
    assert dimension_units_to_json(units) == [[4.0, "nm"], None, [3.0, "um"], [5.0, ""]]
    assert dimension_units_to_json([None, None]) is None
    with pytest.raises(
        ValueError,
        match=r"^Error parsing value at position 0: Array has length 1 but should have length 2$",
    ):
        dimension_units_from_json([[4]])
    with pytest.raises(ValueError, match=r'^Expected array, but received: "nm"$'):
        dimension_units_from_json("nm")
