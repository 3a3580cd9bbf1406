"""One field of an array of packed records, viewed as an array of its own (zarr's ``"field"``).

A zarr v2 array of a structured data type of several fields stores packed
records; TensorStore opens it one field at a time. tensortrio keeps one
chunk cache of the raw records (``byte`` elements with a last dimension of
the record's size, as an ``|V<n>`` array), shared by every field opened on
the array, so writes through several fields to one chunk coalesce into one
writeback, and the cache's byte mask keeps each field's bytes apart: a
writeback merges the fields written into the stored records (read first, as
for any partial chunk write) and never overwrites the others.

:class:`FieldDriver` is the view: its domain is the array's dimensions, then
the field's own inner dimensions (a field ``["b", ">f4", [2]]`` adds one of
size 2). Each operation maps the view's transform to the record bytes it
covers (:func:`record_bytes_transform`) and converts the bytes to the
field's native values and back (:class:`RecordField`).
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from ..errors import FailedPreconditionError
from ..index import IndexDomain, IndexTransform
from ..index.compose import compose
from ..index.interval import IndexInterval
from ..index.output_map import OutputIndexMap
from .driver import Driver

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from ..actors.transaction import TransactionState
    from ..runtime import Promise
    from ..schema.context import Context
    from ..schema.schema import Schema
    from .chunked_driver import ChunkedDriver
    from .kvstore import KvStore

__all__ = ["FieldDriver", "RecordField", "record_bytes_transform", "whole_field_transform"]


@attrs.frozen
class RecordField:
    """Where one field lies in a record and how its elements are stored.

    ``stored`` is the dtype of one element in storage byte order (``S1`` /
    ``V1`` for raw bytes), ``native`` the in-memory one, ``shape`` the field's
    inner dimensions (a raw byte string's length included), ``offset`` its
    first byte in the record.
    """

    name: str
    offset: int
    stored: np.dtype[Any]
    native: np.dtype[Any]
    dtype_name: str
    shape: tuple[int, ...] = ()

    @property
    def nbytes(self) -> int:
        """Bytes the field occupies in each record."""
        return math.prod(self.shape) * self.stored.itemsize

    def values(self, record_bytes: NDArray[Any]) -> NDArray[Any]:
        """The field's native values from an array of its bytes (last dimension: one element's bytes).

        Booleans are true for any nonzero byte, as TensorStore reads them.
        """
        raw = np.ascontiguousarray(record_bytes)
        if self.native.kind == "b":
            out: NDArray[Any] = raw.view(np.uint8)[..., 0] != 0
            return out
        return raw.view(self.stored)[..., 0].astype(self.native)

    def element_bytes(self, values: NDArray[Any]) -> NDArray[Any]:
        """``values`` (this field's native dtype) as stored bytes: one more dimension, ``byte`` elements."""
        # (Not ascontiguousarray, which makes a 0-d array 1-d.)
        stored = np.asarray(values, dtype=self.stored)
        if not stored.flags.c_contiguous:
            stored = stored.copy()
        return stored.reshape((*stored.shape, 1)).view(np.dtype("V1"))

    def fill_value(self, record: NDArray[Any]) -> NDArray[Any]:
        """The field's part of a record fill value (the record's bytes), in its inner shape."""
        raw = np.ascontiguousarray(record).view(np.uint8).reshape(-1)
        part = raw[self.offset : self.offset + self.nbytes].reshape(
            (*self.shape, self.stored.itemsize)
        )
        return self.values(part.view(np.dtype("V1")))


@functools.lru_cache(maxsize=64)
def _field_to_record(field: RecordField, outer_rank: int) -> IndexTransform:
    """From (the array's dimensions, the field's inner dimensions, an element's bytes) to the
    array's dimensions and the record's bytes."""
    itemsize = field.stored.itemsize
    byte_map: OutputIndexMap
    if not field.shape:
        byte_map = OutputIndexMap(input_dimension=outer_rank, offset=field.offset)
    else:
        # Inner index (i_1..i_k) and element byte b lie at offset + flat(i) * itemsize + b.
        flat = np.arange(math.prod(field.shape), dtype=np.int64).reshape(field.shape)
        byte = field.offset + flat[..., None] * itemsize + np.arange(itemsize, dtype=np.int64)
        byte_map = OutputIndexMap(index_array=byte.reshape((1,) * outer_rank + byte.shape))
    dims = (
        *IndexDomain(rank=outer_rank).dims,
        *(IndexInterval.make(0, n) for n in field.shape),
        IndexInterval.make(0, itemsize),
    )
    return IndexTransform(
        domain=IndexDomain.from_dims(dims),
        output=[*(OutputIndexMap(input_dimension=d) for d in range(outer_rank)), byte_map],
    )


def _with_index_array_shape(m: OutputIndexMap, shape: tuple[int, ...]) -> OutputIndexMap:
    """``m`` with its index array reshaped to ``shape`` (for a new input rank); others as they are."""
    if m.index_array is None:
        return m
    return OutputIndexMap(
        index_array=m.index_array.reshape(shape),
        offset=m.offset,
        stride=m.stride,
        index_range=m.index_range,
    )


def _append_input_dim(
    transform: IndexTransform, interval: IndexInterval, extra_maps: Sequence[OutputIndexMap]
) -> IndexTransform:
    """``transform`` with a last input dimension over ``interval`` and further output maps."""
    maps = [
        m if m.index_array is None else _with_index_array_shape(m, (*m.index_array.shape, 1))
        for m in transform.maps
    ]
    return IndexTransform.make(
        IndexDomain.from_dims((*transform.domain.dims, interval)), (*maps, *extra_maps)
    )


def record_bytes_transform(
    transform: IndexTransform, field: RecordField, outer_rank: int
) -> IndexTransform:
    """``transform`` (to the field view's dimensions) as a transform to the record bytes it covers.

    The result has one more input dimension, last, over one element's bytes;
    its output space is the array's dimensions and then the record's bytes.
    """
    rank = transform.input_rank
    extended = _append_input_dim(
        transform,
        IndexInterval.make(0, field.stored.itemsize),
        (OutputIndexMap(input_dimension=rank),),
    )
    return compose(_field_to_record(field, outer_rank), extended)


def whole_field_transform(
    transform: IndexTransform, field: RecordField, outer_rank: int
) -> IndexTransform | None:
    """``transform`` as a transform to the field's bytes of each record, when that is exact.

    When the view's last input dimensions select the field's inner
    dimensions whole and in order (``b[1:3]``, ``b[..., :]``) and nothing else
    depends on them, the field's bytes of a record are a contiguous range:
    the result has those dimensions replaced by one over that range, so the
    record bytes are read and written through slices rather than the index
    array :func:`record_bytes_transform` needs. None otherwise.
    """
    k = len(field.shape)
    rank = transform.input_rank
    first = rank - k
    if k == 0 or first < 0:
        return None
    for j, n in enumerate(field.shape):
        m = transform.maps[outer_rank + j]
        dim = transform.domain[first + j]
        if (
            m.input_dimension != first + j
            or m.stride != 1
            or m.offset != 0
            or dim.inclusive_min != 0
            or dim.exclusive_max != n
        ):
            return None
    maps: list[OutputIndexMap] = []
    for m in transform.maps[:outer_rank]:
        if m.index_array is not None:
            if any(n != 1 for n in m.index_array.shape[first:]):
                return None
            m = _with_index_array_shape(m, (*m.index_array.shape[:first], 1))
        elif m.input_dimension is not None and m.input_dimension >= first:
            return None
        maps.append(m)
    maps.append(OutputIndexMap(input_dimension=first, offset=field.offset))
    dims = (*transform.domain.dims[:first], IndexInterval.make(0, field.nbytes))
    return IndexTransform.make(IndexDomain.from_dims(dims), maps)


def _records_transform(transform: IndexTransform, record_size: int, outer_rank: int) -> IndexTransform:
    """``transform`` seeing whole records: its maps of the array's dimensions, then every byte.

    What a resize of the field view resizes (the field's inner dimensions
    are fixed).
    """
    rank = transform.input_rank
    return _append_input_dim(
        IndexTransform.make(transform.domain, transform.maps[:outer_rank]),
        IndexInterval.make(0, record_size),
        (OutputIndexMap(input_dimension=rank),),
    )


@attrs.define(eq=False)
class FieldDriver(Driver):
    """One field of a chunked array of records (``base``, whose elements are the records' bytes)."""

    base: ChunkedDriver
    field: RecordField
    _schema_of: tuple[Any, Schema] | None = attrs.field(default=None, init=False)

    @property
    def _outer_rank(self) -> int:
        return self.base.base_domain().rank - 1

    def _to_records(self, transform: IndexTransform) -> IndexTransform:
        return record_bytes_transform(transform, self.field, self._outer_rank)

    # --- what the view is

    @property
    def driver_id(self) -> str:
        return self.base.driver_id

    @property
    def numpy_dtype(self) -> np.dtype[Any]:
        return self.field.native

    @property
    def context(self) -> Context:
        return self.base.context

    def schema(self) -> Schema:
        """The field's schema (data type, inner dimensions, fill value), per current metadata."""
        metadata = self.base.entry.metadata
        cached = self._schema_of
        if cached is not None and cached[0] is metadata:
            return cached[1]
        schema = self.base.fmt.field_schema(metadata, self.base.members)
        self._schema_of = (metadata, schema)
        return schema

    def base_domain(self) -> IndexDomain:
        domain = self.schema().domain
        assert domain is not None, "a field schema always has a domain"
        return domain

    def kvstore(self) -> KvStore:
        return self.base.kvstore()

    def spec_members(self, *, minimal: bool, unbind_context: bool) -> dict[str, Any]:
        members = self.base.spec_members(minimal=minimal, unbind_context=unbind_context)
        members["dtype"] = self.field.dtype_name
        return members

    def context_json(self) -> dict[str, Any]:
        return self.base.context_json()

    def in_transaction(self, transaction: TransactionState) -> Driver:
        base = self.base.in_transaction(transaction)
        return self if base is self.base else FieldDriver(base, self.field)

    @property
    def metadata_transaction(self) -> Any:
        return self.base.metadata_transaction

    # --- transactions stage the records' bytes in the base's chunks

    @property
    def staging_base(self) -> Driver:
        return self.base

    def to_staged_transform(self, transform: IndexTransform) -> IndexTransform:
        return self._to_records(transform)

    def to_staged(self, array: np.ndarray) -> np.ndarray:
        return self.field.element_bytes(array)

    def from_staged(self, array: np.ndarray) -> np.ndarray:
        return self.field.values(array)

    # --- operations

    async def resolve(self, transform: IndexTransform) -> IndexTransform:
        from ..index.resolve import resolve_bounds

        await self.base.current_metadata()
        return resolve_bounds(self.base_domain(), transform)

    def _to_field_bytes(self, transform: IndexTransform) -> IndexTransform:
        """The record-bytes transform of a read or write: through slices when it can be."""
        whole = whole_field_transform(transform, self.field, self._outer_rank)
        return self._to_records(transform) if whole is None else whole

    async def read(
        self,
        transform: IndexTransform,
        *,
        generations: dict[tuple[int, ...], bytes] | None = None,
    ) -> np.ndarray:
        data = await self.base.read(self._to_field_bytes(transform), generations=generations)
        # Either way the bytes are the view's elements in C order, one element's bytes last.
        itemsize = self.field.stored.itemsize
        return self.field.values(data.reshape((*transform.domain.shape, itemsize)))

    async def write(
        self, transform: IndexTransform, source: np.ndarray, copied: Promise[None]
    ) -> None:
        try:
            data = self.field.element_bytes(source)
        except Exception as exc:
            copied.set_exception(exc)
            raise
        records = self._to_field_bytes(transform)
        await self.base.write(records, data.reshape(records.domain.shape), copied)

    async def stored_cells(
        self, transform: IndexTransform, transaction: TransactionState | None = None
    ) -> tuple[int, int]:
        return await self.base.stored_cells(self._to_field_bytes(transform), transaction)

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
        from .resize_plan import resized_shape, resized_transform

        if not resize_tied_bounds:
            raise FailedPreconditionError(
                "Resize operation would affect other fields but `resize_tied_bounds` was not "
                "specified"
            )
        # The field's inner dimensions have explicit bounds: this refuses changing them.
        resized_shape(
            transform,
            self.base_domain(),
            inclusive_min,
            exclusive_max,
            resize_tied_bounds=resize_tied_bounds,
            expand_only=expand_only,
            shrink_only=shrink_only,
        )
        outer = self._outer_rank
        record_size = self.base.base_domain().shape[-1]
        await self.base.resize(
            _records_transform(transform, record_size, outer),
            [*inclusive_min, None],
            [*exclusive_max, None],
            resize_metadata_only=resize_metadata_only,
            resize_tied_bounds=resize_tied_bounds,
            expand_only=expand_only,
            shrink_only=shrink_only,
            transaction=transaction,
        )
        return resized_transform(transform, inclusive_min, exclusive_max)
