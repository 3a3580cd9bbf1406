"""The ``downsample`` driver: a read-only view of a TensorStore, downsampled as it is read.

``ts.downsample(store, [2, 2], "mean")`` (or the JSON spec ``{"driver":
"downsample", "base": ..., "downsample_factors": [2, 2], "downsample_method":
"mean"}``) views ``store`` with each dimension reduced by its factor. A read
of the view reads the base region its blocks cover, in slabs of whole blocks
of about 8 MiB, a few at a time, and reduces each in a worker thread
(``downsample_array``);
nothing is cached here beyond what the base caches. Writing, resizing and a ``write=True`` open are refused, as in
TensorStore.
"""

from __future__ import annotations

import contextlib
import functools
import math
import operator
from typing import TYPE_CHECKING, Any, Final

import attrs
import numpy as np
import trio

from ..errors import InvalidArgumentError
from ..index import IndexDomain
from ..index.apply import output_bounds, strided_view, transform_array
from ..index.interval import IndexInterval
from ..index.output_map import OutputIndexMap
from ..index.transform import IndexTransform
from ..runtime import concurrently
from ..schema.json_member import member_error
from ..schema.schema import merge_domains
from ..schema.tensorstore_driver import register_tensorstore_driver
from .downsample_array import (
    TEXT_DTYPES,
    DownsampleMethod,
    check_method_supports,
    downsample_block,
    downsampled_domain,
    parse_method,
)
from .driver import Driver, OpenedDriver, ReadWriteMode, register_driver
from .kvstore.registry import registered_drivers
from .tensorstore import TensorStore

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from ..actors.transaction import TransactionState
    from ..runtime import Promise
    from ..schema.context import Context
    from ..schema.dtype import dtype as DType
    from ..schema.schema import Schema, SchemaConstraints
    from ..schema.spec import Spec
    from .driver import OpenRequest
    from .kvstore import KvStore

__all__ = ["DownsampleDriver", "downsample"]

_READ_ONLY = ReadWriteMode(read=True, write=False)

#: Bytes of base data read and reduced at a time.
SLAB_BYTES: Final = 8 << 20


