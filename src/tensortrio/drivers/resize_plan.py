"""Planning a resize (pure): the new shape a view's new bounds give the array, checked as
TensorStore checks it, the view after the resize, and the chunks a shrink leaves outside.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from ..errors import FailedPreconditionError, InvalidArgumentError
from ..index import IndexDomain, IndexInterval, IndexTransform, OutputIndexMethod

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["cells_outside", "resized_shape", "resized_transform"]


def cells_outside(
    old_shape: Sequence[int],
    new_shape: Sequence[int],
    chunk_shape: Sequence[int],
    grid_origin: Sequence[int],
) -> list[tuple[int, ...]]:
    """Grid cells within ``old_shape`` that lie entirely at or beyond ``new_shape``.

    Each such cell is listed once: by the first dimension in which it is outside.
    """

    def cells(lo: int, hi: int, d: int) -> range:
        first = (lo - grid_origin[d]) // chunk_shape[d]
        last = -((grid_origin[d] - hi) // chunk_shape[d])  # ceil division
        return range(first, max(first, last))

    kept = [
        cells(0, min(o, n), d) for d, (o, n) in enumerate(zip(old_shape, new_shape, strict=True))
    ]
    everything = [cells(0, o, d) for d, o in enumerate(old_shape)]
    out: list[tuple[int, ...]] = []
    for d in range(len(old_shape)):
        beyond = [c for c in everything[d] if (c * chunk_shape[d] + grid_origin[d]) >= new_shape[d]]
        if not beyond:
            continue
        axes = [*kept[:d], beyond, *everything[d + 1 :]]
        out.extend(itertools.product(*axes))
    return out


def resized_shape(
    transform: IndexTransform,
    domain: IndexDomain,
    inclusive_min: Sequence[int | None],
    exclusive_max: Sequence[int | None],
    *,
    resize_tied_bounds: bool,
    expand_only: bool,
    shrink_only: bool,
) -> tuple[int, ...]:
    """The shape of ``domain`` once ``transform``'s input bounds change (None: unchanged).

    Raises:
        ValueError / FailedPreconditionError: an explicit bound would change, or
            the request breaks ``resize_tied_bounds``, ``expand_only`` or
            ``shrink_only`` (TensorStore's messages).
    """
    shape = list(domain.shape)
    if all(v is None for v in (*inclusive_min, *exclusive_max)):
        return tuple(shape)  # nothing to change, so no view is too narrow (as TensorStore)
    for i in range(transform.input_rank):
        dim = transform.domain[i]
        for bound, value, implicit in (
            ("lower", inclusive_min[i], dim.implicit_lower),
            ("upper", exclusive_max[i], dim.implicit_upper),
        ):
            if value is not None and not implicit:
                raise InvalidArgumentError(
                    f"Invalid resize request for input dimension {i}: Cannot change explicit "
                    f"{bound} bound"
                )
    _check_within(transform, domain)
    if not resize_tied_bounds:
        _check_untied(transform, domain)
    for i in range(transform.input_rank):
        lo, hi = inclusive_min[i], exclusive_max[i]
        if lo is None and hi is None:
            continue
        j, m = _single_output(transform, i)
        if m is None or m.stride != 1:
            raise InvalidArgumentError(
                f"Invalid resize request for input dimension {i}: it does not map to an "
                "output dimension with stride 1"
            )
        out = domain[j]
        if lo is not None and lo + m.offset != out.inclusive_min:
            raise InvalidArgumentError(
                f"Invalid resize request for input dimension {i}: Cannot change explicit lower bound"
            )
        if hi is None:
            continue
        new_max = hi + m.offset
        if new_max < out.inclusive_min:
            raise InvalidArgumentError(
                f"Invalid resize request for input dimension {i}: exclusive_max {hi} is below "
                f"the lower bound {out.inclusive_min - m.offset}"
            )
        old = f"[{out.inclusive_min}, {out.exclusive_max})"
        new = f"[{out.inclusive_min}, {new_max})"
        if expand_only and new_max < out.exclusive_max:
            raise FailedPreconditionError(
                f"Resize operation would shrink output dimension {j} from {old} to {new} "
                "but `expand_only` was specified"
            )
        if shrink_only and new_max > out.exclusive_max:
            raise FailedPreconditionError(
                f"Resize operation would expand output dimension {j} from {old} to {new} "
                "but `shrink_only` was specified"
            )
        shape[j] = new_max - out.inclusive_min
    return tuple(shape)


def _seen_interval(transform: IndexTransform, m: Any) -> tuple[int | None, int | None]:
    """The output interval a constant or stride ±1 map sees within the view's explicit bounds (None: implicit)."""
    if m.method is OutputIndexMethod.constant:
        return m.offset, m.offset + 1
    d = transform.domain[m.input_dimension]
    lo = None if d.implicit_lower else d.inclusive_min
    hi = None if d.implicit_upper else d.exclusive_max
    if m.stride == 1:
        return None if lo is None else lo + m.offset, None if hi is None else hi + m.offset
    return None if hi is None else m.offset - hi + 1, None if lo is None else m.offset - lo + 1


def _check_within(transform: IndexTransform, domain: IndexDomain) -> None:
    """Refuse to resize through a view that reaches outside the stored array (a stale view), as
    TensorStore does, before anything is written.

    Raises:
        FailedPreconditionError: naming the output dimension and the interval outside it.
    """
    for j, m in enumerate(transform.maps):
        if m.method is OutputIndexMethod.array or m.stride not in (1, -1, None):
            continue
        low, high = _seen_interval(transform, m)
        out = domain[j]
        if low is not None and low < out.inclusive_min:
            outside = f"[{low}, {out.inclusive_min})"
        elif high is not None and high > out.exclusive_max:
            outside = f"[{out.exclusive_max}, {high})"
        else:
            continue
        raise FailedPreconditionError(
            f"Resize operation would also affect output dimension {j} over the out-of-bounds "
            f"interval {outside}"
        )


def _check_untied(transform: IndexTransform, domain: IndexDomain) -> None:
    """Check a resize changes the stored array only where the view sees it (as TensorStore).

    Without ``resize_tied_bounds``, every output dimension must be seen whole:
    through a stride of 1 or -1 within the view's explicit bounds, not through
    a constant or an index array.

    Raises:
        FailedPreconditionError: part of an output dimension lies outside the view.
        InvalidArgumentError: an output dimension is strided or an index array.
    """
    for j, m in enumerate(transform.maps):
        out = domain[j]
        if m.method is OutputIndexMethod.array:
            raise InvalidArgumentError(
                f"Output dimension {j} has index array map but `resize_tied_bounds` was not specified"
            )
        if m.method is OutputIndexMethod.constant:
            seen = _seen_interval(transform, m)
        else:
            assert m.input_dimension is not None
            assert m.stride is not None
            i = m.input_dimension
            if m.stride not in (1, -1):
                raise InvalidArgumentError(
                    f"Output dimension {j} depends on input dimension {i} with non-unit stride of "
                    f"{m.stride} but `resize_tied_bounds` was not specified"
                )
            seen = _seen_interval(transform, m)
        if seen[0] is not None and seen[0] > out.inclusive_min:
            affected = f"[{out.inclusive_min}, {seen[0]})"
        elif seen[1] is not None and seen[1] < out.exclusive_max:
            affected = f"[{seen[1]}, {out.exclusive_max})"
        else:
            continue
        raise FailedPreconditionError(
            f"Resize operation would also affect output dimension {j} over the interval "
            f"{affected} but `resize_tied_bounds` was not specified"
        )


def _single_output(transform: IndexTransform, input_dim: int) -> tuple[int, Any]:
    for j, m in enumerate(transform.maps):
        if m.method is OutputIndexMethod.single_input_dimension and m.input_dimension == input_dim:
            return j, m
    return -1, None


def resized_transform(
    transform: IndexTransform,
    inclusive_min: Sequence[int | None],
    exclusive_max: Sequence[int | None],
) -> IndexTransform:
    """``transform`` with the new bounds a resize gave its input dimensions (None: unchanged)."""
    dims = []
    for i, d in enumerate(transform.domain):
        hi = exclusive_max[i]
        if hi is None:
            dims.append(d)
            continue
        lo = d.inclusive_min if inclusive_min[i] is None else inclusive_min[i]
        assert lo is not None
        dims.append(IndexInterval.make(lo, hi, d.implicit_lower, d.implicit_upper, d.label))
    return IndexTransform.make(IndexDomain.from_dims(dims), transform.maps)
