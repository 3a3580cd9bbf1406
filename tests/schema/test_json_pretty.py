"""TensorStore's JSON-as-Python repr printer and C hex escaping (checked against tensorstore)."""

from __future__ import annotations

from typing import Any

import pytest

from tensortrio.schema.json_pretty import (
    c_hex_escape,
    format_json_number,
    pretty_json,
    pretty_repr,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nm", "nm"),
        ('a"b', 'a\\"b'),
        ("a'b", "a\\'b"),
        ("a\\b", "a\\\\b"),
        ("a\nb\tc\rd", "a\\nb\\tc\\rd"),
        ("a\x01b\x7f", "a\\x01\\x62\\x7f"),  # a hex digit after \x01 is escaped too
        ("a\x01g", "a\\x01g"),
        ("ñ", "\\xc3\\xb1"),
        ("\u00a04nm", "\\xc2\\xa0\\x34nm"),
        (b"\xff1", "\\xff\\x31"),
    ],
)
def test_c_hex_escape(text: str | bytes, expected: str) -> None:
    assert c_hex_escape(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (4.0, "4.0"),
        (0.1, "0.1"),
        (1e15, "1e+15"),  # Python's repr says 1000000000000000.0
        (1234567890123456.0, "1.234567890123456e+15"),
        (-1.5e15, "-1.5e+15"),
        (1e16, "1e+16"),
        (123456.789, "123456.789"),
        (1e-4, "0.0001"),
        (1e-5, "1e-05"),
        (1 / 3, "0.3333333333333333"),
        (3, "3"),
        (float("nan"), "null"),
        (float("inf"), "null"),
    ],
)
def test_numbers_as_nlohmann_json(value: float, expected: str) -> None:
    assert format_json_number(value) == expected


def test_single_line_when_it_fits() -> None:
    value = {"a": [1, 2.5, None, True, False], "b": "x'y", "c": b"\x00"}
    assert pretty_json(value) == "{'a': [1, 2.5, None, True, False], 'b': 'x\\'y', 'c': b'\\x00'}"
    assert pretty_repr({}, "ChunkLayout(", ")") == "ChunkLayout({})"


def test_wraps_objects_and_arrays_past_80_columns() -> None:
    value: dict[str, Any] = {
        "grid_origin": [0, 0, 0],
        "inner_order": [0, 1, 2],
        "read_chunk": {"shape": [101, 101, 101]},
        "write_chunk": {"shape": [101, 101, 101]},
    }
    assert pretty_repr(value, "ChunkLayout(", ")") == (
        "ChunkLayout({\n"
        "  'grid_origin': [0, 0, 0],\n"
        "  'inner_order': [0, 1, 2],\n"
        "  'read_chunk': {'shape': [101, 101, 101]},\n"
        "  'write_chunk': {'shape': [101, 101, 101]},\n"
        "})"
    )
    assert pretty_json(list(range(30))) == "[\n" + "".join(f"  {i},\n" for i in range(30)) + "]"
    assert pretty_json([]) == "[]"


def test_rejects_non_json() -> None:
    with pytest.raises(TypeError, match=r"^not a JSON value: <object object at 0x[0-9a-f]+>$"):
        pretty_json(object())
