"""``ts.Context``: shared resources (cache pools, concurrency limits, memory stores).

A context is a spec plus an optional parent. Resources are made lazily, on
first lookup, and then shared: every lookup that resolves to the same resource
in a context tree returns the same object.

Lookup of a key (``context["cache_pool#a"]`` or a driver's
``context.get_resource("cache_pool", "cache_pool#a")``) finds the nearest
context, this one or an ancestor, whose spec names the key; a reference found
there is resolved again from that context. A plain ``"<type>"`` key that no
spec names gets the default resource, made once in the root context. A
``"<type>#<id>"`` key that no spec names is an error.

Pickling keeps sharing: resources and contexts pickled together come back
sharing exactly as before, as in TensorStore.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal, overload

import attrs

from ..errors import InvalidArgumentError
from .context_resources import (
    CachePoolResource,
    ConcurrencyResource,
    ContextResource,
    FileIoSyncResource,
    MemoryKeyValueStoreResource,
    get_provider,
    json_text,
)
from .context_spec import (
    ContextSpec,
    DefaultResourceSpec,
    DirectResourceSpec,
    ResourceReference,
    parse_resource_spec,
    provider_of_key,
)
from .json_member import NOT_GIVEN

if TYPE_CHECKING:
    from .context_resources import ResourceProvider

__all__ = ["Context"]

# One lock for every context: resolution is quick and must never make two
# resources for one key, whichever threads look it up.
_lock = threading.RLock()


class _ReferenceCycle(Exception):
    """Raised through the references of a cycle until the key where it closes."""

    def __init__(self, context: Context, key: str) -> None:
        super().__init__()
        self.start = (context, key)
        self.steps: list[tuple[str, str]] = []  # (key, reference), innermost first

    def message(self) -> str:
        """TensorStore's message: the cycle from the node Brent's algorithm meets at."""
        steps = self.steps[::-1]
        first = _brent_meeting_index(len(steps))
        parts = [f"{json_text(k)}:{json_text(ref)}" for k, ref in steps[first:] + steps[:first]]
        return "Context resource reference cycle: " + " -> ".join(parts)


def _brent_meeting_index(length: int) -> int:
    """Where Brent's cycle detection, started at index 0 of a cycle, finds it.

    TensorStore starts its message there, so the order of a cycle's steps in
    the message depends on where the lookup entered the cycle.
    """
    power = steps = 1
    tortoise, hare = 0, 1 % length
    while tortoise != hare:
        if power == steps:
            tortoise, power, steps = hare, power * 2, 0
        hare = (hare + 1) % length
        steps += 1
    return tortoise


@attrs.define(eq=False, init=False, repr=False)
class Context:
    """Manages shared TensorStore context resources, such as caches and credentials.

    ``Context()`` is a new default context: it shares no resource with other
    default contexts. ``Context(spec, parent=None)`` takes a ``Context.Spec`` or
    its JSON; resources it does not name come from ``parent``.
    """

    Spec = ContextSpec
    Resource = ContextResource

    _spec: ContextSpec | None
    _parent: Context | None
    _resources: dict[str, ContextResource]
    _resolving: set[str]
    # A reference that failed fails the same way forever: the tree is immutable,
    # and a cycle's message depends on where it was entered first.
    _failures: dict[str, str]

    def __init__(
        self, spec: ContextSpec | Any = NOT_GIVEN, parent: Context | None = None, *, json: Any = NOT_GIVEN
    ) -> None:
        if parent is not None and not isinstance(parent, Context):
            raise TypeError(f"Context: parent must be a Context, got {type(parent).__name__}")
        if json is not NOT_GIVEN:
            if spec is not NOT_GIVEN:
                raise TypeError("Context: give either a spec or json=, not both")
            spec = json
        if spec is NOT_GIVEN:
            spec = None
        elif not isinstance(spec, ContextSpec):
            spec = ContextSpec(spec)  # None is refused there, as TensorStore refuses null
        self.__attrs_init__(spec, parent, {}, set(), {})

    @property
    def spec(self) -> ContextSpec | None:
        """Spec from which this context was constructed (None for a default context)."""
        return self._spec

    @property
    def parent(self) -> Context | None:
        """Parent context from which this context inherits."""
        return self._parent

    def __getitem__(self, key: str) -> ContextResource:
        """Creates or retrieves the context resource for ``key`` (``"<type>"`` or ``"<type>#<id>"``)."""
        if not isinstance(key, str):
            raise TypeError(f"Context: resource key must be a str, got {type(key).__name__}")
        provider = _provider(provider_of_key(key))
        with _lock:
            return self._resolve(provider, key)

    @overload
    def get_resource(
        self, provider: Literal["cache_pool"], spec: Any = None
    ) -> CachePoolResource: ...
    @overload
    def get_resource(
        self,
        provider: Literal[
            "data_copy_concurrency", "file_io_concurrency", "http_request_concurrency"
        ],
        spec: Any = None,
    ) -> ConcurrencyResource: ...
    @overload
    def get_resource(
        self, provider: Literal["memory_key_value_store"], spec: Any = None
    ) -> MemoryKeyValueStoreResource: ...
    @overload
    def get_resource(
        self, provider: Literal["file_io_sync"], spec: Any = None
    ) -> FileIoSyncResource: ...
    @overload
    def get_resource(self, provider: str, spec: Any = None) -> ContextResource: ...

    def get_resource(self, provider: str, spec: Any = None) -> ContextResource:
        """Resolve the resource a driver spec asks for.

        Args:
          provider: the resource type, e.g. ``"cache_pool"``.
          spec: the driver spec's member: None (the default resource), a
            reference such as ``"cache_pool#a"``, an object (a new resource of
            its own, not shared), or an already resolved resource.

        Raises:
          InvalidArgumentError: malformed spec, or a reference to a resource no
            context defines.
        """
        resource_provider = _provider(provider)
        if isinstance(spec, ContextResource):
            if spec.provider != provider:
                raise InvalidArgumentError(
                    f'Invalid spec or reference to "{provider}" resource: {spec!r}'
                )
            return spec
        if spec is None:
            key = provider
        else:
            parsed = parse_resource_spec(provider, spec, allow_null=False)
            if isinstance(parsed, DirectResourceSpec):
                return resource_provider.create(parsed.config)
            assert isinstance(parsed, ResourceReference)
            key = parsed.key
        with _lock:
            return self._resolve(resource_provider, key)

    def _resolve(self, provider: ResourceProvider, key: str) -> ContextResource:
        context: Context | None = self
        while context is not None:
            resource = context._resources.get(key)
            if resource is not None:
                return resource
            if context._spec is not None and key in context._spec:
                return context._resolve_defined(provider, key)
            if context._parent is None:
                break
            context = context._parent
        if key != provider.name:
            raise InvalidArgumentError(f'Resource not defined: "{key}"')
        assert context is not None
        resource = provider.create(provider.default)
        context._resources[key] = resource
        return resource

    def _resolve_defined(self, provider: ResourceProvider, key: str) -> ContextResource:
        assert self._spec is not None
        spec = self._spec.get(key)
        if isinstance(spec, DirectResourceSpec):
            resource = provider.create(spec.config)
        elif isinstance(spec, DefaultResourceSpec):
            # null: the default the parent gives, or a new default in a root context.
            if self._parent is not None:
                resource = self._parent._resolve(provider, provider.name)
            else:
                resource = provider.create(provider.default)
        else:
            assert isinstance(spec, ResourceReference)
            failure = self._failures.get(key)
            if failure is not None:
                raise InvalidArgumentError(failure)
            if key in self._resolving:
                raise _ReferenceCycle(self, key)
            self._resolving.add(key)
            try:
                resource = self._resolve(provider, spec.key)
            except _ReferenceCycle as cycle:
                cycle.steps.append((key, spec.key))
                if cycle.start != (self, key):
                    raise
                message = cycle.message()
                for step_key, _ in cycle.steps:
                    self._failures[step_key] = message
                raise InvalidArgumentError(message) from None
            except InvalidArgumentError as error:
                self._failures[key] = str(error)
                raise
            finally:
                self._resolving.discard(key)
        self._resources[key] = resource
        return resource

    def __repr__(self) -> str:
        args = [] if self._spec is None else [repr(self._spec)]
        if self._parent is not None:
            args.append(f"parent={self._parent!r}")
        return f"Context({', '.join(args)})"

    def __reduce__(self) -> tuple[Any, ...]:
        with _lock:
            resources = dict(self._resources)
        return (_restore_context, (self._spec, self._parent, resources))


def _restore_context(
    spec: ContextSpec | None, parent: Context | None, resources: dict[str, ContextResource]
) -> Context:
    context = Context(parent=parent) if spec is None else Context(spec, parent)
    context._resources.update(resources)
    return context


def _provider(name: str) -> ResourceProvider:
    provider = get_provider(name)
    if provider is None:
        raise InvalidArgumentError(f'Invalid context resource identifier: "{name}"')
    return provider
