"""The headers of an ``http`` kvstore read, as TensorStore sends them.

- ``Range``: ``[a, b)`` is ``bytes=a-(b-1)``, ``[a, end)`` is ``bytes=a-``,
  the last ``n`` bytes are ``bytes=-n``; an empty range is read with ``HEAD``.
- ``Cache-Control`` from the staleness bound: ``no-cache`` when the value must
  be current (a bound less than a second ago, or ``inf``), ``max-age=N``
  for a bound N seconds ago, none for ``-inf``.
- ``If-Match`` / ``If-None-Match`` with the ETag a generation was made from
  (generations that did not come from an ETag are not sent).
- the spec's ``headers``, each ``"name: value"``, validated as TensorStore does.
"""

from __future__ import annotations

import math
import re
import time
from typing import TYPE_CHECKING, Any

from ...errors import InvalidArgumentError

if TYPE_CHECKING:
    from .byte_range import ByteRangeRequest

__all__ = [
    "cache_control",
    "condition_headers",
    "format_byte_range",
    "parse_header",
    "parse_headers",
    "range_header",
]

# (Matched whole with ``fullmatch``: ``$`` would also match before a final newline,
# and a header ending in one would end the request's headers early.)
_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~]+")
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


def parse_header(header: str) -> tuple[str, str]:
    """``"Name: value"`` as ``("name", "value")``.

    Raises:
        InvalidArgumentError: no ``:``, a name that is not an RFC 7230 token,
            or a value with control characters (line folding is refused).
    """
    name, colon, value = header.partition(":")
    if not colon:
        raise InvalidArgumentError(f'Invalid HTTP header: "{header}"')
    if not name:
        raise InvalidArgumentError("Empty HTTP header field name")
    if _TOKEN.fullmatch(name) is None:
        bad = next(c for c in name if _TOKEN.fullmatch(c) is None)
        raise InvalidArgumentError(f'Invalid HTTP char {bad!r} in header field name: "{name}"')
    if _FIELD_VALUE.fullmatch(value) is None:
        raise InvalidArgumentError(f"Invalid HTTP header field value: {value!r}")
    return name.lower(), value.strip(" \t")


def parse_headers(value: Any) -> tuple[str, ...]:
    """The ``headers`` member: a list of ``"name: value"`` strings.

    Raises:
        InvalidArgumentError: naming the position of a bad entry.
    """
    if not isinstance(value, list):
        raise InvalidArgumentError(f"Expected array, but received: {value!r}")
    out: list[str] = []
    for position, header in enumerate(value):
        if not isinstance(header, str):
            raise InvalidArgumentError(
                f"Error parsing value at position {position}: Expected string, but received: {header!r}"
            )
        try:
            parse_header(header)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Error parsing value at position {position}: {exc}") from None
        out.append(header)
    return tuple(out)


def format_byte_range(byte_range: ByteRangeRequest) -> str:
    """``[a, b)``, ``[a, ?)`` or ``[-n, ?)``, as error messages show a requested range."""
    hi = "?" if byte_range.exclusive_max is None else str(byte_range.exclusive_max)
    return f"[{byte_range.inclusive_min}, {hi})"


def range_header(byte_range: ByteRangeRequest) -> str | None:
    """The ``Range`` header reading ``byte_range`` (None: the whole value, or nothing)."""
    lo, hi = byte_range.inclusive_min, byte_range.exclusive_max
    if hi is not None:
        return f"bytes={lo}-{hi - 1}" if hi > lo else None
    if lo > 0:
        return f"bytes={lo}-"
    if lo < 0:
        return f"bytes={lo}"  # the last -lo bytes: "bytes=-n"
    return None


def is_empty(byte_range: ByteRangeRequest) -> bool:
    """Whether ``byte_range`` asks for no bytes at all (read with ``HEAD``)."""
    return byte_range.exclusive_max is not None and byte_range.exclusive_max == byte_range.inclusive_min


def cache_control(staleness_bound: float, now: float | None = None) -> str | None:
    """The ``Cache-Control`` header bounding the age of a response by ``staleness_bound``."""
    if staleness_bound == -math.inf:
        return None
    age = 0.0
    if staleness_bound != math.inf:
        current = time.time() if now is None else now
        age = max(0.0, current - staleness_bound)
    whole = int(age)  # rounded down: the bound must still hold
    return f"max-age={whole}" if whole > 0 else "no-cache"


def _etag(generation: bytes) -> bytes | None:
    """The ETag a generation was made from (``b"\\x00" + etag``), or None."""
    if len(generation) < 2 or generation[0] != 0:
        return None
    return b'"' + generation[1:] + b'"'


def condition_headers(if_equal: bytes, if_not_equal: bytes) -> dict[str, bytes]:
    """``If-Match`` / ``If-None-Match`` for the generation conditions of a read."""
    out: dict[str, bytes] = {}
    match = _etag(if_equal)
    if match is not None:
        out["if-match"] = match
    none_match = _etag(if_not_equal)
    if none_match is not None:
        out["if-none-match"] = none_match
    return out
