"""The ``stack`` driver: TensorStore layers overlaid in one domain (``ts.overlay``, ``ts.stack``, ``ts.concat``).

Each layer is a view whose domain is its region of the stack's domain (the
hull of the layers'); where layers overlap, the last one holding a position
backs it. A read gathers, over the box the request reaches, each layer's part
(later layers over earlier ones) and reads the request from that box; a
position no layer backs is an error, as in TensorStore. A write sends each
position to its backing layer only: a box of the request to a layer that
backs all of it, other positions through an index array. Layers given as
specs are opened when first needed.
"""

from __future__ import annotations

import functools
import operator
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import trio

from ..errors import FailedPreconditionError, InvalidArgumentError, UnimplementedError
from ..index import IndexDomain
from ..index.apply import output_bounds, output_indices, transform_array
from ..index.compose import compose
from ..index.interval import IndexInterval
from ..index.output_map import OutputIndexMap, OutputIndexMethod
from ..index.transform import IndexTransform
from ..runtime import Promise, concurrently
from ..schema.json_member import member_error
from ..schema.tensorstore_driver import register_tensorstore_driver
from .driver import Driver, OpenedDriver, ReadWriteMode, register_driver
from .tensorstore import TensorStore

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ..actors.transaction import TransactionState
    from ..schema.context import Context
    from ..schema.dtype import dtype as DType
    from ..schema.schema import Schema, SchemaConstraints
    from ..schema.spec import Spec
    from ..schema.unit import Unit
    from .driver import OpenRequest
    from .kvstore import KvStore

__all__ = ["StackDriver", "concat", "overlay", "stack"]


@attrs.define(eq=False)
class _Layer:
    """One layer: an open view, or a spec opened when first needed; ``domain`` is its region."""

    domain: IndexDomain
    store: TensorStore | None = None
    spec: Spec | None = None
    _lock: trio.Lock | None = attrs.field(default=None, init=False)

    async def opened(self, context: Context, rw: ReadWriteMode) -> TensorStore:
        if self.store is not None:
            return self.store
        from .open import open as _open

        if self._lock is None:
            self._lock = trio.Lock()
        async with self._lock:
            if self.store is None:
                assert self.spec is not None
                store: TensorStore = await _open(self.spec, context=context, read=rw.read or None, write=rw.write or None)
                if store.domain.rank != self.domain.rank:
                    raise InvalidArgumentError(
                        f"stack: layer opened with rank {store.domain.rank}, expected {self.domain.rank}"
                    )
                self.store = store
        return self.store

    def to_json(self, *, minimal: bool = False) -> dict[str, Any]:
        """The layer's spec JSON; ``minimal`` leaves out the metadata its store reads back."""
        if self.store is not None:
            json = self.store._json(minimal=minimal, unbind_context=False)
            json.pop("context", None)
            return json
        assert self.spec is not None
        if minimal:
            spec = self.spec.copy()
            spec.update(minimal_spec=True)
            return spec.to_json()
        return self.spec.to_json()


