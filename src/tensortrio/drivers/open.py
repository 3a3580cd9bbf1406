"""``ts.open``: open or create a TensorStore from a spec (``ts.Spec``, JSON or URL).

The keyword arguments are applied to the spec as ``Spec.update`` applies them
(schema constraints merge, open-mode flags combine), the common spec members
are parsed here, and the driver registered for ``"driver"`` opens the array on
the runtime. The returned ``Future`` is awaitable from trio, asyncio and any
thread.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, Final

import attrs

from ..errors import InvalidArgumentError
from ..schema.cache_revalidation import (
    DEFAULT_RECHECK_CACHED_DATA,
    DEFAULT_RECHECK_CACHED_METADATA,
    CacheRevalidationBound,
)
from ..schema.chunk_json import json_text
from ..schema.json_member import member_error
from ..schema.open_mode import OpenMode, open_mode_from_json_members
from ..schema.tensorstore_driver import load_driver_module
from .chunked_format import chunked_format
from .driver import OpenRequest, ReadWriteMode, driver_opener, registered_driver_ids
from .kvstore import KvStore
from .tensorstore import TensorStore

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..index import IndexDomain
    from ..runtime import Future
    from ..schema.chunk_layout import ChunkLayout
    from ..schema.codec_spec import CodecSpec
    from ..schema.context import Context
    from ..schema.schema import Schema
    from ..schema.spec import Spec
    from ..transaction import Transaction

__all__ = ["open", "parse_open_request"]

_COMMON_MEMBERS: Final = frozenset(
    {
        "driver",
        "context",
        "dtype",
        "rank",
        "transform",
        "schema",
        "kvstore",
        "path",
        "open",
        "create",
        "delete_existing",
        "assume_metadata",
        "assume_cached_metadata",
        "cache_pool",
        "metadata_cache_pool",
        "data_copy_concurrency",
        "recheck_cached_metadata",
        "recheck_cached_data",
        "fill_missing_data_reads",
        "store_data_equal_to_fill_value",
    }
)
_RESOURCE_MEMBERS: Final = ("cache_pool", "metadata_cache_pool", "data_copy_concurrency")



def _bool_member(json: dict[str, Any], member: str, default: bool) -> bool:
    value = json.get(member, default)
    if not isinstance(value, bool):
        raise member_error(member, f"Expected boolean, but received: {json_text(value)}")
    return value


def _recheck_member(json: dict[str, Any], member: str, default: CacheRevalidationBound) -> Any:
    if member not in json:
        return default
    try:
        return CacheRevalidationBound.from_json(json[member])
    except InvalidArgumentError as exc:
        raise member_error(member, str(exc)) from None


def parse_open_request(
    json: dict[str, Any],
    *,
    context: Context | None,
    rw: ReadWriteMode,
    schema: Schema | None = None,
) -> OpenRequest:
    """Parse a spec's JSON into what a driver opener needs.

    ``schema``: the spec's schema as a value (``ts.open`` has it), used in
    place of parsing ``schema``, ``dtype`` and ``rank`` from the JSON: a
    complex fill value has no JSON form that parses back.

    Raises:
        InvalidArgumentError: naming the offending member (missing or unknown
            ``driver``, malformed ``transform``, ``schema``, flags...).
    """
    from ..index import IndexTransform
    from ..schema.context import Context as _Context

    if not isinstance(json, dict):
        raise InvalidArgumentError(f"Expected object, but received: {json_text(json)}")
    if "driver" not in json:
        raise member_error("driver", "Expected string, but member is missing")
    driver_id = json["driver"]
    if not isinstance(driver_id, str):
        raise member_error("driver", f"Expected string, but received: {json_text(driver_id)}")
    # Format drivers register themselves on import; loading them only here
    # keeps `import tensortrio` free of them until something is opened.
    load_driver_module(driver_id)
    if chunked_format(driver_id) is None and driver_opener(driver_id) is None and driver_id != "auto":
        raise member_error("driver", f'"{driver_id}" is not a registered TensorStore driver')
    parent = context if context is not None else _Context()
    bound_context = _Context(json["context"], parent=parent) if "context" in json else parent
    if schema is None:
        schema = _schema_members(json)
    transform = None
    if "transform" in json:
        try:
            transform = IndexTransform(json=json["transform"])
        except (InvalidArgumentError, ValueError, TypeError) as exc:
            raise member_error("transform", str(exc)) from None
        # The schema constrains the base, the transform's output (its input when a
        # top-level "rank" was folded in: the spec checked that against the input).
        if schema.rank is not None and schema.rank not in (
            transform.output_rank,
            transform.input_rank,
        ):
            raise member_error(
                "transform",
                f"Rank of transform ({transform.input_rank}) does not match rank constraint "
                f"({schema.rank})",
            )
    path = json.get("path", "")
    if not isinstance(path, str):
        raise member_error("path", f"Expected string, but received: {json_text(path)}")
    return OpenRequest(
        driver_id=driver_id,
        json=json,
        context=bound_context,
        schema=schema,
        transform=transform,
        open_mode=open_mode_from_json_members(json),
        rw=rw,
        kvstore=json.get("kvstore"),
        path=path,
        members={k: v for k, v in json.items() if k not in _COMMON_MEMBERS},
        resource_members={k: json[k] for k in _RESOURCE_MEMBERS if k in json},
        recheck_cached_metadata=_recheck_member(
            json, "recheck_cached_metadata", DEFAULT_RECHECK_CACHED_METADATA
        ),
        recheck_cached_data=_recheck_member(
            json, "recheck_cached_data", DEFAULT_RECHECK_CACHED_DATA
        ),
        fill_missing_data_reads=_bool_member(json, "fill_missing_data_reads", True),
        store_data_equal_to_fill_value=_bool_member(json, "store_data_equal_to_fill_value", False),
    )


def _schema_members(json: dict[str, Any]) -> Schema:
    """The schema a spec's JSON gives in its ``schema``, ``dtype`` and ``rank`` members."""
    from ..schema.schema import Schema as _Schema

    try:
        schema = _Schema(json.get("schema"))
    except (InvalidArgumentError, ValueError, TypeError) as exc:
        raise member_error("schema", str(exc)) from None
    if "dtype" in json:
        try:
            schema.update(dtype=json["dtype"])
        except (InvalidArgumentError, ValueError, TypeError) as exc:
            raise member_error("dtype", str(exc)) from None
    if "rank" in json:
        rank = json["rank"]
        if not isinstance(rank, int) or isinstance(rank, bool) or not 0 <= rank <= 32:
            raise member_error(
                "rank", f"Expected integer in [0, 32], but received: {json_text(rank)}"
            )
        schema.update(rank=rank)
    return schema


