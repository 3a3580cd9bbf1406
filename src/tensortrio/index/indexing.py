"""NumPy-style indexing of index transforms (``t[...]``, ``t.oindex[...]``, ``t.vindex[...]``).

Indexing builds a transform from the new domain to the indexed one and composes
it (``compose``), so bounds checks and index-array gathers live in one place.
TensorStore's rules, which differ from NumPy in places:

- Indices are domain coordinates: ``-1`` means index -1, not "the last".
- ``start:stop:step`` with ``step != 1`` yields the domain
  ``[trunc(start / step), ...)``; the map is ``start - step*trunc(start/step) + step*i``.
- Integer scalars do not take part in index-array placement: in the default
  mode the broadcast index-array dimensions replace the first array term when
  all array terms are adjacent (ignoring integers), else they go first.
  ``vindex`` always puts them first; ``oindex`` indexes each array independently.
- Bounds: slices and integers must lie within the *explicit* bounds; implicit
  bounds do not constrain.  Index array values are checked lazily (they narrow
  the map's ``index_range``) unless an array gathers from another array.

For dimension expressions (``ts.d[sel][...]``) use ``apply_index_terms``: the
terms apply to the selected dimensions only; a single scalar term (integer,
slice, ``newaxis``) applies to every selected dimension; slices may have vector
``start``/``stop``/``step``; with ``newaxis`` terms the selection names
positions in the result (labels are then not allowed); and in the default mode
the index-array dimensions replace the first array term's dimension, whatever
the other terms (``vindex`` puts them first).  It returns the new transform
and the positions, in the new domain, of the dimensions the selection became.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from ..errors import InvalidArgumentError, OutOfRangeError
from .compose import compose
from .domain import IndexDomain, normalize_dim_index, resolve_dim_selection
from .interval import INF, MAX_FINITE_INDEX, MIN_FINITE_INDEX, IndexInterval, to_index
from .output_map import IndexArray, OutputIndexMap, OutputIndexMethod
from .transform import IndexTransform

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["IndexingMode", "apply_index_terms", "apply_numpy_indexing", "newaxis"]

newaxis = None
"""``ts.newaxis``: adds a singleton dimension with implicit bounds ``[0, 1)``."""

_INVALID_TERM = (
    "Only integers, slices (`:`), ellipsis (`...`), tensorstore.newaxis (`None`) and integer or "
    "boolean arrays are valid indices"
)


class IndexingMode(enum.Enum):
    """How index arrays combine: NumPy default, outer (``oindex``) or vectorized (``vindex``)."""

    DEFAULT = "default"
    OINDEX = "oindex"
    VINDEX = "vindex"


@attrs.frozen
class _Term:
    kind: str  # "int", "slice", "newaxis", "ellipsis", "array", "bool"
    value: Any = None
    dims: int = 1  # existing dimensions consumed


def _parse_slice(term: slice) -> list[_Term]:
    parts = (term.start, term.stop, term.step)
    if all(p is None or np.ndim(p) == 0 for p in parts):
        return [_Term("slice", tuple(None if p is None else to_index(p, "slice index") for p in parts))]
    # TensorStore extension: vector start/stop/step slice several dimensions at once.
    vectors = [None if p is None else np.asarray(p) for p in parts]
    lengths = {v.size for v in vectors if v is not None and v.ndim == 1}
    if len(lengths) != 1 or any(v is not None and v.ndim > 1 for v in vectors):
        raise InvalidArgumentError(f"Invalid vector slice {term!r}")
    n = lengths.pop()
    result = []
    for i in range(n):
        item = tuple(
            None if v is None else to_index(v[i] if v.ndim else v[()], "slice index") for v in vectors
        )
        result.append(_Term("slice", item))
    return result


def _parse_term(term: Any) -> list[_Term]:
    if term is Ellipsis:
        return [_Term("ellipsis", dims=0)]
    if term is None:
        return [_Term("newaxis", dims=0)]
    if isinstance(term, slice):
        return _parse_slice(term)
    if isinstance(term, (bool, np.bool_)):
        return [_Term("bool", np.asarray(term, dtype=bool), dims=0)]
    if isinstance(term, (str, bytes, float)):
        raise OutOfRangeError(_INVALID_TERM)
    if hasattr(term, "__index__") and not isinstance(term, np.ndarray):
        return [_Term("int", to_index(term, "index"))]
    try:
        array = np.asarray(term)
    except ValueError as exc:
        raise InvalidArgumentError(f"Invalid index array: {exc}") from None
    if array.dtype == bool:
        return [_Term("bool", array, dims=array.ndim)]
    if array.dtype.kind not in "iu":
        if array.dtype.kind == "O":
            raise OutOfRangeError(_INVALID_TERM)
        if array.size or array.dtype.kind != "f":
            raise OutOfRangeError("Arrays used as indices must be of integer (or boolean) type")
    if array.dtype == np.uint64 and array.size and array.max() > np.iinfo(np.int64).max:
        raise InvalidArgumentError("Index array values must fit in a 64-bit signed integer")
    result = np.array(array, dtype=np.int64)  # our own copy: the caller may mutate theirs
    result.flags.writeable = False
    return [_Term("array", result)]


def _parse(key: Any) -> list[_Term]:
    items = key if isinstance(key, tuple) else (key,)
    terms = [t for item in items for t in _parse_term(item)]
    if sum(t.kind == "ellipsis" for t in terms) > 1:
        raise OutOfRangeError("An index can only have a single ellipsis (`...`)")
    return terms


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _slice_dim(
    dim: IndexInterval, index: int, start: int | None, stop: int | None, step: int | None
) -> tuple[IndexInterval, int, int]:
    """New interval plus ``(offset, stride)`` of the map from new to old index."""
    s = 1 if step is None else step
    prefix = f"Computing interval slice for dimension {index}: "
    if s == 0:
        raise OutOfRangeError(prefix + "Invalid stride 0")
    # Each bound is an index, or +-inf on the side it leaves unbounded (-inf for a
    # forward start, +inf for its stop); a stop's infinity is kept as a domain keeps
    # it (one past, which callers slicing by a domain pass as it is).
    sign = 1 if s > 0 else -1
    for name, value, unbounded in (
        ("start", start, (-sign * INF,)),
        ("stop", stop, (sign * INF, sign * (INF + 1))),
    ):
        if value is not None and not (-INF < value < INF or value in unbounded):
            raise OutOfRangeError(prefix + f"Invalid {name} index {value}")
    if stop == sign * INF:
        stop += sign
    if s > 0:
        a = dim.inclusive_min if start is None else start
        b = dim.exclusive_max if stop is None else stop
        a_implicit = dim.implicit_lower if start is None else False
        b_implicit = dim.implicit_upper if stop is None else False
        lo, hi = a, b
        if hi < lo:
            raise OutOfRangeError(prefix + f"({lo}, {hi - 1}) do not specify a valid closed index interval")
    else:
        # As TensorStore: a given start makes the *lower* bound explicit and a given stop
        # the upper one, whatever the step's sign.  With a negative step the implicit
        # side that remains is then widened by bounds propagation (see compose), so
        # [0*, 10*)[5::-1] is [-9*, 1) and [0, 10*)[:5:-1] is [-9, -5).
        a = dim.inclusive_max if start is None else start
        b = dim.exclusive_min if stop is None else stop
        a_implicit = stop is None and dim.implicit_upper
        b_implicit = start is None and dim.implicit_lower
        lo, hi = b + 1, a + 1
        if hi < lo:
            raise OutOfRangeError(prefix + f"({lo}, {hi - 1}) do not specify a valid closed index interval")
    a_infinite = a in (-INF, INF)
    b_infinite = b in (-INF - 1, INF + 1)
    explicit_lo = -INF if dim.implicit_lower else dim.inclusive_min
    explicit_hi = INF + 1 if dim.implicit_upper else dim.exclusive_max
    # An empty slice selects nothing, so TensorStore does not bounds-check it.
    if lo < hi and (start is not None or stop is not None) and (lo < explicit_lo or hi > explicit_hi):
        shown = IndexInterval.make(explicit_lo, explicit_hi).bounds_str()
        raise OutOfRangeError(
            prefix + f"Slice interval [{lo}, {hi}) is not contained within domain {shown}"
        )
    if s == 1:
        return IndexInterval.make(a, max(b, a), a_implicit, b_implicit, dim.label), 0, 1
    if a_infinite and s != -1:  # reversing an unbounded side leaves it unbounded
        raise OutOfRangeError(prefix + f"Slicing with non-unit stride of {s} requires a finite start index")
    new_lo = _trunc_div(a, s)
    offset = a - s * new_lo
    if b_infinite:
        new_hi = INF + 1
    else:
        count = (b - a + s - 1) // s if s > 0 else (a - b - s - 1) // -s
        new_hi = new_lo + max(count, 0)
    return IndexInterval.make(new_lo, new_hi, a_implicit, b_implicit, dim.label), offset, s


@attrs.frozen
class _Placed:
    """One term bound to intermediate-domain positions (after inserting ``newaxis`` dims)."""

    term: _Term
    positions: tuple[int, ...]
    anchor: int
    seq: int


def _broadcast_shape(arrays: Sequence[IndexArray]) -> tuple[int, ...]:
    """Broadcast index array shapes left to right, reporting the first clash as TensorStore."""
    shape: tuple[int, ...] = ()
    for array in arrays:
        try:
            shape = tuple(np.broadcast_shapes(shape, array.shape))
        except ValueError:
            raise OutOfRangeError(
                f"Incompatible index array shapes: {{{', '.join(map(str, array.shape))}}} vs "
                f"{{{', '.join(map(str, shape))}}}"
            ) from None
    return shape


def _check_array_shapes(terms: Sequence[_Term], mode: IndexingMode) -> None:
    """TensorStore validates index array broadcasting before anything else."""
    if mode is IndexingMode.OINDEX:
        return
    shapes = []
    for t in terms:
        if t.kind == "array":
            shapes.append(t.value)
        elif t.kind == "bool":
            shapes.append(np.empty((int(np.count_nonzero(t.value)),), dtype=np.int64))
    _broadcast_shape(shapes)


def _apply(
    transform: IndexTransform,
    placed: list[_Placed],
    newaxis_positions: set[int],
    mode: IndexingMode,
    arrays_in_place: bool,
) -> tuple[IndexTransform, tuple[int, ...]]:
    old = transform.domain
    rank = old.rank + len(newaxis_positions)
    old_of = [p for p in range(rank) if p not in newaxis_positions]
    old_index = {p: i for i, p in enumerate(old_of)}
    consumed = {p for item in placed for p in item.positions}
    # Each new dimension: (sort key, interval, tag); tags let maps find final positions.
    entries: list[tuple[tuple[int, int, int], IndexInterval, Any]] = []
    old_maps: dict[int, Any] = {}  # old dim -> ("const", v) | ("single", tag, off, stride) | ("array", tags, array)
    for p in range(rank):
        if p not in consumed and p not in newaxis_positions:
            d = old_index[p]
            entries.append(((p, 1 << 30, 0), old.dims[d], ("keep", d)))
            old_maps[d] = ("single", ("keep", d), 0, 1)
    array_items: list[tuple[_Placed, list[tuple[int, IndexArray]], IndexArray | None]] = []
    for item in placed:
        t = item.term
        if t.kind == "newaxis":
            entries.append(((item.anchor, item.seq, 0), IndexInterval.make(0, 1, True, True), ("new", item.anchor)))
        elif t.kind == "int":
            old_maps[old_index[item.positions[0]]] = ("const", t.value)
        elif t.kind == "slice":
            d = old_index[item.positions[0]]
            interval, offset, stride = _slice_dim(old.dims[d], d, *t.value)
            entries.append(((item.anchor, item.seq, 0), interval, ("slice", item.anchor)))
            old_maps[d] = ("single", ("slice", item.anchor), offset, stride)
        else:
            if t.kind == "bool":
                coords = np.nonzero(t.value) if t.value.ndim else ((np.zeros(int(t.value), np.int64)),)
                per_dim = [
                    (old_index[p], np.asarray(c, dtype=np.int64))
                    for p, c in zip(item.positions, coords, strict=False)
                ]
                extra = coords[0] if not item.positions else None
                array_items.append((item, per_dim, extra))
            else:
                array_items.append((item, [(old_index[item.positions[0]], t.value)], None))
    group_tags: list[Any] = []
    if array_items and mode is not IndexingMode.OINDEX:
        all_arrays = [a for _, per_dim, extra in array_items for a in
                      ([x for _, x in per_dim] + ([extra] if extra is not None else []))]
        shape = _broadcast_shape(all_arrays)
        first = array_items[0][0]
        key = (first.anchor, first.seq) if (mode is IndexingMode.DEFAULT and arrays_in_place) else (-1, 0)
        tags: list[Any] = [("group", i) for i in range(len(shape))]
        group_tags = tags
        for i, extent in enumerate(shape):
            entries.append(((*key, i), IndexInterval.make(0, extent), tags[i]))
        for _, per_dim, _ in array_items:
            for d, values in per_dim:
                # Left-pad to the broadcast rank; extent-1 dims stay compact (zero stride).
                old_maps[d] = ("array", tags, values.reshape((1,) * (len(shape) - values.ndim) + values.shape))
    else:
        for item, per_dim, extra in array_items:
            if item.term.kind == "bool":
                count = len(per_dim[0][1]) if per_dim else len(extra) if extra is not None else 0
                shape = (count,)
            else:
                shape = per_dim[0][1].shape
            tags = [("oarray", item.seq, i) for i in range(len(shape))]
            group_tags.extend(tags)
            for i, extent in enumerate(shape):
                entries.append(((item.anchor, item.seq, i), IndexInterval.make(0, extent), tags[i]))
            for d, values in per_dim:
                old_maps[d] = ("array", tags, values.reshape(shape))
    entries.sort(key=lambda e: e[0])
    position = {tag: i for i, (_, _, tag) in enumerate(entries)}
    new_rank = len(entries)
    new_domain = IndexDomain.from_dims(e[1] for e in entries)
    maps = []
    for d in range(old.rank):
        spec = old_maps[d]
        if spec[0] == "const":
            maps.append(OutputIndexMap.constant(spec[1]))
        elif spec[0] == "single":
            maps.append(OutputIndexMap.single(position[spec[1]], spec[2], spec[3]))
        else:
            tags, values = spec[1], spec[2]
            target = [1] * new_rank
            for tag, extent in zip(tags, values.shape, strict=True):
                target[position[tag]] = extent
            compact = np.ascontiguousarray(values).reshape(target)
            compact.flags.writeable = False
            maps.append(OutputIndexMap.array(compact, 0, 1))
    new_to_old = IndexTransform(new_domain, maps)
    result = compose(transform, new_to_old)
    # As TensorStore: the new selection lists, term by term, the dimensions each term
    # became; the joint index-array dimensions belong to the first array term when they
    # replace it, else they come first.
    joint = mode is not IndexingMode.OINDEX and bool(array_items)
    joint_in_place = joint and mode is IndexingMode.DEFAULT and arrays_in_place
    selected = [position[tag] for tag in group_tags] if joint and not joint_in_place else []
    for item in placed:
        kind = item.term.kind
        if kind == "newaxis":
            selected.append(position[("new", item.anchor)])
        elif kind == "slice":
            selected.append(position[("slice", item.anchor)])
        elif kind in ("array", "bool") and mode is IndexingMode.OINDEX:
            selected.extend(position[tag] for tag in group_tags if tag[1] == item.seq)
        elif kind in ("array", "bool") and joint_in_place:
            selected.extend(position[tag] for tag in group_tags)
            joint_in_place = False
    return result, tuple(selected)


def _basic_indexing(transform: IndexTransform, key: Any) -> IndexTransform | None:
    """``transform[key]`` for the everyday key, or None to take the general path.

    The everyday key is a tuple of Python ints and slices of ints (an optional
    trailing ``...``) applied to a transform without index arrays. The result
    is computed directly (what composing with the indexing transform gives:
    ints become constants, slices single-input maps), without building and
    composing an intermediate transform. Anything unusual, and every error,
    goes through the general path so its messages stay the same.
    """
    items = key if type(key) is tuple else (key,)
    if items and items[-1] is Ellipsis:
        items = items[:-1]
    old = transform.domain.dims
    if len(items) > len(old):
        return None
    # Per old input dim: ("int", value) or (new position, offset, stride).
    inner: list[tuple[Any, int, int]] = []
    dims: list[IndexInterval] = []
    # Every item a unit-step slice: each input dimension keeps its place, so
    # the output maps are the old ones (no maps to rebuild).
    same_maps = True
    for d, dim in enumerate(old):
        item: Any = items[d] if d < len(items) else _FULL
        kind = type(item)
        if kind is not int and kind is not slice and isinstance(item, np.integer):
            item, kind = int(item), int
        if kind is int:
            same_maps = False
            lo = max(-INF if dim.implicit_lower else dim.inclusive_min, MIN_FINITE_INDEX)
            hi = min(INF + 1 if dim.implicit_upper else dim.exclusive_max, MAX_FINITE_INDEX + 1)
            if not lo <= item < hi:
                return None
            inner.append(("int", item, 0))
            continue
        if kind is not slice:
            return None
        start, stop, step = item.start, item.stop, item.step
        if not (
            (start is None or type(start) is int)
            and (stop is None or type(stop) is int)
            and (step is None or type(step) is int)
        ):
            # NumPy integers (``slice(i * 64, ...)`` with ``i`` from an array) are ints here.
            bounds = (start, stop, step)
            if not all(b is None or type(b) is int or isinstance(b, np.integer) for b in bounds):
                return None
            start, stop, step = (None if b is None else int(b) for b in bounds)
        if (
            (step is None or step == 1)
            and (start is None or MIN_FINITE_INDEX <= start <= MAX_FINITE_INDEX)
            and (stop is None or MIN_FINITE_INDEX <= stop <= MAX_FINITE_INDEX)
        ):
            # The everyday slice, as _slice_dim computes it for a unit step.
            a = dim.inclusive_min if start is None else start
            b = dim.exclusive_max if stop is None else stop
            if b < a:
                return None
            if a < b and (start is not None or stop is not None) and (
                a < (-INF if dim.implicit_lower else dim.inclusive_min)
                or b > (INF + 1 if dim.implicit_upper else dim.exclusive_max)
            ):
                return None
            lower = start is None and dim.implicit_lower
            upper = stop is None and dim.implicit_upper
            inner.append((len(dims), 0, 1))
            dims.append(IndexInterval.make(a, b, lower, upper, dim.label))
            continue
        try:
            interval, offset, stride = _slice_dim(dim, d, start, stop, step)
        except OutOfRangeError:
            return None
        if stride != 1 and (interval.implicit_lower or interval.implicit_upper):
            return None  # bounds propagation would move the implicit side
        same_maps = same_maps and offset == 0 and stride == 1
        inner.append((len(dims), offset, stride))
        dims.append(interval)
    if same_maps:
        for m in transform.maps:
            if m.method is OutputIndexMethod.array:
                return None
        return IndexTransform.make(IndexDomain.from_dims(dims), transform.maps)
    maps: list[OutputIndexMap] = []
    for m in transform.maps:
        method = m.method
        if method is OutputIndexMethod.constant:
            maps.append(m)
            continue
        if method is not OutputIndexMethod.single_input_dimension:
            return None
        assert m.input_dimension is not None
        assert m.stride is not None
        position, offset, stride = inner[m.input_dimension]
        if position == "int":
            maps.append(OutputIndexMap.constant(m.offset + m.stride * offset))
        else:
            maps.append(
                OutputIndexMap.single(position, m.offset + m.stride * offset, m.stride * stride)
            )
    return IndexTransform.make(IndexDomain.from_dims(dims), maps)


_FULL = slice(None)


def apply_numpy_indexing(transform: IndexTransform, key: Any, mode: IndexingMode) -> IndexTransform:
    """Apply a NumPy-style indexing expression to all input dimensions of ``transform``.

    Raises:
      OutOfRangeError: an index or slice is outside the explicit bounds, the expression
        has too many terms, or index arrays do not broadcast (``IndexError`` like TensorStore).
    """
    if mode is IndexingMode.DEFAULT:
        basic = _basic_indexing(transform, key)
        if basic is not None:
            return basic
    terms = _parse(key)
    _check_array_shapes(terms, mode)
    consumed = sum(t.dims for t in terms)
    rank = transform.input_rank
    if consumed > rank:
        raise OutOfRangeError(
            f"Indexing expression requires {consumed} dimensions, and cannot be applied to a "
            f"domain of rank {rank}"
        )
    if not any(t.kind == "ellipsis" for t in terms):
        terms.append(_Term("ellipsis", dims=0))
    placed: list[_Placed] = []
    newaxis_positions: set[int] = set()
    p = 0
    for seq, t in enumerate(terms):
        if t.kind == "ellipsis":
            for _ in range(rank - consumed):
                placed.append(_Placed(_Term("slice", (None, None, None)), (p,), p, seq))
                p += 1
        elif t.kind == "newaxis":
            newaxis_positions.add(p)
            placed.append(_Placed(t, (), p, seq))
            p += 1
        else:
            placed.append(_Placed(t, tuple(range(p, p + t.dims)), p, seq))
            p += t.dims
    # Array terms stay in place only if nothing but integers separates them in the
    # expression: an ``...`` does, as in NumPy, even where it stands for no dimension.
    kinds = [t.kind for t in terms]
    array_at = [i for i, k in enumerate(kinds) if k in ("array", "bool")]
    in_place = bool(array_at) and all(
        kinds[i] in ("array", "bool", "int") for i in range(array_at[0], array_at[-1] + 1)
    )
    return _apply(transform, placed, newaxis_positions, mode, in_place)[0]


def apply_index_terms(
    transform: IndexTransform, selection: Any, key: Any, mode: IndexingMode
) -> tuple[IndexTransform, tuple[int, ...]]:
    """Apply NumPy-style index terms to the selected input dimensions (``ts.d[sel][key]``).

    ``selection`` is a dimension selection (ints, labels, slices of dimension indices);
    with ``newaxis`` terms it names positions in the result.  Returns the new transform
    and the new positions of the dimensions the selection became.

    Raises:
      OutOfRangeError / InvalidArgumentError: as ``apply_numpy_indexing``, or the terms
        do not consume exactly the selected dimensions.
    """
    terms = _parse(key)
    _check_array_shapes(terms, mode)
    n_new = sum(t.kind == "newaxis" for t in terms)
    labels = transform.domain.labels
    if n_new:
        items = selection if isinstance(selection, (list, tuple)) else (selection,)
        if any(isinstance(i, str) for i in items):
            raise OutOfRangeError("New dimensions cannot be specified by label")
        dims = resolve_dim_selection(selection, [""] * (len(labels) + n_new))
    else:
        dims = resolve_dim_selection(selection, labels)
    if len(terms) == 1 and terms[0].kind in ("int", "slice", "newaxis") and len(dims) > 1:
        terms = terms * len(dims)
        n_new = sum(t.kind == "newaxis" for t in terms)
        if n_new:
            dims = tuple(normalize_dim_index(d, len(labels) + n_new) for d in dims)
    consumed = sum(t.dims for t in terms) + n_new
    if consumed > len(dims) or (consumed < len(dims) and not any(t.kind == "ellipsis" for t in terms)):
        raise OutOfRangeError(
            f"Indexing expression requires {consumed} dimensions but selection has {len(dims)} "
            "dimensions"
        )
    newaxis_positions: set[int] = set()
    placed: list[_Placed] = []
    cursor = 0
    for seq, t in enumerate(terms):
        if t.kind == "ellipsis":
            for _ in range(len(dims) - consumed):
                p = dims[cursor]
                placed.append(_Placed(_Term("slice", (None, None, None)), (p,), p, seq))
                cursor += 1
        elif t.kind == "newaxis":
            p = dims[cursor]
            newaxis_positions.add(p)
            placed.append(_Placed(t, (), p, seq))
            cursor += 1
        else:
            positions = tuple(dims[cursor:cursor + t.dims])
            anchor = positions[0] if positions else (dims[cursor] if cursor < len(dims) else 0)
            placed.append(_Placed(t, positions, anchor, seq))
            cursor += t.dims
    # TensorStore puts the index-array dimensions where the first array term's dimension
    # was (measured after removing the other indexed dimensions), in the default mode.
    return _apply(transform, placed, newaxis_positions, mode, True)
