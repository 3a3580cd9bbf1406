"""The ``cast`` driver (``ts.cast``, ``TensorStore.astype``): a view with the data type converted.

Reading converts the base's elements to the view's dtype, writing converts
back; the view is readable only if the base is and its dtype converts to the
view's, writable only if the base is and the view's dtype converts back.

TensorStore's data type conversion table (checked against tensorstore 0.1.86, ``tests/cast``):

- every type converts to itself; ``char`` and ``byte`` convert to each other
  and to nothing else;
- the numeric types (``bool``, integers, floats, complex) convert to each
  other, except complex to ``bool``;
- numeric types other than ``bool`` convert to ``string``/``ustring`` (their
  decimal text), never back; ``string`` and ``ustring`` convert to each other
  (UTF-8);
- ``json`` converts to and from numeric types (except to complex), ``string``
  and ``ustring``.
"""

from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING, Any

import attrs
import ml_dtypes
import numpy as np

from ..errors import InvalidArgumentError
from ..schema.chunk_json import json_text
from ..schema.json_member import c_double, member_error
from ..schema.tensorstore_driver import register_tensorstore_driver
from .driver import Driver, OpenedDriver, OpenRequest, ReadWriteMode, register_driver
from .tensorstore import TensorStore

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..actors.transaction import TransactionState
    from ..index import IndexDomain, IndexTransform
    from ..runtime import Promise
    from ..schema.context import Context
    from ..schema.dtype import dtype as DType
    from ..schema.schema import Schema, SchemaConstraints
    from ..schema.spec import Spec
    from .kvstore import KvStore

__all__ = ["CastDriver", "can_convert", "cast", "convert_array", "converts_implicitly"]

_RAW = frozenset({"char", "byte"})
_TEXT = frozenset({"string", "ustring"})


def _kind(name: str) -> str:
    if name in _RAW or name in _TEXT or name == "json":
        return name if name != "byte" else "char"
    if name == "bool":
        return "bool"
    if name.startswith("complex"):
        return "complex"
    return "number"  # integers and floats (incl. the ml_dtypes ones)


def can_convert(source: DType, target: DType) -> bool:
    """Whether values of ``source`` convert to ``target`` (TensorStore's table)."""
    a, b = _kind(source.name), _kind(target.name)
    if source == target or a == b == "char":
        return True
    if "char" in (a, b):
        return False
    numeric = ("bool", "number", "complex")
    if a in numeric and b in numeric:
        return not (a == "complex" and b == "bool")
    if b in _TEXT:
        return a in ("number", "complex", "json") or a in _TEXT
    if a in _TEXT:
        return b == "json"
    if a == "json":
        return b in ("bool", "number")
    if b == "json":
        return a in numeric
    return False


# ml_dtypes' finfo and iinfo (NumPy's, extended to its own types) carry no annotations.
_finfo: Callable[[np.dtype[Any]], Any] = ml_dtypes.finfo
_iinfo: Callable[[np.dtype[Any]], Any] = ml_dtypes.iinfo


def converts_implicitly(source: DType, target: DType) -> bool:
    """Whether ``source`` values convert to ``target`` without an explicit ``ts.cast`` (TensorStore's table).

    The conversions TensorStore marks safe: those that keep every value
    (wider integers, floats with as many mantissa bits and as wide an
    exponent range, bool to numbers), plus JSON from numbers and unicode,
    unicode to bytes, and char <-> byte. Numbers to strings, JSON to
    anything else, and narrowing conversions need ``ts.cast``.
    """
    if not can_convert(source, target):
        return False
    a, b = _kind(source.name), _kind(target.name)
    if source == target or a == b == "char":
        return True
    if a == "json" or b == "json":
        return b == "json" and source.name != "string"
    if a in _TEXT or b in _TEXT:
        return source.name == "ustring" and target.name == "string"
    if a == "bool":
        return True
    if b == "bool" or (a == "complex" and b != "complex"):
        return False
    if a == "number" and b in ("number", "complex"):
        return _number_fits(source.numpy_dtype, target.numpy_dtype)
    return _float_fits(_float_part(source.numpy_dtype), _float_part(target.numpy_dtype))


def _float_part(dtype: np.dtype[Any]) -> np.dtype[Any]:
    return np.empty(0, dtype).real.dtype if dtype.kind == "c" else dtype


