"""Which kvstore drivers and URL schemes exist: the registry drivers add themselves to.

Root drivers (``memory``, ``file``, ``http``, ``s3``) register a URL
scheme whose component has the form ``scheme://...``; adapters (``zip``,
``ocdbt``, ...) register one whose component ``scheme:...`` follows a ``|``
and wraps the spec on its left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import InvalidArgumentError

if TYPE_CHECKING:
    from collections.abc import Callable

    from .driver import DriverSpec
    from .spec import KvStoreSpec

__all__ = [
    "adapter_url_parser",
    "driver_spec_class",
    "register_adapter_url_scheme",
    "register_driver",
    "register_root_url_scheme",
    "registered_drivers",
    "root_url_parser",
]

_drivers: dict[str, type[DriverSpec]] = {}
_root_schemes: dict[str, Callable[[str], KvStoreSpec]] = {}
_adapter_schemes: dict[str, Callable[[str, KvStoreSpec], KvStoreSpec]] = {}


def register_driver(spec_class: type[DriverSpec]) -> type[DriverSpec]:
    """Register a driver spec class under its ``id`` (usable as a class decorator)."""
    existing = _drivers.get(spec_class.id)
    if existing is not None and existing is not spec_class:
        raise ValueError(f"kvstore driver {spec_class.id!r} is already registered")
    _drivers[spec_class.id] = spec_class
    return spec_class


def register_root_url_scheme(scheme: str, parse: Callable[[str], KvStoreSpec]) -> None:
    """Register ``scheme://...`` as the URL of a root kvstore."""
    _root_schemes[scheme] = parse


def register_adapter_url_scheme(
    scheme: str, parse: Callable[[str, KvStoreSpec], KvStoreSpec]
) -> None:
    """Register ``...|scheme:...`` as the URL of an adapter over the spec on its left."""
    _adapter_schemes[scheme] = parse


def _ensure_builtin_drivers() -> None:
    # The built-in drivers register themselves on import.
    from . import file as _file
    from . import http as _http
    from . import memory as _memory
    from . import s3 as _s3

    del _file, _http, _memory, _s3


def registered_drivers() -> list[str]:
    """The ids of every registered driver, sorted."""
    _ensure_builtin_drivers()
    return sorted(_drivers)


def driver_spec_class(driver: str) -> type[DriverSpec]:
    """The spec class of ``driver``.

    Raises:
        InvalidArgumentError: naming the driver when it is not registered.
    """
    _ensure_builtin_drivers()
    spec_class = _drivers.get(driver)
    if spec_class is None:
        known = ", ".join(repr(d) for d in sorted(_drivers))
        raise InvalidArgumentError(
            f"kvstore: 'driver' {driver!r} is not a registered KvStore driver (known: {known})"
        )
    return spec_class


def root_url_parser(scheme: str) -> Callable[[str], KvStoreSpec] | None:
    """The parser of root URL ``scheme``, or None."""
    _ensure_builtin_drivers()
    return _root_schemes.get(scheme)


def adapter_url_parser(scheme: str) -> Callable[[str, KvStoreSpec], KvStoreSpec] | None:
    """The parser of adapter URL ``scheme``, or None."""
    _ensure_builtin_drivers()
    return _adapter_schemes.get(scheme)