def open(
    spec: Spec | Any,
    *,
    read: bool | None = None,
    write: bool | None = None,
    open_mode: OpenMode | None = None,
    open: bool | None = None,
    create: bool | None = None,
    delete_existing: bool | None = None,
    assume_metadata: bool | None = None,
    assume_cached_metadata: bool | None = None,
    context: Context | None = None,
    transaction: Any = None,
    batch: Any = None,
    kvstore: Any = None,
    recheck_cached_metadata: Any = None,
    recheck_cached_data: Any = None,
    recheck_cached: Any = None,
    rank: int | None = None,
    dtype: Any = None,
    domain: IndexDomain | None = None,
    shape: Iterable[int] | None = None,
    chunk_layout: ChunkLayout | None = None,
    codec: CodecSpec | None = None,
    fill_value: Any = None,
    dimension_units: Iterable[Any] | None = None,
    schema: Schema | None = None,
) -> Future[TensorStore]:
    """Opens or creates a ``TensorStore`` from a ``Spec``, its JSON or a URL.

    Keyword arguments override/merge into the spec exactly as ``Spec.update``;
    ``read``/``write`` default to both when neither is given. ``transaction``
    binds the returned store to a ``ts.Transaction``: metadata staged in it
    is seen, and a created array's metadata is staged in it too (written at
    the commit, if nobody created the array meanwhile). With ``batch`` the
    open starts when the ``ts.Batch`` is submitted.

    Raises:
        InvalidArgumentError / TypeError: at once, for a malformed spec or argument.
        On the future: NotFoundError (nothing to open; specify create=True),
        AlreadyExistsError (specify open=True), and metadata mismatches naming
        the member and both values.
    """
    from ..schema.context import Context as _Context
    from ..schema.schema import Schema as _Schema
    from ..schema.spec import Spec as _Spec

    if context is not None and not isinstance(context, _Context):
        raise TypeError(f"ts.open: context must be a ts.Context, got {type(context).__name__}")
    from ..batch import submit_in_batch
    from ..transaction import check_transaction

    txn = check_transaction(transaction, "ts.open")
    for name, flag in (("read", read), ("write", write)):
        if flag is not None and not isinstance(flag, builtins.bool):
            raise TypeError(f"ts.open: {name} must be a bool or None, got {flag!r}")
    rw = ReadWriteMode.from_flags(read, write)
    parsed = spec.copy() if isinstance(spec, _Spec) else _Spec(spec)
    # A spec bound to a context (``spec(retain_context=True)``, ``update(context=)``)
    # opens in it.
    bound = parsed.value.context
    if bound is not None:
        context = bound
    updates = {
        "open_mode": open_mode,
        "open": open,
        "create": create,
        "delete_existing": delete_existing,
        "assume_metadata": assume_metadata,
        "assume_cached_metadata": assume_cached_metadata,
        "kvstore": kvstore,
        "recheck_cached_metadata": recheck_cached_metadata,
        "recheck_cached_data": recheck_cached_data,
        "recheck_cached": recheck_cached,
        "rank": rank,
        "dtype": dtype,
        "domain": domain,
        "shape": shape,
        "chunk_layout": chunk_layout,
        "codec": codec,
        "fill_value": fill_value,
        "dimension_units": dimension_units,
        "schema": schema,
    }
    given = {k: v for k, v in updates.items() if v is not None}
    if given:
        parsed.update(**given)
    request = parse_open_request(
        # A bound spec's resources are shown in its JSON but used through the binding.
        attrs.evolve(parsed.value, bound_context_json=None).to_json(),
        context=context,
        rw=rw,
        schema=_Schema.from_constraints(parsed.value.schema),
    )
    if write:
        request = attrs.evolve(request, write_requested=True)
    if isinstance(kvstore, KvStore):
        # An opened store is used as it is (its context resources, e.g. a memory
        # store's contents), not re-opened from its spec.
        request = attrs.evolve(request, kvstore=kvstore)
    return submit_in_batch(
        batch, _open, request, txn, name="open", where="ts.open", submitted_ok=True
    )


async def _open(request: OpenRequest, transaction: Transaction | None = None) -> TensorStore:
    from .chunked_driver import open_chunked_driver

    if request.driver_id == "auto":
        from .auto import detect_format

        request = attrs.evolve(request, driver_id=await detect_format(request))
        # The array exists: creating, replacing or assuming its metadata is moot.
        request = attrs.evolve(request, open_mode=OpenMode(open=True))
        load_driver_module(request.driver_id)
    fmt = chunked_format(request.driver_id)
    if fmt is not None:
        opened = await open_chunked_driver(fmt, request, transaction)
    else:
        opener = driver_opener(request.driver_id)
        if opener is None:  # checked when parsing; the registry only grows
            raise InvalidArgumentError(
                f'"{request.driver_id}" is not a registered TensorStore driver '
                f"({', '.join(registered_driver_ids())})"
            )
        opened = await opener(request)
    return TensorStore(opened.driver, opened.transform, opened.rw or request.rw, transaction)
