"""The generic kvstore-backed chunked driver: metadata cache, open flow, bounds, resize.

A format (``ChunkedFormat``: zarr, ...) knows its metadata and chunks; this
module does the rest as TensorStore's ``KeyValueStoreBackedChunkDriver`` does:

- opening reads the metadata (or reuses the context's cached copy when it is
  fresh enough for ``recheck_cached_metadata``) and validates it against the
  spec's constraints; creating writes new metadata with a "must not exist"
  conditional write, so of two concurrent creators exactly one wins (the other
  opens what the winner wrote when ``open=True`` too, else fails);
- opening in a transaction sees metadata staged in it, and creating stages
  the new metadata there instead of writing it: nothing is stored before the
  commit (which fails if the array was created outside the transaction
  meanwhile), and an abort leaves storage as it was;
- ``assume_metadata`` neither reads nor writes metadata;
  ``assume_cached_metadata`` skips the read at open;
- every read and write resolves the view's implicit bounds against the current
  metadata and checks the explicit ones;
- ``resize`` rewrites the metadata conditionally (retrying on a concurrent
  change) and deletes chunks that fall outside a shrunk domain.

Metadata entries are shared per metadata cache pool, so two stores opened in
one context see each other's resizes, as in TensorStore.
"""

from __future__ import annotations

import math
import time
import weakref
from typing import TYPE_CHECKING, Any, Final

import attrs
import numpy as np

from ..errors import (
    AlreadyExistsError,
    DataLossError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    UnimplementedError,
)
from ..index import IndexDomain, IndexTransform, OutputIndexMethod
from ..index.compose import compose
from ..index.resolve import resolve_bounds
from ..schema.open_mode import effective_open_mode, validate_open_mode
from .chunked_format import chunked_format, chunked_format_ids
from .driver import Driver, OpenedDriver, OpenRequest, register_driver
from .kvstore.generation import NO_VALUE
from .read_burst import ReadBurst
from .resize_plan import cells_outside, resized_shape, resized_transform

if TYPE_CHECKING:
    from collections.abc import Sequence

    import trio

    from ..actors.transaction import TransactionState
    from ..runtime import Promise
    from ..schema.context import Context
    from ..schema.schema import Schema
    from ..transaction import Transaction
    from .chunk_codec import ChunkCodec
    from .chunked_format import ChunkedFormat
    from .chunked_io import ReadOutcome
    from .kvstore import KvStore

__all__ = ["ChunkedDriver", "open_chunked_driver", "register_chunked_driver"]

_MAX_RESIZE_ATTEMPTS: Final = 64
_DELETE_WINDOW: Final = 1024
"""Kvstore deletes queued at once (a shrinking resize)."""


@attrs.define(eq=False)
class MetadataEntry:
    """The cached metadata of one array; shared by every store opened on it in a context."""

    key: str
    """The metadata key, relative to the array's kvstore path (e.g. ``".zarray"``)."""
    metadata: Any = None
    """The last known metadata value (None: never known). Kept when the stored
    metadata disappears, so stores already open keep a schema to report."""
    missing: bool = False
    """The stored metadata was found absent (at ``time``)."""
    generation: bytes = b""
    time: float = -math.inf
    """When ``metadata`` (or its absence) was known current; ``-inf``: never checked."""
    schema: Any = None
    """``metadata_schema(metadata)``, computed once per metadata value."""
    staged_in: Any = None
    """The ``TransactionState`` whose staged metadata this entry holds (a private entry)."""
    _refresh: trio.Event | None = attrs.field(default=None, init=False)

    def set(
        self, fmt: ChunkedFormat[Any, Any], metadata: Any, generation: bytes, when: float
    ) -> None:
        """Record metadata (None: found absent) read or written at ``when``."""
        self.missing = metadata is None
        if metadata is not None and metadata is not self.metadata:
            self.schema = fmt.metadata_schema(metadata)
            self.metadata = metadata
        self.generation = generation
        self.time = when


# Per metadata cache pool: (kvstore JSON, metadata key) -> entry. Weak on the
# pool, so a context's cache goes away with the context.
_METADATA_CACHES: weakref.WeakKeyDictionary[
    Any, weakref.WeakValueDictionary[tuple[str, str], MetadataEntry]
] = weakref.WeakKeyDictionary()
# Per data cache pool: (kvstore JSON, path, codec) -> chunk cache.
_CHUNK_CACHES: weakref.WeakKeyDictionary[
    Any, weakref.WeakValueDictionary[tuple[str, str, str, tuple[bool, bool]], Any]
] = weakref.WeakKeyDictionary()


