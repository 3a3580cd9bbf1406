"""``ts.Spec``: the JSON (or URL) description of a TensorStore to open or create.

A spec holds the members every TensorStore spec shares, parsed (see
:mod:`.tensorstore_driver` for the list), plus the driver's own members,
validated by the parser the driver registered.  ``ts.Spec(json)`` accepts the
JSON object or a TensorStore URL such as ``"file:///tmp/a/|zarr2:"`` (a
KvStore URL followed by the driver's URL component).

``update(...)`` takes the keyword arguments ``ts.open`` accepts for open mode,
context, kvstore, cache revalidation and schema constraints.  Constraints only
accumulate; open-mode flags are only ever set.

Where this differs from TensorStore: the transform is not derived from a
schema domain (``Spec.transform`` stays ``None`` until one is given). Schema
constraints given to ``update`` for a spec with a transform (a view's spec)
are on the view, as in TensorStore: they are carried back through the
transform to the stored array's space (see ``input_space_constraints``).
"""

from __future__ import annotations

import contextlib
import copy
import json as _json
from typing import TYPE_CHECKING, Any, ClassVar, Final

import attrs

from ..errors import InvalidArgumentError, UnimplementedError
from ..index.domain import IndexDomain
from ..index.interval import INF
from ..index.json import json_value
from ..index.shortcut import TransformIndexable
from ..index.transform import IndexTransform
from .cache_revalidation import (
    DEFAULT_RECHECK_CACHED_DATA,
    DEFAULT_RECHECK_CACHED_METADATA,
    CacheRevalidationBound,
)
from .chunk_json import json_text
from .chunk_layout import LayoutConstraints
from .context_spec import ContextSpec, parse_resource_spec
from .json_member import member_error
from .open_mode import OPEN_MODE_FLAGS, OpenMode, effective_open_mode, open_mode_from_json_members
from .schema import (
    SCHEMA_KEYWORDS,
    Schema,
    SchemaConstraints,
    apply_schema_keywords,
    merge_domains,
)
from .tensorstore_driver import (
    TensorStoreDriver,
    driver_for_url_scheme,
    tensorstore_driver,
)
from .value_handle import ValueHandle

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from ..drivers.kvstore.spec import KvStoreSpec
    from .chunk_layout import ChunkLayout
    from .codec_spec import CodecSpec
    from .context import Context
    from .dtype import dtype as DType
    from .unit import Unit

__all__ = ["SPEC_UPDATE_KEYWORDS", "Spec", "SpecValue"]

_COMMON_MEMBERS: Final = ("driver", "context", "dtype", "rank", "transform", "schema")
_RESOURCE_MEMBERS: Final = {
    "cache_pool": "cache_pool",
    "metadata_cache_pool": "cache_pool",
    "data_copy_concurrency": "data_copy_concurrency",
}
_BOOL_MEMBERS: Final = ("fill_missing_data_reads", "store_data_equal_to_fill_value")
_RECHECK_MEMBERS: Final = ("recheck_cached_data", "recheck_cached_metadata")
_RECHECK_DEFAULTS: Final = {
    "recheck_cached_data": DEFAULT_RECHECK_CACHED_DATA,
    "recheck_cached_metadata": DEFAULT_RECHECK_CACHED_METADATA,
}

SPEC_UPDATE_KEYWORDS: Final = (
    "minimal_spec",
    "open_mode",
    *OPEN_MODE_FLAGS,
    "unbind_context",
    "strip_context",
    "context",
    "kvstore",
    "recheck_cached_metadata",
    "recheck_cached_data",
    "recheck_cached",
    "rank",
    "dtype",
    "domain",
    "shape",
    "chunk_layout",
    "codec",
    "fill_value",
    "dimension_units",
    "schema",
)
"""The keyword arguments of ``Spec.update`` (``ts.open`` adds read/write/transaction/batch)."""