@attrs.define(eq=False)
class StackDriver(Driver):
    """Layers in one domain, the last that holds a position backing it."""

    layers: list[_Layer]
    element_dtype: DType
    domain: IndexDomain
    _context: Context
    rw: ReadWriteMode
    transaction: TransactionState | None = None
    units: tuple[Unit | None, ...] | None = None
    """``dimension_units`` given to the stack (its layers' are their own)."""

    @property
    def driver_id(self) -> str:
        return "stack"

    @property
    def numpy_dtype(self) -> np.dtype[Any]:
        return self.element_dtype.numpy_dtype

    @property
    def context(self) -> Context:
        return self._context

    def schema(self) -> Schema:
        from ..schema.schema import Schema as _Schema

        return _Schema(rank=self.domain.rank, dtype=self.element_dtype, domain=self.domain, dimension_units=self.units)

    def base_domain(self) -> IndexDomain:
        return self.domain

    def kvstore(self) -> KvStore | None:
        return None

    def spec_members(self, *, minimal: bool, unbind_context: bool) -> dict[str, Any]:
        return {
            "driver": "stack",
            "dtype": self.element_dtype.name,
            "layers": [layer.to_json(minimal=minimal) for layer in self.layers],
            "schema": {k: v for k, v in self.schema().to_json().items() if k in ("domain", "dimension_units")},
        }

    def context_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for layer in self.layers:
            if layer.store is not None:
                out.update(layer.store._driver.context_json())
        return out

    async def resolve(self, transform: IndexTransform) -> IndexTransform:
        from ..index.resolve import resolve_bounds

        return resolve_bounds(self.domain, transform)

    async def _layer(self, layer: _Layer, *, write: bool = False) -> tuple[Driver, IndexTransform]:
        """The layer's driver (in the transaction, if any) and the transform of its view.

        Raises:
            InvalidArgumentError: ``write`` and the layer was opened read-only (or
                ``read`` and it was opened write-only), as TensorStore says it.
        """
        store = await layer.opened(self._context, self.rw)
        if write and not store._rw.write:
            raise InvalidArgumentError("Destination does not support writing.")
        if not write and not store._rw.read:
            raise InvalidArgumentError("Source does not support reading.")
        driver = store._driver
        if self.transaction is not None:
            driver = driver.in_transaction(self.transaction)
        return driver, store._transform

    # --- reads

    async def read(self, transform: IndexTransform) -> np.ndarray:
        return await self._read(transform)

    async def read_in_transaction(
        self, transaction: TransactionState, transform: IndexTransform
    ) -> np.ndarray:
        return await attrs.evolve(self, transaction=transaction)._read(transform)

    async def _read(self, transform: IndexTransform) -> np.ndarray:
        if transform.domain.size == 0:
            return np.empty(transform.domain.shape, dtype=self.numpy_dtype)
        box = output_bounds(transform)
        origin = tuple(lo for lo, _ in box)
        shape = tuple(hi - lo + 1 for lo, hi in box)
        buffer = np.zeros(shape, dtype=self.numpy_dtype)
        backed = np.full(shape, -1, dtype=np.int32)
        parts: list[tuple[IndexDomain, np.ndarray] | None] = [None] * len(self.layers)

        async def read_layer(i: int, region: IndexDomain) -> None:
            driver, view = await self._layer(self.layers[i])
            resolved = await driver.resolve(view[region])
            if self.transaction is not None:
                data = await driver.read_in_transaction(self.transaction, resolved)
            else:
                data = await driver.read(resolved)
            parts[i] = (region, data)

        calls = []
        for i, layer in enumerate(self.layers):
            region = _intersect(layer.domain, origin, shape)
            if region is not None:
                calls.append(functools.partial(read_layer, i, region))
        await concurrently(calls)
        for i, part in enumerate(parts):  # later layers over earlier ones
            if part is None:
                continue
            region, data = part
            where = tuple(
                slice(d.inclusive_min - o, d.exclusive_max - o) for d, o in zip(region.dims, origin, strict=True)
            )
            buffer[where] = data
            backed[where] = i
        used = transform_array(transform, backed, origin)
        if (used < 0).any():
            raise _missing(transform, np.argwhere(used < 0)[0])
        return np.array(transform_array(transform, buffer, origin), order="C")

    # --- writes

    async def write(
        self, transform: IndexTransform, source: np.ndarray, copied: Promise[None]
    ) -> None:
        try:
            pieces = self._write_pieces(transform, source)
        except Exception as exc:
            copied.set_exception(exc)
            raise

        async def write_piece(driver: Driver, piece: IndexTransform, part: np.ndarray) -> None:
            done: Promise[None] = Promise.new()[0]  # (this write's copy: the whole write's resolves at the end)
            await driver.write(await driver.resolve(piece), part, done)

        try:
            # Every layer written is open and writable before any is written.
            targets = await self._targets(pieces)
            await concurrently([functools.partial(write_piece, *target) for target in targets])
        except BaseException as exc:
            copied.set_exception(exc if isinstance(exc, Exception) else InvalidArgumentError(str(exc)))
            raise
        copied.set_result(None)

    async def _targets(
        self, pieces: list[tuple[int, IndexTransform, np.ndarray]]
    ) -> list[tuple[Driver, IndexTransform, np.ndarray]]:
        """Each piece's layer driver (opened, writable), its transform into the layer and its part."""
        out = []
        for i, piece, part in pieces:
            driver, view = await self._layer(self.layers[i], write=True)
            out.append((driver, compose(view, piece), part))
        return out

    def _write_pieces(
        self, transform: IndexTransform, source: np.ndarray
    ) -> list[tuple[int, IndexTransform, np.ndarray]]:
        """Per backing layer: the transform of the positions it backs and their part of ``source``.

        Raises:
            FailedPreconditionError: a position no layer backs.
        """
        if transform.domain.size == 0:
            return []
        backing = np.full(transform.domain.shape, -1, dtype=np.int32)
        positions = _positions(transform)
        for i, layer in enumerate(self.layers):
            inside: Any = True
            for values, dim in zip(positions, layer.domain.dims, strict=True):
                inside = inside & (values >= dim.inclusive_min) & (values < dim.exclusive_max)
            backing[np.broadcast_to(inside, backing.shape)] = i
        if (backing < 0).any():
            raise _missing(transform, np.argwhere(backing < 0)[0])
        pieces = []
        for i in np.unique(backing):
            mask = backing == i
            box = _mask_box(mask)
            if box is not None:
                domain = IndexDomain.from_dims(
                    IndexInterval.make(d.inclusive_min + lo, d.inclusive_min + hi, label=d.label)
                    for d, (lo, hi) in zip(transform.domain.dims, box, strict=True)
                )
                part = source[tuple(slice(lo, hi) for lo, hi in box)]
                pieces.append((int(i), transform[domain], part))
            else:  # the positions it backs as index arrays
                selected = [np.broadcast_to(v, mask.shape)[mask] for v in positions]
                maps = [OutputIndexMap.array(_read_only(v.astype(np.int64))) for v in selected]
                count = IndexDomain.from_dims([IndexInterval.make(0, int(mask.sum()))])
                pieces.append((int(i), IndexTransform.make(count, maps), source[mask]))
        return pieces

    def check_stages_writes(self) -> None:
        """Every layer decides for itself when its part is staged."""

    async def stage_write(
        self, transaction: TransactionState, transform: IndexTransform, source: np.ndarray
    ) -> None:
        pieces = self._write_pieces(transform, source)
        # Every layer can stage its part before any is staged: a refused write leaves the
        # transaction as it was.
        targets = await attrs.evolve(self, transaction=transaction)._targets(pieces)
        resolved = []
        for layer, piece, part in targets:
            layer.check_stages_writes()
            resolved.append((layer, await layer.resolve(piece), part))

        async def stage_piece(layer: Driver, piece: IndexTransform, part: np.ndarray) -> None:
            await layer.stage_write(transaction, piece, part)

        await concurrently([functools.partial(stage_piece, *target) for target in resolved])

    async def stored_cells(
        self, transform: IndexTransform, transaction: TransactionState | None = None
    ) -> tuple[int, int]:
        if transform.domain.size == 0:
            return 0, 0
        box = output_bounds(transform)
        origin = tuple(lo for lo, _ in box)
        shape = tuple(hi - lo + 1 for lo, hi in box)
        stored = total = 0
        for layer in self.layers:
            region = _intersect(layer.domain, origin, shape)
            if region is None:
                continue
            driver, view = await self._layer(layer)
            cells = await driver.stored_cells(await driver.resolve(view[region]), transaction)
            stored, total = stored + cells[0], total + cells[1]
        return stored, total

    def in_transaction(self, transaction: TransactionState) -> Driver:
        return attrs.evolve(self, transaction=transaction)

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
        raise UnimplementedError("stack: a stack cannot be resized; resize its layers")


