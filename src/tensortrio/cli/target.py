"""What a command-line TARGET names: a path, a kvstore URL, a TensorStore URL or a JSON spec.

- ``/data/frames`` or ``frames`` (a local path): the ``file`` kvstore at its
  absolute path;
- ``file:///data/frames/``, ``memory://x/`` (a kvstore URL): that kvstore;
- ``file:///data/frames/|zarr3:`` (a TensorStore URL pipeline): as given;
- ``{"driver": "zarr3", "kvstore": ...}`` (JSON): a TensorStore spec when it
  names an array driver or a ``kvstore``, otherwise a kvstore spec.

For a kvstore, the array driver is what the caller asks for, or, when the
array exists, what its metadata key says (``zarr.json``: zarr3, ``.zarray``:
zarr).
"""

from __future__ import annotations

import json
import os
from typing import Any

import attrs

import tensortrio as ts

from ..errors import InvalidArgumentError, NotFoundError

__all__ = ["ARRAY_DRIVERS", "Target", "parse_target"]

ARRAY_DRIVERS = frozenset({"zarr", "zarr3", "n5", "array", "virtual_chunked", "cast"})
_METADATA_KEYS = (("zarr.json", "zarr3"), (".zarray", "zarr"), ("attributes.json", "n5"))


@attrs.frozen
class Target:
    """A parsed TARGET: a full TensorStore spec, or a kvstore still needing a driver."""

    text: str
    spec: Any = None
    kvstore: Any = None

    def array_spec(self, driver: str) -> Any:
        """The TensorStore spec, with ``driver`` over the kvstore when only a kvstore was named."""
        if self.spec is not None:
            return self.spec
        return {"driver": driver, "kvstore": self.kvstore}

    async def stored_driver(self) -> str | None:
        """The driver whose metadata is stored at the kvstore (``None``: nothing there)."""
        if self.spec is not None:
            return None
        store = await ts.KvStore.open(self.kvstore)
        for key, driver in _METADATA_KEYS:
            if (await store.read(key)).state == "value":
                return driver
        return None

    async def open_existing(self, **options: Any) -> ts.TensorStore:
        """Opens the array the target names, which must exist.

        Raises:
            NotFoundError: no array metadata is stored there.
        """
        if self.spec is None:
            driver = await self.stored_driver()
            if driver is None:
                raise NotFoundError(f"no zarr, zarr3 or n5 array at {self.text!r}")
            return await ts.open(self.array_spec(driver), open=True, **options)
        return await ts.open(self.spec, open=True, **options)


def parse_target(text: str) -> Target:
    """Parses a TARGET argument (see the module docstring).

    Raises:
        InvalidArgumentError: empty text or malformed JSON.
    """
    stripped = text.strip()
    if not stripped:
        raise InvalidArgumentError("the target is empty: give a path, a URL or a JSON spec")
    if stripped.startswith("{"):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InvalidArgumentError(
                f"target is not valid JSON: {exc.msg} at column {exc.colno}"
            ) from exc
        if not isinstance(value, dict):
            raise InvalidArgumentError("a JSON target must be an object")
        if value.get("driver") in ARRAY_DRIVERS or "kvstore" in value:
            return Target(text, spec=value)
        return Target(text, kvstore=value)
    if "|" in stripped:
        return Target(text, spec=stripped)
    if "://" in stripped:
        return Target(text, kvstore=stripped if stripped.endswith("/") else stripped + "/")
    path = os.path.abspath(os.path.expanduser(stripped))
    return Target(text, kvstore={"driver": "file", "path": path.rstrip("/") + "/"})