@attrs.frozen(eq=False)
class SpecValue:
    """The frozen content of a ``ts.Spec``.

    ``members`` are the driver's own members (normalised by its parser) and, for
    kvstore-backed drivers, the resource members (``cache_pool``, ...) as JSON.
    ``open_mode`` holds the flags as given (see ``Spec.open_mode`` for the
    effective mode).  ``context`` is the bound ``ts.Context`` from
    ``update(context=...)``, if any (not part of the JSON).
    """

    driver: TensorStoreDriver
    members: dict[str, Any] = attrs.field(factory=dict)
    context_spec: ContextSpec | None = None
    kvstore: KvStoreSpec | None = None
    transform: IndexTransform | None = None
    schema: SchemaConstraints = attrs.field(factory=SchemaConstraints)
    open_mode: tuple[str, ...] = ()
    recheck_cached_data: CacheRevalidationBound | None = None
    recheck_cached_metadata: CacheRevalidationBound | None = None
    fill_missing_data_reads: bool | None = None
    store_data_equal_to_fill_value: bool | None = None
    context: Context | None = None
    bound_context_json: dict[str, Any] | None = None
    """The JSON of the resources a spec bound to its store's context uses
    (``spec(retain_context=True)``): shown as ``"context"``, as TensorStore
    shows a bound spec's resources, while the binding shares the resources."""

    @property
    def driver_id(self) -> str:
        return self.driver.driver_id

    def to_json(self, include_defaults: bool = False) -> dict[str, Any]:
        """The TensorStore spec JSON (keys sorted, unset members omitted)."""
        json: dict[str, Any] = {"driver": self.driver_id}
        json.update(copy.deepcopy(self.members))
        if self.context_spec is not None and self.context_spec.to_json():
            json["context"] = self.context_spec.to_json(include_defaults)
        elif self.context is not None and self.bound_context_json:
            json["context"] = copy.deepcopy(self.bound_context_json)
        if self.kvstore is not None:
            json["kvstore"] = self.kvstore.to_json(include_defaults)
        schema_json = self.schema.to_json()
        dtype = schema_json.pop("dtype", None)
        rank = schema_json.pop("rank", None)
        transform = self.transform
        implied = _driver_schema(self)
        if implied is not None:
            # As tensorstore: the dtype and the domain the driver's members imply are shown
            # as the spec's own (a shape's upper bounds implicit).
            if dtype is None and implied.dtype is not None:
                dtype = implied.dtype.name
            if transform is None:
                transform = _implied_transform(self, implied)
        if transform is not None:
            json["transform"] = transform.to_json()
        if dtype is not None:
            json["dtype"] = dtype
        if rank is not None and transform is None:
            json["rank"] = rank
        if schema_json:
            json["schema"] = schema_json
        for flag in self.open_mode:
            # As tensorstore: "open" is shown only beside "create" (alone, it is the default).
            if flag != "open" or "create" in self.open_mode:
                json[flag] = True
        for name, default in _RECHECK_DEFAULTS.items():
            bound: CacheRevalidationBound | None = getattr(self, name)
            if bound is not None and (include_defaults or bound != default):
                json[name] = bound.to_json()
        for name in _BOOL_MEMBERS:
            value = getattr(self, name)
            if value is not None:
                json[name] = value
        return dict(sorted(json.items()))

    def json_key(self) -> str:
        return _json.dumps(self.to_json(), sort_keys=True, default=repr)


def _kvstore_spec(value: Any) -> KvStoreSpec:
    from ..drivers.kvstore.kvstore import KvStore
    from ..drivers.kvstore.spec import KvStoreSpec

    if isinstance(value, KvStore):
        return value.spec()
    if isinstance(value, KvStoreSpec):
        return value
    return KvStoreSpec.from_json(value)


def _directory_path(path: str) -> str:
    # Chunked drivers treat their kvstore path as a directory.
    return path if not path or path.endswith("/") else path + "/"


def _with_path(kvstore: KvStoreSpec, component: str) -> KvStoreSpec:
    from ..drivers.kvstore.spec import join_path_component

    return kvstore.with_path(_directory_path(join_path_component(kvstore.path, component)))


def _parse_transform(json: Any) -> IndexTransform:
    if isinstance(json, IndexTransform):
        return json
    from ..index.json import transform_from_json

    return transform_from_json(json)


def _check_transform_rank(value: SpecValue, rank: int, what: str) -> None:
    if value.transform is not None and value.transform.input_rank != rank:
        raise InvalidArgumentError(
            f"Specified {what} ({rank}) does not match input rank of transform "
            f"({value.transform.input_rank})"
        )


def _json_rank(value: SpecValue, json: Any) -> SpecValue:
    if isinstance(json, bool) or not isinstance(json, int) or not 0 <= json <= 32:
        raise InvalidArgumentError(
            f"Expected integer in the range [0, 32], but received: {json_text(json)}"
        )
    _check_transform_rank(value, json, "rank")
    return attrs.evolve(value, schema=value.schema.with_rank(json))


def _json_dtype(value: SpecValue, json: Any) -> SpecValue:
    try:
        dtype = SchemaConstraints.from_json({"dtype": json}).dtype
    except InvalidArgumentError as exc:
        # Drop the schema's own member prefix: the caller names "dtype".
        message = str(exc).removeprefix('Error parsing object member "dtype": ')
        raise InvalidArgumentError(message) from None
    assert dtype is not None
    return attrs.evolve(value, schema=value.schema.with_dtype(dtype))


