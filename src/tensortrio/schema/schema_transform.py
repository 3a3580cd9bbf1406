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
    transform (a view's spec): the chunk layout and dimension units follow
    each output dimension back to the input dimension that drives it with
    stride 1 or -1 (other output dimensions are left unconstrained); dtype,
    codec and a scalar fill value carry over.

    Raises:
      InvalidArgumentError: a fill value that varies along dimensions (only a
        scalar one can be given through a transform here).
    """
    from .schema import SchemaConstraints as _SchemaConstraints

    given_json = given.to_json()
    json = {k: v for k, v in given_json.items() if k in ("dtype", "codec")}
    json["rank"] = transform.output_rank
    sources = _unit_stride_sources(transform)
    layout = given_json.get("chunk_layout")
    if layout is not None:
        json["chunk_layout"] = _output_layout(sources, layout)
    units = given_json.get("dimension_units")
    if units is not None:
        json["dimension_units"] = [None if f is None else units[f[0]] for f in sources]
    out = _SchemaConstraints.from_json(json)
    fill = given.fill_value
    if fill is None:
        return out
    if fill.ndim and fill.size > 1:
        raise InvalidArgumentError(
            "fill_value: only a scalar fill value can be given through a spec's transform, "
            f"got one of shape {list(fill.shape)}"
        )
    return attrs.evolve(out, fill_value=fill.reshape(()))


def _unit_stride_sources(transform: IndexTransform) -> list[tuple[int, int, int] | None]:
    """Per output dimension: (input dimension, offset, stride) of a stride ±1 map, else None."""
    sources: list[tuple[int, int, int] | None] = []
    for m in transform.maps:
        if m.method is OutputIndexMethod.single_input_dimension and m.stride in (1, -1):
            assert m.input_dimension is not None
            assert m.stride is not None
            sources.append((m.input_dimension, m.offset, m.stride))
        else:
            sources.append(None)
    return sources


_GRIDS = ("read_chunk", "write_chunk", "codec_chunk")
_HARD_AND_SOFT = ("", "_soft_constraint")


def _output_layout(
    sources: list[tuple[int, int, int] | None], layout: dict[str, Any]
) -> dict[str, Any]:
    """Chunk layout JSON of the input space, carried to the output dimensions ``sources`` name."""
    out: dict[str, Any] = {}
    for member in _GRIDS:
        grid = layout.get(member)
        if grid is None:
            continue
        mapped = {}
        for name, value in grid.items():
            if isinstance(value, list):  # a per-dimension vector
                mapped[name] = [None if f is None else value[f[0]] for f in sources]
            else:  # elements: the same count of elements
                mapped[name] = value
        out[member] = mapped
    for suffix in _HARD_AND_SOFT:
        origin = layout.get("grid_origin" + suffix)
        if origin is not None:
            # A cell boundary b of an input dimension is at offset + b, or, reversed, offset - b + 1.
            out["grid_origin" + suffix] = [
                None if f is None or origin[f[0]] is None
                else f[1] + origin[f[0]] if f[2] == 1 else f[1] - origin[f[0]] + 1
                for f in sources
            ]
        inner = layout.get("inner_order" + suffix)
        driven = [f[0] for f in sources if f is not None]
        if inner is not None and len(set(driven)) == len(driven):
            position = {i: k for k, i in enumerate(inner)}
            undriven = [j for j, f in enumerate(sources) if f is None]
            by_input = sorted((position[f[0]], j) for j, f in enumerate(sources) if f is not None)
            out["inner_order" + suffix] = undriven + [j for _, j in by_input]
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
