"""ts.Context: resolution through parents and references, sharing, errors, pickling."""

from __future__ import annotations

import pickle
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
import tensorstore as real_ts

import tensortrio as ts


def test_default_context() -> None:
    context = ts.Context()
    assert context.spec is None
    assert context.parent is None
    assert repr(context) == "Context()"
    assert context["cache_pool"].to_json() == {}
    assert context["cache_pool"].to_json(include_defaults=True) == {"total_bytes_limit": 0}
    assert context["data_copy_concurrency"].to_json(include_defaults=True) == {"limit": "shared"}
    assert context["file_io_concurrency"].to_json(include_defaults=True) == {"limit": "shared"}
    assert context["memory_key_value_store"].to_json(include_defaults=True) == {}
    assert context["cache_pool"] is context["cache_pool"]
    # Each default context has resources of its own.
    assert ts.Context()["cache_pool"] is not context["cache_pool"]
    assert isinstance(context["cache_pool"], ts.Context.Resource)


def test_documented_examples() -> None:
    context = ts.Context({"cache_pool": {"total_bytes_limit": 5000000}})
    assert repr(context.spec) == "Context.Spec({'cache_pool': {'total_bytes_limit': 5000000}})"
    parent = ts.Context(
        {"cache_pool": {"total_bytes_limit": 5000000}, "file_io_concurrency": {"limit": 10}}
    )
    child = ts.Context({"cache_pool": {"total_bytes_limit": 10000000}}, parent=parent)
    assert child.parent is parent
    assert parent["cache_pool"].to_json() == {"total_bytes_limit": 5000000}
    assert child["cache_pool"].to_json() == {"total_bytes_limit": 10000000}
    assert child["file_io_concurrency"].to_json() == {"limit": 10}
    assert repr(child.spec) == "Context.Spec({'cache_pool': {'total_bytes_limit': 10000000}})"
    assert repr(child.parent.spec) == (
        "Context.Spec({\n"
        "  'cache_pool': {'total_bytes_limit': 5000000},\n"
        "  'file_io_concurrency': {'limit': 10},\n"
        "})"
    )
    named = ts.Context({"cache_pool#a": {"total_bytes_limit": 10000000}})
    assert repr(named["cache_pool#a"]) == "Context.Resource({'total_bytes_limit': 10000000})"
    assert repr(named["cache_pool"]) == "Context.Resource({})"


def test_spec_object_is_kept() -> None:
    spec = ts.Context.Spec({"cache_pool": {}})
    assert ts.Context(spec).spec is spec
    assert ts.Context(spec, None).parent is None


ContextFactory = Callable[[Any], tuple[Any, Any]]


def _pair(module: Any) -> tuple[Any, Any]:
    parent = module.Context(
        {
            "cache_pool#a": {"total_bytes_limit": 5},
            "cache_pool": {"total_bytes_limit": 1},
            "cache_pool#x": {"total_bytes_limit": 3},
            "cache_pool#p": "cache_pool#x",
            "data_copy_concurrency#d": None,
        }
    )
    child = module.Context(
        {
            "cache_pool#b": "cache_pool#a",
            "cache_pool#c": "cache_pool",
            "cache_pool": {"total_bytes_limit": 2},
            "cache_pool#x": {"total_bytes_limit": 4},
            "cache_pool#n": None,
            "memory_key_value_store": None,
            "memory_key_value_store#m": None,
        },
        module.Context({}, parent),
    )
    return parent, child


KEYS = [
    ("child", "cache_pool"),
    ("child", "cache_pool#a"),
    ("child", "cache_pool#b"),
    ("child", "cache_pool#c"),
    ("child", "cache_pool#n"),
    ("child", "cache_pool#p"),
    ("child", "cache_pool#x"),
    ("parent", "cache_pool"),
    ("parent", "cache_pool#a"),
    ("parent", "cache_pool#p"),
    ("parent", "cache_pool#x"),
    ("child", "data_copy_concurrency"),
    ("parent", "data_copy_concurrency"),
    ("parent", "data_copy_concurrency#d"),
    ("child", "data_copy_concurrency#d"),
    ("child", "file_io_concurrency"),
    ("child", "memory_key_value_store"),
    ("child", "memory_key_value_store#m"),
    ("parent", "memory_key_value_store"),
]


