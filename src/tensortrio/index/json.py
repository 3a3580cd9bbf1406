"""JSON form of ``IndexDomain`` and ``IndexTransform`` (TensorStore's schema).

Domain members: ``rank``, ``inclusive_min``, ``exclusive_max`` / ``inclusive_max``
/ ``shape``, ``labels``; a transform prefixes them with ``input_`` and adds
``output``.  A bound is an integer, ``"-inf"``/``"+inf"``, or a one-element
list (``[5]``) when it is implicit.  Output maps have ``offset``, ``stride`` and
``input_dimension`` or ``index_array`` (+ ``index_array_bounds``, inclusive).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidArgumentError
from .domain import IndexDomain, check_rank, check_unique_labels
from .interval import INF, IndexInterval
from .output_map import OutputIndexMap, OutputIndexMethod

if TYPE_CHECKING:
    from collections.abc import Callable

    from .transform import IndexTransform

__all__ = [
    "domain_from_json",
    "domain_to_json",
    "json_value",
    "transform_from_json",
    "transform_to_json",
]


def json_value(value: Any) -> Any:
    """The JSON value a Python object stands for, as TensorStore's bindings read it.

    Tuples and NumPy arrays are arrays, NumPy scalars are numbers or booleans
    (``metadata={"shape": array.shape}``); objects become plain dicts.
    Anything else is returned as it is, for the parser to accept or name.
    """
    if isinstance(value, (str, int, float, type(None))):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, dict):
        return {key: json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    if isinstance(value, (np.ndarray, np.generic)):
        return json_value(value.tolist())
    return value


class _JsonError(Exception):
    """Parse failure; the message is wrapped with context as it propagates."""


def _member(name: str, parse: Callable[[Any], Any], value: Any) -> Any:
    try:
        return parse(value)
    except _JsonError as exc:
        raise _JsonError(f'Error parsing object member "{name}": {exc}') from None


def _integral(value: Any) -> int | None:
    """``value`` as a JSON integer (an integral float such as ``2.0`` too, as TensorStore
    reads them), or None."""
    if isinstance(value, float) and value.is_integer() and -(2**63) <= value < 2**63:
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _int(value: Any) -> int:
    integral = _integral(value)
    if integral is None:
        raise _JsonError(f"Expected 64-bit signed integer, but received: {_dump(value)}")
    return integral


def _dump(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))


def _bound(value: Any, infinity: str) -> tuple[int, bool]:
    implicit = False
    if isinstance(value, list) and len(value) == 1:
        value, implicit = value[0], True
    if value == infinity and isinstance(value, str):
        return (-INF if infinity == "-inf" else INF + 1), implicit
    integral = _integral(value)
    if integral is None:
        raise _JsonError(
            f'Expected 64-bit signed integer or "{infinity}", but received: {_dump(value)}'
        )
    return integral, implicit


def _array(value: Any, rank: int | None, parse: Callable[[Any], Any]) -> list[Any]:
    if not isinstance(value, list):
        raise _JsonError(f"Expected array, but received: {_dump(value)}")
    if rank is not None and len(value) != rank:
        raise _JsonError(f"Array has length {len(value)} but should have length {rank}")
    result = []
    for i, item in enumerate(value):
        try:
            result.append(parse(item))
        except _JsonError as exc:
            raise _JsonError(f"Error parsing value at position {i}: {exc}") from None
    return result


def _label(value: Any) -> str:
    if not isinstance(value, str):
        raise _JsonError(f"Expected string, but received: {_dump(value)}")
    return value


def _parse_domain(obj: Any, prefix: str, extra: tuple[str, ...]) -> tuple[IndexDomain, dict[str, Any]]:
    if not isinstance(obj, dict):
        raise _JsonError(f"Expected object, but received: {_dump(obj)}")
    names = [prefix + n for n in ("rank", "inclusive_min", "shape", "inclusive_max", "exclusive_max", "labels")]
    unknown = [k for k in obj if k not in names and k not in extra]
    if unknown:
        raise _JsonError(f"Object includes extra members: {', '.join(f'{k!r}' for k in unknown)}".replace("'", '"'))
    if not any(n in obj for n in names):
        raise _JsonError(
            "At least one of " + ", ".join(f'"{n}"' for n in names) + " members must be specified"
        )
    uppers = [n for n in names[2:5] if n in obj]
    if len(uppers) > 1:
        raise _JsonError(
            "At most one of " + ", ".join(f'"{n}"' for n in names[2:5]) + " members is allowed"
        )
    rank: int | None = None
    if names[0] in obj:
        rank = _member(names[0], _int, obj[names[0]])
        try:
            check_rank(rank)
        except InvalidArgumentError as exc:
            raise _JsonError(f'Error parsing object member "{names[0]}": {exc}') from None

    def vector(name: str, parse: Callable[[Any], Any]) -> list[Any] | None:
        nonlocal rank
        if name not in obj:
            return None
        result: list[Any] = _member(name, lambda v: _array(v, rank, parse), obj[name])
        if rank is None:
            rank = len(result)
        return result

    lower = vector(names[1], lambda v: _bound(v, "-inf"))
    upper_name = uppers[0] if uppers else None
    upper: list[tuple[int, bool]] | None = None
    if upper_name is not None:
        upper = vector(upper_name, lambda v: _bound(v, "+inf"))
    labels = vector(names[5], _label)
    assert rank is not None
    dims = []
    for i in range(rank):
        lo, lo_implicit = lower[i] if lower is not None else ((0, False) if upper_name == names[2] else (-INF, True))
        if upper is None:
            hi, hi_implicit = INF + 1, True
        else:
            value, hi_implicit = upper[i]
            if upper_name == names[2]:
                hi = value if value == INF + 1 else lo + value  # a shape of "+inf" reaches +inf
            elif upper_name == names[3]:
                hi = value + 1 if value != INF + 1 else value
            else:
                hi = value
        try:
            dims.append(
                IndexInterval.checked(lo, hi, lo_implicit, hi_implicit, labels[i] if labels else "")
            )
        except InvalidArgumentError as exc:
            raise _JsonError(f"{exc} for dimension {i}") from None
    try:
        check_unique_labels([d.label for d in dims])
    except InvalidArgumentError as exc:
        raise _JsonError(str(exc)) from None
    return IndexDomain.from_dims(dims), {k: obj[k] for k in extra if k in obj}


def domain_from_json(obj: Any) -> IndexDomain:
    """Parse TensorStore's ``IndexDomain`` JSON.

    Raises:
      InvalidArgumentError: the JSON is malformed, naming the member at fault.
    """
    obj = json_value(obj)
    try:
        return _parse_domain(obj, "", ())[0]
    except _JsonError as exc:
        raise InvalidArgumentError(f"Error parsing index domain from JSON: {exc}") from None


def _index_array(value: Any) -> np.ndarray[Any, np.dtype[np.int64]]:
    try:
        array = np.array(value)
    except ValueError:
        raise _JsonError(f"Expected a rectangular nested array, but received: {_dump(value)}") from None
    if array.dtype.kind not in "iu" or array.dtype == np.uint64:
        raise _JsonError(f"Expected nested array of 64-bit signed integers, but received: {_dump(value)}")
    result = array.astype(np.int64)
    result.flags.writeable = False
    return result


def _parse_map(obj: Any) -> OutputIndexMap:
    if not isinstance(obj, dict):
        raise _JsonError(f"Expected object, but received: {_dump(obj)}")
    unknown = [k for k in obj if k not in ("offset", "stride", "input_dimension", "index_array", "index_array_bounds")]
    if unknown:
        raise _JsonError("Object includes extra members: " + ", ".join(f'"{k}"' for k in unknown))
    if "input_dimension" in obj and "index_array" in obj:
        raise _JsonError('At most one of "input_dimension", "index_array" members is allowed')
    offset = _member("offset", _int, obj.get("offset", 0))
    if "index_array_bounds" in obj and "index_array" not in obj:
        raise _JsonError(
            'Error parsing object member "index_array_bounds": "index_array_bounds" is only valid '
            'with "index_array"'
        )
    if "input_dimension" not in obj and "index_array" not in obj:
        if "stride" in obj:
            raise _JsonError(
                'Error parsing object member "stride": Either "input_dimension" or "index_array" '
                'must be specified in conjunction with "stride"'
            )
        return OutputIndexMap.constant(offset)
    stride = _member("stride", _int, obj.get("stride", 1))
    if "input_dimension" in obj:
        return OutputIndexMap.single(_member("input_dimension", _int, obj["input_dimension"]), offset, stride)
    array = _member("index_array", _index_array, obj["index_array"])
    index_range = IndexInterval.make(-INF, INF + 1)
    if "index_array_bounds" in obj:

        def bounds(value: Any) -> IndexInterval:
            lo, hi = _array(value, 2, lambda v: v)
            lo = _bound(lo, "-inf")[0]
            hi = _bound(hi, "+inf")[0]
            try:
                return IndexInterval.checked(lo, hi if hi == INF + 1 else hi + 1)
            except InvalidArgumentError as exc:
                raise _JsonError(str(exc)) from None

        index_range = _member("index_array_bounds", bounds, obj["index_array_bounds"])
    return OutputIndexMap.array(array, offset, stride, index_range)


def transform_from_json(obj: Any) -> IndexTransform:
    """Parse TensorStore's ``IndexTransform`` JSON.

    Raises:
      InvalidArgumentError: the JSON is malformed, naming the member at fault.
    """
    from .transform import IndexTransform, identity_maps, normalize_output_maps

    obj = json_value(obj)
    try:
        domain, extra = _parse_domain(obj, "input_", ("output",))
        if "output" in extra:
            maps = _member("output", lambda v: _array(v, None, _parse_map), extra["output"])
        else:
            maps = list(identity_maps(domain.rank))
    except _JsonError as exc:
        raise InvalidArgumentError(f"Error parsing index transform from JSON: {exc}") from None
    try:
        normalized = normalize_output_maps(domain, maps)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"Error parsing index transform from JSON: {exc}") from None
    return IndexTransform.make(domain, normalized)


def _bound_json(value: int, implicit: bool, infinite: int, infinity: str) -> Any:
    plain: Any = infinity if value == infinite else value
    return [plain] if implicit else plain


def _domain_members(domain: IndexDomain, prefix: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    dims = domain.dims
    if any(d.inclusive_min != -INF or not d.implicit_lower for d in dims):
        result[prefix + "inclusive_min"] = [
            _bound_json(d.inclusive_min, d.implicit_lower, -INF, "-inf") for d in dims
        ]
    if any(d.exclusive_max != INF + 1 or not d.implicit_upper for d in dims):
        result[prefix + "exclusive_max"] = [
            _bound_json(d.exclusive_max, d.implicit_upper, INF + 1, "+inf") for d in dims
        ]
    if any(d.label for d in dims):
        result[prefix + "labels"] = [d.label for d in dims]
    if not result:
        result[prefix + "rank"] = domain.rank
    return dict(sorted(result.items()))


def domain_to_json(domain: IndexDomain) -> dict[str, Any]:
    """TensorStore's JSON for an ``IndexDomain``."""
    return _domain_members(domain, "")


