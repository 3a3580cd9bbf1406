"""The ``array`` driver: a TensorStore over an in-memory NumPy array (``ts.array``).

``ts.array(a)`` references ``a`` when it can (writes through the store change
``a``, as in TensorStore); ``copy=True`` always copies and ``copy=False``
fails rather than copy. Reads and writes copy between the array and the
caller on the runtime thread: there is no cache and nothing to write back,
so ``commit`` resolves as soon as the data is in the array.

The JSON spec is ``{"driver": "array", "array": [...nested...], "dtype": ...}``;
opening it (``ts.open``, unpickling) makes a new array from the JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from ..errors import InvalidArgumentError, OutOfRangeError, UnimplementedError
from ..index import IndexDomain
from ..index.apply import output_indices, strided_view, transform_array
from ..index.output_map import OutputIndexMap, OutputIndexMethod
from ..index.resolve import resolve_bounds
from ..index.transform import IndexTransform
from ..schema.chunk_grid import format_vector
from ..schema.chunk_json import json_text
from ..schema.fill_value import json_array_shape
from ..schema.json_member import member_error
from ..schema.tensorstore_driver import register_tensorstore_driver
from .driver import Driver, OpenedDriver, OpenRequest, ReadWriteMode, register_driver
from .tensorstore import TensorStore, convert_source

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..actors.transaction import TransactionState
    from ..runtime import Promise
    from ..schema.chunk_layout import ChunkLayout
    from ..schema.context import Context
    from ..schema.dtype import dtype as DType
    from ..schema.schema import Schema, SchemaConstraints
    from .kvstore import KvStore

__all__ = ["ArrayDriver", "array", "array_json"]


def array_json(array: np.ndarray) -> Any:
    """The nested-list JSON of ``array`` (complex elements as ``[real, imag]``)."""
    if array.dtype.kind == "c":
        return np.stack([array.real, array.imag], axis=-1).tolist()
    if array.dtype.kind == "f" and array.dtype.type.__module__ != "numpy":
        return array.astype(np.float64).tolist()  # bfloat16, float8...: as numbers
    return array.tolist()


def _inner_order(array: np.ndarray) -> list[int]:
    """Dimensions from outermost to innermost by stride (C order: 0, 1, ...)."""
    return sorted(range(array.ndim), key=lambda i: -abs(array.strides[i]))


@attrs.define(eq=False)
class ArrayDriver(Driver):
    """An opened in-memory array (origin 0), shared by every view of it."""

    data: np.ndarray
    _context: Context
    data_copy_concurrency: Any
    """The bound ``data_copy_concurrency`` resource (reported by ``spec``)."""
    element_dtype: DType
    """The TensorStore data type (NumPy's ``object`` holds string, ustring and json)."""

    @property
    def driver_id(self) -> str:
        return "array"

    @property
    def numpy_dtype(self) -> np.dtype[Any]:
        return self.data.dtype

    @property
    def context(self) -> Context:
        return self._context

    def schema(self) -> Schema:
        from ..schema.schema import Schema as _Schema

        rank = self.data.ndim
        return _Schema(
            {
                "rank": rank,
                "dtype": self.element_dtype.name,
                "domain": self.base_domain().to_json(),
                "chunk_layout": {"grid_origin": [0] * rank, "inner_order": _inner_order(self.data)},
            }
        )

    def base_domain(self) -> IndexDomain:
        return IndexDomain(shape=self.data.shape)

    def kvstore(self) -> KvStore | None:
        return None

    def spec_members(self, *, minimal: bool, unbind_context: bool) -> dict[str, Any]:
        return {
            "driver": "array",
            "array": array_json(self.data),
            "dtype": self.element_dtype.name,
        }

    def spec_view(
        self, transform: IndexTransform, members: dict[str, Any]
    ) -> tuple[dict[str, Any], IndexTransform]:
        """The view's own data, as TensorStore's array spec shows it.

        The array holds the elements the view selects, one dimension per
        input dimension an output map uses (a new axis of size 1 adds none);
        the transform maps the view's domain onto it (its origin moved to 0).
        """
        try:
            _check_constant_maps(transform, self.data.shape)
            data = transform_array(transform, self.data)
        except (InvalidArgumentError, IndexError):
            return members, transform  # a view outside the array: shown as it is
        used = _used_input_dims(transform)
        data = data[tuple(slice(None) if d in used else 0 for d in range(transform.input_rank))]
        origin = transform.domain.inclusive_min
        output = [OutputIndexMap(input_dimension=d, offset=-origin[d]) for d in sorted(used)]
        view = {**members, "array": array_json(np.array(data, order="C"))}  # (rank 0 stays 0-d)
        return view, IndexTransform(transform.domain, output=output)

    def context_json(self) -> dict[str, Any]:
        return {"data_copy_concurrency": self.data_copy_concurrency.to_json()}

    def reduce_store(self, transform: IndexTransform, rw: ReadWriteMode) -> tuple[Any, ...]:
        """Pickle a view as a copy of the array (as TensorStore: it does not stay shared)."""
        return (_unpickle, (self.data, self.element_dtype.name, transform, rw))

    async def resolve(self, transform: IndexTransform) -> IndexTransform:
        return resolve_bounds(self.base_domain(), transform)

    async def read(self, transform: IndexTransform) -> np.ndarray:
        _check_constant_maps(transform, self.data.shape)
        view = strided_view(transform, self.data)  # (slices where they do: no gather)
        return np.array(transform_array(transform, self.data) if view is None else view, order="C")

    async def write(
        self, transform: IndexTransform, source: np.ndarray, copied: Promise[None]
    ) -> None:
        try:
            _check_constant_maps(transform, self.data.shape)
            if transform.domain.size:
                _assign(self.data, transform, source)
        except BaseException as exc:
            copied.set_exception(
                exc if isinstance(exc, Exception) else InvalidArgumentError(str(exc))
            )
            raise
        copied.set_result(None)

    async def stored_cells(
        self, transform: IndexTransform, transaction: TransactionState | None = None
    ) -> tuple[int, int]:
        return 1, 1  # every element of an in-memory array is stored

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
        raise UnimplementedError(
            "array: Resize not supported (an in-memory array has a fixed shape)"
        )


def _used_input_dims(transform: IndexTransform) -> set[int]:
    """The input dimensions some output map depends on (all of them when one is empty)."""
    if transform.domain.size == 0:
        return set(range(transform.input_rank))
    used: set[int] = set()
    for output_map in transform.output:
        if output_map.method == OutputIndexMethod.single_input_dimension:
            assert output_map.input_dimension is not None
            used.add(output_map.input_dimension)
        elif output_map.method == OutputIndexMethod.array:
            index_array = np.asarray(output_map.index_array)
            used.update(
                d
                for d in range(index_array.ndim)
                if index_array.shape[d] > 1 and index_array.strides[d] != 0
            )
    return used


def _check_constant_maps(transform: IndexTransform, shape: tuple[int, ...]) -> None:
    """Refuse a constant index outside the array, even for a view of no element (as tensorstore).

    An array of no element is not checked (tensorstore reads any view of one).

    Raises:
        OutOfRangeError: naming the output dimension and the index.
    """
    if 0 in shape:
        return
    for j, m in enumerate(transform.maps):
        if m.method is OutputIndexMethod.constant and not 0 <= m.offset < shape[j]:
            raise OutOfRangeError(
                f"Checking bounds of constant output index map for dimension {j}: Index "
                f"{m.offset} is outside valid range [0, {shape[j]})"
            )


def _assign(data: np.ndarray, transform: IndexTransform, source: np.ndarray) -> None:
    """``data[transform(x)] = source[x]`` for every ``x`` of the transform's (non-empty) domain.

    Where several positions map to one element (an input dimension no output
    depends on, or repeated index array values), the last in C order stays,
    as in TensorStore.
    """
    positions = output_indices(transform, (0,) * data.ndim, data.shape)
    if not positions:
        data[()] = source.reshape(-1)[-1]
        return
    # The positions are compact (extent 1 where they do not vary): spread to the
    # domain's shape, so that dimensions no output depends on are not dropped.
    shape = transform.domain.shape
    # One element: assign the element itself, or an object array would hold the 0-d source array.
    data[tuple(np.broadcast_to(p, shape) for p in positions)] = source[()] if source.ndim == 0 else source


def _unpickle(
    data: np.ndarray, dtype: str, transform: IndexTransform, rw: ReadWriteMode
) -> TensorStore:
    from ..schema.context import Context as _Context
    from ..schema.dtype import dtype as ts_dtype

    ctx = _Context()
    driver = ArrayDriver(
        data, ctx, ctx.get_resource("data_copy_concurrency", None), ts_dtype(dtype)
    )
    return TensorStore(driver, transform, rw)


def _as_array(
    source: Any, dtype: Any, *, copy: bool | None, write: bool | None
) -> tuple[np.ndarray, bool, DType]:
    """The array ``ts.array`` wraps and whether it is writable, as ``copy``/``write`` ask."""
    from ..schema.dtype import dtype as ts_dtype

    if dtype is not None:
        element = ts_dtype(dtype)
        converted = convert_source(source, element.numpy_dtype, name=element.name)
    else:
        converted = np.asarray(source)
        # As TensorStore: Python objects are JSON values. Other dtypes it lacks
        # (e.g. '<U1') are refused.
        element = ts_dtype("json" if converted.dtype == object else converted.dtype)
        if converted.dtype.byteorder not in "=|":
            converted = converted.astype(converted.dtype.newbyteorder("="))
    referenced = isinstance(source, np.ndarray) and np.may_share_memory(converted, source)
    writable = bool(converted.flags.writeable) if write is None else write
    must_copy = copy is True or (write is True and not converted.flags.writeable)
    if copy is False and (not referenced or must_copy):
        raise InvalidArgumentError(
            "ts.array: copy=False, but the source cannot be referenced without a copy "
            f"(a {type(source).__name__} converted to {converted.dtype})"
        )
    if must_copy and (referenced or not converted.flags.writeable):
        converted = np.array(converted, copy=True)
    return converted, writable, element


def array(
    array: Any,
    dtype: Any = None,
    *,
    context: Context | None = None,
    copy: bool | None = None,
    write: bool | None = None,
) -> TensorStore:
    """Returns a TensorStore that reads/writes an in-memory array.

    Args:
      array: the source array (or anything ``np.asarray`` accepts).
      dtype: data type to convert to (NumPy arrays convert only safely).
      context: supplies ``data_copy_concurrency``.
      copy: None: reference the source when possible; True: always copy;
        False: never copy (error if the source cannot be referenced).
      write: None: writable iff the array is; True: writable (a read-only
        source is copied); False: read-only.

    Raises:
      InvalidArgumentError: ``copy=False`` and a copy is needed, or a dtype
        TensorStore does not have.
      TypeError: an unsafe conversion of a NumPy array to ``dtype``.
    """
    from ..schema.context import Context as _Context

    if context is not None and not isinstance(context, _Context):
        raise TypeError(f"ts.array: context must be a ts.Context, got {type(context).__name__}")
    data, writable, element = _as_array(array, dtype, copy=copy, write=write)
    ctx = context if context is not None else _Context()
    driver = ArrayDriver(data, ctx, ctx.get_resource("data_copy_concurrency", None), element)
    return TensorStore(
        driver, driver.base_domain().identity_transform(), ReadWriteMode(True, writable)
    )


# --- the JSON spec


def _parse_members(members: dict[str, Any]) -> dict[str, Any]:
    if "array" not in members:
        raise InvalidArgumentError(
            'Error parsing object member "array": Expected array, but member is missing'
        )
    extra = sorted(k for k in members if k != "array")
    if extra:
        raise InvalidArgumentError(
            "Object includes extra members: " + ",".join(f'"{k}"' for k in extra)
        )
    try:
        _check_rectangular(members["array"])
    except InvalidArgumentError as exc:
        raise member_error("array", exc) from None
    return {"array": members["array"]}


def _check_rectangular(json: Any) -> None:
    """Nested JSON lists of one shape throughout (the one their first elements give).

    Raises:
        InvalidArgumentError: naming the first element that breaks the shape (TensorStore's words).
    """
    shape = json_array_shape(json)
    rank = len(shape)

    def visit(node: Any, position: tuple[int, ...]) -> None:
        depth = len(position)
        where = "{" + ", ".join(map(str, position)) + "}"
        if depth == rank:
            if isinstance(node, list):
                raise InvalidArgumentError(
                    f"Expected rank-{rank} array, but found array element {json_text(node)} "
                    f"at position {where}."
                )
            return
        if not isinstance(node, list):
            raise InvalidArgumentError(
                f"Expected rank-{rank} array, but found non-array element {json_text(node)} "
                f"at position {where}."
            )
        if len(node) != shape[depth]:
            raise InvalidArgumentError(
                f"Expected array of shape {format_vector(shape)}, but found array element "
                f"{json_text(node)} of length {len(node)} at position {where}."
            )
        for i, child in enumerate(node):
            visit(child, (*position, i))

    visit(json, ())


def _members_schema(
    members: dict[str, Any], domain: IndexDomain | None = None, rank: int | None = None
) -> SchemaConstraints:
    from ..schema.schema import Schema as _Schema

    shape = json_array_shape(members["array"])
    return _Schema(domain=IndexDomain(shape=shape), chunk_layout=_own_layout(len(shape))).constraints


def _own_layout(rank: int) -> ChunkLayout:
    """An array's chunk layout as a spec shows it: origin 0, C order (a copy in C order is
    what the array driver holds)."""
    from ..schema.chunk_layout import ChunkLayout as _ChunkLayout

    return _ChunkLayout(rank=rank, grid_origin=[0] * rank, inner_order=list(range(rank)))


def _check_chunk_layout(given: ChunkLayout, rank: int) -> None:
    """Refuse hard chunk layout constraints an array cannot meet, as TensorStore does.

    Raises:
        InvalidArgumentError: a chunk shape ("chunking not supported"), or a
            grid origin or inner order that differs from the array's.
    """
    constraints = given.constraints
    for usage in ("write", "read", "codec"):
        if any(constraints.grid(usage).shape_hard):
            raise InvalidArgumentError(
                f"array: chunking not supported (schema chunk_layout {usage}_chunk shape "
                f"{format_vector(constraints.grid(usage).shape)})"
            )
    _own_layout(rank).constraints.with_layout(constraints)


def _array_from_json(value: Any, numpy_dtype: np.dtype[Any]) -> np.ndarray:
    shape = json_array_shape(value)
    complex_pairs = numpy_dtype.kind == "c"
    try:
        raw = np.array(value, dtype=object)
        if complex_pairs:
            if raw.ndim == 0 or raw.shape[-1] != 2:
                raise ValueError("complex elements must be [real, imag] pairs")
            raw = raw[..., 0] + 1j * raw[..., 1]
            shape = shape[:-1]
        # Rectangular already (``_parse_members`` checked it).
        out = np.empty(shape, numpy_dtype)
        flat = out.reshape(-1)
        for i, element in enumerate(raw.reshape(-1)):
            # The position as TensorStore gives it: the element's index vector.
            where = f"Error parsing array element at position {{{', '.join(map(str, np.unravel_index(i, shape)))}}}"
            if (
                isinstance(element, list)
                or element is None
                or (isinstance(element, bool) and numpy_dtype.kind != "b")
            ):
                raise ValueError(
                    f"{where}: Expected a {numpy_dtype} element, but received: {json_text(element)}"
                )
            if numpy_dtype.kind in "iu":
                info = np.iinfo(numpy_dtype)
                if not isinstance(element, int | np.integer) or not (
                    info.min <= int(element) <= info.max
                ):
                    raise ValueError(
                        f"{where}: Expected integer in the range [{info.min}, {info.max}], "
                        f"but received: {json_text(element)}"
                    )
            flat[i] = element
    except (ValueError, TypeError, OverflowError) as exc:
        raise member_error("array", exc) from None
    return out


async def _open(request: OpenRequest) -> OpenedDriver:
    from ..index.compose import compose

    members = _parse_members(request.members)
    dtype = request.schema.dtype
    if dtype is None:
        raise InvalidArgumentError('array: "dtype" must be specified')
    if request.kvstore is not None:
        raise InvalidArgumentError('Object includes extra members: "kvstore"')
    data = _array_from_json(members["array"], dtype.numpy_dtype)
    copy_resource = request.context.get_resource(
        "data_copy_concurrency", request.resource_members.get("data_copy_concurrency")
    )
    _check_chunk_layout(request.schema.chunk_layout, data.ndim)
    driver = ArrayDriver(data, request.context, copy_resource, dtype)
    base = driver.base_domain().identity_transform()
    if request.transform is None:
        return OpenedDriver(driver, base)
    if request.transform.output_rank != data.ndim:
        raise InvalidArgumentError(
            f"array: Rank is {data.ndim}, but the spec's transform has output rank "
            f"{request.transform.output_rank}"
        )
    return OpenedDriver(driver, compose(base, request.transform))


register_tensorstore_driver(
    "array", _parse_members, uses_kvstore=False, schema=_members_schema, layout_from_members=True
)
register_driver("array", _open)
