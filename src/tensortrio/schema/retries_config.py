"""Retry resources (``file_io_retries``, ``http_request_retries``, ``s3_request_retries``).

As in TensorStore, each is ``{"max_retries": integer[0, 2**63-1],
"initial_delay": duration = "1s", "max_delay": duration = "32s"}``; only the
default ``max_retries`` differs between them (a subclass's
``DEFAULT_MAX_RETRIES``). Members at their defaults are left out of the JSON
unless defaults are asked for.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar, Final, Self

import attrs

from .chunk_json import expect_object, json_text
from .duration import Duration, format_duration, parse_duration, seconds
from .json_member import json_integer_in, member_error, parse_member

__all__ = ["RetriesConfig", "duration_member"]

_INT64_MAX: Final = 2**63 - 1
_SECOND: Final = 10**9


def duration_member(json: dict[str, Any], name: str, default: Duration) -> Duration:
    """The duration ``json[name]`` (``default`` when absent), with TensorStore's message if malformed."""
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


def _default_max_retries(config: RetriesConfig) -> int:
    return type(config).DEFAULT_MAX_RETRIES


@attrs.frozen
class RetriesConfig:
    """Parsed retries JSON (delays in nanoseconds)."""

    DEFAULT_MAX_RETRIES: ClassVar[int] = 0

    max_retries: int = attrs.field(
        default=attrs.Factory(_default_max_retries, takes_self=True)
    )
    initial_delay: Duration = _SECOND
    max_delay: Duration = 32 * _SECOND

    @classmethod
    def from_json(cls, json: Any) -> Self:
        members = expect_object(json, ("max_retries", "initial_delay", "max_delay"))
        count = parse_member(members, "max_retries", json_integer_in(0, _INT64_MAX), None)
        return cls(
            cls.DEFAULT_MAX_RETRIES if count is None else count,
            duration_member(members, "initial_delay", _SECOND),
            duration_member(members, "max_delay", 32 * _SECOND),
        )

    def to_json(self, include_defaults: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if include_defaults or self.initial_delay != _SECOND:
            out["initial_delay"] = format_duration(self.initial_delay)
        if include_defaults or self.max_delay != 32 * _SECOND:
            out["max_delay"] = format_duration(self.max_delay)
        if include_defaults or self.max_retries != self.DEFAULT_MAX_RETRIES:
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
