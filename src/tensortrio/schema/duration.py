"""Durations in TensorStore's JSON: strings such as ``"60s"``, ``"1m30s"``, ``"1.5ms"``, ``"inf"``.

The format is Abseil's (``absl::ParseDuration`` / ``absl::FormatDuration``),
which TensorStore's context resources use (``file_io_locking.acquire_timeout``,
``file_io_retries.initial_delay``): an optional sign, then ``"0"``,
``"inf"``, or one or more decimal numbers each followed by a unit
(``ns``, ``us``, ``ms``, ``s``, ``m``, ``h``). A duration is held as whole
nanoseconds, or ``±math.inf``.
"""

from __future__ import annotations

import math
import re
from typing import Final

__all__ = ["Duration", "format_duration", "parse_duration", "seconds"]

#: Whole nanoseconds, or ``math.inf`` / ``-math.inf``.
Duration = int | float

_UNITS: Final = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_COMPONENT = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|ms|s|m|h)")


def parse_duration(text: str) -> Duration | None:
    """``text`` as a duration, or None if it is not one."""
    sign = 1
    body = text
    if body[:1] in ("+", "-"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body in ("0", "inf"):
        return sign * math.inf if body == "inf" else 0
    if not body:
        return None
    total = 0
    position = 0
    while position < len(body):
        match = _COMPONENT.match(body, position)
        if match is None or not (match.group(1) or match.group(2)):
            return None
        whole, fraction, unit = match.groups()
        scale = _UNITS[unit]
        total += int(whole or "0") * scale
        if fraction:
            total += int(fraction) * scale // 10 ** len(fraction)
        position = match.end()
    return sign * total


def _amount(nanoseconds: int, unit: str) -> str:
    """``nanoseconds`` in ``unit`` with the fraction's trailing zeros left out."""
    scale = _UNITS[unit]
    whole, rest = divmod(nanoseconds, scale)
    digits = len(str(scale)) - 1
    fraction = str(rest).rjust(digits, "0").rstrip("0") if rest else ""
    return f"{whole}.{fraction}{unit}" if fraction else f"{whole}{unit}"


def format_duration(duration: Duration) -> str:
    """``duration`` as TensorStore prints it: ``90 s`` is ``"1m30s"``, ``1.5 ms`` is ``"1.5ms"``."""
    if isinstance(duration, float):
        return "inf" if duration > 0 else "-inf"
    if duration < 0:
        return "-" + format_duration(-duration)
    if duration == 0:
        return "0"
    if duration < _UNITS["s"]:
        unit = "ns" if duration < _UNITS["us"] else "us" if duration < _UNITS["ms"] else "ms"
        return _amount(duration, unit)
    hours, rest = divmod(duration, _UNITS["h"])
    minutes, rest = divmod(rest, _UNITS["m"])
    out = f"{hours}h" if hours else ""
    if minutes:
        out += f"{minutes}m"
    if rest:
        out += _amount(rest, "s")
    return out


def seconds(duration: Duration) -> float:
    """``duration`` in seconds (``math.inf`` stays infinite)."""
    return duration if isinstance(duration, float) else duration / _UNITS["s"]
