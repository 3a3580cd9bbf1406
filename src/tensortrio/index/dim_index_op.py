"""NumPy-style indexing as a dimension-expression operation (``ts.d[sel][...]``).

The terms are parsed once, when the expression is built, into a normalized
form that gives TensorStore's repr (``d[:][1:7,2:8]``, ``d['x'][2,]``) and
equality; applying the operation resolves the selection (which, in the first
operation, may place ``newaxis`` dimensions) and hands the terms to the
indexing engine (:func:`tensortrio.index.indexing.apply_index_terms`).
"""

from __future__ import annotations

from types import EllipsisType
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
import numpy as np

from ..errors import InvalidArgumentError, OutOfRangeError
from .dim_expression_ops import resolve_dim_range
from .dim_selection import DimRange, DimSpec, label_index
from .domain import check_rank_in_range, normalize_dim_index
from .interval import to_index

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from .transform import IndexTransform

__all__ = ["IndexOp", "parse_index_op"]

_INVALID_TERM = (
    "Only integers, slices (`:`), ellipsis (`...`), tensorstore.newaxis (`None`) and integer or "
    "boolean arrays are valid indices"
)
_SLICE_INDEX = "slice indices must be integers or None or have an __index__ method"


@attrs.frozen
class SliceTerm:
    """One dimension's ``start:stop:step`` (``None`` = the domain's bound)."""

    start: int | None
    stop: int | None
    step: int

    def __str__(self) -> str:
        text = (
            f"{'' if self.start is None else self.start}:{'' if self.stop is None else self.stop}"
        )
        return text if self.step == 1 else f"{text}:{self.step}"


@attrs.frozen(eq=False)
class ArrayTerm:
    """An integer index array (int64, read-only)."""

    array: NDArray[np.int64]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ArrayTerm):
            return NotImplemented
        return self.array.shape == other.array.shape and bool(
            np.array_equal(self.array, other.array)
        )

    def __str__(self) -> str:
        return repr(np.asarray(self.array))


@attrs.frozen(eq=False)
class BoolTerm:
    """A boolean array: the coordinates of its ``True`` values index ``ndim`` dimensions."""

    array: NDArray[np.bool_]

    def indices(self) -> NDArray[np.int64]:
        """Coordinates of the ``True`` values, shape ``(ndim, count)`` (C order)."""
        if self.array.ndim == 0:
            return np.zeros((0, int(bool(self.array))), dtype=np.int64)
        return np.stack(np.nonzero(self.array)).astype(np.int64)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BoolTerm):
            return NotImplemented
        a, b = self.indices(), other.indices()
        return a.shape == b.shape and bool(np.array_equal(a, b))

    def __str__(self) -> str:
        # TensorStore keeps only the True coordinates; it prints the smallest array holding them.
        indices = self.indices()
        if self.array.ndim == 0:
            return repr(np.asarray(indices.shape[1] == 1))
        shape = tuple(int(row.max()) + 1 if row.size else 1 for row in indices)
        mask = np.zeros(shape, dtype=bool)
        mask[tuple(indices)] = True
        return repr(mask)


Term: TypeAlias = "int | SliceTerm | ArrayTerm | BoolTerm | EllipsisType | None"


def _term_str(term: Term) -> str:
    if term is None:
        return "None"
    if isinstance(term, EllipsisType):
        return "..."
    return str(term)


def _term_key(term: Term) -> Any:
    """The Python index object the indexing engine takes for ``term``."""
    if isinstance(term, SliceTerm):
        return slice(term.start, term.stop, None if term.step == 1 else term.step)
    if isinstance(term, (ArrayTerm, BoolTerm)):
        return term.array
    return term


def _output_dims(term: Term) -> int:
    if term is None or isinstance(term, EllipsisType):
        return 0
    if isinstance(term, BoolTerm):
        return int(term.array.ndim)
    return 1