def _positions(transform: IndexTransform) -> list[np.ndarray]:
    """The output indices ``transform`` maps its input domain to, one compact array per output dimension."""
    low = -(2**61)
    origin = [low] * transform.output_rank
    shape = [2**62] * transform.output_rank
    return [p.astype(np.int64) + low for p in output_indices(transform, origin, shape)]


def _missing(transform: IndexTransform, where: Any) -> FailedPreconditionError:
    """TensorStore's error for the input position ``where``, which no layer backs."""
    shape = transform.domain.shape
    cell = [int(np.broadcast_to(v, shape)[tuple(where)]) for v in _positions(transform)]
    return FailedPreconditionError(
        f'Cell with origin={{{", ".join(map(str, cell))}}} missing layer mapping in "stack" driver'
    )


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.int64)
    array.flags.writeable = False
    return array


def _intersect(domain: IndexDomain, origin: Sequence[int], shape: Sequence[int]) -> IndexDomain | None:
    dims = []
    for d, o, n in zip(domain.dims, origin, shape, strict=True):
        lo, hi = max(d.inclusive_min, o), min(d.exclusive_max, o + n)
        if lo >= hi:
            return None
        dims.append(IndexInterval.make(lo, hi, label=d.label))
    return IndexDomain.from_dims(dims)


