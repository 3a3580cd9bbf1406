"""The ``http`` kvstore's retry resource: ``http_request_retries``.

As in TensorStore: ``{"max_retries": integer[0, 2**63-1] = 32,
"initial_delay": duration = "1s", "max_delay": duration = "32s"}``. A request
failing with a transient error (HTTP 408, 429, 5xx, a network error) is sent
again up to ``max_retries`` times, the n-th time after
``min(initial_delay * 2**n + jitter, max_delay)``, the jitter being up to
``min(1s, initial_delay)``.

(``http_request_concurrency`` is a concurrency limit like ``file_io_concurrency``,
"shared" meaning 32: see ``context_resources``.)
"""

from __future__ import annotations

import random
from typing import Any, Final

import attrs

from .chunk_json import expect_object, json_text
from .duration import Duration, format_duration, parse_duration, seconds
from .json_member import json_integer_in, member_error, parse_member

__all__ = ["HttpRequestRetriesConfig"]

_INT64_MAX: Final = 2**63 - 1
_SECOND: Final = 10**9


def _duration(json: dict[str, Any], name: str, default: Duration) -> Duration:
    if name not in json:
        return default
    value = json[name]
    parsed = parse_duration(value) if isinstance(value, str) else None
    if parsed is None:
        raise member_error(
            name,
            'Expected Duration formatted as a string using time units "ns", "us" "ms", "s", '
            f'"m", or "h"., but received: {json_text(value)}',
        )
    return parsed


@attrs.frozen
class HttpRequestRetriesConfig:
    """Parsed ``http_request_retries`` JSON (delays in nanoseconds)."""

    max_retries: int = 32
    initial_delay: Duration = _SECOND
    max_delay: Duration = 32 * _SECOND

    @classmethod
    def from_json(cls, json: Any) -> HttpRequestRetriesConfig:
        members = expect_object(json, ("max_retries", "initial_delay", "max_delay"))
        count = parse_member(members, "max_retries", json_integer_in(0, _INT64_MAX), None)
        return cls(
            32 if count is None else count,
            _duration(members, "initial_delay", _SECOND),
            _duration(members, "max_delay", 32 * _SECOND),
        )

    def to_json(self, include_defaults: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if include_defaults or self.initial_delay != _SECOND:
            out["initial_delay"] = format_duration(self.initial_delay)
        if include_defaults or self.max_delay != 32 * _SECOND:
            out["max_delay"] = format_duration(self.max_delay)
        if include_defaults or self.max_retries != 32:
            out["max_retries"] = self.max_retries
        return out

    def backoff(self, attempt: int, jitter: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (from 0), as TensorStore's ``BackoffForAttempt``.

        ``jitter`` in [0, 1) picks the random part (drawn when None).
        """
        initial = max(0.0, seconds(self.initial_delay))
        longest = max(0.0, seconds(self.max_delay))
        spread = min(1.0, initial)
        draw = random.random() if jitter is None else jitter
        delay = initial * (1 << min(attempt, 62)) + spread * draw
        return min(delay, longest)