@attrs.frozen
class IndexOp:
    """NumPy-style indexing of the selected dimensions (``[...]``, ``.oindex``, ``.vindex``)."""

    mode: str  # "default", "oindex" or "vindex"
    terms: tuple[Term, ...]
    scalar: bool  # a single non-tuple term that applies to every selected dimension

    def __repr__(self) -> str:
        prefix = "" if self.mode == "default" else f".{self.mode}"
        if not self.terms:
            return f"{prefix}[()]"
        text = ",".join(_term_str(t) for t in self.terms)
        if not self.scalar and len(self.terms) == 1:
            text += ","
        return f"{prefix}[{text}]"

    def _normalized(self, selection_rank: int) -> tuple[Term, ...]:
        return self.terms * selection_rank if self.scalar else self.terms

    def _check_count(self, terms: tuple[Term, ...], selection_rank: int) -> None:
        required = sum(_output_dims(t) for t in terms) + sum(t is None for t in terms)
        if required > selection_rank or (Ellipsis not in terms and required != selection_rank):
            raise OutOfRangeError(
                f"Indexing expression requires {required} dimensions but selection has "
                f"{selection_rank} dimensions"
            )

    def _run(
        self, transform: IndexTransform, dims: Sequence[int], terms: tuple[Term, ...]
    ) -> tuple[IndexTransform, tuple[int, ...]]:
        from .indexing import IndexingMode, apply_index_terms

        key = tuple(_term_key(t) for t in terms)
        mode = self.mode
        if mode == "default" and not _arrays_consecutive(terms):
            # TensorStore keeps the array dimensions in place only when the array
            # terms are consecutive; otherwise default indexing is vindex's placement.
            mode = "vindex"
        return apply_index_terms(transform, tuple(dims), key, IndexingMode(mode))

    def apply(
        self, transform: IndexTransform, dims: tuple[int, ...]
    ) -> tuple[IndexTransform, tuple[int, ...]]:
        """Apply as a chained operation to the already-resolved ``dims``."""
        terms = self._normalized(len(dims))
        self._check_count(terms, len(dims))
        return self._run(transform, dims, terms)

    def apply_initial(
        self, transform: IndexTransform, selection: tuple[DimSpec, ...]
    ) -> tuple[IndexTransform, tuple[int, ...]]:
        """Apply as the first operation: ``newaxis`` terms name positions in the result."""
        rank = transform.input_rank
        if self.scalar and self.terms[0] is None:
            dims = _new_dims(selection, rank)
            return self._run(transform, dims, (None,) * len(dims))
        n_new = sum(t is None for t in self.terms)
        intermediate_rank = rank + n_new
        check_rank_in_range(intermediate_rank)
        # Labels name existing dimensions: resolve them once the new ones are placed.
        partial: list[int] = []
        for spec in selection:
            if isinstance(spec, str):
                partial.append(~label_index(spec, transform.domain.labels))
            elif isinstance(spec, DimRange):
                partial.extend(
                    resolve_dim_range(spec.start, spec.stop, spec.step, intermediate_rank)
                )
            else:
                partial.append(normalize_dim_index(spec, intermediate_rank))
        _check_unique(d for d in partial if d >= 0)
        terms = self._normalized(len(partial))
        self._check_count(terms, len(partial))
        is_new = [False] * intermediate_rank
        position = 0
        n_ellipsis = len(partial) - sum(_output_dims(t) + (t is None) for t in terms)
        for term in terms:
            if term is None:
                if partial[position] < 0:
                    raise InvalidArgumentError(
                        "Dimensions specified by label cannot be used with newaxis"
                    )
                is_new[partial[position]] = True
            position += (
                n_ellipsis
                if isinstance(term, EllipsisType)
                else _output_dims(term) + (term is None)
            )
        existing = [i for i in range(intermediate_rank) if not is_new[i]]
        dims = [existing[~d] if d < 0 else d for d in partial]
        _check_unique(dims)
        return self._run(transform, dims, terms)