def _mask_box(mask: np.ndarray) -> list[tuple[int, int]] | None:
    """The box ``mask`` fills exactly, as ``(start, stop)`` per dimension, or None if it fills no box."""
    box = []
    for axis in range(mask.ndim):
        others = tuple(i for i in range(mask.ndim) if i != axis)
        hit = np.nonzero(mask.any(axis=others))[0]
        box.append((int(hit[0]), int(hit[-1]) + 1))
    inside = mask[tuple(slice(lo, hi) for lo, hi in box)]
    return box if inside.all() and inside.size == int(mask.sum()) else None


# --- building stacks


def _hull(domains: Iterable[IndexDomain]) -> IndexDomain:
    """The smallest domain holding every layer's (labels merged), with TensorStore's messages.

    Raises:
        InvalidArgumentError: a layer of another rank, or a dimension labelled two ways.
    """
    hull: IndexDomain | None = None
    for i, domain in enumerate(domains):
        if hull is None:
            hull = domain
            continue
        if domain.rank != hull.rank:
            raise InvalidArgumentError(f"Layer {i}: Rank of {domain.rank} does not match existing rank of {hull.rank}")
        dims = []
        for k, (a, b) in enumerate(zip(hull.dims, domain.dims, strict=True)):
            if a.label and b.label and a.label != b.label:
                raise InvalidArgumentError(
                    f"Layer {i}: Cannot hull index domain {hull} with index domain {domain}: "
                    f"Mismatch in dimension {k}: Dimension labels do not match"
                )
            dims.append(IndexInterval.make(
                min(a.inclusive_min, b.inclusive_min), max(a.exclusive_max, b.exclusive_max), label=a.label or b.label
            ))
        hull = IndexDomain.from_dims(dims)
    assert hull is not None
    return hull


def _layer_of(value: Any, index: int) -> tuple[_Layer, DType | None, Context | None]:
    from ..schema.spec import Spec as _Spec

    if isinstance(value, TensorStore):
        return _Layer(domain=_explicit(value.domain), store=value), value.dtype, value._driver.context
    spec = value if isinstance(value, _Spec) else _Spec(value)
    if spec.domain is None:
        raise InvalidArgumentError(f"Layer {index}: the domain of a spec layer must be known (give it a transform or shape)")
    return _Layer(domain=_explicit(spec.domain), spec=spec), spec.dtype, None


def _explicit(domain: IndexDomain) -> IndexDomain:
    return IndexDomain.from_dims(
        IndexInterval.make(d.inclusive_min, d.exclusive_max, label=d.label) for d in domain.dims
    )


