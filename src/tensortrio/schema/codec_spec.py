"""``ts.CodecSpec``: driver-specific encoding/decoding parameters, and their registry.

A codec spec is JSON with a ``"driver"`` member (``"zarr"``, ``"zarr3"``,
``"n5"``, ...) whose other members only that driver understands.  Each array
driver registers a :class:`CodecDriver` that validates and normalises its
members (TensorStore fills defaults, e.g. zarr's ``"filters": None``) and
merges two specs of its own kind, as ``Schema`` needs.

Example (what the zarr driver does at import)::

    register_codec_driver(CodecDriver("zarr", from_json=parse_zarr_codec))
    ts.CodecSpec({"driver": "zarr", "compressor": None})
"""

from __future__ import annotations

import json as _json
from typing import TYPE_CHECKING, Any, Final

import attrs

from ..errors import InvalidArgumentError
from ..index.json import json_value
from .chunk_json import json_text
from .json_pretty import pretty_repr

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "CodecDriver",
    "CodecSpec",
    "codec_driver",
    "register_codec_driver",
]


def _merge_members(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Default merge: the union of members; a member set in both must agree."""
    merged = dict(a)
    for key, value in b.items():
        if key in merged and merged[key] != value:
            raise InvalidArgumentError(
                f'Cannot merge codec member "{key}": {json_text(merged[key])} does not '
                f"match {json_text(value)}"
            )
        merged[key] = value
    return merged


@attrs.frozen
class CodecDriver:
    """How one driver's codec JSON is read and merged.

    ``from_json(members)`` gets the members other than ``"driver"`` and returns
    them validated and normalised (raise ``ValueError`` naming the member).
    ``merge(a, b)`` combines two normalised member dicts (default: union, with
    conflicting values an error).
    """

    name: str
    from_json: Callable[[dict[str, Any]], dict[str, Any]]
    merge: Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]] = _merge_members


_DRIVERS: Final[dict[str, CodecDriver]] = {}


def register_codec_driver(driver: CodecDriver) -> None:
    """Make ``driver.name`` usable as a ``CodecSpec`` ``"driver"``.

    Raises:
        ValueError: a different driver is already registered under that name.
    """
    existing = _DRIVERS.get(driver.name)
    if existing is not None and existing != driver:
        raise InvalidArgumentError(f'codec driver "{driver.name}" is already registered')
    _DRIVERS[driver.name] = driver


def codec_driver(name: str) -> CodecDriver:
    """The registered codec driver ``name`` (``ValueError`` if there is none)."""
    if name not in _DRIVERS:
        # Codec drivers share their id with the TensorStore driver whose module
        # registers both, and that module loads on first use.
        from .tensorstore_driver import load_driver_module

        load_driver_module(name)
    try:
        return _DRIVERS[name]
    except KeyError:
        raise InvalidArgumentError(
            f'Error parsing object member "driver": {json_text(name)} is not registered'
        ) from None


def _parse(json: Any) -> tuple[str, dict[str, Any]]:
    json = json_value(json)
    if not isinstance(json, dict):
        raise InvalidArgumentError(f"Expected object, but received: {json_text(json)}")
    if "driver" not in json:
        raise InvalidArgumentError(
            'Error parsing object member "driver": Expected string, but member is missing'
        )
    name = json["driver"]
    if not isinstance(name, str):
        raise InvalidArgumentError(
            f'Error parsing object member "driver": Expected string, but received: {json_text(name)}'
        )
    driver = codec_driver(name)
    members = driver.from_json({k: v for k, v in json.items() if k != "driver"})
    return name, members


@attrs.frozen(init=False, eq=False, repr=False)
class CodecSpec:
    """Specifies driver-specific encoding/decoding parameters (``ts.CodecSpec``).

    ``CodecSpec(json)`` validates ``json`` with the registered driver.  Two
    specs are equal when their JSON is (tensorstore compares identity).

    Raises:
        ValueError: not an object, no or unknown ``"driver"``, or members the
            driver rejects.
    """

    driver: str
    """The codec driver name."""
    _members: dict[str, Any]

    def __init__(self, json: Any) -> None:
        driver, members = _parse(json)
        self.__attrs_init__(driver, members)

    def to_json(self, include_defaults: bool = False) -> dict[str, Any]:
        """The JSON representation (keys sorted)."""
        return dict(sorted({"driver": self.driver, **self._members}.items()))

    def merge(self, other: CodecSpec) -> CodecSpec:
        """Combine with ``other`` (same driver), as ``Schema`` merges codec constraints.

        Raises:
            ValueError: different drivers, or the driver finds the specs conflicting.
        """
        if other.driver != self.driver:
            raise InvalidArgumentError(
                f'Cannot merge codec spec with driver "{self.driver}" and codec spec with '
                f'driver "{other.driver}"'
            )
        merged = codec_driver(self.driver).merge(self._members, other._members)
        return CodecSpec({"driver": self.driver, **merged})

    def _key(self) -> str:
        return _json.dumps(self.to_json(), sort_keys=True)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CodecSpec):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return pretty_repr(self.to_json(), "CodecSpec(", ")")

    def __reduce__(self) -> tuple[type[CodecSpec], tuple[dict[str, Any]]]:
        return (CodecSpec, (self.to_json(),))
