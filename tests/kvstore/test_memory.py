"""The memory driver: conformance suite plus what is specific to memory stores."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

import tensortrio as ts
from tensortrio.drivers.kvstore.memory import MemoryDriver
from tensortrio.testing import KvStoreTests


def _storage(store: ts.KvStore) -> Any:
    driver = store._driver
    assert isinstance(driver, MemoryDriver)
    return driver.storage


class TestMemoryKvStore(KvStoreTests):
    atomic_commit: ClassVar[bool] = True

    @pytest.fixture
    def spec(self) -> Any:
        return {"driver": "memory"}

    def set_raw(self, store: ts.KvStore, key: bytes, value: bytes) -> None:
        from tensortrio.drivers.kvstore.operations import WriteRequest

        _storage(store).write(WriteRequest(store.path.encode() + key, value))

    def get_raw(self, store: ts.KvStore, key: bytes) -> bytes | None:
        entry = _storage(store)._values.get(store.path.encode() + key)
        return None if entry is None else entry[0]


def test_repr_and_url() -> None:
    store = ts.KvStore.open({"driver": "memory", "path": "abc/"}).result()
    assert repr(store) == (
        "KvStore({'context': {'memory_key_value_store': {}}, 'driver': 'memory', 'path': 'abc/'})"
    )
    assert store.url == "memory://abc/"
    assert store.spec() == ts.KvStore.Spec({"driver": "memory", "path": "abc/"})


def test_stores_sharing_a_context_share_data() -> None:
    context = ts.Context()
    a = ts.KvStore.open("memory://", context=context).result()
    b = ts.KvStore.open("memory://x/", context=context).result()
    a["x/k"] = b"shared"
    assert b["k"] == b"shared"
    other = ts.KvStore.open("memory://").result()
    assert "x/k" not in other


def test_named_resource_selects_storage() -> None:
    context = ts.Context({"memory_key_value_store#a": {}})
    spec = {"driver": "memory", "memory_key_value_store": "memory_key_value_store#a"}
    a = ts.KvStore.open(spec, context=context).result()
    b = ts.KvStore.open(spec, context=context).result()
    default = ts.KvStore.open({"driver": "memory"}, context=context).result()
    a["k"] = b"v"
    assert b["k"] == b"v"
    assert "k" not in default


def test_generations_match_tensorstore_encoding() -> None:
    store = ts.KvStore.open("memory://").result()
    assert store.write("a", b"v").result().generation == b"\x00" + (0).to_bytes(8, "little")
    assert store.write("a", b"v").result().generation == b"\x00" + (1).to_bytes(8, "little")


def test_non_atomic_store_refuses_multi_key_commit() -> None:
    store = ts.KvStore.open({"driver": "memory", "atomic": False}).result()
    with pytest.raises(
        ts.UnimplementedError,
        match=r"^memory: cannot commit writes to several keys atomically \(b'a', b'b'\): "
        r"the store was opened with 'atomic': false$",
    ):
        store.commit_atomic([("a", b"1", None), ("b", b"2", None)]).result()


def test_not_iterable() -> None:
    store = ts.KvStore.open("memory://").result()
    with pytest.raises(TypeError, match=r"^'KvStore' object is not iterable$"):
        iter(store)  # type: ignore[call-overload]
