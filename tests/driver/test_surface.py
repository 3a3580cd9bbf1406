"""TensorStore properties, spec()/repr and pickling, compared with tensorstore 0.1.86."""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tensorstore

import tensortrio as ts

if TYPE_CHECKING:
    from collections.abc import Callable

SPEC = {"driver": "zarr", "kvstore": {"driver": "memory", "path": "p/"}}
OPTIONS: dict[str, dict[str, Any]] = {
    "plain": {"shape": [30, 40], "dtype": "int16"},
    "fill_order": {
        "shape": [5, 6, 7],
        "dtype": "float32",
        "fill_value": 1.5,
        "chunk_layout": {"inner_order": [2, 1, 0], "chunk_shape": [2, 3, 4]},
    },
    "metadata": {
        "shape": [9],
        "metadata": {"dtype": ">u8", "compressor": None, "dimension_separator": "/"},
    },
}


def _open_both(name: str) -> tuple[ts.TensorStore, Any]:
    options = dict(OPTIONS[name])
    spec = dict(SPEC)
    if "metadata" in options:
        spec["metadata"] = options.pop("metadata")
    ours_kw: dict[str, Any] = {}
    theirs_kw: dict[str, Any] = {}
    for key, value in options.items():
        if key == "dtype":
            ours_kw[key], theirs_kw[key] = ts.dtype(value), tensorstore.dtype(value)
        elif key == "chunk_layout":
            ours_kw[key] = ts.ChunkLayout(**value)
            theirs_kw[key] = tensorstore.ChunkLayout(**value)
        else:
            ours_kw[key] = theirs_kw[key] = value
    ours = ts.open(spec, create=True, **ours_kw).result()
    theirs = tensorstore.open(spec, create=True, **theirs_kw).result()
    return ours, theirs


VIEWS: list[Callable[[Any], Any]] = [
    lambda s: s,
    lambda s: s[1:3],
    lambda s: s[..., 2],
    lambda s: s.T,
    lambda s: s[::-2],
    lambda s: s[1::3, ..., ::-4] if s.rank > 1 else s[1::3],
    lambda s: s.oindex[[0, 2]],
    lambda s: s.translate_to[(5,) * s.rank],
]
ACCESSORS: dict[str, Callable[[Any], Any]] = {
    "repr": repr,
    "spec": lambda s: s.spec().to_json(),
    "minimal": lambda s: s.spec(minimal_spec=True).to_json(),
    "unbind": lambda s: s.spec(unbind_context=True).to_json(),
    "open_mode": lambda s: s.spec(open=True, create=True, recheck_cached=False).to_json(),
    "domain": lambda s: str(s.domain),
    "shape": lambda s: (s.shape, s.origin, s.rank, s.ndim, s.size),
    "dtype": lambda s: s.dtype.name,
    "mode": lambda s: (s.mode, s.readable, s.writable, s.transaction, s.base),
    "fill_value": lambda s: None if s.fill_value is None else s.fill_value.tolist(),
    "codec": lambda s: s.codec.to_json(),
    "units": lambda s: s.dimension_units,
    "kvstore": lambda s: repr(s.kvstore),
    "schema": lambda s: s.schema.to_json(),
    "chunk_layout": lambda s: s.chunk_layout.to_json(),
}


@pytest.mark.parametrize("name", list(OPTIONS))
def test_matches_tensorstore(name: str) -> None:
    ours, theirs = _open_both(name)
    for v, view in enumerate(VIEWS):
        for what, get in ACCESSORS.items():
            assert get(view(ours)) == get(view(theirs)), (v, what)


def test_url() -> None:
    ours, theirs = _open_both("plain")
    assert ours.url == theirs.url


async def test_pickle_memory_reopens_in_a_new_context() -> None:
    store = await ts.open(SPEC, create=True, dtype=ts.int32, shape=[4])
    await store.write(3)
    copy = pickle.loads(pickle.dumps(store))
    assert repr(copy) == repr(store)
    # As in TensorStore: the memory store of the pickled context is a new, empty one,
    # and the copy trusts the pickled metadata instead of re-reading it.
    assert await copy.kvstore.list() == []
    np.testing.assert_array_equal(await copy.read(), [0, 0, 0, 0])


def test_pickle_file_store_reads_same_data(tmp_path: Any) -> None:
    spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": f"{tmp_path}/a/"}}
    store = ts.open(spec, create=True, dtype=ts.float64, shape=[3, 4]).result()
    store[1:3, 2] = [1.5, 2.5]
    view = pickle.loads(pickle.dumps(store[1:, 2:]))
    assert view.domain == store[1:, 2:].domain
    np.testing.assert_array_equal(view.read().result(), [[1.5, 0.0], [2.5, 0.0]])
    reader = pickle.loads(pickle.dumps(ts.open(spec, read=True).result()))
    assert reader.mode == "r"