# Per transaction: the context's (shared) entry of each array created in it ->
# the transaction's private entry holding the staged metadata.
_STAGED_METADATA: weakref.WeakKeyDictionary[Any, dict[MetadataEntry, MetadataEntry]] = (
    weakref.WeakKeyDictionary()
)


def _store_identity(kvstore: KvStore) -> str:
    import json

    return json.dumps(kvstore._bound_json(), sort_keys=True, default=str)


def _now_bound(bound: float) -> float:
    """A staleness bound with "always revalidate" (``inf``) meaning "current as of now"."""
    return time.time() if bound == math.inf else bound


async def read_metadata_entry(
    fmt: ChunkedFormat[Any, Any], kvstore: KvStore, entry: MetadataEntry, staleness_bound: float
) -> Any:
    """The entry's metadata, re-read from the kvstore unless fetched at or after ``staleness_bound``.

    Concurrent callers share one read. Returns None when the metadata key is absent.

    Raises:
        DataLossError: the stored metadata cannot be parsed (naming the key).
    """
    import trio

    bound = _now_bound(staleness_bound)
    # An entry never read has nothing to serve, whatever the bound (even -inf).
    while entry.time < bound or entry.time == -math.inf:
        if entry._refresh is not None:
            await entry._refresh.wait()
            continue
        entry._refresh = event = trio.Event()
        try:
            result = await kvstore.read(entry.key)
            if result.state == "value":
                try:
                    metadata = fmt.decode_metadata(result.value)
                except (DataLossError, InvalidArgumentError) as exc:
                    raise DataLossError(
                        f'Error reading "{kvstore.path}{entry.key}": {exc}'
                    ) from exc
            else:
                metadata = None
            entry.set(fmt, metadata, result.stamp.generation, result.stamp.time)
            # A store whose clock lags ours must not make us read forever.
            entry.time = max(entry.time, bound)
        finally:
            entry._refresh = None
            event.set()
    return None if entry.missing else entry.metadata


