"""Context.Spec JSON, repr and errors, checked against the real tensorstore."""

from __future__ import annotations

import pickle
import re
from typing import Any

import pytest
import tensorstore as real_ts

import tensortrio as ts

VALID_SPECS: list[dict[str, Any]] = [
    {},
    {"cache_pool": {"total_bytes_limit": 10000000}},
    {"cache_pool": {"total_bytes_limit": 0}},
    {"cache_pool": {"total_bytes_limit": 2**64 - 1}},
    {"cache_pool": {"total_bytes_limit": 1e19}},
    {"cache_pool": {"total_bytes_limit": 3.0}},
    {"cache_pool": {}, "cache_pool#remote": {"total_bytes_limit": 100000000}},
    {"data_copy_concurrency": {"limit": 8}, "file_io_concurrency": {"limit": "shared"}},
    {"data_copy_concurrency": {"limit": 2.0}, "file_io_concurrency": {}},
    {"cache_pool": "cache_pool#a", "cache_pool#a": None, "cache_pool#b": "cache_pool"},
    {"cache_pool#": {}, "cache_pool#a#b": {}, "cache_pool#a b/c": "cache_pool#"},
    {"memory_key_value_store": {}, "memory_key_value_store#a": "memory_key_value_store"},
    {"memory_key_value_store": None},
    {"file_io_sync": False, "file_io_sync#on": True, "file_io_sync#ref": "file_io_sync"},
    {"file_io_sync": None},
    {"file_io_concurrency#z": {"limit": 1}, "data_copy_concurrency#a": {"limit": 3}},
    {
        "cache_pool#aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": {
            "total_bytes_limit": 7
        }
    },
    {
        "cache_pool": {"total_bytes_limit": 7},
        "data_copy_concurrency": {"limit": 4},
        "file_io_concurrency": {"limit": 4},
    },
]


@pytest.mark.parametrize("json", VALID_SPECS)
@pytest.mark.parametrize("include_defaults", [False, True])
def test_to_json_matches_tensorstore(json: dict[str, Any], include_defaults: bool) -> None:
    ours = ts.Context.Spec(json).to_json(include_defaults=include_defaults)
    theirs = real_ts.Context.Spec(json).to_json(include_defaults=include_defaults)
    assert ours == theirs
    assert list(ours) == list(theirs)  # sorted by key, as TensorStore prints them


@pytest.mark.parametrize("json", VALID_SPECS)
def test_repr_matches_tensorstore(json: dict[str, Any]) -> None:
    assert repr(ts.Context.Spec(json)) == repr(real_ts.Context.Spec(json))


def test_documented_repr() -> None:
    spec = ts.Context.Spec(
        {
            "memory_key_value_store": {},
            "memory_key_value_store#a": "memory_key_value_store",
            "memory_key_value_store#b": {},
        }
    )
    assert repr(spec) == (
        "Context.Spec({\n"
        "  'memory_key_value_store': {},\n"
        "  'memory_key_value_store#a': 'memory_key_value_store',\n"
        "  'memory_key_value_store#b': {},\n"
        "})"
    )


@pytest.mark.parametrize("json", VALID_SPECS)
def test_pickle_and_value_equality(json: dict[str, Any]) -> None:
    spec = ts.Context.Spec(json)
    restored = pickle.loads(pickle.dumps(spec))
    assert restored == spec
    assert hash(restored) == hash(spec)
    assert restored.to_json() == spec.to_json()
    assert ts.Context.Spec(spec) == spec


