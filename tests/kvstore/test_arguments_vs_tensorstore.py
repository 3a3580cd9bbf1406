"""Bad arguments to KvStore, URLs, Context and Schema: refused as tensorstore refuses them."""

from __future__ import annotations

from typing import Any

import pytest

import tensortrio as tt

tensorstore = pytest.importorskip("tensorstore")

BOTH = pytest.mark.parametrize("lib", [tt, tensorstore], ids=["tensortrio", "tensorstore"])


@BOTH
@pytest.mark.parametrize("strip", [-1, 1.5, 2**70])
def test_list_takes_a_non_negative_integer_strip_prefix_length(lib: Any, strip: Any) -> None:
    kv = lib.KvStore.open("memory://").result(timeout=30)
    kv["ab"] = b"1"
    # tensorstore raises at the call; tensortrio fails the future, as for its other arguments.
    with pytest.raises(TypeError):
        kv.list(strip_prefix_length=strip).result(timeout=30)
    assert kv.list(strip_prefix_length=True).result(timeout=30) == [b"b"]


@BOTH
@pytest.mark.parametrize("byte_range", [slice(0.5, 1), slice(2**63, None), slice(0, 2**64), slice("a", 3)])
def test_byte_range_bounds_are_64_bit_integers(lib: Any, byte_range: slice) -> None:
    kv = lib.KvStore.open("memory://").result(timeout=30)
    kv["k"] = b"123"
    with pytest.raises(TypeError):
        kv.read("k", byte_range=byte_range).result(timeout=30)
    assert kv.read("k", byte_range=slice(1, 2)).result(timeout=30).value == b"2"


@BOTH
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("memory://%zz|zarr3:", r"percent-encoding"),
        ("memory://a%/|zarr3:", r"percent-encoding"),
        ("memory://|zarr3:?x=1", r"Query string not supported"),
    ],
)
def test_malformed_urls_are_refused(lib: Any, url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lib.Spec(url)


@BOTH
def test_a_percent_encoded_path_is_decoded(lib: Any) -> None:
    assert lib.Spec("memory://%41/|zarr3:").kvstore.path == "A/"


@BOTH
@pytest.mark.parametrize("make", [lambda lib: lib.Context(None), lambda lib: lib.Schema(None)])
def test_null_json_is_refused(lib: Any, make: Any) -> None:
    with pytest.raises(ValueError, match=r"^Expected object, but received: null$"):
        make(lib)


@BOTH
def test_a_context_takes_its_json_by_keyword(lib: Any) -> None:
    context = lib.Context(json={"cache_pool": {"total_bytes_limit": 5}})
    assert context.spec.to_json() == {"cache_pool": {"total_bytes_limit": 5}}


@BOTH
def test_a_kvstore_opens_bound_to_a_transaction_and_stays_bound_until_the_commit(lib: Any) -> None:
    txn = lib.Transaction()
    kv = lib.KvStore.open("memory://", transaction=txn).result(timeout=30)
    assert kv.transaction is txn
    for other in (lib.Transaction(), txn, None):
        with pytest.raises(ValueError, match=r"^Cannot rebind transaction when existing transaction is uncommitted$"):
            kv.with_transaction(other)
    txn.commit_sync()
    assert kv.with_transaction(None).transaction is None
