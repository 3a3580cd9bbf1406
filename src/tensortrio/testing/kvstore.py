"""``KvStoreTests``: the conformance suite every kvstore driver's tests subclass.

A driver's test module subclasses it and provides three things::

    class TestMemoryKvStore(KvStoreTests):
        @pytest.fixture
        def spec(self) -> Any:            # a fresh, empty store
            return {"driver": "memory"}

        def set_raw(self, store, key, value): ...   # bypass the store
        def get_raw(self, store, key): ...          # bypass the store

Class attributes declare optional capabilities: ``atomic_commit`` (several
keys all-or-nothing), ``shared_across_processes`` (separate processes opening
the same spec see the same data), ``has_url`` (the spec has a URL form),
``content_generations`` (a generation names the bytes stored, as S3's MD5
ETags do: writing the same bytes again keeps it).
"""

from __future__ import annotations

import abc
import asyncio
import pickle
import re
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..drivers.kvstore import KeyRange, KvStore, KvStoreSpec, ReadResult
from ..drivers.kvstore.spec import join_path_component
from ..errors import FailedPreconditionError, InvalidArgumentError, UnimplementedError
from ..runtime import get_runtime

if TYPE_CHECKING:
    from ..runtime import Future

__all__ = ["COUNTER_WORKER", "KvStoreTests", "run_counter_processes"]

#: A process incrementing a counter key with if_equal read-modify-write loops.
#: argv: spec JSON, key, increments. Prints the number of lost races.
COUNTER_WORKER = """
import json, sys
import tensortrio as ts
kv = ts.KvStore.open(json.loads(sys.argv[1])).result()
key, n, retries = sys.argv[2], int(sys.argv[3]), 0
for _ in range(n):
    while True:
        r = kv.read(key).result()
        count = int(r.value) if r.state == "value" else 0
        stamp = kv.write(key, b"%d" % (count + 1), if_equal=r.stamp.generation).result()
        if stamp.generation:
            break
        retries += 1
print(retries)
"""