def _make(
    layers: list[_Layer],
    dtypes: list[DType | None],
    *,
    context: Context | None,
    rw: ReadWriteMode,
    dtype: Any = None,
) -> StackDriver:
    from ..schema.context import Context as _Context
    from ..schema.dtype import dtype as ts_dtype

    if not layers:
        raise InvalidArgumentError("At least one layer must be specified for stack")
    chosen = None if dtype is None else ts_dtype(dtype)
    domain = _hull(layer.domain for layer in layers)
    for i, found in enumerate(dtypes):
        if found is None:
            continue
        if chosen is not None and found != chosen:
            raise InvalidArgumentError(
                f"Layer {i}: Layer dtype of {found.name} does not match existing dtype of {chosen.name}"
            )
        chosen = found
    if chosen is None:
        raise InvalidArgumentError("stack: dtype must be specified")
    return StackDriver(layers, chosen, domain, context or _Context(), rw)


def _insert_dim(transform: IndexTransform, axis: int, position: int) -> IndexTransform:
    """``transform`` with a new input dimension ``[position, position + 1)`` at ``axis`` that no output uses."""
    dims = list(transform.domain.dims)
    dims.insert(axis, IndexInterval.make(position, position + 1))
    maps = []
    for m in transform.maps:
        if m.method is OutputIndexMethod.single_input_dimension:
            assert m.input_dimension is not None
            assert m.stride is not None
            shifted = m.input_dimension + (1 if m.input_dimension >= axis else 0)
            maps.append(OutputIndexMap.single(shifted, m.offset, m.stride))
        elif m.method is OutputIndexMethod.array:
            assert m.index_array is not None
            assert m.stride is not None
            assert m.index_range is not None
            array = _read_only(np.expand_dims(np.asarray(m.index_array), axis))
            maps.append(OutputIndexMap.array(array, m.offset, m.stride, m.index_range))
        else:
            maps.append(m)
    return IndexTransform.make(IndexDomain.from_dims(dims), maps)


def _translated(transform: IndexTransform, axis: int, start: int) -> IndexTransform:
    """``transform`` with input dimension ``axis`` moved to begin at ``start``."""
    dims = list(transform.domain.dims)
    d = dims[axis]
    delta = start - d.inclusive_min
    dims[axis] = IndexInterval.make(d.inclusive_min + delta, d.exclusive_max + delta, d.implicit_lower, d.implicit_upper, d.label)
    maps = []
    for m in transform.maps:
        if m.method is OutputIndexMethod.single_input_dimension and m.input_dimension == axis:
            assert m.stride is not None
            maps.append(OutputIndexMap.single(axis, m.offset - m.stride * delta, m.stride))
        else:
            maps.append(m)
    return IndexTransform.make(IndexDomain.from_dims(dims), maps)


def _as_views(layers: Iterable[Any]) -> list[TensorStore | Spec]:
    from ..schema.spec import Spec as _Spec

    out: list[TensorStore | Spec] = []
    for value in layers:
        out.append(value if isinstance(value, TensorStore | _Spec) else _Spec(value))
    return out


def _view_transform(layer: TensorStore | Spec, index: int) -> IndexTransform:
    if isinstance(layer, TensorStore):
        return layer._transform
    transform = layer.transform
    if transform is None:
        raise InvalidArgumentError(f"Layer {index}: the domain of a spec layer must be known (give it a transform or shape)")
    return transform


def _with_transform(layer: TensorStore | Spec, transform: IndexTransform) -> TensorStore | Spec:
    if isinstance(layer, TensorStore):
        return layer._view(transform)
    return layer._with_transform(transform)


def _axis(axis: Any, rank: int, labels: Sequence[str]) -> int:
    if isinstance(axis, str):
        if axis not in labels:
            raise InvalidArgumentError(f"Label {axis!r} does not match one of {list(labels)}")
        return list(labels).index(axis)
    index = operator.index(axis)
    if not -rank <= index < rank:
        raise InvalidArgumentError(f"Dimension index {index} is outside valid range [{-rank}, {rank})")
    return index % rank