def _map_to_json(m: OutputIndexMap) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if m.method is OutputIndexMethod.single_input_dimension:
        result["input_dimension"] = m.input_dimension
    elif m.method is OutputIndexMethod.array:
        assert m.index_array is not None
        assert m.index_range is not None
        result["index_array"] = m.index_array.tolist()
        r = m.index_range
        values = m.index_array
        # Bounds that every value already satisfies add nothing, so TensorStore omits them.
        if values.size and not (r.inclusive_min <= values.min() and values.max() < r.exclusive_max):
            result["index_array_bounds"] = [
                "-inf" if r.inclusive_min == -INF else r.inclusive_min,
                "+inf" if r.exclusive_max == INF + 1 else r.inclusive_max,
            ]
    if m.offset:
        result["offset"] = m.offset
    if m.stride is not None and m.stride != 1:
        result["stride"] = m.stride
    return dict(sorted(result.items()))


def transform_to_json(transform: IndexTransform) -> dict[str, Any]:
    """TensorStore's JSON for an ``IndexTransform`` (``output`` omitted for the identity)."""
    result = _domain_members(transform.domain, "input_")
    identity = transform.output_rank == transform.input_rank and all(
        m.method is OutputIndexMethod.single_input_dimension
        and m.input_dimension == i and m.offset == 0 and m.stride == 1
        for i, m in enumerate(transform.maps)
    )
    if not identity:
        result["output"] = [_map_to_json(m) for m in transform.maps]
    return dict(sorted(result.items()))