@attrs.define(eq=False)
class ChunkedDriver(Driver):
    """An opened kvstore-backed chunked array."""

    fmt: ChunkedFormat[Any, Any]
    members: Any
    kv: KvStore
    entry: MetadataEntry
    cache: Any
    """The CORE ``ChunkCache`` of the array's chunks."""
    request: OpenRequest
    open_time: float
    assume_metadata: bool
    _data_context: Context
    resources: dict[str, Any]
    """The bound ``cache_pool``, ``data_copy_concurrency`` and ``metadata_cache_pool`` resources."""
    layout_identity: str = ""
    """``chunk_layout_identity`` of the metadata the chunk cache was made for."""
    _codec_of: tuple[Any, ChunkCodec] | None = attrs.field(default=None, init=False)
    """The codec of the last metadata value asked about (building one per call is not free)."""
    read_burst: ReadBurst = attrs.field(init=False, factory=ReadBurst)
    """Plain reads issued together run as one operation (``TensorStore.read``)."""

    # --- Driver surface

    @property
    def driver_id(self) -> str:
        return self.fmt.driver_id

    def in_transaction(self, transaction: TransactionState) -> ChunkedDriver:
        staged = _STAGED_METADATA.get(transaction, {}).get(self.entry)
        return self if staged is None else attrs.evolve(self, entry=staged)

    @property
    def metadata_transaction(self) -> Any:
        state = self.entry.staged_in
        return None if state is None or state.phase == "committed" else state

    @property
    def numpy_dtype(self) -> np.dtype[Any]:
        return self.codec.dtype

    def check_source(self, source: np.ndarray) -> None:
        """The codec's ``check_values``, if it has one (fixed-length text: the lengths)."""
        check = getattr(self.codec, "check_values", None)
        if check is not None:
            check(source)

    @property
    def codec(self) -> ChunkCodec:
        """The chunk codec of the current metadata."""
        metadata = self.entry.metadata
        cached = self._codec_of
        if cached is not None and cached[0] is metadata:
            return cached[1]
        codec = self.fmt.chunk_codec(metadata)
        self._codec_of = (metadata, codec)
        return codec

    @property
    def context(self) -> Context:
        return self._data_context

    def schema(self) -> Schema:
        schema: Schema = self.entry.schema
        return schema

    def base_domain(self) -> IndexDomain:
        domain = self.schema().domain
        assert domain is not None, "a format's metadata schema always has a domain"
        return domain

    def kvstore(self) -> KvStore:
        return self.kv

    def spec_members(self, *, minimal: bool, unbind_context: bool) -> dict[str, Any]:
        kv_json = self.kv._bound_json() if unbind_context else self.kv.spec().to_json()
        kv_json = {k: v for k, v in kv_json.items() if k != "context"}
        out: dict[str, Any] = {"driver": self.fmt.driver_id, "kvstore": kv_json}
        dtype = self.schema().dtype
        assert dtype is not None, "a format's metadata schema always has a dtype"
        out["dtype"] = dtype.name
        if not minimal:
            out["metadata"] = self.fmt.metadata_json(self.entry.metadata)
        out.update(self.fmt.opened_members_json(self.members, self.entry.metadata))
        req = self.request
        if self.assume_metadata:
            out["assume_metadata"] = True
        if not req.fill_missing_data_reads:
            out["fill_missing_data_reads"] = False
        if req.store_data_equal_to_fill_value:
            out["store_data_equal_to_fill_value"] = True
        for name in ("recheck_cached_data", "recheck_cached_metadata"):
            if name in req.json:
                out[name] = getattr(req, name).to_json()
        if unbind_context:
            for name, value, resource in self._resource_members():
                if isinstance(value, str):
                    out[name] = value
                elif isinstance(value, dict):
                    out[name] = resource.to_json()
        return out

    def _resource_members(self) -> list[tuple[str, Any, Any]]:
        """(member, its spec value or None, the bound resource) for each resource in use."""
        members = self.request.resource_members
        out = [
            (name, members.get(name), self.resources[name])
            for name in ("cache_pool", "data_copy_concurrency")
        ]
        if "metadata_cache_pool" in members:
            out.append(
                (
                    "metadata_cache_pool",
                    members["metadata_cache_pool"],
                    self.resources["metadata_cache_pool"],
                )
            )
        return out

    def context_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for _, value, resource in self._resource_members():
            if isinstance(value, dict):
                continue  # an inline resource is shown as the member itself
            key = resource.provider if value is None else str(value)
            out[key] = resource.to_json()
        out.update(self.kv._bound_json().get("context", {}))
        return dict(sorted(out.items()))

    async def current_metadata(self) -> Any:
        """The metadata, revalidated as ``recheck_cached_metadata`` requires.

        Raises:
            NotFoundError: deleted since the array was opened.
            FailedPreconditionError: changed incompatibly (chunking, data type, codec).
        """
        if self.assume_metadata:
            return self.entry.metadata
        bound = self.request.recheck_cached_metadata
        if bound.bound == "open":
            return self.entry.metadata
        staleness = bound.staleness_bound(self.open_time)
        if self.entry.time >= staleness != math.inf:
            return self.entry.metadata
        metadata = await read_metadata_entry(self.fmt, self.kv, self.entry, staleness)
        if metadata is None:
            raise NotFoundError(
                f'Metadata at "{self.kv.path}{self.entry.key}" does not exist '
                "(deleted since the array was opened)"
            )
        # read_metadata_entry returned entry.metadata, whose schema entry.set derived.
        if chunk_layout_identity(self.fmt, self.entry) != self.layout_identity:
            raise FailedPreconditionError(
                f'Metadata at "{self.kv.path}{self.entry.key}" changed incompatibly since the '
                "array was opened (chunking, data type or codec); open it again"
            )
        return metadata

    async def resolve(self, transform: IndexTransform) -> IndexTransform:
        await self.current_metadata()
        return resolve_bounds(self.base_domain(), transform)

    async def read(
        self,
        transform: IndexTransform,
        *,
        generations: dict[tuple[int, ...], bytes] | None = None,
    ) -> np.ndarray:
        """Read ``transform``'s region; ``generations`` as :func:`~.chunked_io.read_chunked` takes it."""
        from .chunked_io import read_chunked

        bound = self.request.recheck_cached_data.staleness_bound(self.open_time)
        result: np.ndarray = await read_chunked(
            self.cache, transform, staleness_bound=_now_bound(bound), generations=generations
        )
        return result

    async def read_many(self, transforms: Sequence[IndexTransform]) -> list[ReadOutcome]:
        """Resolve and read many views issued together (``ReadBurst``); each one's array or error.

        The metadata is checked once for all (as ``resolve`` would for each);
        a failure there raises. Chunks the views share are loaded once.
        """
        from .chunked_io import read_chunked_many

        await self.current_metadata()
        base = self.base_domain()
        resolved: list[IndexTransform | Exception] = []
        for transform in transforms:
            try:
                resolved.append(resolve_bounds(base, transform))
            except Exception as exc:
                resolved.append(exc)
        bound = self.request.recheck_cached_data.staleness_bound(self.open_time)
        return await read_chunked_many(self.cache, resolved, staleness_bound=_now_bound(bound))

    async def write(
        self, transform: IndexTransform, source: np.ndarray, copied: Promise[None]
    ) -> None:
        from .chunked_io import write_chunked_async

        await write_chunked_async(self.cache, transform, source, copied)

    async def stored_cells(
        self, transform: IndexTransform, transaction: TransactionState | None = None
    ) -> tuple[int, int]:
        from .stored_cells import stored_cells

        return await stored_cells(self, transform, transaction)

    async def resize(
        self,
        transform: IndexTransform,
        inclusive_min: Sequence[int | None],
        exclusive_max: Sequence[int | None],
        *,
        resize_metadata_only: bool,
        resize_tied_bounds: bool,
        expand_only: bool,
        shrink_only: bool,
        transaction: TransactionState | None = None,
    ) -> IndexTransform:
        if self.assume_metadata:
            raise FailedPreconditionError(
                f"{self.fmt.driver_id}: resize is not supported by a store opened with "
                "assume_metadata=True (open it without assume_metadata to resize)"
            )
        rank = transform.input_rank
        if len(inclusive_min) != rank or len(exclusive_max) != rank:
            raise InvalidArgumentError(f"inclusive_min and exclusive_max must have rank {rank}")
        if transaction is not None:
            condition = await self._staging_condition(transaction)
            new_shape = resized_shape(
                transform,
                self.base_domain(),
                inclusive_min,
                exclusive_max,
                resize_tied_bounds=resize_tied_bounds,
                expand_only=expand_only,
                shrink_only=shrink_only,
            )
            self._stage_resize(new_shape, resize_metadata_only, transaction, condition)
            return resized_transform(transform, inclusive_min, exclusive_max)
        for _attempt in range(_MAX_RESIZE_ATTEMPTS):
            metadata = await read_metadata_entry(self.fmt, self.kv, self.entry, math.inf)
            if metadata is None:
                raise NotFoundError(f'Metadata at "{self.kv.path}{self.entry.key}" does not exist')
            domain = self.base_domain()
            old_shape = tuple(domain.shape)
            new_shape = resized_shape(
                transform,
                domain,
                inclusive_min,
                exclusive_max,
                resize_tied_bounds=resize_tied_bounds,
                expand_only=expand_only,
                shrink_only=shrink_only,
            )
            if new_shape == old_shape:
                break
            new_metadata = self.fmt.resize_metadata(metadata, new_shape)
            stamp = await self.kv.write(
                self.entry.key,
                self.fmt.encode_metadata(new_metadata),
                if_equal=self.entry.generation or NO_VALUE,
            )
            if not stamp.generation:
                # Someone changed the metadata meanwhile: re-read and re-plan.
                self.entry.time = -math.inf
                continue
            self.entry.set(self.fmt, new_metadata, stamp.generation, stamp.time)
            if not resize_metadata_only and any(
                n < o for n, o in zip(new_shape, old_shape, strict=True)
            ):
                await self._delete_out_of_bounds(old_shape, new_shape)
            break
        else:  # pragma: no cover - needs 64 consecutive lost races
            raise FailedPreconditionError(
                f"{self.fmt.driver_id}: resize gave up after {_MAX_RESIZE_ATTEMPTS} concurrent metadata changes"
            )
        return resized_transform(transform, inclusive_min, exclusive_max)

    async def _staging_condition(self, transaction: TransactionState) -> bytes | None:
        """Before staging new metadata: the generation the commit must still find stored.

        The first change in ``transaction`` is made from the metadata stored
        now (read here); later ones, and those of an array created in the
        transaction, amend what it staged (None: its condition stands).
        """
        entry = self.entry
        if entry.staged_in is transaction:
            return None
        if await read_metadata_entry(self.fmt, self.kv, entry, math.inf) is None:
            raise NotFoundError(f'Metadata at "{self.kv.path}{entry.key}" does not exist')
        return entry.generation or NO_VALUE

    def _stage_resize(
        self,
        new_shape: tuple[int, ...],
        metadata_only: bool,
        transaction: TransactionState,
        condition: bytes | None,
    ) -> None:
        """Stage metadata of ``new_shape`` in ``transaction`` (``self`` as the transaction sees it).

        The commit writes it only if the stored metadata still has the
        generation ``condition``, and then tells the context's shared entry.
        The caller registered the operation with the transaction.

        Raises:
          UnimplementedError: it shrinks the array and would delete chunks.
        """
        from .kvstore.transactional import write_in_transaction

        old_shape = tuple(self.base_domain().shape)
        if new_shape == old_shape:
            return
        if not metadata_only and any(n < o for n, o in zip(new_shape, old_shape, strict=True)):
            raise UnimplementedError(
                f"{self.fmt.driver_id}: shrinking an array through a transaction (which deletes the "
                "chunks outside the new bounds) is not supported; pass resize_metadata_only=True "
                "to keep those chunks, or resize without the transaction"
            )
        entry = self.entry
        metadata = self.fmt.resize_metadata(entry.metadata, new_shape)
        write_in_transaction(
            transaction,
            self.kv,
            entry.key,
            self.fmt.encode_metadata(metadata),
            if_equal_at_commit=condition,
            registered=True,
        )
        if entry.staged_in is transaction:
            entry.set(self.fmt, metadata, b"", math.inf)
            return
        staged = MetadataEntry(entry.key, staged_in=transaction)
        staged.set(self.fmt, metadata, b"", math.inf)
        _STAGED_METADATA.setdefault(transaction, {})[entry] = staged

        def committed() -> None:
            # Stores opened in this context see the committed metadata (its
            # generation is unknown: a later resize re-reads it first).
            entry.set(self.fmt, staged.metadata, b"", -math.inf)

        transaction.on_commit.append(committed)

    async def _delete_out_of_bounds(
        self, old_shape: tuple[int, ...], new_shape: tuple[int, ...]
    ) -> None:
        """Delete the chunks lying entirely outside ``new_shape`` (partial ones stay, as TensorStore)."""
        chunk_shape, grid_origin = self.fmt.chunk_grid(self.entry.metadata)
        codec = self.codec
        keys = [
            codec.chunk_key(cell)
            for cell in cells_outside(old_shape, new_shape, chunk_shape, grid_origin)
        ]
        for start in range(0, len(keys), _DELETE_WINDOW):
            # Queue a window of deletes on the kvstore actor, then wait for them all.
            futures = [self.kv.write(key, None) for key in keys[start : start + _DELETE_WINDOW]]
            for future in futures:
                await future