_KEYWORDS = ("read", "write", "context", "transaction", "rank", "dtype", "domain", "shape", "dimension_units", "schema")


def _unsupported(schema: Schema) -> None:
    """Refuse schema options a stack cannot honour (its layers have their own), as TensorStore does.

    Raises:
        InvalidArgumentError: a fill value, chunk layout or codec.
    """
    for option, given in (
        ("fill value", schema.fill_value is not None),
        ("chunk layout", bool(schema.chunk_layout.to_json())),
        ("codec", schema.codec is not None),
    ):
        if given:
            raise InvalidArgumentError(f'{option} option not supported by "stack" driver')


def _build(layers: list[TensorStore | Spec], kwargs: dict[str, Any]) -> TensorStore:
    unknown = sorted(set(kwargs) - set(_KEYWORDS))
    if unknown:
        raise TypeError(f"stack(): unexpected keyword argument {unknown[0]!r}")
    read, write = kwargs.pop("read", None), kwargs.pop("write", None)
    context = kwargs.pop("context", None)
    transaction = kwargs.pop("transaction", None)
    dtype = kwargs.pop("dtype", None)
    built = [_layer_of(layer, i) for i, layer in enumerate(layers)]
    rw = ReadWriteMode.from_flags(read, write)
    if context is None:
        context = next((c for _, _, c in built if c is not None), None)
    driver = _make([b[0] for b in built], [b[1] for b in built], context=context, rw=rw, dtype=dtype)
    driver = _check_schema(driver, kwargs)
    from ..transaction import check_transaction

    txn = check_transaction(transaction, "ts.stack")
    return TensorStore(driver, driver.domain.identity_transform(), rw, txn)


def _check_schema(driver: StackDriver, kwargs: dict[str, Any]) -> StackDriver:
    """``driver`` with the schema keywords (``rank``, ``domain``, ``shape``, ``dimension_units``,
    ``schema``), which must agree with its layers; units are the stack's own."""
    from ..schema.schema import Schema as _Schema
    from ..schema.schema import merge_domains

    given = {k: v for k, v in kwargs.items() if v is not None}
    if not given:
        return driver
    schema = _Schema(**given)
    _unsupported(schema)
    if schema.rank is not None and schema.rank != driver.domain.rank:
        raise InvalidArgumentError(f"stack: rank {schema.rank} does not match the layers' rank {driver.domain.rank}")
    if schema.dtype is not None and schema.dtype != driver.element_dtype:
        raise InvalidArgumentError(
            f"stack: dtype {schema.dtype.name} does not match the layers' {driver.element_dtype.name}"
        )
    if schema.domain is not None:
        merge_domains(schema.domain, driver.domain)
    return attrs.evolve(driver, units=schema.dimension_units)


def overlay(layers: Iterable[Any], **kwargs: Any) -> TensorStore:
    """Virtually overlays TensorStore layers (``TensorStore`` or ``Spec``) in one domain.

    Where layers overlap, the last one holding a position backs it. Keywords:
    ``read``, ``write``, ``context``, ``transaction``, and schema constraints
    (``rank``, ``dtype``, ``domain``, ``shape``, ``dimension_units``, ``schema``).

    Raises:
        InvalidArgumentError: no layer, layers of other ranks or dtypes.
    """
    return _build(_as_views(layers), kwargs)


def stack(layers: Iterable[Any], axis: Any = 0, **kwargs: Any) -> TensorStore:
    """Virtually stacks TensorStore layers along a new dimension at ``axis`` (layer ``i`` at index ``i``)."""
    views = _as_views(layers)
    if not views:
        raise InvalidArgumentError("At least one layer must be specified for stack")
    rank = _view_transform(views[0], 0).input_rank + 1
    index = operator.index(axis)
    if not -rank <= index < rank:
        raise InvalidArgumentError(f"Dimension index {index} is outside valid range [{-rank}, {rank})")
    index %= rank
    placed = [
        _with_transform(view, _insert_dim(_view_transform(view, i), index, i)) for i, view in enumerate(views)
    ]
    return _build(placed, kwargs)