def _parse_json(json: dict[str, Any]) -> SpecValue:
    if "driver" not in json:
        raise InvalidArgumentError(
            'Error parsing object member "driver": Expected string, but member is missing'
        )
    driver_id = json["driver"]
    if not isinstance(driver_id, str):
        raise member_error(
            "driver", InvalidArgumentError(f"Expected string, but received: {json_text(driver_id)}")
        )
    try:
        driver = tensorstore_driver(driver_id)
    except InvalidArgumentError as exc:
        raise member_error("driver", exc) from None
    value = SpecValue(driver)
    rest = {k: v for k, v in json.items() if k != "driver"}
    if "context" in rest:
        try:
            value = attrs.evolve(value, context_spec=ContextSpec(rest.pop("context")))
        except InvalidArgumentError as exc:
            raise member_error("context", exc) from None
    if "transform" in rest:
        try:
            value = attrs.evolve(value, transform=_parse_transform(rest.pop("transform")))
        except InvalidArgumentError as exc:
            raise member_error("transform", exc) from None
    for name, parse in (("rank", _json_rank), ("dtype", _json_dtype), ("schema", _json_schema)):
        if name in rest:
            try:
                value = parse(value, rest.pop(name))
            except InvalidArgumentError as exc:
                raise member_error(name, exc) from None
    if driver.uses_kvstore:
        value = _parse_kvstore_members(value, rest)
    members = driver.parse_members(rest)
    value = attrs.evolve(value, members={**value.members, **members})
    value = _schema_to_base(value)
    _check_driver_schema(value)
    return value


def _schema_to_base(value: SpecValue) -> SpecValue:
    """An adapter that shares its base's index space (``cast``) keeps only its dtype, rank and
    fill value: its other schema constraints (domain, chunk layout, codec, units) are its
    base's, as TensorStore's cast spec passes them on (through the base's own transform).

    Where this differs from TensorStore: it passes the fill value on too, unconverted; a
    tensortrio spec holds its fill value in its own dtype, which the base's may not hold.
    """
    schema = value.schema
    if not value.driver.shares_base_transform or "base" not in value.members:
        return value
    moved = attrs.evolve(schema, dtype=None, rank=None, fill_value=None)
    if moved == SchemaConstraints():
        return value
    kept = SchemaConstraints(dtype=schema.dtype, fill_value=schema.fill_value)
    if schema.rank is not None:
        kept = kept.with_rank(schema.rank)
    return _update_base(attrs.evolve(value, schema=kept), {"schema": Schema.from_constraints(moved)})


def _json_schema(value: SpecValue, json: Any) -> SpecValue:
    schema = SchemaConstraints.from_json(json)
    return attrs.evolve(value, schema=value.schema.with_schema(schema))


def _parse_kvstore_members(value: SpecValue, rest: dict[str, Any]) -> SpecValue:
    """Pop and parse the chunked-storage members from ``rest``."""
    if "kvstore" in rest:
        try:
            kvstore = _kvstore_spec(rest.pop("kvstore"))
        except InvalidArgumentError as exc:
            raise member_error("kvstore", exc) from None
        value = attrs.evolve(value, kvstore=kvstore.with_path(_directory_path(kvstore.path)))
    if "path" in rest:
        path = rest.pop("path")
        if not isinstance(path, str):
            raise member_error(
                "path", InvalidArgumentError(f"Expected string, but received: {json_text(path)}")
            )
        if value.kvstore is None:
            if path:
                raise member_error(
                    "path", InvalidArgumentError('"path" requires "kvstore" to be specified')
                )
        else:
            value = attrs.evolve(value, kvstore=_with_path(value.kvstore, path))
    flags: dict[str, Any] = {k: rest.pop(k) for k in OPEN_MODE_FLAGS if k in rest}
    mode = open_mode_from_json_members(flags)
    value = attrs.evolve(value, open_mode=tuple(mode.flags()))
    for name in _RECHECK_MEMBERS:
        if name in rest:
            try:
                bound = CacheRevalidationBound.from_json(rest.pop(name))
            except InvalidArgumentError as exc:
                raise member_error(name, exc) from None
            bound_update: dict[str, Any] = {name: bound}
            value = attrs.evolve(value, **bound_update)
    for name in _BOOL_MEMBERS:
        if name in rest:
            flag = rest.pop(name)
            if not isinstance(flag, bool):
                raise member_error(
                    name, InvalidArgumentError(f"Expected boolean, but received: {json_text(flag)}")
                )
            flag_update: dict[str, Any] = {name: flag}
            value = attrs.evolve(value, **flag_update)
    resources: dict[str, Any] = {}
    for name, provider in _RESOURCE_MEMBERS.items():
        if name not in rest:
            continue
        member = rest.pop(name)
        try:
            parse_resource_spec(provider, member)
        except InvalidArgumentError as exc:
            raise member_error(name, exc) from None
        if member != provider:  # the default reference is TensorStore's omitted default
            resources[name] = copy.deepcopy(member)
    return attrs.evolve(value, members=resources)


