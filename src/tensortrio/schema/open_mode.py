"""``ts.OpenMode``: whether opening may open existing data, create it, or assume its metadata.

As TensorStore's, an ``OpenMode`` is a mutable set of flags that is not
validated when built; :func:`validate_open_mode` applies TensorStore's rules
when a spec is opened, and :func:`effective_open_mode` supplies the default
(``open`` when neither ``open`` nor ``create`` is set).  Combining open modes
(``Spec.update(open_mode=...)``, ``open=True``, ...) sets flags and never clears
them: ``combine`` is a bitwise or.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from ..errors import InvalidArgumentError
from .chunk_json import json_text

__all__ = [
    "OPEN_MODE_FLAGS",
    "OpenMode",
    "effective_open_mode",
    "open_mode_from_json_members",
    "validate_open_mode",
]

OPEN_MODE_FLAGS: Final = (
    "open",
    "create",
    "delete_existing",
    "assume_metadata",
    "assume_cached_metadata",
)
"""The flag names, in TensorStore's repr and JSON order."""


def _flag(value: Any) -> bool:
    return bool(value)


@attrs.define(eq=True, repr=False)
class OpenMode:
    """Specifies the mode to use when opening a ``TensorStore`` (``ts.OpenMode``).

    ``OpenMode(open=False, create=False, delete_existing=False,
    assume_metadata=False, assume_cached_metadata=False)``; each flag is also a
    settable attribute.  ``repr`` lists the flags that are set.
    """

    open: bool = attrs.field(default=False, converter=_flag, kw_only=True)
    """Allow opening an existing TensorStore."""
    create: bool = attrs.field(default=False, converter=_flag, kw_only=True)
    """Allow creating a new TensorStore."""
    delete_existing: bool = attrs.field(default=False, converter=_flag, kw_only=True)
    """Delete any existing data before creating a new array (requires ``create``)."""
    assume_metadata: bool = attrs.field(default=False, converter=_flag, kw_only=True)
    """Neither read nor write stored metadata; assume it from the spec (requires ``open``)."""
    assume_cached_metadata: bool = attrs.field(default=False, converter=_flag, kw_only=True)
    """Skip reading the metadata when opening (requires ``open``)."""

    def flags(self) -> dict[str, bool]:
        """The flags that are set, in TensorStore's order."""
        return {name: True for name in OPEN_MODE_FLAGS if getattr(self, name)}

    def combine(self, other: OpenMode) -> OpenMode:
        """A new mode with every flag set in either (TensorStore's ``|``)."""
        return OpenMode(**{n: getattr(self, n) or getattr(other, n) for n in OPEN_MODE_FLAGS})

    def __or__(self, other: OpenMode) -> OpenMode:
        if not isinstance(other, OpenMode):
            return NotImplemented
        return self.combine(other)

    def __repr__(self) -> str:
        return "OpenMode(" + ", ".join(f"{name}=True" for name in self.flags()) + ")"


def open_mode_from_json_members(json: dict[str, Any]) -> OpenMode:
    """Read the open-mode members of a spec's JSON (absent members are ``False``).

    Raises:
        ValueError: ``Error parsing object member "create": Expected boolean, but received: 1``.
    """
    values: dict[str, bool] = {}
    for name in OPEN_MODE_FLAGS:
        if name not in json:
            continue
        value = json[name]
        if not isinstance(value, bool):
            raise InvalidArgumentError(
                f'Error parsing object member "{name}": Expected boolean, but received: '
                f"{json_text(value)}"
            )
        values[name] = value
    return OpenMode(**values)


def effective_open_mode(mode: OpenMode) -> OpenMode:
    """``mode`` with TensorStore's default applied: ``open`` if neither ``open`` nor ``create``."""
    if mode.open or mode.create:
        return OpenMode(**mode.flags())
    return OpenMode(**mode.flags(), open=True)


def validate_open_mode(mode: OpenMode, write: bool = True) -> None:
    """Check TensorStore's rules for an (effective) open mode, opened for ``write`` or not.

    Raises:
        ValueError: e.g. ``Cannot specify an open mode of `delete_existing` without
            `create```, naming the flag to change.
    """
    problem: str | None = None
    if mode.create and not write:
        problem = "`create` without `write`"
    elif mode.delete_existing:
        if not mode.create:
            problem = "`delete_existing` without `create`"
        elif mode.open:
            problem = "`delete_existing` with `open`"
        elif mode.assume_metadata:
            problem = "`delete_existing` with `assume_metadata`"
        elif mode.assume_cached_metadata:
            problem = "`delete_existing` with `assume_cached_metadata`"
    elif mode.assume_metadata and not mode.open:
        problem = "`assume_metadata` without `open`"
    elif mode.assume_cached_metadata and not mode.open:
        problem = "`assume_cached_metadata` without `open`"
    if problem is not None:
        raise InvalidArgumentError(f"Cannot specify an open mode of {problem}")
