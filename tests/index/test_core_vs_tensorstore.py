"""Hypothesis: construction, JSON, composition and domain operations agree with tensorstore."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorstore
from hypothesis import given, settings
from hypothesis import strategies as st

import tensortrio as ts


def run(module: Any, build: Any) -> tuple[str, Any]:
    try:
        return "ok", build(module)
    except IndexError:
        return "IndexError", None
    except ValueError:
        return "ValueError", None


@st.composite
def domain_kwargs(draw: st.DrawFn, rank: int, prefix: str = "input_") -> dict[str, Any]:
    lower = [draw(st.sampled_from([-tensorstore.inf, -2, 0, 1])) for _ in range(rank)]
    shape = [draw(st.integers(0, 3)) for _ in range(rank)]
    upper = [tensorstore.inf + 1 if lo == -tensorstore.inf and n == 0 else lo + n for lo, n in zip(lower, shape, strict=True)]
    return {
        f"{prefix}inclusive_min": lower,
        f"{prefix}exclusive_max": upper,
        "implicit_lower_bounds": [draw(st.booleans()) for _ in range(rank)],
        "implicit_upper_bounds": [draw(st.booleans()) for _ in range(rank)],
        f"{prefix}labels": [draw(st.sampled_from(["", f"a{i}"])) for i in range(rank)],
    }


@st.composite
def output_maps(draw: st.DrawFn, input_rank: int, input_shape: list[int], output_rank: int) -> list[tuple[Any, ...]]:
    maps: list[tuple[Any, ...]] = []
    for _ in range(output_rank):
        kind = draw(st.sampled_from(["constant", "single", "array"] if input_rank else ["constant"]))
        offset = draw(st.integers(-3, 3))
        stride = draw(st.sampled_from([-2, -1, 1, 2]))
        if kind == "constant":
            maps.append(("constant", offset))
        elif kind == "single":
            maps.append(("single", draw(st.integers(0, input_rank - 1)), offset, stride))
        else:
            shape = [n if draw(st.booleans()) else 1 for n in input_shape]
            values = np.array(draw(st.lists(st.integers(-2, 4), min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))), dtype=np.int64).reshape(shape)
            bounded = draw(st.booleans())
            maps.append(("array", values, offset, stride, bounded))
    return maps


def build_transform(module: Any, kwargs: dict[str, Any], maps: list[tuple[Any, ...]]) -> Any:
    output = []
    for m in maps:
        if m[0] == "constant":
            output.append(module.OutputIndexMap(offset=m[1]))
        elif m[0] == "single":
            output.append(module.OutputIndexMap(input_dimension=m[1], offset=m[2], stride=m[3]))
        else:
            extra = {"index_range": module.Dim(inclusive_min=-1, exclusive_max=3)} if m[4] else {}
            output.append(module.OutputIndexMap(index_array=m[1], offset=m[2], stride=m[3], **extra))
    return module.IndexTransform(**kwargs, output=output)


@st.composite
def transforms(draw: st.DrawFn, input_rank: int, output_rank: int) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    kwargs = draw(domain_kwargs(input_rank))
    finite_shape = [hi - lo if lo != -tensorstore.inf else 1 for lo, hi in zip(kwargs["input_inclusive_min"], kwargs["input_exclusive_max"], strict=True)]
    maps = draw(output_maps(input_rank, finite_shape, output_rank))
    if any(m[0] == "array" for m in maps):
        # tensorstore 0.1.86 segfaults composing index arrays over implicit bounds.
        kwargs["implicit_lower_bounds"] = [False] * input_rank
        kwargs["implicit_upper_bounds"] = [False] * input_rank
    return kwargs, maps


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_construction_str_and_json(data: st.DataObject) -> None:
    kwargs, maps = data.draw(transforms(data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))))

    def build(module: Any) -> tuple[str, Any, str, Any]:
        t = build_transform(module, kwargs, maps)
        # Over an empty domain tensorstore's index_array property disagrees with its own str;
        # compare the maps there through str and JSON only.
        maps_repr = "" if 0 in t.domain.shape else repr(t.output)
        return str(t), t.to_json(), maps_repr, str(module.IndexTransform(json=t.to_json()))

    assert run(ts, build) == run(tensorstore, build)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_composition(data: st.DataObject) -> None:
    a_rank, b_rank, c_rank = (data.draw(st.integers(0, 2)) for _ in range(3))
    b_to_c = data.draw(transforms(b_rank, c_rank))
    a_to_b = data.draw(transforms(a_rank, b_rank))
    if any(m[0] == "array" for m in b_to_c[1]):
        # tensorstore 0.1.86 segfaults gathering an index array over an empty domain with
        # implicit bounds (e.g. a_to_b over [0, 0*) x [1*, 1)); keep those bounds explicit.
        a_to_b[0]["implicit_lower_bounds"] = [False] * a_rank
        a_to_b[0]["implicit_upper_bounds"] = [False] * a_rank

    def build(module: Any) -> str:
        return str(build_transform(module, *b_to_c)[build_transform(module, *a_to_b)])

    assert run(ts, build) == run(tensorstore, build)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_domain_operations(data: st.DataObject) -> None:
    rank = data.draw(st.integers(1, 3))
    a = data.draw(domain_kwargs(rank, prefix=""))
    b = data.draw(domain_kwargs(rank, prefix=""))
    b["labels"] = data.draw(st.sampled_from([a["labels"], [""] * rank, list(reversed(a["labels"]))]))
    perm = data.draw(st.permutations(range(rank)))

    def build(module: Any) -> tuple[str, ...]:
        x, y = module.IndexDomain(**a), module.IndexDomain(**b)
        results = []
        for op in (lambda: x.intersect(y), lambda: x.hull(y), lambda: x.transpose(perm), lambda: x[y], lambda: x.T):
            try:
                results.append(str(op()))
            except IndexError:
                results.append("IndexError")
            except ValueError:
                results.append("ValueError")
        return tuple(results)

    assert run(ts, build) == run(tensorstore, build)


_BOUND = st.sampled_from([None, -tensorstore.inf - 1, -tensorstore.inf, -3, 0, 2, 5, tensorstore.inf, tensorstore.inf + 1])


@settings(max_examples=300, deadline=None)
@given(
    args=st.lists(st.one_of(_BOUND, st.sampled_from(["x", ""])), max_size=2),
    kwargs=st.dictionaries(
        st.sampled_from(["inclusive_min", "exclusive_max", "inclusive_max", "size", "label", "implicit_lower", "implicit_upper"]),
        st.one_of(_BOUND, st.booleans()),
        max_size=3,
    ),
)
def test_dim_construction(args: list[Any], kwargs: dict[str, Any]) -> None:
    if "label" in kwargs:
        kwargs["label"] = "x" if kwargs["label"] else ""

    def build(module: Any) -> tuple[str, str, int, bool]:
        dim = module.Dim(*args, **kwargs)
        return repr(dim), str(dim), dim.size, dim.finite

    def outcome(module: Any) -> tuple[str, Any]:
        try:
            return run(module, build)
        except TypeError:
            return "TypeError", None

    assert outcome(ts) == outcome(tensorstore)


_JSON_BOUND = st.one_of(
    st.integers(-3, 6), st.sampled_from(["-inf", "+inf", "x", 1.5]), st.lists(st.integers(-3, 6), min_size=1, max_size=1)
)


@settings(max_examples=300, deadline=None)
@given(
    members=st.dictionaries(
        st.sampled_from(["rank", "inclusive_min", "exclusive_max", "inclusive_max", "shape", "labels", "bogus"]),
        st.one_of(st.integers(-1, 3), st.lists(_JSON_BOUND, max_size=3), st.lists(st.sampled_from(["a", "b", ""]), max_size=3)),
        max_size=4,
    )
)
def test_domain_json(members: dict[str, Any]) -> None:
    def build(module: Any) -> tuple[str, Any]:
        domain = module.IndexDomain(json=members)
        return str(domain), domain.to_json()

    ours, theirs = run(ts, build), run(tensorstore, build)
    assert ours == theirs


_MAP_JSON = st.dictionaries(
    st.sampled_from(["offset", "stride", "input_dimension", "index_array", "index_array_bounds", "bogus"]),
    st.one_of(
        st.integers(-2, 3),
        st.lists(st.integers(-1, 3), max_size=3),
        st.lists(st.lists(st.integers(-1, 3), min_size=2, max_size=2), max_size=2),
        st.sampled_from(["-inf", "+inf", [["-inf"], 3]]),
    ),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(
    members=st.dictionaries(
        st.sampled_from(["input_rank", "input_inclusive_min", "input_exclusive_max", "input_shape", "input_labels"]),
        st.one_of(st.integers(0, 2), st.lists(st.one_of(st.integers(-2, 3), st.lists(st.integers(0, 3), min_size=1, max_size=1)), min_size=1, max_size=2)),
        max_size=2,
    ),
    output=st.none() | st.lists(_MAP_JSON, max_size=2),
)
def test_transform_json(members: dict[str, Any], output: list[dict[str, Any]] | None) -> None:
    obj = dict(members)
    if output is not None:
        obj["output"] = output

    def build(module: Any) -> tuple[str, Any]:
        t = module.IndexTransform(json=obj)
        return str(t), t.to_json()

    assert run(ts, build) == run(tensorstore, build)


@settings(max_examples=200, deadline=None)
@given(
    kwargs=st.dictionaries(
        st.sampled_from(["rank", "inclusive_min", "exclusive_max", "inclusive_max", "shape", "labels",
                         "implicit_lower_bounds", "implicit_upper_bounds"]),
        st.one_of(st.integers(0, 2), st.lists(st.integers(-2, 3), max_size=2), st.lists(st.booleans(), max_size=2),
                  st.lists(st.sampled_from(["a", "b", ""]), max_size=2)),
        max_size=3,
    )
)
def test_domain_components(kwargs: dict[str, Any]) -> None:
    def build(module: Any) -> tuple[str, Any]:
        domain = module.IndexDomain(**kwargs)
        return str(domain), domain.to_json()

    def outcome(module: Any) -> tuple[str, Any]:
        try:
            return run(module, build)
        except TypeError:
            return "TypeError", None

    assert outcome(ts) == outcome(tensorstore)