def _number_fits(source: np.dtype[Any], target: np.dtype[Any]) -> bool:
    source_int = not _is_float(source)
    target_int = not _is_float(target)
    if not source_int:
        return not target_int and _float_fits(source, _float_part(target))
    low, high = _iinfo(source).min, _iinfo(source).max
    if target_int:
        info = _iinfo(target)
        return bool(info.min <= low and high <= info.max)
    finfo = _finfo(_float_part(target))
    return bool(int(high).bit_length() <= finfo.nmant + 1 and high <= float(finfo.max))


def _is_float(dtype: np.dtype[Any]) -> bool:
    return dtype.kind in "fc" or dtype.name.startswith(("float", "bfloat"))  # ml_dtypes' floats


def _float_fits(source: np.dtype[Any], target: np.dtype[Any]) -> bool:
    x, y = _finfo(source), _finfo(target)
    # A mantissa-less source (float8_e8m0fnu) also fits one exponent below the
    # target's normals, as the target's subnormal: TensorStore's table says so.
    return bool(
        y.nmant >= x.nmant
        and y.maxexp >= x.maxexp
        and y.minexp <= x.minexp + (x.nmant == 0)
        and (float(y.min) < 0 or float(x.min) >= 0)
    )


def _elementwise(array: np.ndarray, fn: Any, dtype: np.dtype[Any]) -> np.ndarray:
    out = np.empty(array.shape, dtype)
    flat_in, flat_out = array.reshape(-1), out.reshape(-1)
    for i in range(flat_in.size):
        flat_out[i] = fn(flat_in[i])
    return out


def _json_scalar(target: DType) -> Callable[[Any], Any]:
    """The conversion of one JSON value to ``target`` (bool or a number), as TensorStore's.

    Booleans take ``true``/``false`` (or those strings); integers take JSON
    integers, integral floats and decimal integer strings in range; floats
    take numbers and strings ``strtod`` reads. Nothing else converts.
    """
    if target.name == "bool":

        def boolean(value: Any) -> bool:
            if isinstance(value, bool):
                return value
            if value in ("true", "false"):
                return bool(value == "true")
            raise InvalidArgumentError(f"Expected boolean, but received: {json_text(value)}")

        return boolean
    numpy_dtype = target.numpy_dtype
    if not _is_float(numpy_dtype):
        info = _iinfo(numpy_dtype)
        low, high = int(info.min), int(info.max)
        expected = (
            f"64-bit {'signed' if low else 'unsigned'} integer"
            if info.bits == 64
            else f"integer in the range [{low}, {high}]"
        )

        def integer(value: Any) -> int:
            number: Any = value
            if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
                number = int(value.strip())
            elif isinstance(value, float) and value.is_integer():
                number = int(value)
            if isinstance(number, int) and not isinstance(number, bool) and low <= number <= high:
                return number
            raise InvalidArgumentError(f"Expected {expected}, but received: {json_text(value)}")

        return integer

    def floating(value: Any) -> float:
        number = c_double(value) if isinstance(value, str) else value
        if isinstance(number, int | float) and not isinstance(number, bool):
            return float(number)
        raise InvalidArgumentError(
            f"Expected 64-bit floating-point number, but received: {json_text(value)}"
        )

    return floating


_DECIMAL = re.compile(r"[+-]?[0-9]+")


def _json_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise InvalidArgumentError(f"Expected string, but received: {value!r}")