@attrs.define(eq=False)
class DownsampleDriver(Driver):
    """The base view (a driver and its transform) seen downsampled by ``factors``."""

    base: Driver
    base_transform: IndexTransform
    base_rw: ReadWriteMode
    factors: tuple[int, ...]
    method: DownsampleMethod
    element_dtype: DType

    @property
    def driver_id(self) -> str:
        return "downsample"

    @property
    def numpy_dtype(self) -> np.dtype[Any]:
        return self.base.numpy_dtype

    @property
    def context(self) -> Context:
        return self.base.context

    def _base_store(self) -> TensorStore:
        return TensorStore(self.base, self.base_transform, self.base_rw)

    def schema(self) -> Schema:
        """The base view's schema, downsampled: its domain, units and chunk shapes scaled."""
        from ..schema.schema import Schema as _Schema

        base = self._base_store().schema
        rank = len(self.factors)
        layout: dict[str, Any] = {"grid_origin": [0] * rank}
        json: dict[str, Any] = {
            "rank": rank,
            "dtype": self.element_dtype.name,
            "domain": self.base_domain().to_json(),
            "chunk_layout": layout,
        }
        base_layout = base.chunk_layout
        for name, grid in (("read_chunk", base_layout.read_chunk), ("write_chunk", base_layout.write_chunk)):
            # A base chunk of c elements repeats every c / gcd(c, f) downsampled positions.
            shape = [
                None if c is None else c // math.gcd(c, f)
                for c, f in zip(grid.shape or [None] * rank, self.factors, strict=True)
            ]
            if any(c is not None for c in shape):
                layout[name] = {"shape": shape}
        if base_layout.inner_order is not None:
            layout["inner_order"] = list(base_layout.inner_order)
        if base.codec is not None:
            json["codec"] = base.codec.to_json()
        if base.dimension_units is not None:
            json["dimension_units"] = [
                None if unit is None else [unit.multiplier * f, unit.base_unit]
                for unit, f in zip(base.dimension_units, self.factors, strict=True)
            ]
        schema = _Schema(json)
        if base.fill_value is not None:
            schema.update(fill_value=base.fill_value)
        return schema

    def base_domain(self) -> IndexDomain:
        return downsampled_domain(self._base_store()._spec_transform().domain, self.factors, self.method)

    def kvstore(self) -> KvStore | None:
        return self.base.kvstore()

    def spec_members(self, *, minimal: bool, unbind_context: bool) -> dict[str, Any]:
        base = self._base_store()._json(minimal=minimal, unbind_context=False)
        # The dtype goes on the downsample spec, as TensorStore shows it (a base whose metadata
        # names one still shows it: the base spec is normalised when the JSON is parsed).
        base.pop("dtype", None)
        return {
            "driver": "downsample",
            "base": base,
            "downsample_factors": list(self.factors),
            "downsample_method": self.method,
            "dtype": self.element_dtype.name,
        }

    def context_json(self) -> dict[str, Any]:
        return self.base.context_json()

    def reduce_store(self, transform: IndexTransform, rw: ReadWriteMode) -> tuple[Any, ...]:
        """Pickle as the base view (however it pickles), the factors, the method and the view."""
        return (_unpickle, (self._base_store(), self.factors, self.method, transform))

    async def _resolved_base(self) -> IndexTransform:
        return await self.base.resolve(self.base_transform)

    async def resolve(self, transform: IndexTransform) -> IndexTransform:
        from ..index.resolve import resolve_bounds

        base = await self._resolved_base()
        return resolve_bounds(downsampled_domain(base.domain, self.factors, self.method), transform)

    async def read(self, transform: IndexTransform) -> np.ndarray:
        return await self._read(transform, None)

    async def read_in_transaction(
        self, transaction: TransactionState, transform: IndexTransform
    ) -> np.ndarray:
        return await self._read(transform, transaction)

    async def _read(self, transform: IndexTransform, transaction: TransactionState | None) -> np.ndarray:
        if transform.domain.size == 0:
            return np.empty(transform.domain.shape, dtype=self.numpy_dtype)
        base = await self._resolved_base()
        region = self._base_region(base, transform)
        if region is None:  # (no base element: the base domain is empty)
            return np.empty(transform.domain.shape, dtype=self.numpy_dtype)
        if self.method == "stride":
            strided = self._strided(base, transform)
            if strided is not None:  # just the elements the view takes
                if transaction is None:
                    return await self.base.read(strided)
                return await self.base.read_in_transaction(transaction, strided)
        limiter = self.context.get_resource("data_copy_concurrency", None).limiter
        reduce = functools.partial(
            downsample_block,
            factors=self.factors,
            method=self.method,
            text=self.element_dtype.name in TEXT_DTYPES,
        )
        # The result, filled in place: each slab's blocks are a run of its first dimension.
        covered = downsampled_domain(region.domain, self.factors, self.method)
        block = np.empty(covered.shape, dtype=self.numpy_dtype)
        block_origin = tuple(covered.inclusive_min)
        # Slabs of whole blocks along the first dimension, a few at a time: memory follows
        # the slabs in flight, not the request; each is reduced in a worker thread.
        slabs = list(self._slabs(region))
        in_flight = trio.CapacityLimiter(max(limiter.total_tokens, 2))

        async def one(slab: IndexTransform) -> None:
            async with in_flight:
                if transaction is None:
                    data = await self.base.read(slab)
                else:
                    data = await self.base.read_in_transaction(transaction, slab)
                origin = tuple(slab.domain.inclusive_min)
                target = block
                if block.ndim:
                    rows = downsampled_domain(slab.domain, self.factors, self.method)[0]
                    target = block[rows.inclusive_min - block_origin[0] : rows.exclusive_max - block_origin[0]]
                await trio.to_thread.run_sync(
                    functools.partial(reduce, data, origin, out=target), limiter=limiter
                )

        await concurrently([functools.partial(one, slab) for slab in slabs])
        view = strided_view(transform, block, block_origin)
        if view is None:
            view = transform_array(transform, block, block_origin)
        elif view.flags.c_contiguous and view.size == block.size:
            return view  # (the whole result as it is: no copy)
        return np.array(view, order="C")

    def _strided(self, base: IndexTransform, transform: IndexTransform) -> IndexTransform | None:
        """``transform`` of a ``stride`` view as a view of the base (``base``: the base view), or
        None if they do not compose."""
        from ..index.compose import compose

        strided = IndexTransform.make(
            downsampled_domain(base.domain, self.factors, "stride"),
            [OutputIndexMap.single(i, 0, f) for i, f in enumerate(self.factors)],
        )
        try:
            return compose(base, compose(strided, transform))
        except (InvalidArgumentError, IndexError):
            return None

    def _slabs(self, region: IndexTransform) -> Iterator[IndexTransform]:
        """``region`` cut along its first dimension at block boundaries, about :data:`SLAB_BYTES` each."""
        dims = region.domain.dims
        if not dims:
            yield region
            return
        first, rest = dims[0], dims[1:]
        f = self.factors[0]
        row_bytes = max(math.prod(d.size for d in rest) * self.numpy_dtype.itemsize, 1)
        blocks = max(SLAB_BYTES // (row_bytes * f), 1)
        start = first.inclusive_min
        while start < first.exclusive_max:
            stop = min((start // f + blocks) * f, first.exclusive_max)
            yield region[IndexDomain.from_dims([IndexInterval.make(start, stop, label=first.label), *rest])]
            start = stop

    def _base_region(self, base: IndexTransform, transform: IndexTransform) -> IndexTransform | None:
        """``base`` (resolved) restricted to the elements the blocks ``transform`` reads hold."""
        dims = []
        for (low, high), f, dim in zip(output_bounds(transform), self.factors, base.domain.dims, strict=True):
            if self.method == "stride":
                start, stop = low * f, high * f + 1
            else:
                start, stop = low * f, (high + 1) * f
            start, stop = max(start, dim.inclusive_min), min(stop, dim.exclusive_max)
            if start >= stop:
                return None
            dims.append(IndexInterval.make(start, stop, label=dim.label))
        return base[IndexDomain.from_dims(dims)]

    async def write(
        self, transform: IndexTransform, source: np.ndarray, copied: Promise[None]
    ) -> None:
        error = InvalidArgumentError("downsample: only reading is supported")
        copied.set_exception(error)
        raise error

    async def stored_cells(
        self, transform: IndexTransform, transaction: TransactionState | None = None
    ) -> tuple[int, int]:
        """The base's storage units under the base region ``transform``'s blocks cover."""
        region = self._base_region(await self._resolved_base(), transform)
        if region is None:
            return 0, 0
        return await self.base.stored_cells(region, transaction)

    def in_transaction(self, transaction: TransactionState) -> Driver:
        base = self.base.in_transaction(transaction)
        return self if base is self.base else attrs.evolve(self, base=base)

    def base_view(self, transform: IndexTransform) -> tuple[Driver, IndexTransform, ReadWriteMode]:
        """The base view cut to the elements the view's blocks hold (as TensorStore gives it);
        for ``stride``, the elements the view reads (the base strided by the factors)."""
        base = self._base_store()._spec_transform()
        if self.method == "stride":
            from ..index.compose import compose

            strided = IndexTransform.make(
                self.base_domain(), [OutputIndexMap.single(i, 0, f) for i, f in enumerate(self.factors)]
            )
            with contextlib.suppress(InvalidArgumentError, IndexError):
                return self.base, compose(base, compose(strided, transform)), self.base_rw
        try:
            region = self._base_region(base, transform)
        except (InvalidArgumentError, IndexError):  # (an unbounded view: the whole base)
            region = None
        return self.base, base if region is None else region, self.base_rw

    @property
    def callback_home(self) -> Any:
        return self.base.callback_home

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
        raise InvalidArgumentError("downsample: a downsampled view cannot be resized; resize its base")


def _check_factors(factors: Any, rank: int | None) -> tuple[int, ...]:
    """``downsample_factors`` as given to ``ts.downsample``.

    Raises:
        InvalidArgumentError: not all positive, or not one per dimension.
    """
    try:
        if isinstance(factors, str | bytes):
            raise TypeError
        out = tuple(operator.index(f) for f in factors)
    except TypeError:
        raise TypeError(f"downsample_factors must be a sequence of integers, got {factors!r}") from None
    if rank is not None and len(out) != rank:
        raise InvalidArgumentError(
            f"Number of downsample factors ({len(out)}) does not match TensorStore rank ({rank})"
        )
    if any(f < 1 for f in out):
        raise InvalidArgumentError(
            f"Downsample factors {{{', '.join(map(str, out))}}} are not all positive"
        )
    return out


def downsample(base: TensorStore | Spec, downsample_factors: Any, method: Any) -> Any:
    """Returns a virtual downsampled view of ``base`` (a ``TensorStore``), or its spec (a ``Spec``).

    The view is read-only: each position is ``method`` over the block
    ``[position * factors, (position + 1) * factors)`` of ``base`` (``stride``:
    the element at ``position * factors``).

    Raises:
        InvalidArgumentError: factors not positive or not one per dimension,
            an unknown method, or a data type the method does not support.
    """
    from ..schema.spec import Spec as _Spec

    chosen = parse_method(method)
    if isinstance(base, _Spec):
        factors = _check_factors(downsample_factors, base.rank)
        if base.dtype is not None:
            check_method_supports(chosen, base.dtype)
        json: dict[str, Any] = {
            "driver": "downsample",
            "base": base.to_json(),
            "downsample_factors": list(factors),
            "downsample_method": chosen,
        }
        # As TensorStore shows it: the dtype, and the view's domain (or just its rank).
        if base.dtype is not None:
            json["dtype"] = base.dtype.name
        if base.domain is not None:
            json["transform"] = downsampled_domain(base.domain, factors, chosen).identity_transform().to_json()
        else:
            json["rank"] = len(factors)
        return _Spec(json)
    if not isinstance(base, TensorStore):
        raise TypeError(f"ts.downsample: base must be a TensorStore or Spec, got {type(base).__name__}")
    factors = _check_factors(downsample_factors, base.rank)
    dtype = base.dtype
    check_method_supports(chosen, dtype)
    driver = DownsampleDriver(base._driver, base._transform, base._rw, factors, chosen, dtype)
    view = driver.base_domain().identity_transform()
    return TensorStore(driver, view, _READ_ONLY, base.transaction)


def _unpickle(
    base: TensorStore, factors: tuple[int, ...], method: str, transform: IndexTransform
) -> TensorStore:
    view: TensorStore = downsample(base, factors, method)
    return TensorStore(view._driver, transform, _READ_ONLY)


# --- the JSON spec


def _factors_member(value: Any) -> list[int]:
    if not isinstance(value, list):
        raise InvalidArgumentError(f"Expected array, but received: {_json_text(value)}")
    out = []
    for i, f in enumerate(value):
        # (JSON's 2.0 is the integer 2, as TensorStore reads it.)
        number = int(f) if isinstance(f, float) and f.is_integer() else f
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number < 2**63:
            raise InvalidArgumentError(
                f"Error parsing value at position {i}: Expected integer in the range "
                f"[1, 9223372036854775807], but received: {_json_text(f)}"
            )
        out.append(number)
    return out


def _json_text(value: Any) -> str:
    from ..schema.chunk_json import json_text

    return json_text(value)


def _parse_members(members: dict[str, Any]) -> dict[str, Any]:
    from ..schema.spec import Spec as _Spec

    for name in ("base", "downsample_factors", "downsample_method"):
        if name not in members:
            expected = "object" if name == "base" else "array" if name == "downsample_factors" else "string"
            raise member_error(
                name, InvalidArgumentError(f"Expected {expected}, but member is missing")
            )
    extra = sorted(k for k in members if k not in ("base", "downsample_factors", "downsample_method"))
    if extra:
        raise InvalidArgumentError(
            "Object includes extra members: " + ",".join(f'"{k}"' for k in extra)
        )
    base_json = members["base"]
    if isinstance(base_json, dict) and base_json.get("driver") in registered_drivers():
        # A KvStore: the array there, its format detected (TensorStore's "auto").
        base_json = {"driver": "auto", "kvstore": base_json}
    try:
        base = _Spec(base_json)
    except (InvalidArgumentError, TypeError) as exc:
        raise member_error("base", exc) from None
    try:
        factors = _factors_member(members["downsample_factors"])
    except InvalidArgumentError as exc:
        raise member_error("downsample_factors", exc) from None
    try:
        method = parse_method(members["downsample_method"])
        if base.dtype is not None:
            check_method_supports(method, base.dtype)
    except InvalidArgumentError as exc:
        raise member_error("downsample_method", exc) from None
    if base.rank is not None and base.rank != len(factors):
        raise member_error(
            "downsample_factors",
            InvalidArgumentError(
                f"Number of downsample factors ({len(factors)}) does not match base rank ({base.rank})"
            ),
        )
    return {"base": base.to_json(), "downsample_factors": factors, "downsample_method": method}


def _members_schema(
    members: dict[str, Any], domain: IndexDomain | None = None, rank: int | None = None
) -> SchemaConstraints:
    """What the base implies: its dtype, and its domain downsampled; the rank of the factors."""
    from ..schema.schema import SchemaConstraints as _SchemaConstraints
    from ..schema.spec import Spec as _Spec

    base = _Spec(members["base"])
    factors = members["downsample_factors"]
    out = _SchemaConstraints().with_rank(len(factors))
    if base.dtype is not None:
        out = out.with_dtype(base.dtype)
    if base.domain is not None:
        method = parse_method(members["downsample_method"])
        out = out.with_domain(downsampled_domain(base.domain, factors, method))
    return out


async def _open(request: OpenRequest) -> OpenedDriver:
    from ..index.compose import compose
    from .open import open as _open_spec

    if request.write_requested:
        raise InvalidArgumentError("downsample: only reading is supported (open it with read=True)")
    members = _parse_members(request.members)
    opened: TensorStore = await _open_spec(members["base"], context=request.context, read=True)
    view: TensorStore = downsample(opened, members["downsample_factors"], members["downsample_method"])
    if request.schema.dtype is not None and request.schema.dtype != view.dtype:
        raise InvalidArgumentError(
            f"downsample: dtype {request.schema.dtype.name} does not match the base's {view.dtype.name}"
        )
    wanted = request.schema.domain
    if wanted is not None and request.transform is None:
        try:
            merge_domains(wanted, view.domain)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(
                f"downsample: downsampled domain does not match domain in schema: {exc}"
            ) from None
    transform = view._transform if request.transform is None else compose(view._transform, request.transform)
    return OpenedDriver(view._driver, transform, _READ_ONLY)


register_tensorstore_driver(
    "downsample", _parse_members, uses_kvstore=False, schema=_members_schema
)
register_driver("downsample", _open)
