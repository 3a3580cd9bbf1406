"""``KvStore.Spec``: the parsed JSON (or URL) description of a key-value store."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import attrs

from ...errors import InvalidArgumentError
from ...index.json import json_value
from ...schema.json_member import member_error
from ...schema.json_pretty import pretty_repr
from .registry import driver_spec_class
from .url import parse_url

if TYPE_CHECKING:
    from .driver import DriverSpec

__all__ = ["KvStoreSpec", "join_path_component"]


def join_path_component(path: str, component: str) -> str:
    """Join ``component`` to ``path`` as TensorStore does: a ``/`` is added only if neither has one there."""
    if not path:
        return component
    if not component:
        return path
    if path.endswith("/") or component.startswith("/"):
        return path + component
    return path + "/" + component


def _as_path_text(value: object, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    raise TypeError(f"{what} must be str or bytes, got {type(value).__name__}: {value!r}")


@attrs.define(init=False, repr=False, eq=False, on_setattr=attrs.setters.NO_OP)
class KvStoreSpec:
    """Parsed representation of a JSON key-value store specification.

    ``KvStore.Spec(json)`` accepts the JSON object (``{'driver': 'file',
    'path': '/tmp/data/'}``) or a URL (``'file:///tmp/data/'``).

    Raises:
        InvalidArgumentError: naming the offending member or URL component.
    """

    driver_spec: DriverSpec
    path: str
    """Path prefix within the base key-value store."""
    context: dict[str, Any] | None
    """The spec's own ``context`` member (resources augmenting the parent context)."""
    bound_context: Any
    """The context an opened store used (``KvStore.spec(retain_context=True)``), or None.

    Opening a bound spec uses it, whatever context is passed, so that the
    store gets the same resources (its memory store, its concurrency
    limits); it is not part of the JSON and not pickled.
    """

    def __init__(self, json: Any) -> None:
        parsed = KvStoreSpec.from_json(json)
        object.__setattr__(self, "driver_spec", parsed.driver_spec)
        object.__setattr__(self, "path", parsed.path)
        object.__setattr__(self, "context", parsed.context)
        object.__setattr__(self, "bound_context", parsed.bound_context)

    @classmethod
    def from_parts(
        cls,
        driver_spec: DriverSpec,
        path: str = "",
        context: dict[str, Any] | None = None,
        bound_context: Any = None,
    ) -> KvStoreSpec:
        """Build from an already-parsed driver spec (``path`` is validated by the driver)."""
        self = object.__new__(cls)
        object.__setattr__(self, "driver_spec", driver_spec)
        object.__setattr__(self, "path", driver_spec.normalize_path(path))
        object.__setattr__(self, "context", context)
        object.__setattr__(self, "bound_context", bound_context)
        return self

    @classmethod
    def from_json(cls, json: Any) -> KvStoreSpec:
        """Parse a spec from its JSON object or a URL string, or copy a ``KvStoreSpec``."""
        if isinstance(json, KvStoreSpec):
            return json.copy()  # the caller may change the one it holds
        if isinstance(json, str):
            return parse_url(json)
        if not isinstance(json, dict):
            raise InvalidArgumentError(
                f"kvstore: a spec must be a JSON object or a URL string, got {json!r}"
            )
        members = json_value(json)
        driver = members.pop("driver", None)
        if driver is None:
            raise InvalidArgumentError("kvstore: spec member 'driver' is missing")
        if not isinstance(driver, str):
            raise InvalidArgumentError(f"kvstore: 'driver' must be a string, got {driver!r}")
        path = members.pop("path", "")
        if not isinstance(path, str):
            raise InvalidArgumentError(f"{driver}: 'path' must be a string, got {path!r}")
        context = members.pop("context", None)
        if context is not None and not isinstance(context, dict):
            raise InvalidArgumentError(
                f"{driver}: 'context' must be a JSON object, got {context!r}"
            )
        if context:
            from ...schema.context_spec import ContextSpec

            try:
                ContextSpec(context)  # its resources checked now, as TensorStore checks them
            except InvalidArgumentError as exc:
                raise member_error("context", exc) from None
        driver_spec, path = driver_spec_class(driver).from_json(members).normalize(path)
        return cls.from_parts(driver_spec, path, copy.deepcopy(context) or None)

    @property
    def driver(self) -> str:
        """The driver identifier."""
        return self.driver_spec.id

    @property
    def url(self) -> str:
        """URL representation of the key-value store specification."""
        return self.driver_spec.to_url(self.path)

    @property
    def base(self) -> KvStoreSpec | None:
        """Underlying key-value store of an adapter; None for root drivers."""
        return None

    def to_json(self, include_defaults: bool = False) -> dict[str, Any]:
        """Converts to the JSON representation (members sorted, defaults omitted unless asked)."""
        out: dict[str, Any] = {"driver": self.driver_spec.id}
        out.update(self.driver_spec.to_json(include_defaults=include_defaults))
        if self.path or include_defaults:
            out["path"] = self.path
        if self.context:
            out["context"] = copy.deepcopy(self.context)
        elif include_defaults:
            out["context"] = {}
        return dict(sorted(out.items()))

    def with_path(self, path: str) -> KvStoreSpec:
        """This spec with ``path`` replaced."""
        return KvStoreSpec.from_parts(self.driver_spec, path, self.context, self.bound_context)

    def __add__(self, suffix: str | bytes) -> KvStoreSpec:
        """The spec with ``suffix`` appended to ``path`` without a separator."""
        return self.with_path(self.path + _as_path_text(suffix, "KvStore.Spec + suffix"))

    def __truediv__(self, component: str | bytes) -> KvStoreSpec:
        """The spec with ``component`` joined to ``path`` by a ``/``."""
        text = _as_path_text(component, "KvStore.Spec / component")
        return self.with_path(join_path_component(self.path, text))

    def __setattr__(self, name: str, value: Any) -> None:
        # As in TensorStore, ``path`` may be set; nothing else.
        if name != "path":
            raise attrs.exceptions.FrozenInstanceError
        text = _as_path_text(value, "KvStore.Spec.path")
        object.__setattr__(self, "path", self.driver_spec.normalize_path(text))

    def update(
        self,
        *,
        context: Any = None,
        unbind_context: bool | None = None,
        strip_context: bool | None = None,
    ) -> None:
        """Modify this spec's context binding in place, as ``KvStore.Spec.update`` does.

        ``strip_context`` drops the ``context`` member and any binding (default
        resources then); ``unbind_context`` leaves the binding's resources as
        JSON (:meth:`KvStore.spec` with ``unbind_context`` shows them);
        ``context`` binds the spec to that ``ts.Context`` unless it is bound
        already: opening it then uses that context's resources (shared memory
        stores, concurrency limits).

        Raises:
            TypeError: ``context`` is not a ``ts.Context``.
        """
        from ...schema.context import Context

        if context is not None and not isinstance(context, Context):
            raise TypeError(f"context must be a ts.Context, got {context!r}")
        if strip_context:
            object.__setattr__(self, "driver_spec", self.driver_spec.strip_context())
            object.__setattr__(self, "context", None)
            object.__setattr__(self, "bound_context", None)
            return
        if unbind_context:
            object.__setattr__(self, "bound_context", None)
        if context is not None and self.bound_context is None:
            object.__setattr__(self, "bound_context", context)

    def copy(self) -> KvStoreSpec:
        """Returns a copy, which changes apart from this spec."""
        return KvStoreSpec.from_parts(
            self.driver_spec, self.path, copy.deepcopy(self.context), self.bound_context
        )

    def __copy__(self) -> KvStoreSpec:
        return self.copy()

    def __deepcopy__(self, memo: object) -> KvStoreSpec:
        return self.copy()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KvStoreSpec):
            return NotImplemented
        return self.bound_context is other.bound_context and self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]  # it changes (``path``, ``update``), as TensorStore's

    def __reduce__(self) -> tuple[Any, ...]:
        return (KvStoreSpec, (self.to_json(),))

    def __repr__(self) -> str:
        return pretty_repr(self.to_json(), "KvStore.Spec(", ")")


KvStoreSpec.__module__ = "tensortrio"
KvStoreSpec.__qualname__ = "KvStore.Spec"