def _arrays_consecutive(terms: tuple[Term, ...]) -> bool:
    """TensorStore's rule: no slice, ellipsis or newaxis between array terms, no 0-d bool."""
    seen_array = False
    broken = False
    for term in terms:
        if isinstance(term, (ArrayTerm, BoolTerm)):
            if broken or (isinstance(term, BoolTerm) and term.array.ndim == 0):
                return False
            seen_array = True
        elif not isinstance(term, int):
            broken = seen_array
    return True


def _check_unique(dims: Any) -> None:
    seen: set[int] = set()
    for dim in dims:
        if dim in seen:
            raise InvalidArgumentError(f"Dimension {dim} specified more than once")
        seen.add(dim)


def _num_new_dims(spec: DimRange) -> int:
    """How many new dimensions a range names (TensorStore's rules for ``newaxis``)."""
    start, stop, step = spec.start, spec.stop, spec.step
    if start is not None:
        if stop is not None:
            if (stop < 0) == (start < 0) and (
                (step > 0 and stop >= start) or (step < 0 and stop <= start)
            ):
                return -((start - stop) // step) if step > 0 else -((stop - start) // -step)
        elif step > 0 and start < 0:
            return -(start // step)
        elif step < 0 and start >= 0:
            return -(-(start + 1) // -step)
    elif stop is not None:
        if step > 0 and stop >= 0:
            return -(-stop // step)
        if step < 0 and stop < 0:
            return -((stop + 1) // -step)
    raise InvalidArgumentError(f"`{spec}` is not a valid specification for new dimensions")


def _new_dims(selection: tuple[DimSpec, ...], rank: int) -> list[int]:
    """Positions of the new dimensions ``ts.d[sel][ts.newaxis]`` adds."""
    new_rank = rank
    for spec in selection:
        new_rank += _num_new_dims(spec) if isinstance(spec, DimRange) else 1
    check_rank_in_range(new_rank)
    dims: list[int] = []
    for spec in selection:
        if isinstance(spec, str):
            raise InvalidArgumentError("New dimensions cannot be specified by label")
        if isinstance(spec, DimRange):
            dims.extend(resolve_dim_range(spec.start, spec.stop, spec.step, new_rank))
        else:
            dims.append(normalize_dim_index(spec, new_rank))
    repeated = sorted({d for d in dims if dims.count(d) > 1})
    if repeated:
        raise InvalidArgumentError(
            f"Input dimensions {{{', '.join(map(str, repeated))}}} specified more than once"
        )
    return dims


def _slice_part(value: Any) -> int | list[int | None] | None:
    if value is None:
        return None
    if hasattr(value, "__index__") and not isinstance(value, np.ndarray):
        return to_index(value, "slice index")
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(_SLICE_INDEX)
    items = list(value)
    for item in items:
        if item is not None and not hasattr(item, "__index__"):
            raise TypeError(_SLICE_INDEX)
    return [None if v is None else to_index(v, "slice index") for v in items]


def _format_part(value: list[int | None]) -> str:
    return "[" + ",".join("None" if v is None else str(v) for v in value) + "]"


def _parse_slice(term: slice) -> tuple[list[SliceTerm], bool]:
    parts = {
        "start": _slice_part(term.start),
        "stop": _slice_part(term.stop),
        "step": _slice_part(term.step),
    }
    rank: int | None = None
    previous = ""
    for name, value in parts.items():
        if isinstance(value, list):
            if rank is not None and len(value) != rank:
                shown = parts[previous]
                assert isinstance(shown, list)
                raise InvalidArgumentError(
                    f"{name}={_format_part(value)} (rank {len(value)}) is incompatible with "
                    f"{previous}={_format_part(shown)} (rank {rank})"
                )
            rank, previous = len(value), name
    count = 1 if rank is None else rank

    def at(value: int | list[int | None] | None, i: int) -> int | None:
        return value[i] if isinstance(value, list) else value

    result = []
    for i in range(count):
        step = at(parts["step"], i)
        result.append(
            SliceTerm(at(parts["start"], i), at(parts["stop"], i), 1 if step is None else step)
        )
    return result, rank is not None


def _joint_shape(joint: tuple[int, ...] | None, shape: tuple[int, ...]) -> tuple[int, ...]:
    if joint is None:
        return shape
    try:
        return tuple(np.broadcast_shapes(joint, shape))
    except ValueError:
        raise InvalidArgumentError(
            f"Incompatible index array shapes: {{{', '.join(map(str, shape))}}} vs "
            f"{{{', '.join(map(str, joint))}}}"
        ) from None


def parse_index_op(key: Any, mode: str, *, chained: bool) -> IndexOp:
    """Parse the subscript of ``expr[...]`` / ``expr.oindex[...]`` / ``expr.vindex[...]``.

    Raises:
      TypeError: a slice bound is not an integer.
      OutOfRangeError: a term is not a valid index, or there are two ellipses.
      InvalidArgumentError: ``newaxis`` in a chained operation, incompatible index
        array shapes or vector slice lengths, or a zero-rank bool with ``oindex``.
    """
    items = key if isinstance(key, tuple) else (key,)
    scalar = not isinstance(key, tuple)
    terms: list[Term] = []
    joint: tuple[int, ...] | None = None
    for item in items:
        if item is Ellipsis:
            if Ellipsis in terms:
                raise OutOfRangeError("An index can only have a single ellipsis (`...`)")
            terms.append(Ellipsis)
            scalar = False
        elif item is None:
            if chained:
                raise InvalidArgumentError(
                    "tensorstore.newaxis (`None`) not valid in chained indexing operations"
                )
            terms.append(None)
        elif isinstance(item, slice):
            parsed, vector = _parse_slice(item)
            terms.extend(parsed)
            scalar = scalar and not vector
        elif isinstance(item, (bool, np.bool_)) or (
            hasattr(item, "__index__") and not isinstance(item, np.ndarray)
        ):
            if isinstance(item, (bool, np.bool_)):
                terms.append(_bool_term(np.asarray(item, dtype=bool), mode))
                scalar = False
            else:
                terms.append(to_index(item, "index"))
        else:
            was_array = isinstance(item, np.ndarray)
            if isinstance(item, (str, bytes, float)):
                raise OutOfRangeError(_INVALID_TERM)
            try:
                array = np.asarray(item)
            except ValueError:
                raise OutOfRangeError(_INVALID_TERM) from None
            if not was_array and array.size == 0:
                array = array.astype(np.int64)
            if array.dtype == bool:
                bool_term = _bool_term(array, mode)
                terms.append(bool_term)
                scalar = False
                if mode != "oindex":
                    joint = _joint_shape(joint, (bool_term.indices().shape[1],))
            elif array.dtype.kind in "iu":
                index_array = np.array(array, dtype=np.int64)
                index_array.flags.writeable = False
                terms.append(ArrayTerm(index_array))
                scalar = scalar and index_array.ndim == 0
                if mode != "oindex":
                    joint = _joint_shape(joint, index_array.shape)
            elif was_array:
                raise OutOfRangeError("Arrays used as indices must be of integer (or boolean) type")
            else:
                raise OutOfRangeError(_INVALID_TERM)
    return IndexOp(mode, tuple(terms), scalar and len(terms) == 1)


def _bool_term(array: NDArray[np.bool_], mode: str) -> BoolTerm:
    if array.ndim == 0 and mode == "oindex":
        raise InvalidArgumentError(
            "Zero-rank bool array incompatible with outer indexing of a dimension selection"
        )
    copy = np.array(array, dtype=bool)
    copy.flags.writeable = False
    return BoolTerm(copy)
