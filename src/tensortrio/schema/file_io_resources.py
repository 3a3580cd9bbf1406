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
from .duration import Duration, format_duration
from .json_member import member_error
from .retries_config import RetriesConfig, duration_member

__all__ = [
    "FileIoLockingConfig",
    "FileIoModeConfig",
    "FileIoRetriesConfig",
]

_SECOND: Final = 10**9


def _enum(json: dict[str, Any], name: str, choices: tuple[str, ...]) -> str | None:
    if name not in json:
        return None
    value = json[name]
    if value not in choices or not isinstance(value, str):
        allowed = ", ".join(f'"{c}"' for c in choices)
        raise member_error(name, f"Expected one of {allowed}, but received: {json_text(value)}")
    return value


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
        return cls(mode, duration_member(members, "acquire_timeout", 60 * _SECOND))

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
class FileIoRetriesConfig(RetriesConfig):
    """Parsed ``file_io_retries`` JSON (delays in nanoseconds); no retries unless asked for."""

    DEFAULT_MAX_RETRIES: ClassVar[int] = 0
