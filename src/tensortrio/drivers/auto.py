"""The ``auto`` driver: open an existing array without naming its format.

``ts.open("file:///data/frames/")`` (a bare KvStore URL), ``"file:///data/frames/|auto:"``
or ``{"driver": "auto", "kvstore": ...}`` look at the keys under the path and
open the array with the driver whose metadata is there: ``zarr.json`` for
``zarr3``, ``.zarray`` for ``zarr``, ``attributes.json`` for ``n5``. As in
TensorStore, finding none or several is an error, and so is creating: a new
array's format must be named.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Final

from ..errors import FailedPreconditionError, InvalidArgumentError
from ..runtime import concurrently
from ..schema.tensorstore_driver import register_tensorstore_driver

if TYPE_CHECKING:
    from ..index.domain import IndexDomain
    from ..schema.schema import SchemaConstraints
    from .driver import OpenRequest

__all__ = ["detect_format"]

#: The metadata key that marks each format, and the format's name in messages (TensorStore's).
_MARKERS: Final = (("zarr.json", "zarr3", "zarr3"), (".zarray", "zarr", "zarr2"), ("attributes.json", "n5", "n5"))


def _parse_members(members: dict[str, Any]) -> dict[str, Any]:
    if members:
        raise InvalidArgumentError(
            "Object includes extra members: " + ",".join(f'"{k}"' for k in sorted(members))
        )
    return {}


async def detect_format(request: OpenRequest) -> str:
    """The driver id of the array under ``request``'s kvstore and path.

    Without ``create`` (or with ``open`` beside it) the array is opened, any other
    open-mode flag ignored, as TensorStore ignores them.

    Raises:
        InvalidArgumentError: the open mode asks to create (or replace) an array, not open one.
        FailedPreconditionError: no format's metadata is there, or several are.
    """
    from .chunked_driver import _array_path
    from .kvstore import KvStore
    from .transactional_io import kvstore_target

    if request.open_mode.create and not request.open_mode.open:
        raise InvalidArgumentError("auto: create mode not compatible with format auto-detection")
    if request.kvstore is None:
        raise InvalidArgumentError('auto: "kvstore" must be specified')
    kv = request.kvstore if isinstance(request.kvstore, KvStore) else await KvStore.open(request.kvstore, context=request.context)
    kv = kv.copy()
    kv.path = _array_path(kv, request.path)
    found: list[tuple[str, str]] = []

    async def look(key: str, driver_id: str, name: str) -> None:
        if (await kv.read(key)).state == "value":
            found.append((driver_id, name))

    await concurrently([functools.partial(look, *marker) for marker in _MARKERS])
    where = kvstore_target(kv, "").description
    if not found:
        raise FailedPreconditionError(f"auto: Failed to detect format for {where}")
    if len(found) > 1:
        names = ", ".join(sorted(name for _, name in found))
        raise FailedPreconditionError(f"auto: Multiple possible formats detected for {where}: {{{names}}}")
    return found[0][0]


def _members_schema(
    members: dict[str, Any], domain: IndexDomain | None = None, rank: int | None = None
) -> SchemaConstraints:
    """The schema's domain, as it is: TensorStore's "auto" spec derives its transform from it
    (``ts.open(url, shape=[6])`` has the explicit domain ``[0, 6)``, not the format's ``[0, 6*)``)."""
    from ..schema.schema import SchemaConstraints as _SchemaConstraints

    return _SchemaConstraints() if domain is None else _SchemaConstraints(domain=domain)


register_tensorstore_driver(
    "auto", _parse_members, url_scheme="auto", schema=_members_schema, schema_domain_as_is=True
)
