"""TensorStore's ``repr`` formats: C hex escaping and JSON printed as Python.

``ChunkLayout``, ``Schema``, ``Spec``, ``Context`` and ``KvStore.Spec`` reprs
all print their JSON as a Python expression that is wrapped onto indented
lines only where it does not fit in 80 columns, e.g.::

    ChunkLayout({
      'grid_origin': [0, 0, 0],
      'inner_order': [0, 1, 2],
      'read_chunk': {'shape': [101, 101, 101]},
      'write_chunk': {'shape': [101, 101, 101]},
    })

``pretty_repr(json, "ChunkLayout(", ")")`` produces exactly TensorStore's text
(including its quirk that the prefix does not count towards the width).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["c_hex_escape", "format_json_number", "pretty_json", "pretty_repr"]

_SIMPLE_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "'": "\\'", "\\": "\\\\"}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def c_hex_escape(text: str | bytes) -> str:
    """Escape the UTF-8 bytes of ``text`` as C source does (absl ``CHexEscape``).

    Non-printable bytes become ``\\xHH``; a hex digit right after such an
    escape is escaped too, so the result stays unambiguous in C.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    out: list[str] = []
    last_was_hex = False
    for byte in data:
        char = chr(byte)
        if char in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[char])
            last_was_hex = False
        elif 0x20 <= byte < 0x7F and not (last_was_hex and char in _HEX_DIGITS):
            out.append(char)
            last_was_hex = False
        else:
            out.append(f"\\x{byte:02x}")
            last_was_hex = True
    return "".join(out)


def format_json_number(value: float) -> str:
    """Format a JSON number as nlohmann::json dumps it (``4.0``, ``1e+20``, ``null`` for nan/inf)."""
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return "null"
    text = repr(value)
    # nlohmann switches to exponent form one decade earlier than Python's repr:
    # for 1e15 <= |x| < 1e16 it prints 1.234e+15 where Python prints 1234...0.0.
    if "e" not in text and abs(value) >= 1e15:
        sign = "-" if text.startswith("-") else ""
        digits = text.lstrip("-").removesuffix(".0").rstrip("0")
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        text = f"{sign}{mantissa}e+15"
    return text


def _single_line(value: Any) -> str:
    if isinstance(value, dict):
        items = ", ".join(f"'{c_hex_escape(k)}': {_single_line(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_single_line(v) for v in value) + "]"
    if isinstance(value, str):
        return f"'{c_hex_escape(value)}'"
    if isinstance(value, bytes):
        return f"b'{c_hex_escape(value)}'"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if value is None:
        return "None"
    if isinstance(value, int | float):
        return format_json_number(value)
    raise TypeError(f"not a JSON value: {value!r}")


def _pretty(out: list[str], value: Any, width: int, cur_line_indent: int, indent: int) -> None:
    text = _single_line(value)
    if len(text) <= width - cur_line_indent or not isinstance(value, dict | list | tuple):
        out.append(text)
        return
    inner = indent + 2
    if isinstance(value, dict):
        out.append("{")
        for key, item in value.items():
            key_text = f"'{c_hex_escape(key)}'"
            out.append("\n" + " " * inner + key_text + ": ")
            _pretty(out, item, width - 1, inner + len(key_text) + 2, inner)
            out.append(",")
        if value:
            out.append("\n" + " " * indent)
        out.append("}")
        return
    out.append("[")
    for item in value:
        out.append("\n" + " " * inner)
        _pretty(out, item, width - 1, inner, inner)
        out.append(",")
    if value:
        out.append("\n" + " " * indent)
    out.append("]")


def pretty_json(value: Any, width: int = 80) -> str:
    """Print a JSON value as a Python expression, wrapping what exceeds ``width``."""
    out: list[str] = []
    _pretty(out, value, width, 0, 0)
    return "".join(out)


def pretty_repr(value: Any, prefix: str, suffix: str) -> str:
    """``prefix + pretty_json(value) + suffix``, TensorStore's repr of JSON-backed objects."""
    return prefix + pretty_json(value) + suffix
