"""The registry of TensorStore drivers as ``ts.Spec`` sees them: their spec members and URL scheme.

``ts.Spec`` parses the members every TensorStore spec shares (``driver``,
``context``, ``dtype``, ``rank``, ``transform``, ``schema``, and for drivers
backed by a key-value store ``kvstore``, ``path``, the open-mode flags,
``recheck_cached_*``, ``fill_missing_data_reads``,
``store_data_equal_to_fill_value`` and the ``cache_pool`` /
``metadata_cache_pool`` / ``data_copy_concurrency`` resources).  Every other
member (``metadata``, ``array``, ...) belongs to the driver, which registers a
parser for them.  Example (what the zarr driver does at import)::

    register_tensorstore_driver(
        "zarr", parse_zarr_members, url_scheme="zarr2", schema=zarr_spec_schema
    )
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

import attrs

from ..errors import InvalidArgumentError
from .chunk_json import json_text

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ..index.domain import IndexDomain
    from .schema import SchemaConstraints

__all__ = [
    "TensorStoreDriver",
    "driver_for_url_scheme",
    "register_tensorstore_driver",
    "register_tensorstore_driver_module",
    "tensorstore_driver",
]


@attrs.frozen
class TensorStoreDriver:
    """How ``ts.Spec`` handles one driver id.

    ``parse_members(members)`` gets the driver-specific members (a fresh dict)
    and returns them validated and normalised; it raises ``ValueError`` naming
    the member (``Error parsing object member "metadata": ...``).
    ``schema(members, domain)``, if given, returns the constraints those
    members imply (e.g. zarr's ``metadata.dtype``), which ``Spec.schema``/``dtype``/``rank``
    report and which must agree with the spec's own constraints; ``domain``
    (the spec schema's, when bounded and the spec has no transform; else
    None) stands in for a shape the members do not give, so a chunked driver
    implies its resizable domain from it.
    ``uses_kvstore``: the driver is backed by a key-value store (``kvstore`` and
    the chunked-storage members are valid).  ``url_scheme``: the driver's
    component in a TensorStore URL (``"zarr2"`` in ``"file:///a/|zarr2:"``).
    ``adapter_url``, for an adapter of one base TensorStore (``cast``): its URL
    component follows the base's URL (``"memory://|zarr3:|cast:int32"``); the
    pair maps ``(base JSON, component text)`` to the spec JSON's members, and
    the ``ts.Spec`` back to the text.  ``shares_base_transform``: an adapter
    whose ``base`` has its index space (``cast``), so a spec without a
    transform shows the base's; another (``downsample``) has its own.
    ``schema_domain_as_is``: ``schema`` gets the spec schema's domain even
    when it is unbounded (the ``auto`` driver's domain is that domain as given).
    ``layout_from_members``: the chunk layout ``schema`` implies is the
    spec's whole chunk layout; a schema chunk layout is checked only at open
    (the ``array`` driver's layout is its array's).
    """

    driver_id: str
    parse_members: Callable[[dict[str, Any]], dict[str, Any]]
    url_scheme: str | None = None
    uses_kvstore: bool = True
    schema: Callable[[dict[str, Any], IndexDomain | None, int | None], SchemaConstraints] | None = None
    adapter_url: (
        tuple[Callable[[dict[str, Any], str], dict[str, Any]], Callable[[Any], str]] | None
    ) = None
    shares_base_transform: bool = False
    schema_domain_as_is: bool = False
    layout_from_members: bool = False


_DRIVERS: Final[dict[str, TensorStoreDriver]] = {}
_URL_SCHEMES: Final[dict[str, TensorStoreDriver]] = {}

# Driver modules register themselves when imported; `import tensortrio` imports
# none of them, so a spec naming one imports its module on first use.
_DRIVER_MODULES: Final[dict[str, str]] = {
    "zarr": "tensortrio.drivers.zarr",
    "zarr3": "tensortrio.drivers.zarr3",
    "n5": "tensortrio.drivers.n5",
    "auto": "tensortrio.drivers.auto",
}
_URL_SCHEME_MODULES: Final[dict[str, str]] = {
    "zarr2": "tensortrio.drivers.zarr",
    "zarr3": "tensortrio.drivers.zarr3",
    "n5": "tensortrio.drivers.n5",
    "auto": "tensortrio.drivers.auto",
}


def register_tensorstore_driver_module(
    module: str, driver_ids: Iterable[str], url_schemes: Iterable[str] = ()
) -> None:
    """Import ``module`` (which registers the drivers) when one of its ids or schemes is first used."""
    for driver_id in driver_ids:
        _DRIVER_MODULES[driver_id] = module
    for scheme in url_schemes:
        _URL_SCHEME_MODULES[scheme] = module


def _load(key: str, modules: dict[str, str]) -> None:
    module = modules.get(key)
    if module is not None:
        importlib.import_module(module)


def load_driver_module(driver_id: str) -> None:
    """Import the module that registers ``driver_id``, if one is known (drivers register on import)."""
    if driver_id not in _DRIVERS:
        _load(driver_id, _DRIVER_MODULES)


def register_tensorstore_driver(
    driver_id: str,
    member_parser: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    url_scheme: str | None = None,
    uses_kvstore: bool = True,
    schema: Callable[[dict[str, Any], IndexDomain | None, int | None], SchemaConstraints] | None = None,
    adapter_url: (
        tuple[Callable[[dict[str, Any], str], dict[str, Any]], Callable[[Any], str]] | None
    ) = None,
    shares_base_transform: bool = False,
    schema_domain_as_is: bool = False,
    layout_from_members: bool = False,
) -> TensorStoreDriver:
    """Make ``driver_id`` usable as a ``ts.Spec`` ``"driver"`` (idempotent for equal registrations).

    Raises:
        ValueError: a different registration exists for the id or the URL scheme.
    """
    driver = TensorStoreDriver(
        driver_id,
        member_parser,
        url_scheme,
        uses_kvstore,
        schema,
        adapter_url,
        shares_base_transform,
        schema_domain_as_is,
        layout_from_members,
    )
    existing = _DRIVERS.get(driver_id)
    if existing is not None and existing != driver:
        raise InvalidArgumentError(f'TensorStore driver "{driver_id}" is already registered')
    if url_scheme is not None:
        other = _URL_SCHEMES.get(url_scheme)
        if other is not None and other.driver_id != driver_id:
            raise InvalidArgumentError(
                f'URL scheme "{url_scheme}" is already registered for driver "{other.driver_id}"'
            )
        _URL_SCHEMES[url_scheme] = driver
    _DRIVERS[driver_id] = driver
    return driver


def tensorstore_driver(driver_id: str) -> TensorStoreDriver:
    """The registered driver ``driver_id``.

    Raises:
        ValueError: ``"foo" is not a registered TensorStore driver`` (callers prefix the member).
    """
    load_driver_module(driver_id)
    try:
        return _DRIVERS[driver_id]
    except KeyError:
        raise InvalidArgumentError(
            f"{json_text(driver_id)} is not a registered TensorStore driver"
        ) from None


def driver_for_url_scheme(scheme: str) -> TensorStoreDriver | None:
    """The driver whose URL component is ``scheme:``, if any."""
    if scheme not in _URL_SCHEMES:
        _load(scheme, _URL_SCHEME_MODULES)
    return _URL_SCHEMES.get(scheme)
