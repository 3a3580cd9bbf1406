"""``resolve_bounds``' shortcut for already-resolved requests agrees with bounds propagation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensortrio as ts
from tensortrio.errors import OutOfRangeError
from tensortrio.index import resolve as resolve_module
from tensortrio.index.resolve import resolve_bounds


def _general(domain: ts.IndexDomain, t: ts.IndexTransform) -> ts.IndexTransform:
    saved = resolve_module._already_resolved
    resolve_module._already_resolved = lambda *args: False  # type: ignore[assignment]
    try:
        return resolve_bounds(domain, t)
    finally:
        resolve_module._already_resolved = saved


@st.composite
def _requests(draw: st.DrawFn) -> tuple[ts.IndexDomain, ts.IndexTransform]:
    rank = draw(st.integers(1, 3))
    shape = [draw(st.integers(1, 30)) for _ in range(rank)]
    domain = ts.IndexDomain(shape=shape)
    t = ts.IndexTransform(input_inclusive_min=[-5] * rank, input_shape=[45] * rank)
    for _ in range(draw(st.integers(0, 3))):
        if t.input_rank == 0:
            break
        dim = draw(st.integers(0, t.input_rank - 1))
        choice = draw(st.sampled_from(["slice", "int", "shift", "stride", "transpose", "implicit"]))
        lo_d, hi_d = t.domain.origin[dim], t.domain.exclusive_max[dim]
        if hi_d <= lo_d:
            break
        if choice == "slice":
            lo = draw(st.integers(lo_d, hi_d - 1))
            hi = min(hi_d, lo + draw(st.integers(0, 10)))
            t = t[ts.d[dim][lo:hi:draw(st.sampled_from([1, 2]))]]
        elif choice == "int" and t.input_rank > 1:
            t = t[ts.d[dim][draw(st.integers(lo_d, hi_d - 1))]]
        elif choice == "shift":
            t = t[ts.d[dim].translate_by[draw(st.integers(-5, 5))]]
        elif choice == "stride":
            t = t[ts.d[dim].translate_to[0].stride[draw(st.sampled_from([2, -1]))]]
        elif choice == "transpose":
            t = t[ts.d[dim].transpose[draw(st.integers(0, t.input_rank - 1))]]
        elif choice == "implicit":
            t = t[ts.d[dim].mark_bounds_implicit[True]]
    return domain, t


def _outcome(fn: object, *args: object) -> object:
    try:
        result = fn(*args)  # type: ignore[operator]
    except (OutOfRangeError, ValueError) as exc:
        return (type(exc), str(exc))
    return result


@settings(max_examples=300, deadline=None)
@given(_requests())
def test_shortcut_agrees_with_bounds_propagation(
    case: tuple[ts.IndexDomain, ts.IndexTransform],
) -> None:
    domain, t = case
    assert _outcome(resolve_bounds, domain, t) == _outcome(_general, domain, t)


def test_out_of_range_request_still_names_the_dimension() -> None:
    t = ts.IndexTransform(input_shape=[100, 110])[5, 95:105]
    with pytest.raises(OutOfRangeError, match=r"^Propagated bounds \[0, 100\), with size=100, for dimension 0 are incompatible"):
        resolve_bounds(ts.IndexDomain(shape=[100, 100]), t)
