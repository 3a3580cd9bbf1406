"""Resolving a view's bounds against the domain of the array it views (pure).

Every driver does this before a read or write: a view's implicit bounds take
the array's current ones, and every index it reaches must lie within them.
"""

from __future__ import annotations

import numpy as np

from ..errors import OutOfRangeError
from .compose import propagate_bounds
from .domain import IndexDomain
from .interval import INF, MAX_FINITE_INDEX, IndexInterval
from .output_map import OutputIndexMethod
from .transform import IndexTransform

__all__ = ["resolve_bounds"]


def _explicit_domain(domain: IndexDomain) -> IndexDomain:
    return IndexDomain.from_dims(
        IndexInterval.make(d.inclusive_min, d.exclusive_max, False, False, d.label) for d in domain
    )


def _already_resolved(domain: IndexDomain, transform: IndexTransform) -> bool:
    """Whether ``transform`` has nothing to resolve and lies within ``domain``.

    True for the common request: explicit, finite, non-empty bounds and
    constant or single-input-dimension maps whose images lie in ``domain``.
    Resolving such a transform gives an equal one, so the caller can skip the
    general bounds propagation; anything else (and every error) goes through it.
    """
    dims = transform.domain.dims
    for d in dims:
        if (
            d.implicit_lower
            or d.implicit_upper
            or d.exclusive_max <= d.inclusive_min
            or d.inclusive_min == -INF
            or d.exclusive_max == INF + 1
        ):
            return False
    bounds = domain.dims
    if len(bounds) != len(transform.maps):
        return False
    for m, b in zip(transform.maps, bounds, strict=True):
        lo_b, hi_b = b.inclusive_min, b.exclusive_max
        if lo_b == -INF or hi_b == INF + 1:
            return False
        method = m.method
        if method is OutputIndexMethod.constant:
            if not lo_b <= m.offset < hi_b:
                return False
            continue
        if method is not OutputIndexMethod.single_input_dimension:
            return False
        s, o = m.stride, m.offset
        assert s is not None
        assert m.input_dimension is not None
        if abs(o) + abs(lo_b) + abs(hi_b) >= MAX_FINITE_INDEX:
            return False  # the general path reports any overflow
        d = dims[m.input_dimension]
        first, last = o + s * d.inclusive_min, o + s * (d.exclusive_max - 1)
        if not (lo_b <= first < hi_b and lo_b <= last < hi_b):
            return False
    return True


def resolve_bounds(domain: IndexDomain, transform: IndexTransform) -> IndexTransform:
    """``transform`` with implicit bounds taken from ``domain``; every index checked to lie in it.

    Raises:
        OutOfRangeError: naming the dimension and the index outside ``domain``.
    """
    if _already_resolved(domain, transform):
        return transform
    explicit = _explicit_domain(domain)
    new_domain, maps = propagate_bounds(explicit, transform)
    for j, m in enumerate(maps):
        if m.method is not OutputIndexMethod.array or new_domain.size == 0:
            continue
        assert m.index_array is not None
        assert m.stride is not None
        values = m.offset + m.stride * m.index_array
        dim = explicit[j]
        outside = (values < dim.inclusive_min) | (values >= dim.exclusive_max)
        if outside.any():
            bad = int(values.reshape(-1)[int(np.argmax(outside.reshape(-1)))])
            raise OutOfRangeError(
                f"In index array map for output dimension {j}: Index {bad} is outside valid "
                f"range {dim.bounds_str()}"
            )
    for i, d in enumerate(new_domain):
        if not d.finite:
            raise OutOfRangeError(
                f"Input dimension {i} has unbounded domain {d.bounds_str()}; "
                "slice it to finite bounds before reading or writing"
            )
    return IndexTransform.make(new_domain, maps)
