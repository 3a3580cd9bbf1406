"""The live resources drivers get from Context.get_resource."""

from __future__ import annotations

import os
import pickle
import re

import pytest
import trio
from trio.testing import wait_all_tasks_blocked

import tensortrio as ts
from tensortrio.schema.context_resources import (
    CachePoolResource,
    ConcurrencyResource,
    FileIoSyncResource,
    MemoryKeyValueStoreResource,
    _forget_limiters_in_child,
)


def test_get_resource_types_and_identity() -> None:
    context = ts.Context(
        {
            "cache_pool": {"total_bytes_limit": 1000},
            "cache_pool#big": {"total_bytes_limit": 10**9},
            "data_copy_concurrency": {"limit": 3},
            "memory_key_value_store#shared": {},
        }
    )
    pool = context.get_resource("cache_pool")
    assert isinstance(pool, CachePoolResource)
    assert pool.total_bytes_limit == 1000
    assert pool is context["cache_pool"]
    assert context.get_resource("cache_pool", "cache_pool#big").total_bytes_limit == 10**9
    assert context.get_resource("cache_pool", "cache_pool#big") is context["cache_pool#big"]
    copy = context.get_resource("data_copy_concurrency")
    assert isinstance(copy, ConcurrencyResource)
    assert (copy.provider, copy.limit, copy.shared) == ("data_copy_concurrency", 3, False)
    store = context.get_resource("memory_key_value_store", "memory_key_value_store#shared")
    assert isinstance(store, MemoryKeyValueStoreResource)
    assert store is context["memory_key_value_store#shared"]
    assert store is not context.get_resource("memory_key_value_store")
    # A child context sees the same resources unless it overrides them.
    child = ts.Context({}, context)
    assert child.get_resource("cache_pool") is pool
    assert child.get_resource("memory_key_value_store", "memory_key_value_store#shared") is store


def test_inline_spec_makes_a_resource_of_its_own() -> None:
    context = ts.Context()
    first = context.get_resource("cache_pool", {"total_bytes_limit": 5})
    second = context.get_resource("cache_pool", {"total_bytes_limit": 5})
    assert first.total_bytes_limit == 5
    assert first is not second
    assert first is not context["cache_pool"]
    # A resolved resource passes through unchanged (a spec bound earlier).
    assert context.get_resource("cache_pool", first) is first


@pytest.mark.parametrize(
    ("provider", "spec", "message"),
    [
        ("cache_poo", None, 'Invalid context resource identifier: "cache_poo"'),
        ("cache_pool", "cache_pool#missing", 'Resource not defined: "cache_pool#missing"'),
        (
            "cache_pool",
            "file_io_concurrency",
            'Invalid spec or reference to "cache_pool" resource: "file_io_concurrency" '
            '(Expected object, but received: "file_io_concurrency")',
        ),
        ("cache_pool", 7, "Expected object, but received: 7"),
        (
            "file_io_concurrency",
            {"limit": -2},
            'Error parsing object member "limit": Expected integer in the range '
            "[1, 18446744073709551615], but received: -2",
        ),
    ],
)
def test_get_resource_errors(provider: str, spec: object, message: str) -> None:
    with pytest.raises(ts.InvalidArgumentError, match=f"^{re.escape(message)}$"):
        ts.Context().get_resource(provider, spec)


def test_get_resource_rejects_a_resource_of_another_type() -> None:
    context = ts.Context()
    with pytest.raises(
        ts.InvalidArgumentError,
        match=r'^Invalid spec or reference to "cache_pool" resource: Context.Resource\(\{\}\)$',
    ):
        context.get_resource("cache_pool", context["memory_key_value_store"])


def test_shared_limits_follow_tensorstore() -> None:
    cpus = os.cpu_count() or 1
    context = ts.Context()
    copy = context.get_resource("data_copy_concurrency")
    file_io = context.get_resource("file_io_concurrency")
    assert (copy.shared, copy.limit) == (True, cpus)
    assert (file_io.shared, file_io.limit) == (True, max(4, cpus))


