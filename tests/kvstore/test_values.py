"""KvStore.KeyRange, TimestampedStorageGeneration, ReadResult and byte ranges, against TensorStore."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
import tensorstore
from hypothesis import given
from hypothesis import strategies as st

import tensortrio as ts
from tensortrio.drivers.kvstore.byte_range import ByteRangeRequest
from tensortrio.drivers.kvstore.key_range import KeyRange, prefix_exclusive_max

small_keys = st.lists(st.sampled_from([b"a", b"b", b"/", b"\xff", b"\x00"]), max_size=5).map(
    b"".join
)


def test_key_range_matches_tensorstore() -> None:
    for lo, hi in [(b"a", b"b"), (b"", b""), ("x", "y"), (b"y", b"x")]:
        ours, theirs = ts.KvStore.KeyRange(lo, hi), tensorstore.KvStore.KeyRange(lo, hi)
        assert repr(ours) == repr(theirs)
        assert ours.empty == theirs.empty
        assert (ours.inclusive_min, ours.exclusive_max) == (
            theirs.inclusive_min,
            theirs.exclusive_max,
        )
    assert ts.KvStore.KeyRange() == ts.KvStore.KeyRange(b"", b"")
    r = ts.KvStore.KeyRange(b"a", b"b")
    assert r.copy() == r
    assert copy.deepcopy(r) == r
    assert pickle.loads(pickle.dumps(r)) == r


def test_key_range_refuses_non_keys() -> None:
    with pytest.raises(TypeError, match=r"^kvstore: key must be str or bytes, got int: 1$"):
        ts.KvStore.KeyRange(1, b"")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("prefix", "upper"),
    [(b"a", b"b"), (b"a\xff", b"b"), (b"\xff\xff", b""), (b"", b""), (b"ab/", b"ab0")],
)
def test_prefix_exclusive_max(prefix: bytes, upper: bytes) -> None:
    assert prefix_exclusive_max(prefix) == upper


@given(lo=small_keys, hi=small_keys, key=small_keys)
def test_key_range_predicates_agree_with_brute_force(lo: bytes, hi: bytes, key: bytes) -> None:
    r = KeyRange(lo, hi)
    assert r.contains(key) == (lo <= key and (not hi or key < hi))
    prefix = r.longest_prefix()
    # Every key of the range starts with its longest prefix.
    if r.contains(key):
        assert key.startswith(prefix)
    # Prefix predicates checked on the key's own extensions.
    extensions = [key + s for s in (b"", b"\x00", b"a", b"\xff", b"\xff\xff")]
    if r.contains_prefix(key):
        assert all(r.contains(e) for e in extensions)
    if any(r.contains(e) for e in extensions):
        assert r.intersects_prefix(key)


@given(prefix=small_keys, lo=small_keys, hi=small_keys, key=small_keys)
def test_with_prefix_shifts_the_range(prefix: bytes, lo: bytes, hi: bytes, key: bytes) -> None:
    shifted = KeyRange(lo, hi).with_prefix(prefix)
    assert shifted.contains(prefix + key) == KeyRange(lo, hi).contains(key)


def test_timestamped_storage_generation_matches_tensorstore() -> None:
    for args in [(b"abc", 5.0), (), (b"\x00\x01", 1795258821.565471)]:
        ours = ts.KvStore.TimestampedStorageGeneration(*args)
        theirs = tensorstore.KvStore.TimestampedStorageGeneration(*args)
        assert repr(ours) == repr(theirs)
        assert (ours.generation, ours.time) == (theirs.generation, theirs.time)
    assert ts.KvStore.TimestampedStorageGeneration().time == -math.inf
    stamp = ts.KvStore.TimestampedStorageGeneration(b"g", 1.0)
    assert stamp == ts.KvStore.TimestampedStorageGeneration("g", 1)
    assert pickle.loads(pickle.dumps(stamp)) == stamp


def test_read_result_matches_tensorstore() -> None:
    stamp = (b"\x00g", 2.5)
    ours = ts.KvStore.ReadResult("value", b"v", ts.KvStore.TimestampedStorageGeneration(*stamp))
    theirs = tensorstore.KvStore.ReadResult(
        "value", b"v", tensorstore.KvStore.TimestampedStorageGeneration(*stamp)
    )
    assert repr(ours) == repr(theirs)
    assert repr(ts.KvStore.ReadResult()) == repr(tensorstore.KvStore.ReadResult())
    assert pickle.loads(pickle.dumps(ours)) == ours


def test_read_result_state_is_checked() -> None:
    with pytest.raises(
        ValueError,
        match=r"^KvStore.ReadResult: 'state' must be one of 'unspecified', 'missing', 'value', got 'ok'$",
    ):
        ts.KvStore.ReadResult("ok")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("byte_range", "size", "expected"),
    [
        (slice(1, 3), 5, (1, 3)),
        (slice(None, 2), 5, (0, 2)),
        (slice(2, None), 5, (2, 5)),
        (slice(-2, None), 5, (3, 5)),
        (slice(5, None), 5, (5, 5)),
        (None, 5, (0, 5)),
    ],
)
def test_byte_range_resolve(byte_range: slice | None, size: int, expected: tuple[int, int]) -> None:
    assert ByteRangeRequest.from_slice(byte_range).resolve(size, b"k") == expected


def test_byte_range_step_refused() -> None:
    with pytest.raises(
        ts.InvalidArgumentError,
        match=r"^KvStore.read: 'byte_range' slice must not have a step, got slice\(None, None, 2\)$",
    ):
        ByteRangeRequest.from_slice(slice(None, None, 2))


def test_a_bad_value_is_named_as_the_value_and_numpy_integers_strip_prefixes() -> None:
    kv = ts.KvStore.open({"driver": "memory"}).result()
    with pytest.raises(TypeError, match=r"^kvstore: value must be str or bytes, got int: 5$"):
        kv.write("a", 5).result()  # type: ignore[arg-type]
    kv["ab"] = b"1"
    assert kv.list(strip_prefix_length=np.int64(1)).result() == [b"b"]