def _array_path(kvstore: KvStore, extra: str) -> str:
    path = kvstore.path
    if extra:
        path = (path.rstrip("/") + "/" if path else "") + extra.strip("/")
    if path and not path.endswith("/"):
        path += "/"
    return path


def _effective_domain(schema: Schema, transform: IndexTransform | None) -> Schema:
    """Let an identity-like spec transform's bounds stand in for a missing schema domain.

    ``Spec.update(shape=...)`` on a spec with a transform constrains the transform
    (see ``schema.spec``), where TensorStore's also sets the schema domain.
    The transform's labels name the view's dimensions: they are not stored.
    """
    if schema.domain is not None or transform is None:
        return schema
    if any(d.inclusive_min != 0 or d.implicit_lower for d in transform.domain):
        return schema  # a view of part of an array says nothing about its full domain
    if (
        all(
            m.method is OutputIndexMethod.single_input_dimension
            and m.input_dimension == j
            and m.offset == 0
            and m.stride == 1
            for j, m in enumerate(transform.maps)
        )
        and transform.input_rank == transform.output_rank
    ):
        from ..schema.schema import Schema as _Schema

        merged = _Schema.from_constraints(schema.constraints)
        merged.update(domain=transform.domain.label[("",) * transform.input_rank])
        return merged
    return schema