def _driver_schema(value: SpecValue) -> SchemaConstraints | None:
    hook = value.driver.schema
    if hook is None:
        return None
    driver_members = {k: v for k, v in value.members.items() if k not in _RESOURCE_MEMBERS}
    if value.driver.shares_base_transform and value.schema.dtype is not None:
        driver_members["dtype"] = value.schema.dtype.name  # (what a cast converts its base's fill value to)
    domain = value.schema.domain
    if value.transform is not None or domain is None or not (_bounded(domain) or value.driver.schema_domain_as_is):
        domain = None  # (a transform, or unbounded dimensions: the domain implies no shape)
    # The driver's rank as known apart from its members: the schema's, else the transform's output.
    rank = value.schema.rank
    if rank is None and value.transform is not None:
        rank = value.transform.output_rank
    return hook(driver_members, domain, rank)


def _bounded(domain: IndexDomain) -> bool:
    return all(lo != -INF and hi != INF + 1 for lo, hi in zip(domain.inclusive_min, domain.exclusive_max, strict=True))


def _check_driver_schema(value: SpecValue) -> None:
    """The driver's implied constraints must agree with the spec's own.

    Its chunk layout is left to the properties that show it (``chunk_layout``,
    ``schema``) and to open: TensorStore accepts a spec whose chunk layout
    conflicts with its driver's and raises only there.
    """
    implied = _driver_schema(value)
    if implied is not None:
        implied = _without_layout(implied)
        try:
            _merged_schema(value, implied)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(
                f'"{value.driver_id}" driver members conflict with the spec\'s constraints: {exc}'
            ) from None


def _without_layout(implied: SchemaConstraints) -> SchemaConstraints:
    return attrs.evolve(implied, chunk_layout=LayoutConstraints().with_rank(implied.chunk_layout.rank))


def _implied_transform(value: SpecValue, implied: SchemaConstraints | None) -> IndexTransform | None:
    """The identity over the domain the driver implies (a zarr ``metadata.shape``, an array's
    shape, a chunked driver's resizable ``[0, n*)`` from the schema's domain); None if none.

    A chunked driver's domain is merged with the schema's (its bounds where the
    driver's are unknown, its labels), keeping the driver's implicit flags.
    """
    if implied is None or implied.domain is None:
        return None
    domain = implied.domain
    given = value.schema.domain
    if value.driver.uses_kvstore and given is not None and given.rank == domain.rank:
        try:
            merged = merge_domains(domain, given)
        except InvalidArgumentError:
            merged = domain  # (the conflict is reported where the spec is checked)
        domain = IndexDomain(
            inclusive_min=merged.inclusive_min,
            exclusive_max=merged.exclusive_max,
            implicit_lower_bounds=domain.implicit_lower_bounds,
            implicit_upper_bounds=domain.implicit_upper_bounds,
            labels=merged.labels,
        )
    return IndexTransform(domain)


def _merged_schema(value: SpecValue, implied: SchemaConstraints | None) -> SchemaConstraints:
    """The effective schema: the spec's constraints, the driver's, then the transform's domain.

    The spec's and the driver's constraints are in the base (driver) space; with a
    transform the domain and rank are the transform's input space, and the
    space-dependent constraints survive only when the transform keeps the rank.
    """
    schema = value.schema
    if implied is not None and value.driver.layout_from_members:
        # (As TensorStore's array spec: the array's own layout, whatever the schema's says.)
        schema = attrs.evolve(schema, chunk_layout=LayoutConstraints().with_rank(schema.chunk_layout.rank))
    base = schema if implied is None else schema.with_schema(implied)
    transform = value.transform
    if transform is None:
        implied_transform = _implied_transform(value, implied)
        if implied_transform is not None:
            # The identity over what the driver implies: its domain (resizable bounds) only.
            return attrs.evolve(base, domain=implied_transform.domain)
        return base
    if base.rank != transform.output_rank:
        out = SchemaConstraints(dtype=base.dtype, codec=base.codec).with_rank(transform.input_rank)
    else:
        # Chunk layout, units and fill value seen through the transform, as TensorStore does.
        from .schema_transform import transform_schema

        out = transform_schema(Schema.from_constraints(base), transform).constraints
    return attrs.evolve(out, domain=transform.domain)