INVALID_SPECS: list[tuple[Any, str]] = [
    (None, "Expected object, but received: null"),
    ([], "Expected object, but received: []"),
    ("x", 'Expected object, but received: "x"'),
    ({"foo": {}}, 'Invalid context resource identifier: "foo"'),
    ({"foo#x": {}}, 'Invalid context resource identifier: "foo#x"'),
    ({"Cache_pool": {}}, 'Invalid context resource identifier: "Cache_pool"'),
    ({1: {}}, 'Invalid context resource identifier: "1"'),
    ({"cache_pool": 3}, "Expected object, but received: 3"),
    ({"cache_pool#a": 1.5}, "Expected object, but received: 1.5"),
    ({"cache_pool": True}, "Expected object, but received: true"),
    ({"cache_pool": [1, "a", None]}, 'Expected object, but received: [1,"a",null]'),
    ({"cache_pool": {"foo": 1}}, 'Object includes extra members: "foo"'),
    ({"cache_pool": {"b": 1, "a": 2}}, 'Object includes extra members: "a","b"'),
    (
        {"cache_pool": {"queued_for_writeback_bytes_limit": 5}},
        'Object includes extra members: "queued_for_writeback_bytes_limit"',
    ),
    ({"memory_key_value_store": {"x": 1}}, 'Object includes extra members: "x"'),
    ({"file_io_sync": 1}, "Expected boolean, but received: 1"),
    ({"file_io_sync": {}}, "Expected boolean, but received: {}"),
    (
        {"file_io_sync": "x"},
        'Invalid spec or reference to "file_io_sync" resource: "x" (Expected boolean, but received: "x")',
    ),
    (
        {"cache_pool": {"total_bytes_limit": -1}},
        'Error parsing object member "total_bytes_limit": Expected 64-bit unsigned integer, but received: -1',
    ),
    (
        {"cache_pool": {"total_bytes_limit": 1.5}},
        'Error parsing object member "total_bytes_limit": Expected 64-bit unsigned integer, but received: 1.5',
    ),
    (
        {"cache_pool": {"total_bytes_limit": "5"}},
        'Error parsing object member "total_bytes_limit": Expected 64-bit unsigned integer, but received: "5"',
    ),
    (
        {"cache_pool": {"total_bytes_limit": None}},
        'Error parsing object member "total_bytes_limit": Expected 64-bit unsigned integer, but received: null',
    ),
    (
        {"cache_pool": {"total_bytes_limit": float("nan")}},
        'Error parsing object member "total_bytes_limit": Expected 64-bit unsigned integer, but received: null',
    ),
    (
        {"cache_pool": {"total_bytes_limit": True}},
        'Error parsing object member "total_bytes_limit": Expected 64-bit unsigned integer, but received: true',
    ),
    (
        {"data_copy_concurrency": {"limit": 0}},
        'Error parsing object member "limit": Expected integer in the range [1, 18446744073709551615], but received: 0',
    ),
    (
        {"file_io_concurrency": {"limit": "Shared"}},
        'Error parsing object member "limit": Expected integer in the range [1, 18446744073709551615], but received: "Shared"',
    ),
    (
        {"data_copy_concurrency": {"limit": None}},
        'Error parsing object member "limit": Expected integer in the range [1, 18446744073709551615], but received: null',
    ),
    (
        {"cache_pool": "data_copy_concurrency"},
        'Invalid spec or reference to "cache_pool" resource: "data_copy_concurrency" (Expected object, but received: "data_copy_concurrency")',
    ),
    (
        {"cache_pool": "cache_poolx"},
        'Invalid spec or reference to "cache_pool" resource: "cache_poolx" (Expected object, but received: "cache_poolx")',
    ),
    (
        {"cache_pool": ""},
        'Invalid spec or reference to "cache_pool" resource: "" (Expected object, but received: "")',
    ),
]


def _offending_key(json: Any, message: str) -> str | None:
    if not isinstance(json, dict) or message.startswith("Invalid context resource identifier"):
        return None
    (key,) = json
    return str(key)


@pytest.mark.parametrize(("json", "message"), INVALID_SPECS)
def test_invalid_specs_name_the_key(json: Any, message: str) -> None:
    # TensorStore's message, prefixed with the offending key where TensorStore omits it.
    key = _offending_key(json, message)
    expected = message if key is None else f'Error parsing object member "{key}": {message}'
    with pytest.raises(ts.InvalidArgumentError, match=f"^{re.escape(expected)}$"):
        ts.Context.Spec(json)
    with pytest.raises(ValueError, match=re.escape(message)):
        real_ts.Context.Spec(json)


@pytest.mark.parametrize("value", [2**64, -(2**70)])
def test_integers_beyond_uint64_are_rejected(value: int) -> None:
    expected = (
        'Error parsing object member "cache_pool": Error parsing object member '
        f'"total_bytes_limit": Expected 64-bit unsigned integer, but received: {value}'
    )
    with pytest.raises(ts.InvalidArgumentError, match=f"^{re.escape(expected)}$"):
        ts.Context.Spec({"cache_pool": {"total_bytes_limit": value}})


def test_spec_is_frozen() -> None:
    spec = ts.Context.Spec({"cache_pool": {}})
    with pytest.raises(AttributeError):
        spec._entries = ()  # type: ignore[misc]
