"""Elements written to string, ustring and json arrays are checked and converted as tensorstore does."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import tensorstore

import tensortrio as tt

BOTH = pytest.mark.parametrize("lib", [tt, tensorstore], ids=["tensortrio", "tensorstore"])


def two_elements(lib: Any, name: str) -> Any:
    start = {"string": [b"", b""], "ustring": ["", ""], "json": [None, None]}[name]
    return lib.array(np.array(start, dtype=object), dtype=lib.dtype(name))


@BOTH
@pytest.mark.parametrize(
    ("name", "source", "expected"),
    [
        ("string", [b"a", b"bc"], [b"a", b"bc"]),
        ("string", np.array([b"a", b"bc"]), [b"a", b"bc"]),
        ("string", b"z", [b"z", b"z"]),
        ("ustring", ["a", "b"], ["a", "b"]),
        ("ustring", np.array(["a", "bc"]), ["a", "bc"]),
        ("json", [b"ab", 1], [[97, 98], 1]),
        ("json", [{"a": 1}, [1, 2]], [{"a": 1}, [1, 2]]),
        ("json", [np.int64(3), np.float32(1.5)], [3, 1.5]),
        ("json", np.array([1.5, 2.5]), [1.5, 2.5]),
    ],
)
def test_values_of_the_element_type_are_written(lib: Any, name: str, source: Any, expected: Any) -> None:
    store = two_elements(lib, name)
    store.write(source).result()
    values = store.read().result().tolist()
    assert values == expected
    assert [type(v) for v in values] == [type(v) for v in expected]


@BOTH
@pytest.mark.parametrize(
    ("name", "source", "message"),
    [
        ("string", ["x", 5], r"^expected bytes, str found$"),
        ("string", np.array(["a", "b"]), r"^expected bytes, str found$"),
        ("ustring", [b"a", "b"], r"^bad argument type for built-in operation$"),
        ("ustring", [None, "x"], r"^bad argument type for built-in operation$"),
        ("json", [1 + 2j, 3], r"^Object 'complex' does not support conversion to JSON$"),
        ("json", [object(), 1], r"^Object 'object' does not support conversion to JSON$"),
    ],
)
def test_other_values_are_refused_and_nothing_is_written(
    lib: Any, name: str, source: Any, message: str
) -> None:
    store = two_elements(lib, name)
    before = store.read().result().tolist()
    with pytest.raises(TypeError, match=message):
        store.write(source).result()
    assert store.read().result().tolist() == before


@BOTH
@pytest.mark.parametrize(
    ("array", "dtype", "message"),
    [
        ([True, 2], "int32", r"at position \{0\}: Expected "),
        ([[1, 2], [3, 5000]], "int8", r"at position \{1, 1\}: Expected integer in the range \[-128, 127\], but received: 5000"),
        ([[1.5, None]], "float32", r"at position \{0, 1\}: Expected "),
    ],
)
def test_an_array_spec_element_of_the_wrong_type_is_named_by_its_position(
    lib: Any, array: Any, dtype: str, message: str
) -> None:
    with pytest.raises(ValueError, match=r'^Error parsing object member "array": Error parsing array element ' + message):
        lib.open({"driver": "array", "array": array, "dtype": dtype}).result()


@BOTH
def test_a_unit_multiplier_beyond_six_digits_is_stored_as_text_and_accepted(lib: Any) -> None:
    store = lib.open(
        {"driver": "zarr3", "kvstore": "memory://"}, create=True, dtype="int32", shape=[2],
        dimension_units=[[2**63, "nm"]],
    ).result()
    assert store.spec().to_json()["metadata"]["attributes"] == {"dimension_units": ["9.22337e+18 nm"]}