def _decode(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgumentError(f"Invalid UTF-8 sequence in string: {value!r}") from exc


def _to_json(value: Any) -> Any:
    if isinstance(value, complex | np.complexfloating):
        return [float(value.real), float(value.imag)]
    if isinstance(value, np.generic) and value.dtype.type.__module__ != "numpy":
        # ml_dtypes' types: int2 and int4 are integers, bfloat16 and float8 floats.
        return int(value) if value.dtype.name.startswith("int") else float(value)
    return value.item() if isinstance(value, np.generic) else value


def convert_array(array: np.ndarray, source: DType, target: DType) -> np.ndarray:
    """``array`` (elements of ``source``) converted to ``target`` (a new array).

    Raises:
      InvalidArgumentError: no conversion exists, or an element cannot be
        converted (invalid UTF-8, a JSON value of the wrong kind).
    """
    if not can_convert(source, target):
        raise InvalidArgumentError(f"Cannot convert {source.name} <-> {target.name}")
    a, b = _kind(source.name), _kind(target.name)
    out_dtype = target.numpy_dtype
    if source == target:
        return np.array(array, copy=True)
    if a in ("bool", "number", "complex", "char") and b in ("bool", "number", "complex", "char"):
        if a == "complex" and b != "complex":
            array = np.real(array)  # the real part, without NumPy's ComplexWarning
        try:
            return array.astype(out_dtype)
        except TypeError:
            # ml_dtypes has no cast between its own integers (int4 -> int2):
            # through int64, wrapping as TensorStore's conversion does.
            return array.astype(np.int64).astype(out_dtype)
    if b in _TEXT:
        if a in _TEXT:
            fn = _decode if b == "ustring" else (lambda v: v.encode("utf-8"))
            if a == b:
                fn = _identity
        elif a == "json":
            fn = _json_text if b == "ustring" else (lambda v: _json_text(v).encode("utf-8"))
        else:
            fn = _number_text if b == "ustring" else (lambda v: _number_text(v).encode("ascii"))
        return _elementwise(array, fn, out_dtype)
    if b == "json":
        if a in _TEXT:
            return _elementwise(array, _decode if a == "string" else _identity, out_dtype)
        return _elementwise(array, _to_json, out_dtype)
    # json to a number or bool
    return _elementwise(array, _json_scalar(target), out_dtype)


def _number_text(value: Any) -> str:
    """A number as TensorStore writes it: C++ stream formatting (``%g``, ``(re,im)``)."""
    if isinstance(value, complex | np.complexfloating):
        return f"({_number_text(value.real)},{_number_text(value.imag)})"
    if isinstance(value, int | np.integer) or str(getattr(value, "dtype", "")).startswith("int"):
        return str(int(value))  # Python's and NumPy's integers, and int2/int4
    return f"{float(value):g}"


def _identity(value: Any) -> Any:
    return value


# --- the driver


@attrs.define(eq=False)
class CastDriver(Driver):
    """A base driver seen with another data type; transforms pass through unchanged."""

    base: Driver
    base_rw: ReadWriteMode
    target: DType

    @property
    def driver_id(self) -> str:
        return "cast"

    @property
    def source(self) -> DType:
        return _driver_dtype(self.base)

    @property
    def numpy_dtype(self) -> np.dtype[Any]:
        return self.target.numpy_dtype

    @property
    def context(self) -> Context:
        return self.base.context

    def schema(self) -> Schema:
        from ..schema.schema import Schema as _Schema

        json = self.base.schema().constraints.to_json()
        json["dtype"] = self.target.name
        fill = self.base.schema().fill_value
        json.pop("fill_value", None)
        schema = _Schema(json)
        if fill is not None and can_convert(self.source, self.target):
            schema.update(fill_value=convert_array(np.asarray(fill), self.source, self.target))
        return schema

    def base_domain(self) -> IndexDomain:
        return self.base.base_domain()

    def kvstore(self) -> KvStore | None:
        return self.base.kvstore()

    def spec_members(self, *, minimal: bool, unbind_context: bool) -> dict[str, Any]:
        base = self.base.spec_members(minimal=minimal, unbind_context=False)
        return {"driver": "cast", "base": dict(sorted(base.items())), "dtype": self.target.name}

    def context_json(self) -> dict[str, Any]:
        return self.base.context_json()

    def reduce_store(self, transform: IndexTransform, rw: ReadWriteMode) -> tuple[Any, ...]:
        """Pickle as the base view (however it pickles) plus the target dtype."""
        return (_unpickle, (TensorStore(self.base, transform, self.base_rw), self.target.name, rw))

    async def resolve(self, transform: IndexTransform) -> IndexTransform:
        return await self.base.resolve(transform)

    async def read(self, transform: IndexTransform) -> np.ndarray:
        data = await self.base.read(transform)
        return convert_array(data, self.source, self.target)

    async def write(
        self, transform: IndexTransform, source: np.ndarray, copied: Promise[None]
    ) -> None:
        try:
            converted = convert_array(source, self.target, self.source)
        except Exception as exc:
            copied.set_exception(exc)
            raise
        await self.base.write(transform, converted, copied)

    async def stored_cells(
        self, transform: IndexTransform, transaction: TransactionState | None = None
    ) -> tuple[int, int]:
        return await self.base.stored_cells(transform, transaction)

    def in_transaction(self, transaction: TransactionState) -> Driver:
        base = self.base.in_transaction(transaction)
        return self if base is self.base else attrs.evolve(self, base=base)

    @property
    def adapted(self) -> tuple[Driver, ReadWriteMode]:
        return self.base, self.base_rw

    @property
    def callback_home(self) -> Any:
        return self.base.callback_home

    @property
    def staging_base(self) -> Driver:
        return self.base.staging_base

    def to_staged(self, array: np.ndarray) -> np.ndarray:
        return self.base.to_staged(convert_array(array, self.target, self.source))

    def from_staged(self, array: np.ndarray) -> np.ndarray:
        return convert_array(self.base.from_staged(array), self.source, self.target)

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
        return await self.base.resize(
            transform,
            inclusive_min,
            exclusive_max,
            resize_metadata_only=resize_metadata_only,
            resize_tied_bounds=resize_tied_bounds,
            expand_only=expand_only,
            shrink_only=shrink_only,
            transaction=transaction,
        )


def _driver_dtype(driver: Driver) -> DType:
    from ..schema.dtype import dtype

    found = driver.schema().dtype
    return dtype(driver.numpy_dtype) if found is None else found


def _cast_mode(source: DType, target: DType, base: ReadWriteMode) -> ReadWriteMode:
    """The view's mode: reads need source -> target, writes target -> source.

    Raises:
      InvalidArgumentError: ``Cannot convert <source> <-> <target>`` when neither is left.
    """
    mode = ReadWriteMode(
        base.read and can_convert(source, target), base.write and can_convert(target, source)
    )
    if not (mode.read or mode.write):
        raise InvalidArgumentError(f"Cannot convert {source.name} <-> {target.name}")
    return mode


def cast(base: TensorStore | Spec, dtype: Any) -> Any:
    """Returns a view of ``base`` with the data type converted to ``dtype``.

    For a ``TensorStore``: a read/write ``TensorStore`` (read-only or
    write-only when the conversion exists in one direction only); for a
    ``Spec``: the spec of such a view.

    Raises:
      InvalidArgumentError: ``Cannot convert int32 <-> char`` when the data
        types convert in neither direction the base allows.
    """
    from ..schema.dtype import dtype as ts_dtype
    from ..schema.spec import Spec as _Spec

    target = ts_dtype(dtype)
    if isinstance(base, _Spec):
        return _cast_spec(base, target)
    if not isinstance(base, TensorStore):
        raise TypeError(f"ts.cast: base must be a TensorStore or Spec, got {type(base).__name__}")
    driver, transform, rw = base._driver, base._transform, base._rw
    source = _driver_dtype(driver)
    mode = _cast_mode(source, target, rw)
    # The view reads and writes in the base's transaction, if it is bound to one.
    return TensorStore(CastDriver(driver, rw, target), transform, mode, base.transaction)


def _cast_spec(base: Spec, target: DType) -> Spec:
    """The spec of ``base`` seen with ``target`` elements, as TensorStore makes it: the base's
    transform becomes the cast's (its rank the cast's, without one); the base keeps the rest.

    Raises:
      InvalidArgumentError: ``Cannot convert int32 <-> char``, for a base of known dtype.
    """
    from ..index import IndexTransform
    from ..schema.schema import SchemaConstraints as _SchemaConstraints
    from ..schema.spec import Spec as _Spec
    from ..schema.spec import SpecValue
    from ..schema.tensorstore_driver import tensorstore_driver

    source = base.dtype
    if source is not None and not (can_convert(source, target) or can_convert(target, source)):
        raise InvalidArgumentError(f"Cannot convert {source.name} <-> {target.name}")
    base_json = base.to_json()
    # The transform moves to the cast only from the top of the base's JSON, where it is the
    # base's own (an adapter's lives in its base, and would be applied twice), and only when
    # the base has no schema domain (that one is in the space the transform maps to).
    moves = "transform" in base_json and "domain" not in base_json.get("schema", {})
    transform = IndexTransform(json=base_json.pop("transform")) if moves else None
    # A rank the base's JSON states becomes the cast's, as TensorStore shows it; one only
    # implied by the base's metadata is not stated anywhere (a JSON round trip keeps it so).
    stated = base_json.pop("rank", None) if transform is None else None
    schema = _SchemaConstraints(dtype=target)
    cast_rank = transform.output_rank if transform is not None else stated
    if cast_rank is not None:
        schema = schema.with_rank(cast_rank)
    members = {"base": dict(sorted(base_json.items()))}
    return _Spec.from_value(SpecValue(tensorstore_driver("cast"), members=members, transform=transform, schema=schema))


def _unpickle(base: TensorStore, dtype: str, rw: ReadWriteMode) -> TensorStore:
    view: TensorStore = cast(base, dtype)
    return TensorStore(view._driver, view._transform, rw)


# --- the JSON spec


def _parse_members(members: dict[str, Any]) -> dict[str, Any]:
    from ..schema.spec import Spec as _Spec

    if "base" not in members:
        raise InvalidArgumentError(
            'Error parsing object member "base": Expected object, but member is missing'
        )
    extra = sorted(k for k in members if k not in ("base", "dtype"))
    if extra:
        raise InvalidArgumentError(
            "Object includes extra members: " + ",".join(f'"{k}"' for k in extra)
        )
    try:
        base = _Spec(members["base"])
    except (InvalidArgumentError, TypeError) as exc:
        raise member_error("base", exc) from None
    return {"base": base.to_json()}


async def _open(request: OpenRequest) -> OpenedDriver:
    from ..index.compose import compose
    from .open import open as _open_spec

    members = _parse_members(request.members)
    target = request.schema.dtype
    if target is None:
        raise InvalidArgumentError('cast: "dtype" must be specified')
    rw = request.rw
    opened: TensorStore = await _open_spec(
        members["base"], context=request.context, read=rw.read, write=rw.write, **_base_constraints(request.schema)
    )
    view = cast(opened, target)
    driver: CastDriver = view._driver
    if request.transform is None:
        return OpenedDriver(driver, view._transform)
    return OpenedDriver(driver, compose(view._transform, request.transform))


def _base_constraints(schema: Schema) -> dict[str, Any]:
    """The cast's schema constraints that bind its base, as ``ts.open`` keywords (all but the dtype
    and fill value, which are the cast's own): a shape given to ``open(cast(spec), create=True,
    shape=...)`` creates the base, as in TensorStore."""
    out: dict[str, Any] = {}
    if schema.domain is not None:
        out["domain"] = schema.domain
    elif schema.rank is not None:
        out["rank"] = schema.rank
    if schema.chunk_layout.to_json():
        out["chunk_layout"] = schema.chunk_layout
    if schema.codec is not None:
        out["codec"] = schema.codec
    units = schema.dimension_units
    if units is not None and any(u is not None for u in units):
        out["dimension_units"] = units
    return out


def _members_schema(
    members: dict[str, Any], domain: IndexDomain | None = None, rank: int | None = None
) -> SchemaConstraints:
    """What the base implies (its domain, chunk layout, codec, units; its fill value,
    converted to the cast's dtype once merged), but not its dtype."""
    from ..schema.dtype import dtype as ts_dtype
    from ..schema.spec import Spec as _Spec

    spec = _Spec(members["base"])
    if rank is not None and spec.rank is None:
        spec.update(rank=rank)  # (the cast's rank is its base's: TensorStore shows it on the cast alone)
    # (A base whose chunk layout conflicts with its driver's still gives the rest.)
    base = spec._property_schema().constraints
    fill = base.fill_value
    target = members.get("dtype")
    if fill is not None and base.dtype is not None:
        # As TensorStore: the base's fill value converted to the cast's dtype as elements are
        # (integers wrap); none where the base's dtype does not convert to it.
        fill = _converted_fill_value(fill, base.dtype, ts_dtype(target)) if target is not None else None
    elif fill is not None:
        # A base whose dtype is unknown holds its fill value as given (JSON): the cast's is that
        # value read as the cast's dtype (7 -> 7.0), or none where it cannot be (0 as a bool:
        # tensorstore's .fill_value raises; nothing else of the spec may fail on it).
        fill = _fill_value_as(fill, ts_dtype(target)) if target is not None else None
    return attrs.evolve(base, dtype=None, fill_value=fill)


def _fill_value_as(fill: np.ndarray, target: DType) -> np.ndarray | None:
    from ..schema.schema import SchemaConstraints as _SchemaConstraints

    try:
        return _SchemaConstraints(dtype=target).with_schema(_SchemaConstraints(fill_value=fill)).fill_value
    except InvalidArgumentError:
        return None


def _converted_fill_value(fill: np.ndarray, source: DType, target: DType) -> np.ndarray | None:
    if not can_convert(source, target):
        return None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # (NumPy's "invalid value encountered in cast")
        try:
            return convert_array(fill, source, target)
        except (InvalidArgumentError, OverflowError, TypeError, ValueError):
            return None


def _members_from_url(base: dict[str, Any], dtype: str) -> dict[str, Any]:
    return {"base": base, "dtype": dtype}


def _url_component(spec: Spec) -> str:
    if spec.dtype is None:
        raise InvalidArgumentError('url: a "cast" spec without "dtype" has no URL form')
    return spec.dtype.name


register_tensorstore_driver(
    "cast",
    _parse_members,
    url_scheme="cast",
    uses_kvstore=False,
    schema=_members_schema,
    adapter_url=(_members_from_url, _url_component),
    shares_base_transform=True,
)
register_driver("cast", _open)
