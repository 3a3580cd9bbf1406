"""A schema seen through an index transform: ``schema[...]`` and ``TensorStore.schema``.

Pure: the schema of a transform's input space, given the schema of its output
space, as TensorStore derives it. The domain (when the schema has one) and the
chunk layout follow the transform; dimension units follow single-dimension
maps, scaled by their stride; the fill value is broadcast over the output
domain, seen through the transform and unbroadcast again (TensorStore's
``TransformOutputBroadcastableArray``); dtype and codec carry over.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from ..errors import InvalidArgumentError
from ..index.compose import evaluate_map
from ..index.domain import IndexDomain
from ..index.interval import INF, IndexInterval
from ..index.output_map import OutputIndexMethod
from .fill_value import unbroadcast

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import NDArray

    from ..index import IndexTransform, OutputIndexMap
    from .schema import Schema, SchemaConstraints
    from .unit import Unit

__all__ = ["indexing_transform", "input_space_constraints", "transform_schema"]


def indexing_transform(domain: IndexDomain | None, rank: int | None, what: str) -> IndexTransform:
    """The identity transform indexing a ``what`` (``Spec``, ``Schema``) applies to.

    Over ``domain``, or over ``rank`` unbounded dimensions without one.

    Raises:
      InvalidArgumentError: the rank is not known either.
    """
    from ..index import IndexTransform as _IndexTransform

    if rank is None:
        raise InvalidArgumentError(f"Cannot perform indexing operations on {what} with unspecified rank")
    return _IndexTransform(domain if domain is not None else IndexDomain(rank=rank))


def transform_schema(base: Schema, transform: IndexTransform) -> Schema:
    """The schema of ``transform``'s input space, for ``base`` the schema of its output space.

    Raises:
      InvalidArgumentError: ``base``'s fill value cannot be broadcast over what
        the transform maps to (a schema without a domain, indexed so that a
        dimension the fill value varies along has no known extent).
    """
    from .schema import Schema as _Schema

    constraints = base.constraints
    base_json = constraints.to_json()
    json = {k: v for k, v in base_json.items() if k in ("dtype", "codec")}
    json["rank"] = transform.input_rank
    if constraints.domain is not None:
        json["domain"] = _input_domain(transform, constraints.domain).to_json()
    layout = base_json.get("chunk_layout")
    if layout is not None:
        json["chunk_layout"] = _input_layout(transform, layout)
    units = base_json.get("dimension_units")
    if units is not None:
        json["dimension_units"] = _input_units(transform, units)
    fill_value = constraints.fill_value
    if fill_value is None:
        return _Schema(json)
    # The fill value carries over as a value: JSON has no form of a complex one.
    fill_value = _transform_fill_value(fill_value, transform, constraints.domain)
    return _Schema.from_constraints(attrs.evolve(_Schema(json).constraints, fill_value=fill_value))


def input_space_constraints(given: SchemaConstraints, transform: IndexTransform) -> SchemaConstraints:
    """Constraints on ``transform``'s output space for ``given``, constraints on its input space.

    What ``Spec.update`` and ``ts.open`` keywords mean for a spec with a
    transform (a view's spec), as TensorStore's ``TransformInputSpaceSchema``
    carries them: the chunk layout and dimension units follow each
    single-input-dimension map (scaled by its stride), the domain and the fill
    value only maps of stride 1 or -1 from distinct input dimensions; dtype and
    codec carry over.

    Raises:
      InvalidArgumentError: ``given``'s rank is not the transform's input rank,
        or a constraint cannot be carried (TensorStore's messages: ``Error
        transforming fill_value: Cannot transform input array through
        non-unit-stride output index map``, ...).
    """
    from .schema import SchemaConstraints as _SchemaConstraints

    if given.rank is not None and given.rank != transform.input_rank:
        raise InvalidArgumentError(
            f"Cannot inverse transform schema of rank {given.rank} by index transform of rank "
            f"{transform.input_rank} -> {transform.output_rank}"
        )
    given_json = given.to_json()
    json = {k: v for k, v in given_json.items() if k in ("dtype", "codec")}
    json["rank"] = transform.output_rank
    layout = given_json.get("chunk_layout")
    if layout is not None:
        json["chunk_layout"] = _output_layout(transform, layout)
    if given.domain is not None:
        try:
            json["domain"] = _output_domain(transform, given.domain).to_json()
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Error transforming domain: {exc}") from None
    fill = given.fill_value
    if fill is not None:
        try:
            fill = _output_fill_value(transform, fill)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Error transforming fill_value: {exc}") from None
    units = given.dimension_units
    if units is not None and any(u is not None for u in units):
        try:
            json["dimension_units"] = _output_units(transform, units)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Error transforming dimension_units: {exc}") from None
    out = _SchemaConstraints.from_json(json)
    return out if fill is None else attrs.evolve(out, fill_value=fill)


def _single_input(m: OutputIndexMap) -> tuple[int, int, int] | None:
    """(input dimension, offset, stride) of a single-input-dimension map, else None."""
    if m.method is not OutputIndexMethod.single_input_dimension:
        return None
    assert m.input_dimension is not None
    assert m.stride is not None
    return m.input_dimension, m.offset, m.stride


_GRIDS = ("write_chunk", "read_chunk", "codec_chunk")
_HARD_AND_SOFT = ("", "_soft_constraint")


def _output_vector(
    transform: IndexTransform,
    values: list[Any],
    hard: bool,
    convert: Callable[[Any, int, int], Any],
) -> list[Any]:
    """A per-input-dimension layout vector carried to the output dimensions (TensorStore's
    ``TransformInputVector``): each output dimension a nonzero-stride single-input map drives
    takes its input dimension's value, converted; a hard value no output takes is an error."""
    out: list[Any] = [None] * transform.output_rank
    taken = set()
    for j, m in enumerate(transform.maps):
        found = _single_input(m)
        if found is None or found[2] == 0:
            continue
        i, offset, stride = found
        taken.add(i)
        if values[i] is not None:
            out[j] = convert(values[i], offset, stride)
    for i, value in enumerate(values):
        if hard and value is not None and i not in taken:
            raise InvalidArgumentError(f"No output dimension corresponds to input dimension {i}")
    return out


def _output_origin(value: int, offset: int, stride: int) -> int:
    return stride * (value - 1 if stride < 0 else value) + offset


def _output_layout(transform: IndexTransform, layout: dict[str, Any]) -> dict[str, Any]:
    """Chunk layout JSON of the input space, carried to the output space (TensorStore's
    ``ApplyInverseIndexTransform``): the inner order sorts output dimensions by where their
    input dimension is (others last), origins map through the offset and stride, chunk shapes
    and aspect ratios scale by ``|stride|``, element counts carry over.

    Raises:
      InvalidArgumentError: a hard constraint on an input dimension no output dimension takes.
    """
    out: dict[str, Any] = {}
    for suffix in _HARD_AND_SOFT:
        inner = layout.get("inner_order" + suffix)
        if inner is not None:
            out["inner_order" + suffix] = _output_order(transform, inner)
    for suffix in _HARD_AND_SOFT:
        origin = layout.get("grid_origin" + suffix)
        if origin is not None:
            try:
                out["grid_origin" + suffix] = _output_vector(transform, origin, not suffix, _output_origin)
            except InvalidArgumentError as exc:
                raise InvalidArgumentError(f"Error transforming grid_origin: {exc}") from None
    for usage in _GRIDS:
        grid = layout.get(usage)
        if grid is None:
            continue
        mapped: dict[str, Any] = {}
        for name, value in grid.items():
            if not isinstance(value, list):  # elements: the same count of elements
                mapped[name] = value
                continue
            member = "shape" if name.startswith("shape") else "aspect_ratio"
            try:
                mapped[name] = _output_vector(
                    transform, value, not name.endswith("_soft_constraint"), _scaled(member)
                )
            except InvalidArgumentError as exc:
                raise InvalidArgumentError(
                    f"Error transforming {usage}: Error transforming {member}: {exc}"
                ) from None
        out[usage] = mapped
    return out


def _output_order(transform: IndexTransform, inner: list[int]) -> list[int]:
    """Output dimensions by where the input dimension that drives them is in ``inner``
    (those no single input dimension drives last), as TensorStore's ``TransformInputDimensionOrder``."""
    position = {i: k for k, i in enumerate(inner)}
    last = transform.input_rank + 1

    def ordinal(j: int) -> tuple[int, int]:
        found = _single_input(transform.maps[j])
        return (last if found is None else position[found[0]], j)

    return sorted(range(transform.output_rank), key=ordinal)


def _scaled(member: str) -> Callable[[Any, int, int], Any]:
    if member == "shape":
        # (-1, "the full extent", stays what it is.)
        return lambda size, _, stride: size * abs(stride) if size > 0 else size
    return lambda ratio, _, stride: ratio * abs(stride)


def _output_domain(transform: IndexTransform, domain: IndexDomain) -> IndexDomain:
    """``domain`` (of the input space) carried to the output space (TensorStore's ``TransformInputDomain``)."""
    seen: set[int] = set()
    dims = []
    for m in transform.maps:
        found = _single_input(m)
        if found is None:
            raise InvalidArgumentError(
                f"Cannot specify domain through a transform with a {m.method.name} output index map"
            )
        i, offset, stride = found
        if i in seen:
            raise InvalidArgumentError(
                "Cannot specify domain through a transform with multiple output dimensions "
                "mapping to the same input dimension"
            )
        seen.add(i)
        dim = domain[i]
        unbounded = (dim.inclusive_min, dim.exclusive_max) == (-INF, INF + 1)
        if not unbounded and abs(stride) != 1:
            raise InvalidArgumentError(
                "Cannot specify finite domain through a transform with non-unit-stride output index map"
            )
        low, high = dim.inclusive_min, dim.inclusive_max
        implicit_low, implicit_high = dim.implicit_lower, dim.implicit_upper
        if stride < 0:
            low, high = high, low
            implicit_low, implicit_high = implicit_high, implicit_low

        first, last = (-INF, INF) if unbounded else (_image(low, offset, stride), _image(high, offset, stride))
        dims.append(IndexInterval.make(first, last + 1, implicit_low, implicit_high, dim.label))
    return IndexDomain.from_dims(dims)


def _image(x: int, offset: int, stride: int) -> int:
    if abs(x) >= INF:  # (an infinite bound stays infinite, on the side the stride takes it)
        return x if stride > 0 else -x
    return offset + stride * x


def _output_fill_value(transform: IndexTransform, fill: NDArray[Any]) -> NDArray[Any]:
    """``fill`` (broadcast over the input space) carried to the output space, unbroadcast
    (TensorStore's ``TransformInputBroadcastableArray``)."""
    array = unbroadcast(fill)
    in_rank = transform.input_rank
    seen: set[int] = set()
    sources: list[tuple[int, int] | None] = []  # per output dimension: (array axis, stride)
    for m in transform.maps:
        found = _single_input(m)
        if found is None:
            raise InvalidArgumentError(f"Cannot transform input array through {m.method.name} output index map")
        i, _, stride = found
        if i in seen:
            raise InvalidArgumentError(
                "Cannot transform input array with multiple output dimensions mapping to the same input dimension"
            )
        if abs(stride) != 1:
            raise InvalidArgumentError("Cannot transform input array through non-unit-stride output index map")
        seen.add(i)
        axis = array.ndim - in_rank + i
        sources.append(None if axis < 0 else (axis, stride))
    for axis in range(array.ndim):
        if array.shape[axis] != 1 and in_rank - array.ndim + axis not in seen:
            raise InvalidArgumentError(f"Cannot transform input array; dimension {axis} cannot be mapped")
    mapped = sorted(found[0] for found in sources if found is not None)
    squeezed = array.reshape([array.shape[axis] for axis in mapped])
    order = [mapped.index(found[0]) for found in sources if found is not None]
    moved = np.transpose(squeezed, order) if order else squeezed
    shape = [1 if found is None else array.shape[found[0]] for found in sources]
    index = [slice(None, None, -1 if found is not None and found[1] < 0 else 1) for found in sources]
    return unbroadcast(np.ascontiguousarray(moved.reshape(shape)[tuple(index)]))


def _output_units(transform: IndexTransform, units: tuple[Unit | None, ...]) -> list[Any]:
    """Units of the input dimensions carried to the output dimensions: one output step is
    ``1/|stride|`` input steps (TensorStore's ``TransformInputDimensionUnits``)."""
    out: list[Any] = [None] * transform.output_rank
    seen: set[int] = set()
    for j, m in enumerate(transform.maps):
        found = _single_input(m)
        if found is None or found[2] == 0:
            continue
        i, _, stride = found
        unit = units[i]
        if unit is None:
            continue
        seen.add(i)
        out[j] = [unit.multiplier / abs(stride), unit.base_unit]
    for i, unit in enumerate(units):
        if unit is not None and i not in seen:
            raise InvalidArgumentError(f"No output dimension corresponds to input dimension {i} with unit {unit}")
    return out


def _input_domain(transform: IndexTransform, domain: IndexDomain) -> IndexDomain:
    """``transform``'s domain, with bounds explicit where ``domain``'s are (as TensorStore propagates them).

    A bound stays implicit only if it is implicit in the transform and the
    output bound it maps to (the opposite one for a negative stride) is
    implicit too; new dimensions keep the transform's bounds.
    """
    lower = list(transform.domain.implicit_lower_bounds)
    upper = list(transform.domain.implicit_upper_bounds)
    for j, m in enumerate(transform.maps):
        if m.method is not OutputIndexMethod.single_input_dimension:
            continue
        assert m.input_dimension is not None
        assert m.stride is not None
        i, out = m.input_dimension, domain[j]
        low, high = (out.implicit_lower, out.implicit_upper)
        if m.stride < 0:
            low, high = high, low
        lower[i] = lower[i] and low
        upper[i] = upper[i] and high
    return IndexDomain.from_dims(
        IndexInterval.make(dim.inclusive_min, dim.exclusive_max, lo, hi, dim.label)
        for dim, lo, hi in zip(transform.domain.dims, lower, upper, strict=True)
    )


def _input_units(transform: IndexTransform, units: list[Any]) -> list[Any]:
    """Units of the input dimensions: one input step is ``|stride|`` output steps."""
    mapped: list[Any] = [None] * transform.input_rank
    drives = [0] * transform.input_rank
    for j, m in enumerate(transform.maps):
        if m.method is OutputIndexMethod.single_input_dimension:
            assert m.input_dimension is not None
            assert m.stride is not None
            drives[m.input_dimension] += 1
            if units[j] is not None:
                multiplier, base_unit = units[j]
                mapped[m.input_dimension] = [multiplier * abs(m.stride), base_unit]
    # A dimension that drives several outputs (a diagonal) has no single unit.
    return [u if n == 1 else None for u, n in zip(mapped, drives, strict=True)]


def _input_grid_origin(origin: int, offset: int, stride: int) -> int:
    """The first input index at or after an output cell boundary (as TensorStore reports it).

    A negative stride reverses the cells, so the boundary is the index just after the cell.
    """
    delta = origin - offset
    return -(-delta // stride) if stride > 0 else delta // stride + 1


def _input_layout(transform: IndexTransform, layout: dict[str, Any]) -> dict[str, Any]:
    """The chunk layout JSON of the stored array, seen through ``transform``'s input space.

    Input dimensions driven alone by a single output dimension with stride
    ``s`` get that dimension's chunk size divided by ``|s|`` (the period after
    which cell boundaries repeat), its aspect ratio divided by ``|s|`` and the
    grid origin where a cell boundary falls; other input dimensions are
    unconstrained. Element counts carry over, and the inner order keeps the
    output order; soft constraints map as the hard ones do, as TensorStore's.
    """
    rank = transform.input_rank
    source: list[tuple[int, int, int] | None] = [None] * rank
    for j, m in enumerate(transform.maps):
        if m.method is not OutputIndexMethod.single_input_dimension:
            continue
        assert m.input_dimension is not None
        assert m.stride is not None
        i = m.input_dimension
        # A dimension that drives two outputs (a diagonal) has no single grid.
        source[i] = None if source[i] is not None else (j, m.offset, m.stride)

    def per_input_dimension(values: list[Any], convert: Callable[[Any, int, int], Any]) -> list[Any]:
        mapped: list[Any] = [None] * rank
        for i, found in enumerate(source):
            if found is not None and values[found[0]] is not None:
                j, offset, stride = found
                mapped[i] = convert(values[j], offset, stride)
        return mapped

    out: dict[str, Any] = {}
    for member in _GRIDS:
        grid = layout.get(member)
        if grid is None:
            continue
        out[member] = {}
        for name, value in grid.items():
            if not isinstance(value, list):  # elements: the same count of elements
                out[member][name] = value
            elif name.startswith("shape"):
                out[member][name] = per_input_dimension(value, lambda size, _, s: size // math.gcd(size, s))
            else:  # aspect ratio: one input step spans |s| output steps
                out[member][name] = per_input_dimension(value, lambda ratio, _, s: ratio / abs(s))
    for suffix in _HARD_AND_SOFT:
        origins = layout.get("grid_origin" + suffix)
        if origins is not None:
            out["grid_origin" + suffix] = per_input_dimension(origins, _input_grid_origin)
        inner = layout.get("inner_order" + suffix)
        if inner is not None:
            # Each input dimension goes where the outermost output it drives is.
            position = {j: k for k, j in enumerate(inner)}
            first: dict[int, int] = {}
            for j, m in enumerate(transform.maps):
                if m.method is OutputIndexMethod.single_input_dimension:
                    assert m.input_dimension is not None
                    first[m.input_dimension] = min(first.get(m.input_dimension, rank), position[j])
            others = [i for i in range(rank) if i not in first]
            out["inner_order" + suffix] = [i for _, i in sorted((p, i) for i, p in first.items())] + others
    return out

def _transform_fill_value(
    fill: NDArray[Any], transform: IndexTransform, domain: IndexDomain | None
) -> NDArray[Any]:
    """``fill`` (broadcast over the output space) seen through ``transform``, unbroadcast.

    Only output dimensions the fill value varies along are evaluated, so an
    input dimension that reaches none of them stays broadcast (extent 1) and
    leading ones are dropped, as TensorStore's ``UnbroadcastArray`` leaves them.
    """
    if fill.ndim == 0:
        return fill
    in_rank = transform.input_rank
    base = fill.reshape((1,) * (transform.output_rank - fill.ndim) + fill.shape)
    positions: list[NDArray[np.int64]] = []
    for j, m in enumerate(transform.maps):
        size = base.shape[j]
        if size == 1:
            positions.append(np.zeros((1,) * in_rank, np.int64))
        elif domain is not None:
            positions.append(_positions(transform, j, m, domain.origin[j], size))
        else:
            positions.append(_positions_without_domain(transform, j, m, size, fill.shape))
    return unbroadcast(np.ascontiguousarray(base[tuple(positions)]))


def _positions(
    transform: IndexTransform, j: int, m: OutputIndexMap, origin: int, size: int
) -> NDArray[np.int64]:
    """Positions in the fill value's dimension ``j`` (``size`` from ``origin``) of ``m``'s indices."""
    values: NDArray[np.int64] = evaluate_map(m, transform.domain) - origin
    if values.size and (int(values.min()) < 0 or int(values.max()) >= size):
        raise InvalidArgumentError(
            f"Error transforming fill_value: output dimension {j} maps outside "
            f"[{origin}, {origin + size}), the fill value's extent"
        )
    return values


def _positions_without_domain(
    transform: IndexTransform, j: int, m: OutputIndexMap, size: int, fill_shape: tuple[int, ...]
) -> NDArray[np.int64]:
    """As :func:`_positions`, for a schema without a domain (the fill value's extent is its own).

    A unit-stride map from a wholly unbounded, implicit input dimension takes
    the fill value's extent; a map from a finite dimension must cover exactly
    that many indices. Anything else leaves the extent unknown.
    """
    if m.method is OutputIndexMethod.single_input_dimension and m.stride in (1, -1):
        assert m.input_dimension is not None
        dim = transform.domain[m.input_dimension]
        if (dim.inclusive_min, dim.exclusive_max) == (-INF, INF + 1) and (
            dim.implicit_lower and dim.implicit_upper
        ):
            shape = [1] * transform.input_rank
            shape[m.input_dimension] = size
            steps = np.arange(size, dtype=np.int64)
            return (steps if m.stride == 1 else steps[::-1]).reshape(shape)
        if dim.finite and dim.size == size:
            values: NDArray[np.int64] = evaluate_map(m, transform.domain)
            return values - int(values.min())
    shape_text = ", ".join(map(str, fill_shape))
    raise InvalidArgumentError(
        f"Error transforming fill_value: Cannot broadcast array of shape {{{shape_text}}} "
        f"along output dimension {j}: the schema has no domain, and the transform "
        "does not give that dimension the fill value's extent"
    )