def _describe(module: Any) -> tuple[list[Any], list[list[int]]]:
    """The JSON of every key, and which keys resolve to the same resource."""
    parent, child = _pair(module)
    contexts = {"parent": parent, "child": child}
    resources = [contexts[where][key] for where, key in KEYS]
    jsons = [r.to_json(include_defaults=True) for r in resources]
    same = [[j for j, other in enumerate(resources) if other is r] for r in resources]
    return jsons, same


def test_resolution_matches_tensorstore() -> None:
    assert _describe(ts) == _describe(real_ts)


def test_resolution_rules() -> None:
    parent, child = _pair(ts)
    assert child["cache_pool#b"] is parent["cache_pool#a"]  # references resolve through parents
    assert child["cache_pool#c"] is child["cache_pool"]
    assert child["cache_pool#n"] is parent["cache_pool"]  # null: the parent's default
    # A parent's reference resolves in the parent, not in the child that asks.
    assert child["cache_pool#p"].to_json() == {"total_bytes_limit": 3}
    # Defaults no spec names are made once, in the root.
    assert child["memory_key_value_store"] is parent["memory_key_value_store"]
    assert child["data_copy_concurrency"] is parent["data_copy_concurrency"]
    # null in a root context: a new default resource.
    assert parent["data_copy_concurrency#d"] is not parent["data_copy_concurrency"]


@pytest.mark.parametrize(
    ("spec", "key", "message"),
    [
        ({}, "abc", 'Invalid context resource identifier: "abc"'),
        ({}, "foo#x", 'Invalid context resource identifier: "foo"'),
        ({}, "", 'Invalid context resource identifier: ""'),
        ({}, "#a", 'Invalid context resource identifier: ""'),
        ({}, "cache_pool#a", 'Resource not defined: "cache_pool#a"'),
        ({}, "cache_pool#", 'Resource not defined: "cache_pool#"'),
        ({"cache_pool": "cache_pool#zz"}, "cache_pool", 'Resource not defined: "cache_pool#zz"'),
        (
            {"cache_pool": "cache_pool"},
            "cache_pool",
            'Context resource reference cycle: "cache_pool":"cache_pool"',
        ),
        (
            {"cache_pool#a": "cache_pool#b", "cache_pool#b": "cache_pool#a"},
            "cache_pool#a",
            'Context resource reference cycle: "cache_pool#b":"cache_pool#a" -> "cache_pool#a":"cache_pool#b"',
        ),
    ],
)
def test_lookup_errors_match_tensorstore(spec: dict[str, Any], key: str, message: str) -> None:
    context = ts.Context(spec)
    with pytest.raises(ts.InvalidArgumentError, match=f"^{re.escape(message)}$"):
        context[key]
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        real_ts.Context(spec)[key]
    # A failed lookup leaves nothing half-made; other keys still resolve.
    assert context["file_io_concurrency"].to_json() == {}


def test_reference_to_self_in_child_and_null_in_root() -> None:
    parent = ts.Context({"cache_pool": {"total_bytes_limit": 1}})
    with pytest.raises(
        ts.InvalidArgumentError,
        match=r'^Context resource reference cycle: "cache_pool":"cache_pool"$',
    ):
        ts.Context({"cache_pool": "cache_pool"}, parent)["cache_pool"]
    # null never cycles: it resolves in the parent, or makes a new default in a root.
    root = ts.Context({"cache_pool": "cache_pool#a", "cache_pool#a": None, "cache_pool#n": None})
    assert root["cache_pool"] is root["cache_pool#a"]
    assert root["cache_pool#n"] is not root["cache_pool"]