def _parse_url(url: str) -> SpecValue:
    components = url.split("|")
    driver_index = None
    for i in range(len(components) - 1, -1, -1):
        scheme = components[i].split(":", 1)[0]
        if driver_for_url_scheme(scheme) is not None:
            driver_index = i
            break
    if driver_index is None:
        # A bare KvStore URL: the array there, its format detected (TensorStore's "auto").
        with contextlib.suppress(InvalidArgumentError):
            kvstore = _kvstore_spec(url)
            auto = driver_for_url_scheme("auto")
            assert auto is not None
            return SpecValue(auto, members={}, kvstore=kvstore)
    if driver_index is None or driver_index != len(components) - 1 or driver_index == 0:
        last = components[-1].split(":", 1)[0]
        if driver_index is None and len(components) > 1:
            raise InvalidArgumentError(
                f"Parsing spec from url: {json_text(url)}: unsupported URL scheme: {json_text(last)}"
            )
        raise InvalidArgumentError(
            f"Parsing spec from url: {json_text(url)}: a TensorStore URL is a KvStore URL "
            "followed by a driver component, e.g. \"file:///tmp/a/|zarr2:\""
        )
    scheme, _, rest = components[-1].partition(":")
    driver = driver_for_url_scheme(scheme)
    assert driver is not None
    if driver.adapter_url is not None:
        # An adapter (cast): its component follows its base's whole URL.
        base = Spec.from_value(_parse_url("|".join(components[:-1])))
        members = driver.adapter_url[0](base.to_json(), rest)
        return _parse_json({"driver": driver.driver_id, **members})
    for mark, what in (("?", "Query string"), ("#", "Fragment identifier")):
        if mark in rest:
            raise InvalidArgumentError(
                f"Parsing spec from url: {json_text(url)}: {what} not supported in the "
                f"{json_text(scheme)} component"
            )
    try:
        kvstore = _kvstore_spec("|".join(components[:-1]))
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"Parsing spec from url: {json_text(url)}: {exc}") from None
    value = SpecValue(driver, members=driver.parse_members({}))
    kvstore = kvstore.with_path(_directory_path(kvstore.path))
    path = rest.removeprefix("//")
    return attrs.evolve(value, kvstore=_with_path(kvstore, path) if path else kvstore)


def _spec_value(json: Any) -> SpecValue:
    if isinstance(json, Spec):
        return json._value
    if isinstance(json, str):
        return _parse_url(json)
    if not isinstance(json, dict):
        raise InvalidArgumentError(f"Expected object, but received: {json_text(json)}")
    return _parse_json(json_value(json))


def _open_mode_update(value: SpecValue, kwargs: dict[str, Any]) -> SpecValue:
    """``value`` with the open mode this ``update`` call gives, as TensorStore applies it.

    A mode that says ``open`` or ``create`` replaces the spec's mode (so an
    earlier ``delete_existing`` does not survive ``open_mode=OpenMode(open=True)``);
    modifiers alone (``delete_existing``, ``assume_metadata``, ...) are added to it.
    """
    mode = OpenMode()
    given = kwargs.get("open_mode")
    if given is not None:
        if not isinstance(given, OpenMode):
            raise TypeError(f"open_mode must be a ts.OpenMode, got {given!r}")
        mode = mode | given
    for flag in OPEN_MODE_FLAGS:
        given_flag = kwargs.get(flag)
        # A bool, or what converts to one as tensorstore's keywords take it (not a string).
        if given_flag is not None and not isinstance(given_flag, int) and type(given_flag).__name__ != "bool":
            raise TypeError(f"Invalid {flag}: expected a bool, got {given_flag!r}")
        if given_flag:
            setattr(mode, flag, True)
    if not (mode.open or mode.create):
        mode = mode | OpenMode(**dict.fromkeys(value.open_mode, True))
    flags = tuple(mode.flags())
    if flags != value.open_mode and not value.driver.uses_kvstore:
        given_flags = {k: kwargs[k] for k in ("open_mode", *OPEN_MODE_FLAGS) if kwargs.get(k)}
        return _update_base(value, given_flags)
    return attrs.evolve(value, open_mode=flags)


def _update_base(value: SpecValue, updates: dict[str, Any]) -> SpecValue:
    """Storage options given to a driver without storage, as TensorStore takes them.

    An adapter (``cast``) passes them to its base; another driver (``array``)
    has nothing they apply to and ignores them.
    """
    def update(json: dict[str, Any]) -> dict[str, Any]:
        given = updates
        if not _carries_metadata(json):
            # Where it differs from TensorStore: an inner spec without metadata (a stack's layer
            # never opened) is not told to assume cached metadata, which it would invent from
            # its schema, defaults included (an unpickled stack read its layers' fill values
            # wrong): it reads the stored metadata instead.
            given = {k: _without_assumed_cache(v) for k, v in updates.items() if k != "assume_cached_metadata"}
        spec = Spec(json)
        spec.update(**given)
        return spec.to_json()

    return _map_inner_specs(value, update)


def _carries_metadata(json: dict[str, Any]) -> bool:
    base = json.get("base")
    return "metadata" in json or (isinstance(base, dict) and _carries_metadata(base))


