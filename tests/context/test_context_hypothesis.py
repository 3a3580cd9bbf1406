"""Random context trees resolve exactly as the real tensorstore resolves them."""

from __future__ import annotations

from typing import Any

import tensorstore as real_ts
from hypothesis import given, settings
from hypothesis import strategies as st

import tensortrio as ts

KEYS = ["cache_pool", "cache_pool#a", "cache_pool#b", "cache_pool#c"]

resource_specs = st.one_of(
    st.none(),
    st.just({}),
    st.builds(lambda n: {"total_bytes_limit": n}, st.integers(0, 3)),
    st.sampled_from(KEYS),
)
context_specs = st.dictionaries(st.sampled_from(KEYS), resource_specs, max_size=4)


def _outcomes(module: Any, specs: list[dict[str, Any]]) -> list[Any]:
    """For every (depth, key): the resource's JSON and which earlier lookup it equals, or the error."""
    context = None
    contexts = []
    for spec in specs:
        context = module.Context(spec, context)
        contexts.append(context)
    seen: list[Any] = []
    outcomes: list[Any] = []
    for context in contexts:
        for key in KEYS:
            try:
                resource = context[key]
            except ValueError as exc:
                outcomes.append(("error", str(exc)))
                continue
            same = next((i for i, other in enumerate(seen) if other is resource), None)
            seen.append(resource)
            outcomes.append((resource.to_json(include_defaults=True), same))
    return outcomes


@settings(max_examples=150, deadline=None)
@given(st.lists(context_specs, min_size=1, max_size=3))
def test_random_context_trees_match_tensorstore(specs: list[dict[str, Any]]) -> None:
    assert _outcomes(ts, specs) == _outcomes(real_ts, specs)


@settings(max_examples=100, deadline=None)
@given(context_specs, st.booleans())
def test_random_specs_round_trip_like_tensorstore(spec: dict[str, Any], defaults: bool) -> None:
    ours = ts.Context.Spec(spec)
    assert ours.to_json(defaults) == real_ts.Context.Spec(spec).to_json(defaults)
    assert repr(ours) == repr(real_ts.Context.Spec(spec))
    assert ts.Context.Spec(ours.to_json(defaults)) == ours