def _create(fmt: ChunkedFormat[Any, Any], schema: Schema, members: Any) -> Any:
    try:
        metadata = fmt.create_metadata(schema, members)
        # A codec this process cannot run (a blosc cname its c-blosc lacks) is
        # refused before anything is stored.
        fmt.chunk_codec(metadata)
        return metadata
    except (InvalidArgumentError, ValueError) as exc:
        raise InvalidArgumentError(
            f'{fmt.driver_id}: Cannot create using specified "metadata" and schema: {exc}'
        ) from exc


async def open_chunked_driver(
    fmt: ChunkedFormat[Any, Any], req: OpenRequest, transaction: Transaction | None = None
) -> OpenedDriver:
    """Open or create the array ``req`` names, as ``req.open_mode`` allows.

    With ``transaction``, metadata staged in it is seen and new metadata is staged in it.

    Raises:
        NotFoundError: nothing stored and ``create`` not given (the message says so).
        AlreadyExistsError: creating where metadata exists and ``open`` not given.
        FailedPreconditionError / InvalidArgumentError: stored metadata does not match the spec.
        InvalidArgumentError: ``delete_existing`` in a transaction (nothing is deleted).
    """
    from .kvstore import KvStore

    members = fmt.parse_spec_members(req.members)
    if req.kvstore is None:
        raise InvalidArgumentError(f'{fmt.driver_id}: "kvstore" must be specified')
    kv = (
        req.kvstore
        if isinstance(req.kvstore, KvStore)
        else await KvStore.open(req.kvstore, context=req.context)
    )
    kv = kv.copy()
    kv.path = _array_path(kv, req.path)
    mode = effective_open_mode(req.open_mode)
    validate_open_mode(mode, req.rw.write)
    ctx = req.context
    resource_members = req.resource_members
    pool = ctx.get_resource("cache_pool", resource_members.get("cache_pool"))
    meta_member = resource_members.get("metadata_cache_pool")
    meta_pool = pool if meta_member is None else ctx.get_resource("cache_pool", meta_member)
    copy_resource = ctx.get_resource(
        "data_copy_concurrency", resource_members.get("data_copy_concurrency")
    )
    schema = req.schema
    # Creating may take the domain from an identity spec transform; validating must not
    # (a view's transform selects part of the stored domain).
    create_schema = _effective_domain(schema, req.transform)
    open_time = time.time()
    key = str(getattr(members, "metadata_key", None) or fmt.metadata_key)
    metadata_key = f"{kv.path}{key}"

    entries = _METADATA_CACHES.setdefault(meta_pool, weakref.WeakValueDictionary())
    entry = entries.setdefault((_store_identity(kv), key), MetadataEntry(key))

    if mode.assume_metadata:
        entry = MetadataEntry(key)
        entry.set(fmt, _create(fmt, create_schema, members), b"", math.inf)
    elif mode.assume_cached_metadata:
        # Assumed, not read; a private entry so other stores never see unverified
        # metadata. Resize and per-operation revalidation still read the stored one.
        entry = MetadataEntry(key)
        entry.set(fmt, _create(fmt, create_schema, members), b"", -math.inf)
    else:
        entry = await _open_or_create(
            fmt,
            kv,
            entry,
            mode,
            (schema, create_schema),
            members,
            req,
            open_time,
            metadata_key,
            transaction,
        )

    identity = chunk_layout_identity(fmt, entry)
    cache = _chunk_cache(pool, copy_resource, kv, fmt, entry.metadata, identity, req)
    resources = {
        "cache_pool": pool,
        "data_copy_concurrency": copy_resource,
        "metadata_cache_pool": meta_pool,
    }
    driver = ChunkedDriver(
        fmt,
        members,
        kv,
        entry,
        cache,
        req,
        open_time,
        mode.assume_metadata,
        ctx,
        resources,
        identity,
    )
    opened: Driver = driver
    field = fmt.record_field(entry.metadata, members)
    if field is not None:
        from .record_field import FieldDriver

        opened = FieldDriver(driver, field)
    base = opened.base_domain().identity_transform()
    if req.transform is None:
        # Labels asked for that the format does not store (zarr v2) label the view, as in
        # TensorStore; stored ones were checked against them.
        wanted = () if schema.domain is None else schema.domain.labels
        if any(wanted) and not any(base.domain.labels):
            base = base.label[wanted]
        return OpenedDriver(opened, base)
    if req.transform.output_rank != base.input_rank:
        raise FailedPreconditionError(
            f"{fmt.driver_id}: Rank is {base.input_rank}, but the spec's transform has output "
            f"rank {req.transform.output_rank}"
        )
    return OpenedDriver(opened, compose(base, req.transform))