def concat(layers: Iterable[Any], axis: Any, **kwargs: Any) -> TensorStore:
    """Virtually concatenates TensorStore layers along the existing dimension ``axis`` (an index or label)."""
    views = _as_views(layers)
    if not views:
        raise InvalidArgumentError("At least one layer must be specified for stack")
    first = _view_transform(views[0], 0)
    labels = _hull(_view_transform(view, i).domain for i, view in enumerate(views)).labels
    index = _axis(axis, first.input_rank, labels)
    placed = []
    start = first.domain[index].inclusive_min
    for i, view in enumerate(views):
        transform = _view_transform(view, i)
        if transform.input_rank != first.input_rank:
            raise InvalidArgumentError(
                f"Layer {i}: Layer domain of rank {transform.input_rank} does not match layer 0 rank of "
                f"{first.input_rank}"
            )
        moved = _translated(transform, index, start)
        start = moved.domain[index].exclusive_max
        placed.append(_with_transform(view, moved))
    return _build(placed, kwargs)


# --- the JSON spec


def _parse_members(members: dict[str, Any]) -> dict[str, Any]:
    from ..schema.spec import Spec as _Spec

    if "layers" not in members:
        raise member_error("layers", InvalidArgumentError("Expected array, but member is missing"))
    extra = sorted(k for k in members if k != "layers")
    if extra:
        raise InvalidArgumentError("Object includes extra members: " + ",".join(f'"{k}"' for k in extra))
    value = members["layers"]
    if not isinstance(value, list):
        raise member_error("layers", InvalidArgumentError("Expected array"))
    layers = []
    for i, layer in enumerate(value):
        try:
            layers.append(_Spec(layer).to_json())
        except (InvalidArgumentError, TypeError) as exc:
            raise member_error("layers", InvalidArgumentError(f"Error parsing value at position {i}: {exc}")) from None
    if not layers:
        raise InvalidArgumentError("At least one layer must be specified for stack")
    return {"layers": layers}


def _members_schema(
    members: dict[str, Any], domain: IndexDomain | None = None, rank: int | None = None
) -> SchemaConstraints:
    """The layers' dtype and rank, and the hull of their domains when all are known."""
    from ..schema.schema import SchemaConstraints as _SchemaConstraints
    from ..schema.spec import Spec as _Spec

    specs = [_Spec(layer) for layer in members["layers"]]
    out = _SchemaConstraints()
    dtypes = [s.dtype for s in specs if s.dtype is not None]
    if dtypes:
        out = out.with_dtype(dtypes[0])
    ranks = [s.rank for s in specs if s.rank is not None]
    if ranks:
        out = out.with_rank(ranks[0])
    domains = [s.domain for s in specs]
    if all(d is not None for d in domains):
        out = out.with_domain(_hull(d for d in domains if d is not None))
    return out


async def _open(request: OpenRequest) -> OpenedDriver:
    from ..schema.spec import Spec as _Spec

    members = _parse_members(request.members)
    _unsupported(request.schema)
    layers = [_layer_of(_Spec(layer), i) for i, layer in enumerate(members["layers"])]
    driver = _make(
        [layer for layer, _, _ in layers],
        [found for _, found, _ in layers],
        context=request.context,
        rw=request.rw,
        dtype=request.schema.dtype,
    )
    if request.schema.dimension_units is not None:
        driver = attrs.evolve(driver, units=request.schema.dimension_units)
    transform = driver.domain.identity_transform()
    if request.transform is not None:
        transform = compose(transform, request.transform)
    return OpenedDriver(driver, transform)


register_tensorstore_driver("stack", _parse_members, uses_kvstore=False, schema=_members_schema)
register_driver("stack", _open)
