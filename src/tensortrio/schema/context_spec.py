"""``ts.Context.Spec``: the parsed JSON of a context, a mapping of resource keys to specs.

Keys are ``"<resource-type>"`` (overrides the default resource of that type)
or ``"<resource-type>#<id>"`` (defines a named resource). A value is one of:

- an object: the resource itself, e.g. ``{"total_bytes_limit": 100000000}``;
- a string: a reference to another resource of the same type in this or a
  parent context, ``"cache_pool"`` or ``"cache_pool#remote"``;
- ``null``: the default resource of that type as the parent context gives
  it, or a new default resource in a context without parent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..errors import InvalidArgumentError
from ..index.json import json_value
from .context_resources import ResourceConfig, get_provider, json_text
from .json_member import member_error
from .json_pretty import pretty_repr

__all__ = [
    "ContextSpec",
    "DefaultResourceSpec",
    "DirectResourceSpec",
    "ResourceReference",
    "ResourceSpec",
    "parse_resource_spec",
    "provider_of_key",
]


def provider_of_key(key: str) -> str:
    """The resource type of ``"<type>"`` or ``"<type>#<id>"``."""
    return key.split("#", 1)[0]


@attrs.frozen
class ResourceReference:
    """A string resource spec: the resource called ``key`` in this or a parent context."""

    key: str

    def to_json(self, include_defaults: bool = False) -> Any:
        return self.key


@attrs.frozen
class DefaultResourceSpec:
    """A ``null`` resource spec: the default resource of ``provider``."""

    provider: str

    def to_json(self, include_defaults: bool = False) -> Any:
        return None


@attrs.frozen
class DirectResourceSpec:
    """An object resource spec: a resource of its own, with this config."""

    provider: str
    config: ResourceConfig

    def to_json(self, include_defaults: bool = False) -> Any:
        return self.config.to_json(include_defaults)


ResourceSpec = ResourceReference | DefaultResourceSpec | DirectResourceSpec


def parse_resource_spec(provider: str, json: Any, *, allow_null: bool = True) -> ResourceSpec:
    """Parse the JSON spec of a resource of type ``provider`` (which must exist).

    Raises:
      InvalidArgumentError: with TensorStore's message, e.g. ``Invalid spec or
        reference to "cache_pool" resource: "file_io_concurrency" (...)``.
    """
    resource_provider = get_provider(provider)
    if resource_provider is None:
        raise InvalidArgumentError(f'Invalid context resource identifier: "{provider}"')
    if json is None and allow_null:
        return DefaultResourceSpec(provider)
    if isinstance(json, str):
        if provider_of_key(json) != provider:
            raise InvalidArgumentError(
                f'Invalid spec or reference to "{provider}" resource: {json_text(json)} '
                f"(Expected {resource_provider.expected}, but received: {json_text(json)})"
            )
        return ResourceReference(json)
    return DirectResourceSpec(provider, resource_provider.parse(json))


@attrs.frozen(init=False, repr=False)
class ContextSpec:
    """Parsed representation of a JSON Context specification (``ts.Context.Spec``).

    ``Context.Spec(json)`` parses ``json``, a mapping of resource keys to
    resource specs; unknown resource types and malformed specs raise
    ``ValueError`` (``InvalidArgumentError``) naming the key. Specs compare
    equal when their JSON does.
    """

    _entries: tuple[tuple[str, ResourceSpec], ...]
    _lookup: Mapping[str, ResourceSpec] = attrs.field(eq=False, hash=False)

    def __init__(self, json: Any) -> None:
        if isinstance(json, ContextSpec):
            entries: tuple[tuple[str, ResourceSpec], ...] = json._entries
        else:
            entries = tuple(sorted(_parse_entries(json_value(json)).items()))
        self.__attrs_init__(entries, dict(entries))

    def to_json(self, include_defaults: bool = False) -> dict[str, Any]:
        """Return the JSON representation (members equal to their default are omitted
        unless ``include_defaults``)."""
        return {key: spec.to_json(include_defaults) for key, spec in self._entries}

    def get(self, key: str) -> ResourceSpec | None:
        """The spec given for ``key``, or None."""
        return self._lookup.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._lookup

    def __repr__(self) -> str:
        return pretty_repr(self.to_json(), "Context.Spec(", ")")

    def __reduce__(self) -> tuple[Any, ...]:
        return (ContextSpec, (self.to_json(include_defaults=True),))


def _parse_entries(json: Any) -> dict[str, ResourceSpec]:
    if not isinstance(json, Mapping):
        raise InvalidArgumentError(f"Expected object, but received: {json_text(json)}")
    entries: dict[str, ResourceSpec] = {}
    for key, value in json.items():
        if not isinstance(key, str) or get_provider(provider_of_key(key)) is None:
            raise InvalidArgumentError(f'Invalid context resource identifier: "{key}"')
        try:
            entries[key] = parse_resource_spec(provider_of_key(key), value)
        except InvalidArgumentError as exc:
            raise member_error(key, exc) from None
    return entries