async def _open_or_create(
    fmt: ChunkedFormat[Any, Any],
    kv: KvStore,
    entry: MetadataEntry,
    mode: Any,
    schemas: tuple[Schema, Schema],
    members: Any,
    req: OpenRequest,
    open_time: float,
    metadata_key: str,
    transaction: Transaction | None,
) -> MetadataEntry:
    """The metadata entry of the opened or created array: ``entry``, or one private to ``transaction``."""
    from .kvstore import KvStore

    schema, create_schema = schemas
    if transaction is not None:
        if mode.delete_existing:
            raise InvalidArgumentError(
                f"{fmt.driver_id}: delete_existing=True is not supported in a transaction "
                f'(the keys under "{kv.path}" would be deleted before the commit); '
                "open without the transaction to replace the array"
            )
        with transaction.state.lock:
            transaction.state.check_open()
            staged = _STAGED_METADATA.get(transaction.state, {}).get(entry)
        if staged is not None:
            if not mode.open:
                raise _already_exists(fmt, metadata_key)
            fmt.validate_metadata(staged.metadata, schema, members)
            return staged

    encoded: bytes | None = None
    if mode.delete_existing:
        # New metadata that cannot be made is refused before anything is deleted.
        metadata = _create(fmt, create_schema, members)
        encoded = fmt.encode_metadata(metadata)
        await kv.delete_range(KvStore.KeyRange())
        entry.set(fmt, None, NO_VALUE, time.time())
    elif mode.open or transaction is not None:
        staleness = req.recheck_cached_metadata.staleness_bound(open_time)
        existing = await read_metadata_entry(fmt, kv, entry, staleness)
        if existing is not None:
            if not mode.open:
                raise _already_exists(fmt, metadata_key)
            fmt.validate_metadata(existing, schema, members)
            return entry
        if not mode.create:
            raise _not_found(fmt, metadata_key)
    if transaction is not None:
        return _stage_new_metadata(fmt, kv, entry, create_schema, members, transaction)
    if encoded is None:
        try:
            metadata = _create(fmt, create_schema, members)
            encoded = fmt.encode_metadata(metadata)
        except InvalidArgumentError:
            # As TensorStore: that the array exists is the error, not what new metadata would lack.
            if not mode.open and (await kv.read(entry.key)).state == "value":
                raise _already_exists(fmt, metadata_key) from None
            raise
    stamp = await kv.write(entry.key, encoded, if_equal=NO_VALUE)
    if stamp.generation:
        entry.set(fmt, metadata, stamp.generation, stamp.time)
        return entry
    # The metadata exists: written before us, or by a concurrent creator that won.
    if not mode.open:
        raise _already_exists(fmt, metadata_key)
    existing = await read_metadata_entry(fmt, kv, entry, math.inf)
    if existing is None:
        raise FailedPreconditionError(
            f'{fmt.driver_id}: Metadata at "{metadata_key}" was deleted while being created'
        )
    fmt.validate_metadata(existing, schema, members)
    return entry


