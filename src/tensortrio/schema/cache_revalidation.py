"""``CacheRevalidationBound``: when cached data or metadata must be revalidated.

The JSON forms (``recheck_cached_data`` / ``recheck_cached_metadata`` spec
members) and the Python forms (the ``recheck_cached*`` keyword arguments of
``ts.open`` and ``Spec.update``) are ``True`` (revalidate at every operation),
``False`` (never revalidate), ``"open"`` (revalidate what is older than the
time of opening) or a number of seconds since the Unix epoch.

As in TensorStore, a bound is a point in time: ``True`` is the infinite
future and ``False`` the infinite past, so a number of ``inf`` normalises to
``True`` and ``-inf`` to ``False``.  A cache entry fetched at time ``t`` is
fresh when ``t >= staleness_bound(open_time)``; callers clamp an infinite
future bound to "now" when they use it.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Literal, TypeAlias

import attrs

from ..errors import InvalidArgumentError
from .chunk_json import json_text

__all__ = [
    "DEFAULT_RECHECK_CACHED_DATA",
    "DEFAULT_RECHECK_CACHED_METADATA",
    "CacheRevalidationBound",
    "RecheckCacheOption",
]

RecheckCacheOption: TypeAlias = "bool | Literal['open'] | float"
"""What the ``recheck_cached*`` keyword arguments accept."""

_AT_OPEN: Literal["open"] = "open"


@attrs.frozen
class CacheRevalidationBound:
    """A revalidation bound: ``"open"`` or a time in seconds since the epoch (±inf allowed).

    Build one with :meth:`from_json` (spec members) or :meth:`from_option`
    (keyword arguments); ``to_json()`` gives TensorStore's normalised JSON.
    """

    bound: float | Literal["open"]
    """Seconds since the epoch (``inf``: always revalidate, ``-inf``: never), or ``"open"``."""

    @classmethod
    def from_json(cls, json: Any) -> CacheRevalidationBound:
        """Parse the JSON member value.

        Raises:
            ValueError: ``Expected boolean, number, or "open", but received: ...``;
                callers prefix the member name.
        """
        if json is True:
            return cls(math.inf)
        if json is False:
            return cls(-math.inf)
        if json == _AT_OPEN and isinstance(json, str):
            return cls(_AT_OPEN)
        if isinstance(json, int | float) and not isinstance(json, bool) and not math.isnan(json):
            return cls(float(json))
        raise InvalidArgumentError(
            f'Expected boolean, number, or "open", but received: {json_text(json)}'
        )

    @classmethod
    def from_option(cls, value: Any, name: str) -> CacheRevalidationBound:
        """Convert a ``recheck_cached*`` keyword argument named ``name``.

        Raises:
            TypeError: ``Invalid <name>`` for anything but a bool, ``"open"`` or a number.
        """
        if isinstance(value, bool):
            return cls(math.inf if value else -math.inf)
        if isinstance(value, str):
            if value == _AT_OPEN:
                return cls(_AT_OPEN)
        elif isinstance(value, numbers.Real) and not math.isnan(float(value)):
            return cls(float(value))
        raise TypeError(f"Invalid {name}")

    def to_json(self) -> bool | str | float:
        """``True``, ``False``, ``"open"`` or the number of seconds."""
        if self.bound == _AT_OPEN:
            return _AT_OPEN
        if self.bound == math.inf:
            return True
        if self.bound == -math.inf:
            return False
        return self.bound

    def staleness_bound(self, open_time: float) -> float:
        """The bound as seconds since the epoch, given when the TensorStore was opened.

        ``inf`` means "revalidate at every operation" (use the operation's time);
        ``-inf`` means "never revalidate".
        """
        if isinstance(self.bound, str):
            return open_time
        return self.bound


DEFAULT_RECHECK_CACHED_DATA = CacheRevalidationBound(math.inf)
"""``recheck_cached_data`` default: ``True`` (revalidate on every read)."""

DEFAULT_RECHECK_CACHED_METADATA = CacheRevalidationBound(_AT_OPEN)
"""``recheck_cached_metadata`` default: ``"open"``."""