def _without_assumed_cache(value: Any) -> Any:
    if isinstance(value, OpenMode) and value.assume_cached_metadata:
        return OpenMode(**{flag: True for flag in value.flags() if flag != "assume_cached_metadata"})
    return value


def _map_inner_specs(value: SpecValue, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> SpecValue:
    """``value`` with ``fn`` applied to the JSON of the specs it wraps: an adapter's
    ``base``, a stack's ``layers`` (``value`` itself for another driver)."""
    base_json = value.members.get("base")
    if isinstance(base_json, dict):
        return attrs.evolve(value, members={**value.members, "base": fn(base_json)})
    layers = value.members.get("layers")
    if isinstance(layers, list) and value.driver_id == "stack":
        return attrs.evolve(value, members={**value.members, "layers": [fn(layer) for layer in layers]})
    return value


def _recheck_update(value: SpecValue, kwargs: dict[str, Any]) -> SpecValue:
    updates: dict[str, Any] = {}
    for name in _RECHECK_MEMBERS:
        option = kwargs.get(name)
        if option is not None:
            updates[name] = CacheRevalidationBound.from_option(option, name)
    both = kwargs.get("recheck_cached")
    if both is not None:
        # Applied last, as tensorstore does: it overrides the specific options.
        bound = CacheRevalidationBound.from_option(both, "recheck_cached")
        updates = dict.fromkeys(_RECHECK_MEMBERS, bound)
    if updates and not value.driver.uses_kvstore:
        given = {k: kwargs[k] for k in (*_RECHECK_MEMBERS, "recheck_cached") if kwargs.get(k) is not None}
        return _update_base(value, given)
    return attrs.evolve(value, **updates) if updates else value


def _context_update(value: SpecValue, kwargs: dict[str, Any]) -> SpecValue:
    from ..drivers.kvstore.spec import KvStoreSpec
    from .context import Context

    if kwargs.get("strip_context"):
        kvstore = value.kvstore
        if kvstore is not None and kvstore.context:
            kvstore = KvStoreSpec.from_parts(kvstore.driver_spec, kvstore.path, None)
        value = attrs.evolve(
            value, context_spec=None, kvstore=kvstore, context=None, bound_context_json=None
        )
    if kwargs.get("unbind_context") and value.context is not None:
        # The resources' JSON becomes the spec's own; only the binding is dropped.
        shown = value.bound_context_json
        value = attrs.evolve(value, context=None, bound_context_json=None)
        if shown and value.context_spec is None:
            value = attrs.evolve(value, context_spec=ContextSpec(shown))
    context = kwargs.get("context")
    if context is not None:
        if not isinstance(context, Context):
            raise TypeError(f"context must be a ts.Context, got {context!r}")
        if context is not value.context:
            value = attrs.evolve(value, context=context, bound_context_json=None)
    return value


def _kvstore_update(value: SpecValue, kwargs: dict[str, Any]) -> SpecValue:
    given = kwargs.get("kvstore")
    if given is None:
        return value
    if not value.driver.uses_kvstore:
        raise InvalidArgumentError(
            f'kvstore: the "{value.driver_id}" driver does not use a key-value store'
        )
    if value.kvstore is not None:
        raise InvalidArgumentError('"kvstore" is already specified')
    kvstore = _kvstore_spec(given)
    return attrs.evolve(value, kvstore=kvstore.with_path(_directory_path(kvstore.path)))


def _schema_update(value: SpecValue, kwargs: dict[str, Any]) -> SpecValue:
    schema_kwargs = {k: v for k, v in kwargs.items() if k in _SCHEMA_KEYWORDS and v is not None}
    transform = value.transform
    if transform is not None and schema_kwargs:
        # As TensorStore: the constraints are on the view, carried through the transform
        # to the stored array's space (the transform itself is left as it is).
        from .schema_transform import input_space_constraints

        given = apply_schema_keywords(SchemaConstraints(), schema_kwargs)
        output = input_space_constraints(given, transform)
        return attrs.evolve(value, schema=value.schema.with_schema(output))
    schema = apply_schema_keywords(value.schema, schema_kwargs)
    return attrs.evolve(value, schema=schema)


_SCHEMA_KEYWORDS: Final = frozenset(SCHEMA_KEYWORDS)


def apply_spec_keywords(value: SpecValue, kwargs: dict[str, Any]) -> SpecValue:
    """Apply ``Spec.update`` keyword arguments (``None`` means "not given").

    Raises:
        TypeError: an unknown keyword or a value of the wrong type.
        ValueError: a conflicting constraint or an invalid option, naming it.
    """
    unknown = [k for k in kwargs if k not in SPEC_UPDATE_KEYWORDS]
    if unknown:
        raise TypeError(f"Spec.update() got an unexpected keyword argument {unknown[0]!r}")
    value = _context_update(value, kwargs)
    value = _open_mode_update(value, kwargs)
    value = _kvstore_update(value, kwargs)
    value = _recheck_update(value, kwargs)
    value = _schema_to_base(_schema_update(value, kwargs))
    _check_driver_schema(value)
    if kwargs.get("minimal_spec"):
        value = _minimal(value)
    return value


def _minimal(value: SpecValue, *, base: bool = False) -> SpecValue:
    """``value`` without the stored metadata a driver can read back (``minimal_spec``).

    As TensorStore: what the metadata implied stays as the spec's own dtype
    and transform; an adapter (``cast``) makes its base minimal, whose
    transform the adapter already shows.
    """
    if not value.driver.uses_kvstore:
        # An adapter's base, a stack's layers (as TensorStore passes minimal_spec on to
        # them); the array driver's data is not metadata.
        if "base" in value.members:
            return _map_inner_specs(value, lambda json: _minimal(_spec_value(json), base=True).to_json())
        return _map_inner_specs(value, lambda json: _minimal(_spec_value(json)).to_json())
    if "metadata" not in value.members:
        return value
    implied = _driver_schema(value)
    schema = value.schema
    if schema.dtype is None and implied is not None and implied.dtype is not None:
        schema = schema.with_dtype(implied.dtype)
    members = {k: v for k, v in value.members.items() if k != "metadata"}
    transform = value.transform if base else value.transform or _implied_transform(value, implied)
    return attrs.evolve(value, members=members, schema=schema, transform=transform)


class Spec(ValueHandle[SpecValue], TransformIndexable):
    """Specification for opening or creating a TensorStore (``ts.Spec``).

    ``Spec(json)`` takes the JSON object, a TensorStore URL, or another Spec.

    Raises:
        ValueError: a malformed member (named), an unregistered driver
            (``Error parsing object member "driver": "foo" is not a registered
            TensorStore driver``) or a conflicting constraint.
    """

    __slots__ = ()
    _REPR_NAME = "Spec"
    # Indexing is not element access: without this, ``list(spec)`` would index 0, 1, ... forever.
    __iter__: ClassVar[None] = None

    def __init__(self, json: Any) -> None:
        self._value = _spec_value(json)

    @classmethod
    def from_value(cls, value: SpecValue) -> Spec:
        """Wrap a frozen :class:`SpecValue`."""
        return cls._wrap(value)

    @property
    def value(self) -> SpecValue:
        """The frozen content (what ``ts.open`` consumes)."""
        return self._value

    def update(self, **kwargs: Any) -> None:
        """Add constraints or change the open mode (see ``SPEC_UPDATE_KEYWORDS``).

        A failing update leaves the spec unchanged.
        """
        self._value = apply_spec_keywords(self._value, kwargs)

    def copy(self) -> Spec:
        """A copy (updates to it do not affect this spec)."""
        return Spec.from_value(self._value)

    def bound_to_store(self, context: Context, resources: dict[str, Any]) -> Spec:
        """This spec bound to an open store's ``context``, whose resources it uses are ``resources``.

        For ``TensorStore.spec(retain_context=True)``: opening it shares those
        resources, and its JSON shows them as ``"context"`` as TensorStore does.
        """
        value = apply_spec_keywords(self._value, {"context": context})
        return Spec.from_value(attrs.evolve(value, bound_context_json=resources or None))

    def to_json(self, include_defaults: bool = False) -> dict[str, Any]:
        """The TensorStore JSON representation."""
        return self._value.to_json(include_defaults)

    @property
    def schema(self) -> Schema:
        """Effective schema: the spec's constraints with those its transform and driver members imply."""
        base = self.base
        if base is not None and self._value.driver.shares_base_transform:
            _ = base.schema  # (a base's chunk layout conflict shows here too, as in TensorStore)
        return Schema.from_constraints(_merged_schema(self._value, _driver_schema(self._value)))

    def _property_schema(self) -> Schema:
        """The effective schema as every property but ``schema`` and ``chunk_layout`` sees it.

        A chunk layout that conflicts with the driver's is reported only by those
        two and at open, as TensorStore reports it: ``rank``, ``domain``, indexing
        and the rest still work.
        """
        value = self._value
        implied = _driver_schema(value)
        try:
            return Schema.from_constraints(_merged_schema(value, implied))
        except InvalidArgumentError:
            if implied is None:
                raise
            return Schema.from_constraints(_merged_schema(value, _without_layout(implied)))

    @property
    def dtype(self) -> DType | None:
        """Data type, or ``None`` if unspecified."""
        return self._property_schema().dtype

    @property
    def rank(self) -> int | None:
        """Rank, or ``None`` if unspecified."""
        return self._property_schema().rank

    @property
    def ndim(self) -> int | None:
        """Alias for :py:obj:`rank`."""
        return self.rank

    @property
    def domain(self) -> IndexDomain | None:
        """Effective domain, or ``None`` if unknown."""
        return self._property_schema().domain

    @property
    def shape(self) -> tuple[int, ...] | None:
        """Shape of the domain, or ``None``."""
        return self._property_schema().shape

    @property
    def origin(self) -> tuple[int, ...] | None:
        """Inclusive lower bounds of the domain, or ``None``."""
        return self._property_schema().origin

    @property
    def size(self) -> int | None:
        """Number of elements in the domain, or ``None``."""
        return self._property_schema().size

    @property
    def chunk_layout(self) -> ChunkLayout:
        """Effective chunk layout constraints."""
        return self.schema.chunk_layout

    @property
    def codec(self) -> CodecSpec | None:
        """Effective codec constraints, or ``None``."""
        return self._property_schema().codec

    @property
    def fill_value(self) -> np.ndarray[Any, Any] | None:
        """Fill value, or ``None``."""
        return self._property_schema().fill_value

    @property
    def dimension_units(self) -> tuple[Unit | None, ...] | None:
        """Physical units of each dimension, or ``None`` if the rank is unknown."""
        return self._property_schema().dimension_units

    @property
    def transform(self) -> IndexTransform | None:
        """The index transform, or ``None`` if unknown.

        As TensorStore derives it: the one given; else an adapter's (``cast``)
        base's; else the identity over the domain the driver's members imply
        (a zarr ``metadata.shape``, an array's shape). A domain given only as
        a schema constraint implies none.
        """
        value = self._value
        if value.transform is not None:
            return value.transform
        base = self.base
        if base is not None and value.driver.shares_base_transform:
            return base.transform
        return _implied_transform(value, _driver_schema(value))

    @property
    def base(self) -> Spec | None:
        """The spec of the TensorStore an adapter (``cast``, ``downsample``) views (a ``cast``'s
        seen through this spec's transform).

        ``None`` for a driver that is not an adapter of a single TensorStore.
        """
        base_json = self._value.members.get("base")
        if not isinstance(base_json, dict):
            return None
        base = Spec(base_json)
        if self._value.transform is None or not self._value.driver.shares_base_transform:
            return base
        return Spec.from_value(attrs.evolve(base._value, transform=self._value.transform))

    @property
    def kvstore(self) -> KvStoreSpec | None:
        """The key-value store (``ts.KvStore.Spec``; an adapter's base's), or ``None``."""
        kvstore = self._value.kvstore
        if kvstore is None:
            base = self.base
            return None if base is None else base.kvstore
        return kvstore.copy()  # the caller may change it; this spec does not

    @property
    def open_mode(self) -> OpenMode:
        """The effective open mode (``open`` when neither ``open`` nor ``create`` is set).

        An ``array`` spec has none to open or create: ``OpenMode()``, as in TensorStore.
        """
        value = self._value
        mode = OpenMode(**dict.fromkeys(value.open_mode, True))
        if not value.driver.uses_kvstore and "base" not in value.members:
            return mode
        return effective_open_mode(mode)

    @property
    def url(self) -> str:
        """The TensorStore URL: the KvStore URL and the driver's component.

        Raises:
            ValueError: no kvstore.
            UnimplementedError: the driver has no URL form (a ``NotImplementedError``
                as in TensorStore, and a ``ValueError``).
        """
        value = self._value
        scheme = value.driver.url_scheme
        if scheme is None:
            raise UnimplementedError(
                f'url: the "{value.driver_id}" driver has no URL representation'
            )
        base = self.base
        if value.driver.adapter_url is not None and base is not None:
            return f"{base.url}|{scheme}:{value.driver.adapter_url[1](self)}"
        if value.kvstore is None:
            raise InvalidArgumentError(
                f'url: the "{value.driver_id}" spec has no kvstore, so it has no URL form'
            )
        return f"{value.kvstore.url}|{scheme}:"

    def _indexable(self) -> IndexTransform:
        value = self._value
        if value.transform is not None:
            return value.transform
        from .schema_transform import indexing_transform

        schema = self._property_schema()
        return indexing_transform(schema.domain, schema.rank, "Spec")

    def _with_transform(self, transform: IndexTransform) -> Spec:
        return Spec.from_value(attrs.evolve(self._value, transform=transform))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Spec):
            return NotImplemented
        return self._value.json_key() == other._value.json_key()

    def __reduce__(self) -> tuple[Callable[..., Spec], tuple[Any, ...]]:
        # The frozen value, not the JSON: driver members and fill values survive exactly,
        # and the registered driver's functions pickle by reference to their module.
        return (Spec.from_value, (self._value,))