def test_constructor_arguments_are_checked() -> None:
    with pytest.raises(TypeError, match=r"^Context: parent must be a Context, got dict$"):
        ts.Context({}, {})  # type: ignore[arg-type]
    with pytest.raises(
        ts.InvalidArgumentError,
        match=r'^Error parsing object member "cache_pool": Expected object, but received: 3$',
    ):
        ts.Context({"cache_pool": 3})
    with pytest.raises(TypeError):
        ts.Context.Resource()  # type: ignore[abstract]
    with pytest.raises(TypeError, match=r"^Context: resource key must be a str, got int$"):
        ts.Context()[1]  # type: ignore[index]


def test_pickle_keeps_sharing_as_tensorstore_documents() -> None:
    parent_context = ts.Context({"memory_key_value_store#c": {}})
    json_spec = {
        "memory_key_value_store": {},
        "memory_key_value_store#a": "memory_key_value_store",
        "memory_key_value_store#b": {},
    }
    child_spec = ts.Context.Spec(json_spec)
    context = ts.Context(child_spec, parent_context)
    assert context.spec is child_spec
    assert context["memory_key_value_store"] is context["memory_key_value_store#a"]
    assert context["memory_key_value_store"] is not context["memory_key_value_store#b"]
    # Pickle a constructed context, then re-pickle the unpickled one.
    for _ in range(3):
        res_a, res_b, res_c, new_ctx, new_parent = pickle.loads(
            pickle.dumps(
                [
                    context["memory_key_value_store#a"],
                    context["memory_key_value_store#b"],
                    context["memory_key_value_store#c"],
                    context,
                    parent_context,
                ]
            )
        )
        assert res_a is not res_b
        assert res_a.to_json() == {}
        assert new_ctx.spec.to_json() == json_spec
        assert new_parent.spec.to_json() == parent_context.spec.to_json()
        assert new_ctx["memory_key_value_store"] is res_a
        assert new_ctx["memory_key_value_store#a"] is res_a
        assert new_ctx["memory_key_value_store#b"] is res_b
        assert new_ctx["memory_key_value_store#c"] is res_c
        assert new_parent["memory_key_value_store#c"] is res_c
        assert new_parent["memory_key_value_store"] is not new_ctx["memory_key_value_store"]
        assert new_ctx.parent is new_parent
        assert new_parent is not parent_context
        assert new_ctx is not context
        parent_context, context = new_parent, new_ctx


def test_concurrent_lookups_make_one_resource() -> None:
    context = ts.Context({"cache_pool#a": "cache_pool#b", "cache_pool#b": {}})
    barrier = threading.Barrier(8)
    seen: list[object] = []

    def look_up() -> None:
        barrier.wait()
        seen.append(context["cache_pool#a"])

    threads = [threading.Thread(target=look_up) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8
    assert all(resource is seen[0] for resource in seen)


@pytest.mark.parametrize("length", [1, 2, 3, 4, 5, 6, 7])
def test_cycle_messages_match_tensorstore(length: int) -> None:
    # A lead-in key, then a cycle; TensorStore's message depends on the entry point
    # and is kept for every key involved once reported.
    spec: dict[str, Any] = {"cache_pool#in": "cache_pool#0"}
    for i in range(length):
        spec[f"cache_pool#{i}"] = f"cache_pool#{(i + 1) % length}"
    keys = ["cache_pool#in", *(f"cache_pool#{i}" for i in range(length))]
    for entry in keys:
        ours, theirs = ts.Context(spec), real_ts.Context(spec)
        for key in [entry, *keys]:
            with pytest.raises(ValueError, match=r"^Context resource reference cycle: ") as info:
                ours[key]
            with pytest.raises(ValueError, match=r"^Context resource reference cycle: ") as real:
                theirs[key]
            assert str(info.value) == str(real.value)