def _not_found(fmt: ChunkedFormat[Any, Any], metadata_key: str) -> NotFoundError:
    return NotFoundError(
        f'{fmt.driver_id}: Metadata at "{metadata_key}" does not exist; '
        "specify create=True to create it"
    )


def _already_exists(fmt: ChunkedFormat[Any, Any], metadata_key: str) -> AlreadyExistsError:
    return AlreadyExistsError(
        f'{fmt.driver_id}: Error writing "{metadata_key}": metadata already exists; '
        "specify open=True to open the existing array, or delete_existing=True to replace it"
    )


def _stage_new_metadata(
    fmt: ChunkedFormat[Any, Any],
    kv: KvStore,
    shared: MetadataEntry,
    schema: Schema,
    members: Any,
    transaction: Transaction,
) -> MetadataEntry:
    """Create metadata and stage it in ``transaction``, to be written at commit if still absent.

    Returns the transaction's private entry for it, which later opens of the
    same array in the same context and transaction find (``shared`` is the
    context's entry for the array).
    """
    from .kvstore.transactional import write_in_transaction

    metadata = _create(fmt, schema, members)
    state = transaction.state
    write_in_transaction(
        state, kv, shared.key, fmt.encode_metadata(metadata), if_equal_at_commit=NO_VALUE
    )
    staged = MetadataEntry(shared.key, staged_in=state)
    staged.set(fmt, metadata, b"", math.inf)  # never re-read: storage has none until the commit
    _STAGED_METADATA.setdefault(state, {})[shared] = staged
    return staged