async def test_limiters_are_lazy_and_shared_ones_process_wide() -> None:
    context = ts.Context({"file_io_concurrency#two": {"limit": 2}})
    shared = context.get_resource("data_copy_concurrency")
    assert shared._limiter is None
    assert shared.limiter is shared.limiter
    # Every "shared" resource of a type uses one limiter, whatever its context.
    assert ts.Context().get_resource("data_copy_concurrency").limiter is shared.limiter
    assert ts.Context()["file_io_concurrency"].limiter is not shared.limiter  # type: ignore[attr-defined]
    two = context.get_resource("file_io_concurrency", "file_io_concurrency#two")
    assert two.limiter.total_tokens == 2
    assert ts.Context().get_resource("file_io_concurrency", {"limit": 2}).limiter is not two.limiter

    running = 0
    peak = 0
    release = trio.Event()

    async def work() -> None:
        nonlocal running, peak
        async with two.limiter:
            running += 1
            peak = max(peak, running)
            await release.wait()
            running -= 1

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(work)
        await wait_all_tasks_blocked()
        assert (running, two.limiter.statistics().tasks_waiting) == (2, 3)
        release.set()
    assert peak == 2


def test_forked_child_forgets_limiters() -> None:
    resource = ts.Context().get_resource("file_io_concurrency", {"limit": 3})
    before = resource.limiter
    shared_before = ts.Context().get_resource("file_io_concurrency").limiter
    _forget_limiters_in_child()  # what os.register_at_fork runs in a child
    assert resource.limiter is not before
    assert resource.limiter.total_tokens == 3
    assert ts.Context().get_resource("file_io_concurrency").limiter is not shared_before


def test_resources_pickle_without_their_limiter() -> None:
    context = ts.Context(
        {"data_copy_concurrency": {"limit": 4}, "cache_pool": {"total_bytes_limit": 9}}
    )
    copy = context.get_resource("data_copy_concurrency")
    copy.limiter
    restored_copy, restored_pool = pickle.loads(pickle.dumps([copy, context["cache_pool"]]))
    assert isinstance(restored_copy, ConcurrencyResource)
    assert (restored_copy.provider, restored_copy.limit) == ("data_copy_concurrency", 4)
    assert restored_copy._limiter is None
    assert isinstance(restored_pool, CachePoolResource)
    assert restored_pool.total_bytes_limit == 9


def test_resource_repr_and_json() -> None:
    context = ts.Context(
        {
            "cache_pool": {"total_bytes_limit": 123456789012},
            "file_io_concurrency": {"limit": 3},
        }
    )
    assert repr(context["cache_pool"]) == "Context.Resource({'total_bytes_limit': 123456789012})"
    assert repr(context["file_io_concurrency"]) == "Context.Resource({'limit': 3})"
    assert context["data_copy_concurrency"].to_json(include_defaults=True) == {"limit": "shared"}
    assert context["cache_pool"] == context["cache_pool"]
    assert context["cache_pool"] != ts.Context(context.spec)["cache_pool"]


def test_memory_store_resource_keys_a_weak_dictionary() -> None:
    import gc
    import weakref

    storage: weakref.WeakKeyDictionary[MemoryKeyValueStoreResource, dict[str, bytes]] = (
        weakref.WeakKeyDictionary()
    )
    context = ts.Context({"memory_key_value_store#a": {}})
    resource = context.get_resource("memory_key_value_store", "memory_key_value_store#a")
    storage[resource] = {"k": b"v"}
    assert storage[context["memory_key_value_store#a"]] == {"k": b"v"}  # type: ignore[index]
    del context, resource
    gc.collect()
    assert len(storage) == 0


def test_file_io_sync_resource() -> None:
    import tensorstore as real_ts

    context = ts.Context({"file_io_sync#off": False})
    default = context.get_resource("file_io_sync")
    off = context.get_resource("file_io_sync", "file_io_sync#off")
    assert isinstance(off, FileIoSyncResource)
    assert (default.value, off.value) == (True, False)
    assert context.get_resource("file_io_sync", False).value is False
    assert repr(off) == repr(real_ts.Context({"file_io_sync#off": False})["file_io_sync#off"])
    assert default.to_json(include_defaults=True) is True
    assert default.to_json() == real_ts.Context()["file_io_sync"].to_json()