def run_counter_processes(spec_json: str, key: str, processes: int, increments: int) -> list[int]:
    """Run ``processes`` COUNTER_WORKERs at once; return each one's count of lost races."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", COUNTER_WORKER, spec_json, key, str(increments)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(processes)
    ]
    retries = []
    for worker in workers:
        out, err = worker.communicate(timeout=110)
        assert worker.returncode == 0, err.decode()
        retries.append(int(out))
    return retries


def _run_on_runtime(fn: Any, *args: Any) -> Any:
    """Run ``fn(*args)`` (async) on the runtime thread and return its result."""
    return get_runtime().submit(fn, *args).result(timeout=60)


class KvStoreTests(abc.ABC):
    """Behaviour every kvstore driver must have; subclass per driver."""

    atomic_commit: ClassVar[bool] = False
    shared_across_processes: ClassVar[bool] = False
    has_url: ClassVar[bool] = True
    content_generations: ClassVar[bool] = False

    @abc.abstractmethod
    def spec(self, *args: Any, **kwargs: Any) -> Any:
        """Fixture: the JSON spec (or URL) of a fresh, empty store."""

    @abc.abstractmethod
    def set_raw(self, store: KvStore, key: bytes, value: bytes) -> None:
        """Store ``value`` under ``key`` without using the store's methods."""

    @abc.abstractmethod
    def get_raw(self, store: KvStore, key: bytes) -> bytes | None:
        """The value under ``key`` (None if missing), without using the store's methods."""

    @pytest.fixture
    def store(self, spec: Any) -> KvStore:
        return KvStore.open(spec).result(timeout=30)

    # --- reading and writing

    def test_read_missing(self, store: KvStore) -> None:
        result = store.read(b"missing").result()
        assert result.state == "missing"
        assert result.value == b""
        assert result.stamp.generation == b"\x02"

    @pytest.mark.parametrize("key", [b"a", "c/0", b"foo/c/0.0", "zarr.json", "ü/ß", "with space"])
    @pytest.mark.parametrize("data", [b"\x01\x02\x03\x04", b"", bytes(range(256)) * 40])
    def test_write_then_read(self, store: KvStore, key: str | bytes, data: bytes) -> None:
        stamp = store.write(key, data).result()
        assert stamp.generation not in (b"", b"\x02")
        result = store.read(key).result()
        assert result == ReadResult("value", data, result.stamp)
        assert result.stamp.generation == stamp.generation
        raw_key = key.encode() if isinstance(key, str) else key
        assert self.get_raw(store, raw_key) == data

    def test_read_sees_raw_value(self, store: KvStore) -> None:
        self.set_raw(store, b"c/0", b"raw")
        assert store[b"c/0"] == b"raw"

    def test_str_and_bytes_keys_are_the_same(self, store: KvStore) -> None:
        store["k/ü"] = "text"
        assert store["k/ü".encode()] == b"text"

    def test_generation_changes_on_every_write(self, store: KvStore) -> None:
        if self.content_generations:
            generations = {store.write("k", b"%d" % i).result().generation for i in range(20)}
            assert len(generations) == 20
            again = store.write("k", b"0").result().generation
            assert again == store.write("other", b"0").result().generation
            return
        generations = {store.write("k", b"same").result().generation for _ in range(20)}
        assert len(generations) == 20

    def test_stamp_time_brackets_the_operation(self, store: KvStore) -> None:
        before = time.time()
        stamp = store.write("k", b"v").result()
        result = store.read("k").result()
        after = time.time()
        assert before - 1 <= stamp.time <= after
        assert stamp.time <= result.stamp.time <= after

    def test_delete(self, store: KvStore) -> None:
        store["k"] = b"v"
        stamp = store.write("k", None).result()
        assert stamp.generation == b"\x02"
        assert store.read("k").result().state == "missing"
        assert self.get_raw(store, b"k") is None

    def test_delete_missing_succeeds(self, store: KvStore) -> None:
        assert store.write("never", None).result().generation == b"\x02"
        del store["never"]

    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[
            # One store per test, fresh directory per example: nothing leaks between them.
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            # Each driver subclass runs this same method on its own store.
            HealthCheck.differing_executors,
        ],
    )
    @given(
        steps=st.lists(
            st.tuples(
                st.sampled_from(["write", "delete", "cond_write", "stale_write", "read", "list"]),
                st.sampled_from([b"a", b"b", b"d/c"]),
                st.binary(max_size=8),
            ),
            max_size=12,
        )
    )
    def test_behaves_like_a_dict_with_generations(
        self, store: KvStore, steps: list[tuple[str, bytes, bytes]]
    ) -> None:
        # Each example gets a directory of its own under the store.
        self._examples = getattr(self, "_examples", 0) + 1
        sub = store / f"example{self._examples}/"
        model: dict[bytes, bytes] = {}
        generations: dict[bytes, bytes] = {}
        for action, key, value in steps:
            known = generations.get(key, b"\x02")
            if action == "write":
                generations[key] = sub.write(key, value).result().generation
                model[key] = value
            elif action == "delete":
                assert sub.write(key, None).result().generation == b"\x02"
                model.pop(key, None)
                generations.pop(key, None)
            elif action == "cond_write":
                stamp = sub.write(key, value, if_equal=known).result()
                assert stamp.generation != b""
                if not (self.content_generations and model.get(key) == value):
                    assert stamp.generation != known
                generations[key] = stamp.generation
                model[key] = value
            elif action == "stale_write":
                stale = b"\x00stale" if key in model else b"\x00missing"
                assert sub.write(key, value, if_equal=stale).result().generation == b""
            elif action == "read":
                result = sub.read(key).result()
                if key in model:
                    assert (result.state, result.value) == ("value", model[key])
                    assert result.stamp.generation == generations[key]
                else:
                    assert result.state == "missing"
            else:
                assert sub.list().result() == sorted(model)

    # --- conditions

    def test_if_equal_no_value_writes_only_if_missing(self, store: KvStore) -> None:
        first = store.write("k", b"1", if_equal=b"\x02").result()
        assert first.generation not in (b"", b"\x02")
        second = store.write("k", b"2", if_equal=b"\x02").result()
        assert second.generation == b""
        assert store["k"] == b"1"

    def test_if_equal_matching_generation_writes(self, store: KvStore) -> None:
        first = store.write("k", b"1").result()
        second = store.write("k", b"2", if_equal=first.generation).result()
        assert second.generation not in (b"", first.generation)
        assert store["k"] == b"2"

    def test_if_equal_stale_generation_changes_nothing(self, store: KvStore) -> None:
        first = store.write("k", b"1").result()
        store["k"] = b"2"
        failed = store.write("k", b"3", if_equal=first.generation).result()
        assert failed.generation == b""
        assert store["k"] == b"2"

    def test_conditional_delete(self, store: KvStore) -> None:
        stamp = store.write("k", b"1").result()
        assert store.write("k", None, if_equal=b"\x00nope").result().generation == b""
        assert store["k"] == b"1"
        assert store.write("k", None, if_equal=stamp.generation).result().generation == b"\x02"
        assert "k" not in store

    def test_if_not_equal(self, store: KvStore) -> None:
        stamp = store.write("k", b"1").result()
        same = store.read("k", if_not_equal=stamp.generation).result()
        assert same.state == "unspecified"
        assert same.stamp.generation == stamp.generation
        assert store.read("k", if_not_equal=b"\x00other").result().value == b"1"
        assert store.read("missing", if_not_equal=b"\x02").result().state == "missing"

    # --- byte ranges

    @pytest.mark.parametrize(
        ("byte_range", "expected"),
        [
            (slice(1, 3), b"el"),
            (slice(None, 2), b"he"),
            (slice(2, None), b"llo"),
            (slice(-2, None), b"lo"),
            (slice(5, None), b""),
            (slice(0, 0), b""),
            (slice(5, 5), b""),
            (None, b"hello"),
        ],
    )
    def test_byte_range(self, store: KvStore, byte_range: slice | None, expected: bytes) -> None:
        store["k"] = b"hello"
        assert store.read("k", byte_range=byte_range).result().value == expected

    @pytest.mark.parametrize(
        ("byte_range", "shown"), [(slice(2, 100), "2, 100"), (slice(6, None), "6, ?")]
    )
    def test_byte_range_out_of_range(self, store: KvStore, byte_range: slice, shown: str) -> None:
        store["k"] = b"hello"
        message = rf"^kvstore: requested byte range \[{re.escape(shown)}\) is not valid for value of size 5 of key b'.*k'$"
        with pytest.raises(InvalidArgumentError, match=message):
            store.read("k", byte_range=byte_range).result()

    @pytest.mark.parametrize(
        ("byte_range", "shown"),
        [(slice(3, 2), "3:2"), (slice(-2, 4), "-2:4"), (slice(1, -1), "1:-1")],
    )
    def test_byte_range_unsupported_slice(
        self, store: KvStore, byte_range: slice, shown: str
    ) -> None:
        with pytest.raises(
            InvalidArgumentError, match=rf"^KvStore.read: unsupported 'byte_range' slice {shown}$"
        ):
            store.read("k", byte_range=byte_range).result()

    def test_byte_range_of_missing_key(self, store: KvStore) -> None:
        assert store.read("missing", byte_range=slice(1, 3)).result().state == "missing"

    # --- synchronous mapping interface

    def test_getitem_missing_raises_key_error(self, store: KvStore) -> None:
        with pytest.raises(KeyError, match=r"^kvstore: key b'nope' not found"):
            store["nope"]

    def test_setitem_none_deletes(self, store: KvStore) -> None:
        store["k"] = b"v"
        assert "k" in store
        store["k"] = None
        assert "k" not in store

    def test_delitem(self, store: KvStore) -> None:
        store["k"] = b"v"
        del store["k"]
        with pytest.raises(KeyError):
            store["k"]

    def test_bad_key_type(self, store: KvStore) -> None:
        with pytest.raises(TypeError, match=r"^kvstore: key must be str or bytes, got int: 5$"):
            store.read(5).result()  # type: ignore[arg-type]

    # --- listing and deleting ranges

    def _fill(self, store: KvStore) -> list[bytes]:
        keys = [b"a", b"b/c", b"b/d", b"b/e/f", b"ba", b"c"]
        futures = [store.write(k, k) for k in keys]
        for future in futures:
            future.result()
        return keys

    def test_list_everything_sorted(self, store: KvStore) -> None:
        keys = self._fill(store)
        assert store.list().result() == keys

    def test_list_range(self, store: KvStore) -> None:
        self._fill(store)
        assert store.list(KeyRange(b"b", b"c")).result() == [b"b/c", b"b/d", b"b/e/f", b"ba"]
        assert store.list(KeyRange.prefix(b"b/")).result() == [b"b/c", b"b/d", b"b/e/f"]
        assert store.list(KeyRange(inclusive_min=b"b/e")).result() == [b"b/e/f", b"ba", b"c"]
        assert store.list(KeyRange(b"x", b"a")).result() == []

    def test_list_strip_prefix_length(self, store: KvStore) -> None:
        self._fill(store)
        got = store.list(KeyRange.prefix(b"b/"), strip_prefix_length=2).result()
        assert got == [b"c", b"d", b"e/f"]

    def test_delete_range(self, store: KvStore) -> None:
        self._fill(store)
        store.delete_range(KeyRange(b"aa", b"bb")).result()
        assert store.list().result() == [b"a", b"c"]
        store.delete_range(KeyRange()).result()
        assert store.list().result() == []

    def test_delete_empty_range_does_nothing(self, store: KvStore) -> None:
        keys = self._fill(store)
        store.delete_range(KeyRange(b"c", b"a")).result()
        assert store.list().result() == keys

    def test_range_type_checked(self, store: KvStore) -> None:
        with pytest.raises(TypeError, match=r"^KvStore.list: 'range' must be a KvStore.KeyRange"):
            store.list("a").result()  # type: ignore[arg-type]

    # --- paths

    def test_truediv_joins_a_path_component(self, store: KvStore) -> None:
        assert (store / "sub").path == join_path_component(store.path, "sub")
        sub2 = store / "sub/"
        sub2["a"] = b"1"
        assert store["sub/a"] == b"1"
        assert sub2.list().result() == [b"a"]
        assert store.list().result() == [b"sub/a"]

    def test_add_appends_without_separator(self, store: KvStore) -> None:
        prefixed = store + "p_"
        prefixed["x"] = b"1"
        assert store["p_x"] == b"1"
        assert prefixed.path == store.path + "p_"

    def test_path_setter(self, store: KvStore) -> None:
        copy = store.copy()
        copy.path = store.path + "d/"
        copy["x"] = b"1"
        assert store["d/x"] == b"1"
        assert copy.spec().path == store.path + "d/"

    # --- spec, url, pickling

    def test_spec_json_round_trip(self, store: KvStore) -> None:
        spec = store.spec()
        assert isinstance(spec, KvStoreSpec)
        assert KvStoreSpec(spec.to_json()) == spec
        assert KvStoreSpec(spec.to_json(include_defaults=True)) == spec
        assert repr(spec).startswith("KvStore.Spec({")

    def test_url_round_trip(self, store: KvStore) -> None:
        if not self.has_url:
            pytest.skip("this store has no URL form")
        assert KvStoreSpec(store.url).to_json() == store.spec().to_json()

    def test_spec_pickles(self, store: KvStore) -> None:
        spec = store.spec()
        assert pickle.loads(pickle.dumps(spec)) == spec

    def test_store_pickles_through_its_spec(self, store: KvStore) -> None:
        store["k"] = b"v"
        clone = pickle.loads(pickle.dumps(store))
        assert isinstance(clone, KvStore)
        assert clone.spec() == store.spec()
        assert repr(clone) == repr(store)
        if self.shared_across_processes:
            assert clone["k"] == b"v"

    def test_transaction_is_none(self, store: KvStore) -> None:
        assert store.transaction is None
        assert store.base is None

    # --- concurrency

    def test_reads_of_one_key_waiting_together_are_coalesced(self, store: KvStore) -> None:
        store["k"] = b"value"
        before = store.statistics()

        async def burst() -> list[ReadResult]:
            # Submitted from the runtime thread without a checkpoint, so all
            # 50 wait in the actor's intake together.
            futures = [store.read("k") for _ in range(50)]
            return [await f for f in futures]

        results = _run_on_runtime(burst)
        assert {r.value for r in results} == {b"value"}
        after = store.statistics()
        assert after.reads - before.reads == 50
        assert after.io_reads - before.io_reads == 1
        assert after.coalesced_reads - before.coalesced_reads == 49

    def test_byte_ranges_of_one_key_share_one_io(self, store: KvStore) -> None:
        store["k"] = b"0123456789"
        before = store.statistics()

        async def burst() -> list[bytes]:
            ranges = [slice(0, 2), slice(4, 6), slice(-3, None), None]
            futures = [store.read("k", byte_range=r) for r in ranges]
            return [(await f).value for f in futures]

        assert _run_on_runtime(burst) == [b"01", b"45", b"789", b"0123456789"]
        assert store.statistics().io_reads - before.io_reads == 1

    def test_writes_to_one_key_apply_in_submission_order(self, store: KvStore) -> None:
        futures = [store.write("k", b"%d" % i) for i in range(100)]
        generations = [f.result().generation for f in futures]
        assert len(set(generations)) == 100
        assert store["k"] == b"99"

    def test_small_operations_are_batched(self, store: KvStore) -> None:
        before = store.statistics()

        async def burst() -> None:
            futures = [store.write(b"k%d" % i, b"v") for i in range(64)]
            for f in futures:
                await f

        _run_on_runtime(burst)
        after = store.statistics()
        assert after.writes - before.writes == 64
        assert after.batches - before.batches < 64

    def test_cancelled_read_is_dropped(self, store: KvStore) -> None:
        before = store.statistics()

        async def burst() -> bool:
            future = store.read("k")
            cancelled = future.cancel()
            await store.write("other", b"v")
            return cancelled

        assert _run_on_runtime(burst)
        after = store.statistics()
        assert after.cancelled - before.cancelled == 1
        assert after.io_reads == before.io_reads

    def test_read_modify_write_from_threads_loses_nothing(self, store: KvStore) -> None:
        def worker() -> None:
            for _ in range(25):
                while True:
                    r = store.read("n").result()
                    count = int(r.value) if r.state == "value" else 0
                    stamp = store.write("n", b"%d" % (count + 1), if_equal=r.stamp.generation)
                    if stamp.result().generation:
                        break

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert store["n"] == b"100"

    def test_read_modify_write_from_processes_loses_nothing(self, spec: Any) -> None:
        if not self.shared_across_processes:
            pytest.skip("separate processes do not share this store")
        import json

        retries = run_counter_processes(json.dumps(KvStoreSpec(spec).to_json()), "n", 4, 25)
        store = KvStore.open(spec).result()
        assert store["n"] == b"100"
        assert all(r >= 0 for r in retries)

    async def test_await_from_trio(self, store: KvStore) -> None:
        await store.write("k", b"trio")
        result: ReadResult = await store.read("k")
        assert result.value == b"trio"
        assert await store.list() == [b"k"]
        with trio.fail_after(10):
            assert (await store.read("missing")).state == "missing"

    def test_await_from_asyncio(self, store: KvStore) -> None:
        async def main() -> bytes:
            await store.write("k", b"asyncio")
            return (await store.read("k")).value

        assert asyncio.run(main()) == b"asyncio"

    # --- atomic multi-key commits

    def test_commit_atomic(self, store: KvStore) -> None:
        stamp = store.write("a", b"1").result()
        future: Future[Any] = store.commit_atomic(
            [("a", b"2", stamp.generation), ("b", b"x", b"\x02")]
        )
        if not self.atomic_commit:
            with pytest.raises(UnimplementedError, match=r"cannot commit writes to several keys"):
                future.result()
            return
        stamps = future.result()
        assert len(stamps) == 2
        assert (store["a"], store["b"]) == (b"2", b"x")

    def test_commit_atomic_is_all_or_nothing(self, store: KvStore) -> None:
        if not self.atomic_commit:
            pytest.skip("the driver has no atomic multi-key commit")
        store["a"] = b"1"
        future = store.commit_atomic([("a", b"2", None), ("b", b"x", b"\x00stale")])
        with pytest.raises(FailedPreconditionError, match=r"generation mismatch for b'.*b'"):
            future.result()
        assert store["a"] == b"1"
        assert "b" not in store