async def test_with_transaction() -> None:
    store = await ts.open(SPEC, create=True, dtype=ts.int32, shape=[4])
    assert store.with_transaction(None) is store
    with pytest.raises(
        TypeError,
        match=r"^TensorStore\.with_transaction: transaction must be a ts\.Transaction or None, "
        r"got int$",
    ):
        store.with_transaction(3)


async def test_resolve_keeps_implicit_bounds_unless_fixed() -> None:
    context = ts.Context()
    store = await ts.open(SPEC, context=context, create=True, dtype=ts.int32, shape=[4])
    other = await ts.open(SPEC, context=context)
    await other.resize(exclusive_max=[9])
    assert str((await store.resolve()).domain) == "{ [0, 9*) }"
    assert str((await store.resolve(fix_resizable_bounds=True)).domain) == "{ [0, 9) }"


async def test_retain_context_shares_resources() -> None:
    store = await ts.open(SPEC, create=True, dtype=ts.int32, shape=[3])
    await store.write([1, 2, 3])
    # Bound to the store's context: the same memory store, so the data is there.
    again = await ts.open(store.spec(retain_context=True))
    np.testing.assert_array_equal(await again.read(), [1, 2, 3])
    # Unbound: a new context, a new (empty) memory store.
    with pytest.raises(ValueError, match=r"does not exist"):
        await ts.open(store.spec(unbind_context=True))


def test_storage_statistics_matches_tensorstore() -> None:
    results = []
    for lib in (ts, tensorstore):
        store = lib.open(
            {"driver": "zarr", "kvstore": "memory://", "metadata": {"chunks": [2, 5]}},
            create=True,
            dtype=lib.int32,
            shape=[6, 10],
        ).result()
        store[0:2, 0:5].write(1).result()
        store[4, 7].write(1).result()
        views = [store, store[0:2, 0:5], store[2:4], store[1:3, 3:6], store[4:, 6:], store[::5, ::5]]
        results.append(
            [repr(v.storage_statistics().result()) for v in views[:1]]
            + [
                repr(v.storage_statistics(query_not_stored=q1, query_fully_stored=q2).result())
                for v in views
                for q1, q2 in ((True, False), (False, True), (True, True))
            ]
        )
    assert results[0] == results[1]


@pytest.mark.parametrize("lib", [ts, tensorstore], ids=["tensortrio", "tensorstore"])
def test_a_spec_bound_to_its_stores_context_shows_the_resources_it_uses(lib: Any) -> None:
    context = lib.Context({"cache_pool": {"total_bytes_limit": 1000}})
    store = lib.open(SPEC, create=True, dtype=lib.int16, shape=[4], context=context).result()
    store.write(np.arange(4, dtype=np.int16)).result()
    resources = {
        "cache_pool": {"total_bytes_limit": 1000},
        "data_copy_concurrency": {},
        "memory_key_value_store": {},
    }
    bound = store.spec(retain_context=True)
    assert bound.to_json()["context"] == resources
    assert lib.open(bound).result().read().result().tolist() == [0, 1, 2, 3]
    assert lib.cast(store, lib.float32).spec(retain_context=True).to_json()["context"] == resources
    assert lib.array(np.arange(3)).spec(retain_context=True).to_json()["context"] == {
        "data_copy_concurrency": {}
    }
    assert "context" not in store.spec().to_json()
    # Unbound, the resources are specs of new ones: a new, empty memory store.
    bound.update(unbind_context=True)
    assert bound.to_json()["context"] == resources
    with pytest.raises(ValueError, match=r"does not exist"):
        lib.open(bound).result()
    stripped = store.spec(retain_context=True)
    stripped.update(strip_context=True)
    assert "context" not in stripped.to_json()


@pytest.mark.parametrize(
    "spec",
    [
        {
            "cache_pool": {"total_bytes_limit": 1_000_000},
            "context": {"data_copy_concurrency": {"limit": 3}},
        },
        {"cache_pool": "cache_pool#a", "context": {"cache_pool#a": {"total_bytes_limit": 5}}},
        {"data_copy_concurrency": {"limit": 2}},
        {
            "kvstore": {"driver": "memory", "memory_key_value_store": "memory_key_value_store#m"},
            "context": {"memory_key_value_store#m": {}},
        },
    ],
    ids=["inline cache_pool", "named cache_pool", "inline data_copy_concurrency", "named memory store"],
)
def test_retain_context_shows_the_resource_members_as_tensorstore(spec: dict[str, Any]) -> None:
    # Shown as with unbind_context (inline members included), and still sharing the store's resources.
    outcomes = []
    for lib in (ts, tensorstore):
        store = lib.open(
            {"driver": "zarr", "kvstore": "memory://", **spec}, create=True, dtype=lib.int32, shape=[4]
        ).result()
        retained = store.spec(retain_context=True)
        store[1] = 5
        shared = lib.open(retained).result().read().result().tolist()
        outcomes.append((retained.to_json(), store.spec(unbind_context=True).to_json(), shared))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == outcomes[0][1]