def chunk_layout_identity(fmt: ChunkedFormat[Any, Any], entry: MetadataEntry) -> str:
    """Text equal for two metadata values whose chunks are keyed and encoded alike.

    Built from what decoding depends on (data type, codec, chunk layout, chunk
    grid, fill value), so a resize or an added attribute keeps the identity
    while a new chunking, dtype or compressor changes it. Uses the schema the
    entry already derived for its metadata.
    """
    import json

    schema = entry.schema
    shape, origin = fmt.chunk_grid(entry.metadata)
    fill_value = schema.fill_value
    return json.dumps(
        [
            None if schema.dtype is None else schema.dtype.to_json(),
            None if schema.codec is None else schema.codec.to_json(),
            schema.chunk_layout.to_json(),
            [list(shape), list(origin)],
            None if fill_value is None else repr(np.asarray(fill_value).tolist()),
        ],
        sort_keys=True,
    )


def _chunk_cache(
    pool: Any,
    copy_resource: Any,
    kv: KvStore,
    fmt: ChunkedFormat[Any, Any],
    metadata: Any,
    identity: str,
    req: OpenRequest,
) -> Any:
    """The context's chunk cache for this array (shared by stores opened on it in the context).

    ``identity`` is ``chunk_layout_identity`` of ``metadata``.
    """
    from ..actors.cache_pool import CachePool
    from ..actors.chunk_cache import ChunkCache
    from ..actors.shard_cache import ShardCache, shard_layout_of

    options = (req.fill_missing_data_reads, req.store_data_equal_to_fill_value)
    caches = _CHUNK_CACHES.setdefault(pool, weakref.WeakValueDictionary())
    key = (_store_identity(kv), kv.path, identity, options)
    found = caches.get(key)
    if found is not None:
        return found
    _, grid_origin = fmt.chunk_grid(metadata)
    codec = fmt.chunk_codec(metadata)
    # Shards are read and written inner chunk by inner chunk by their own cache.
    cache_type = ShardCache if shard_layout_of(codec) is not None else ChunkCache
    cache = cache_type(
        kvstore=kv,
        codec=codec,
        pool=CachePool.for_resource(pool),
        data_copy_concurrency=copy_resource,
        grid_origin=tuple(grid_origin),
        fill_missing_data_reads=req.fill_missing_data_reads,
        store_data_equal_to_fill_value=(
            req.store_data_equal_to_fill_value or getattr(codec, "stores_every_chunk", False)
        ),
        name=f"{fmt.driver_id} {kv.path}" if kv.path else fmt.driver_id,
    )
    caches[key] = cache
    return cache


async def _open_registered(req: OpenRequest) -> OpenedDriver:
    fmt = chunked_format(req.driver_id)
    if fmt is None:  # registered and later replaced: cannot happen, but say what is known
        raise InvalidArgumentError(
            f'"{req.driver_id}" is not a registered chunked driver ({", ".join(chunked_format_ids())})'
        )
    return await open_chunked_driver(fmt, req)


def register_chunked_driver(fmt: ChunkedFormat[Any, Any]) -> None:
    """Register ``fmt`` as a chunked format and its driver id as a TensorStore driver."""
    from .chunked_format import register_chunked_format

    register_chunked_format(fmt)
    register_driver(fmt.driver_id, _open_registered)
