"""The ``file`` kvstore's configuration resources: ``file_io_locking``, ``file_io_mode``, ``file_io_retries``.

As in TensorStore, each is a JSON object whose members default when absent
(and are then left out of its JSON):

- ``file_io_locking``: ``{"mode": "os" | "lockfile" | "none" | "non_atomic" = "os",
  "acquire_timeout": duration = "60s"}``: how writers of one key exclude each
  other (see ``drivers/kvstore/file_lock``);
- ``file_io_mode``: ``{"mode": "default" | "memmap" | "direct" = "default"}``:
  how files are read (tensortrio reads every mode with ``pread``);
- ``file_io_retries``: ``{"max_retries": integer = 0, "initial_delay": duration = "1s",
  "max_delay": duration = "32s"}``: how often an operation failing with a
  transient I/O error is tried again, with exponential backoff.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

import attrs

from .chunk_json import expect_object, json_text
from .duration import Duration, format_duration, parse_duration
from .json_member import json_integer_in, member_error, parse_member

__all__ = [
    "FileIoLockingConfig",
    "FileIoModeConfig",
    "FileIoRetriesConfig",
]

_INT64_MAX: Final = 2**63 - 1
_SECOND: Final = 10**9


def _enum(json: dict[str, Any], name: str, choices: tuple[str, ...]) -> str | None:
    if name not in json:
        return None
    value = json[name]
    if value not in choices or not isinstance(value, str):
        allowed = ", ".join(f'"{c}"' for c in choices)
        raise member_error(name, f"Expected one of {allowed}, but received: {json_text(value)}")
    return value


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
class FileIoLockingConfig:
    """Parsed ``file_io_locking`` JSON."""

    MODES: ClassVar[tuple[str, ...]] = ("os", "lockfile", "none", "non_atomic")
    mode: str = "os"
    acquire_timeout: Duration = 60 * _SECOND

    @classmethod
    def from_json(cls, json: Any) -> FileIoLockingConfig:
        members = expect_object(json, ("mode", "acquire_timeout"))
        mode = _enum(members, "mode", cls.MODES) or "os"
        return cls(mode, _duration(members, "acquire_timeout", 60 * _SECOND))

    def to_json(self, include_defaults: bool = False) -> dict[str, Any]:
        # As TensorStore's: defaults are left out even when asked for.
        out: dict[str, Any] = {}
        if self.acquire_timeout != 60 * _SECOND:
            out["acquire_timeout"] = format_duration(self.acquire_timeout)
        if self.mode != "os":
            out["mode"] = self.mode
        return out


@attrs.frozen
class FileIoModeConfig:
    """Parsed ``file_io_mode`` JSON."""

    MODES: ClassVar[tuple[str, ...]] = ("default", "memmap", "direct")
    mode: str = "default"

    @classmethod
    def from_json(cls, json: Any) -> FileIoModeConfig:
        members = expect_object(json, ("mode",))
        return cls(_enum(members, "mode", cls.MODES) or "default")

    def to_json(self, include_defaults: bool = False) -> dict[str, Any]:
        return {} if self.mode == "default" else {"mode": self.mode}


@attrs.frozen
class FileIoRetriesConfig:
    """Parsed ``file_io_retries`` JSON (delays in nanoseconds)."""

    max_retries: int = 0
    initial_delay: Duration = _SECOND
    max_delay: Duration = 32 * _SECOND

    @classmethod
    def from_json(cls, json: Any) -> FileIoRetriesConfig:
        members = expect_object(json, ("max_retries", "initial_delay", "max_delay"))
        count = parse_member(members, "max_retries", json_integer_in(0, _INT64_MAX), None)
        return cls(
            count or 0,
            _duration(members, "initial_delay", _SECOND),
            _duration(members, "max_delay", 32 * _SECOND),
        )

    def to_json(self, include_defaults: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if include_defaults or self.initial_delay != _SECOND:
            out["initial_delay"] = format_duration(self.initial_delay)
        if include_defaults or self.max_delay != 32 * _SECOND:
            out["max_delay"] = format_duration(self.max_delay)
        if include_defaults or self.max_retries:
            out["max_retries"] = self.max_retries
        return out

