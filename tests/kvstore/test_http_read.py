"""Reading through the ``http`` kvstore from a real server on 127.0.0.1."""

from __future__ import annotations

import pickle
import re
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
import tensorstore

import tensortrio as ts
from tensortrio.errors import (
    AbortedError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    OutOfRangeError,
    PermissionDeniedError,
    UnavailableError,
    UnimplementedError,
    UnknownError,
)

if TYPE_CHECKING:
    from .http_server import ServedDirectory

VALUE = bytes(range(100))
FAST_RETRIES = {"max_retries": 2, "initial_delay": "1ms", "max_delay": "2ms"}


def open_store(served: ServedDirectory, path: str = "/", **members: Any) -> ts.KvStore:
    (served.root / "a").write_bytes(VALUE)
    spec = {"driver": "http", "base_url": served.url, "path": path, **members}
    return ts.KvStore.open(spec).result()


def _esc(url: str) -> str:
    return re.escape(url)


def test_reads_value_with_etag_generation(served: ServedDirectory) -> None:
    kv = open_store(served)
    before = time.time()
    result = kv.read("a").result()
    assert result.state == "value"
    assert result.value == VALUE
    assert result.stamp.generation == b"\x00" + served.etag_of(VALUE).strip('"').encode()
    assert before <= result.stamp.time <= time.time()
    (request,) = served.requests
    assert (request.method, request.path) == ("GET", "/a")
    assert request.headers["cache-control"] == "no-cache"
    assert "range" not in request.headers
    assert kv["a"] == VALUE


def test_missing_keys(served: ServedDirectory) -> None:
    kv = open_store(served)
    result = kv.read("nothing/here").result()
    assert (result.state, result.value, result.stamp.generation) == ("missing", b"", b"\x02")
    with pytest.raises(KeyError, match=r"nothing"):
        kv["nothing"]
    served.fail_next(1, 204)
    assert kv.read("a").result().state == "missing"


def test_keys_are_percent_encoded_under_the_path(served: ServedDirectory) -> None:
    (served.root / "d i r").mkdir()
    (served.root / "d i r" / "k@1").write_bytes(b"v")
    kv = open_store(served, "/d i r/")
    assert kv.read("k@1").result().value == b"v"
    assert served.requests[-1].path == "/d%20i%20r/k%401"
    assert (kv / "sub").url == f"{served.url}/d%20i%20r/sub"


@pytest.mark.parametrize(
    ("byte_range", "header", "expected"),
    [
        (slice(5, 10), "bytes=5-9", VALUE[5:10]),
        (slice(None, 10), "bytes=0-9", VALUE[:10]),
        (slice(5, None), "bytes=5-", VALUE[5:]),
        (slice(-5, None), "bytes=-5", VALUE[-5:]),
        (slice(0, 100), "bytes=0-99", VALUE),
        (slice(0, None), None, VALUE),
    ],
)
def test_byte_ranges_send_range_headers(
    served: ServedDirectory, byte_range: slice, header: str | None, expected: bytes
) -> None:
    kv = open_store(served)
    result = kv.read("a", byte_range=byte_range).result()
    assert result.value == expected
    assert result.stamp.generation.startswith(b"\x00")
    (request,) = served.requests
    assert request.headers.get("range") == header
    if header is not None:
        assert request.headers["accept-encoding"] == "identity"


def test_empty_byte_range_is_a_head_request(served: ServedDirectory) -> None:
    kv = open_store(served)
    result = kv.read("a", byte_range=slice(3, 3)).result()
    assert (result.state, result.value) == ("value", b"")
    assert result.stamp.generation == kv.read("a").result().stamp.generation
    assert served.requests[0].method == "HEAD"


def test_byte_ranges_beyond_the_value_fail_as_in_tensorstore(served: ServedDirectory) -> None:
    kv = open_store(served)
    url = _esc(f"{served.url}/a")
    with pytest.raises(
        OutOfRangeError,
        match=rf"^http: GET {url}: Requested Range Not Satisfiable \[HTTP code 416\]$",
    ):
        kv.read("a", byte_range=slice(100, None)).result()
    with pytest.raises(
        OutOfRangeError,
        match=rf"^http: {url}: Requested byte range \[90, 120\) was not satisfied by response "
        r"with byte range \[90, 100\) and total size 100$",
    ):
        kv.read("a", byte_range=slice(90, 120)).result()


def test_server_ignoring_ranges(served: ServedDirectory) -> None:
    kv = open_store(served)
    served.ignore_range = True
    url = _esc(f"{served.url}/a")
    with pytest.raises(
        FailedPreconditionError,
        match=rf"^http: {url}: Requested byte range \[5, 10\) was ignored by server$",
    ):
        kv.read("a", byte_range=slice(5, 10)).result()
    assert kv.read("a", byte_range=slice(0, 100)).result().value == VALUE
    with pytest.raises(
        OutOfRangeError,
        match=rf"^http: {url}: Requested byte range \[0, 200\) is not valid for value of size 100$",
    ):
        kv.read("a", byte_range=slice(0, 200)).result()


def test_if_not_equal_sends_if_none_match(served: ServedDirectory) -> None:
    kv = open_store(served)
    generation = kv.read("a").result().stamp.generation
    unchanged = kv.read("a", if_not_equal=generation).result()
    assert (unchanged.state, unchanged.value, unchanged.stamp.generation) == (
        "unspecified",
        b"",
        generation,
    )
    assert served.requests[-1].headers["if-none-match"] == '"' + generation[1:].decode() + '"'
    other = kv.read("a", if_not_equal=b"\x00other").result()
    assert other.value == VALUE
    assert served.requests[-1].headers["if-none-match"] == '"other"'
    # Generations that did not come from an ETag are not sent.
    assert kv.read("a", if_not_equal=b"\x02").result().value == VALUE
    assert "if-none-match" not in served.requests[-1].headers


def test_if_not_equal_without_server_support(served: ServedDirectory) -> None:
    kv = open_store(served)
    generation = kv.read("a").result().stamp.generation
    served.ignore_conditions = True
    assert kv.read("a", if_not_equal=generation).result().state == "unspecified"


@pytest.mark.parametrize("etag", ["weak", "none"])
def test_no_strong_etag_gives_the_invalid_generation(served: ServedDirectory, etag: str) -> None:
    kv = open_store(served)
    served.etag = etag
    result = kv.read("a").result()
    assert (result.value, result.stamp.generation) == (VALUE, b"\x10")
    # Which no condition matches: the value is read again.
    assert kv.read("a", if_not_equal=b"\x10").result().state == "unspecified"
    assert "if-none-match" not in served.requests[-1].headers


def test_staleness_bound_sets_cache_control(served: ServedDirectory) -> None:
    kv = open_store(served)
    kv.read("a", staleness_bound=time.time() - 100).result()
    assert re.fullmatch(r"max-age=1\d\d", served.requests[-1].headers["cache-control"])
    kv.read("a", staleness_bound=float("inf")).result()
    assert served.requests[-1].headers["cache-control"] == "no-cache"
    kv.read("a", staleness_bound=float("-inf")).result()
    assert "cache-control" not in served.requests[-1].headers


def test_stamp_time_from_date_header(served: ServedDirectory) -> None:
    kv = open_store(served)
    served.date = "Mon, 01 Jan 2024 00:00:00 GMT"
    assert kv.read("a", staleness_bound=1000.0).result().stamp.time == 1704067200.0
    # A date older than the bound asked for (clock skew) counts as the bound.
    bound = time.time() - 10
    assert kv.read("a", staleness_bound=bound).result().stamp.time == bound
    served.date = "yesterday"
    with pytest.raises(InvalidArgumentError, match=r"""^http: Invalid "date" response header: 'yesterday'$"""):
        kv.read("a").result()


def test_spec_headers_and_query_string_are_sent(served: ServedDirectory) -> None:
    (served.root / "a").write_bytes(VALUE)
    spec = {
        "driver": "http",
        "base_url": f"{served.url}/?token=x%20y",
        "headers": ["X-Test:  one two ", "Authorization: Bearer t", "x-test: three"],
    }
    kv = ts.KvStore.open(spec).result()
    assert kv.read("a").result().value == VALUE
    request = served.requests[-1]
    assert request.path == "/a?token=x%20y"
    assert request.headers["authorization"] == "Bearer t"
    assert request.headers["x-test"] == "three"  # a later header replaces an earlier one
    assert kv.url == f"{served.url}/?token=x%20y"


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        (400, InvalidArgumentError, "Bad Request"),
        (401, PermissionDeniedError, "Unauthorized"),
        (403, PermissionDeniedError, "Forbidden"),
        (409, AbortedError, "Conflict"),
        (410, NotFoundError, "Gone"),
        (302, FailedPreconditionError, "Found"),
        (418, UnknownError, "I'm a Teapot"),
        (501, UnimplementedError, "Not Implemented"),
    ],
)
def test_error_statuses_name_url_and_status(
    served: ServedDirectory, status: int, error: type[Exception], reason: str
) -> None:
    kv = open_store(served)
    served.fail_next(1, status)
    url = _esc(f"{served.url}/a")
    with pytest.raises(error, match=rf"^http: GET {url}: {re.escape(reason)} \[HTTP code {status}\]$"):
        kv.read("a").result()
    assert len(served.requests) == 1  # not retried
    assert isinstance(error("x"), ValueError)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried(served: ServedDirectory, status: int) -> None:
    kv = open_store(served, http_request_retries=FAST_RETRIES)
    served.fail_next(2, status)
    assert kv.read("a").result().value == VALUE
    assert len(served.requests) == 3


def test_retries_give_up_with_aborted(served: ServedDirectory) -> None:
    kv = open_store(served, http_request_retries=FAST_RETRIES)
    served.fail_next(3, 503)
    url = _esc(f"{served.url}/a")
    with pytest.raises(
        AbortedError,
        match=rf"^http: GET {url}: All 2 retry attempts failed: Service Unavailable \[HTTP code 503\]$",
    ) as raised:
        kv.read("a").result()
    assert isinstance(raised.value.__cause__, UnavailableError)
    assert len(served.requests) == 3
    no_retries = open_store(served, http_request_retries={"max_retries": 0})
    served.fail_next(1, 503)
    with pytest.raises(AbortedError, match=r"All 0 retry attempts failed"):
        no_retries.read("a").result()


def test_network_errors_are_retried() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spec = {"driver": "http", "base_url": f"http://127.0.0.1:{port}", "http_request_retries": FAST_RETRIES}
    kv = ts.KvStore.open(spec).result()
    with pytest.raises(
        AbortedError, match=rf"^http: GET http://127\.0\.0\.1:{port}/a: All 2 retry attempts failed: "
    ) as raised:
        kv.read("a").result()
    assert isinstance(raised.value.__cause__, UnavailableError)


def test_retries_from_the_context(served: ServedDirectory) -> None:
    (served.root / "a").write_bytes(VALUE)
    context = ts.Context({"http_request_retries": {"max_retries": 1, "initial_delay": "1ms"}})
    kv = ts.KvStore.open({"driver": "http", "base_url": served.url}, context=context).result()
    served.fail_next(2, 500)
    with pytest.raises(AbortedError, match=r"All 1 retry attempts failed"):
        kv.read("a").result()
    assert len(served.requests) == 2


def test_writes_lists_and_deletes_are_unsupported(served: ServedDirectory) -> None:
    kv = open_store(served)
    with pytest.raises(UnimplementedError, match=r"^http: KeyValueStore does not support writing$"):
        kv.write("a", b"x").result()
    with pytest.raises(NotImplementedError, match=r"^http: KeyValueStore does not support writing$"):
        kv["a"] = b"x"
    with pytest.raises(UnimplementedError, match=r"^http: KeyValueStore does not support writing$"):
        del kv["a"]
    with pytest.raises(UnimplementedError, match=r"^http: KeyValueStore does not support listing$"):
        kv.list().result()
    with pytest.raises(
        UnimplementedError, match=r"^http: KeyValueStore does not support deleting by range$"
    ):
        kv.delete_range(ts.KvStore.KeyRange()).result()
    txn = ts.Transaction(atomic=True)
    kv.with_transaction(txn)["a"] = b"x"
    kv.with_transaction(txn)["b"] = b"y"
    with pytest.raises(UnimplementedError, match=r"^http: KeyValueStore does not support writing$"):
        txn.commit_sync()
    assert served.requests == []  # nothing was sent
    assert (served.root / "a").read_bytes() == VALUE


def test_reads_of_one_key_are_merged_into_one_request(served: ServedDirectory) -> None:
    # One request in flight at a time: the reads below wait together while the first is held.
    kv = open_store(served, http_request_concurrency={"limit": 1})
    release = served.hold_requests()
    blocker = kv.read("a")  # holds the store busy while the others queue up
    assert served.wait_held()
    ranges = [slice(0, 5), slice(10, 20), slice(50, None), slice(-3, None), slice(7, 7)]
    futures = [kv.read("a", byte_range=r) for r in ranges]
    release.set()
    assert blocker.result().value == VALUE
    assert [f.result().value for f in futures] == [VALUE[r] for r in ranges]
    sent = sorted((q.method, str(q.headers.get("range"))) for q in served.requests[1:])
    # [0, 5), [10, 20) and [50, end) as one read of the whole value; the last
    # 3 bytes and the empty range alone.
    assert sent == [("GET", "None"), ("GET", "bytes=-3"), ("HEAD", "None")]
    assert kv.statistics().coalesced_reads >= len(ranges) - 1


def test_concurrency_limit_bounds_requests_in_flight(served: ServedDirectory) -> None:
    for i in range(6):
        (served.root / str(i)).write_bytes(b"%d" % i)
    spec = {"driver": "http", "base_url": served.url, "http_request_concurrency": {"limit": 2}}
    kv = ts.KvStore.open(spec).result()
    release = served.hold_requests()
    futures = [kv.read(str(i)) for i in range(6)]
    assert served.wait_requests(2)
    limiter = kv._driver.io_limiter
    waiting = threading.Event()
    deadline = time.monotonic() + 10
    while limiter.statistics().tasks_waiting < 4 and time.monotonic() < deadline:
        waiting.wait(0.005)  # the other reads reaching the limiter, on the runtime thread
    assert limiter.statistics().tasks_waiting == 4
    assert len(served.requests) == 2
    release.set()
    assert [f.result().value for f in futures] == [b"%d" % i for i in range(6)]
    assert served.peak == 2


def test_cancelling_a_read_cancels_its_request(served: ServedDirectory) -> None:
    kv = open_store(served)
    served.hold_requests()
    future = kv.read("a")
    assert served.wait_held()
    assert future.cancel()
    assert served.wait_abandoned()  # the client closed the connection of the request
    served._hold = None
    assert kv.read("a").result().value == VALUE


def test_store_repr_spec_and_pickle(served: ServedDirectory) -> None:
    kv = open_store(served, "/x/", headers=["a: b"])
    assert kv.spec().to_json() == {
        "base_url": served.url,
        "driver": "http",
        "headers": ["a: b"],
        "path": "/x/",
    }
    assert kv.url == f"{served.url}/x/"
    assert repr(kv) == (
        "KvStore({\n"
        f"  'base_url': '{served.url}',\n"
        "  'context': {'http_request_concurrency': {}},\n"
        "  'driver': 'http',\n"
        "  'headers': ['a: b'],\n"
        "  'http_request_retries': {},\n"
        "  'path': '/x/',\n"
        "})"
    )
    (served.root / "x").mkdir()
    (served.root / "x" / "k").write_bytes(b"v")
    copy = pickle.loads(pickle.dumps(kv))
    assert copy.read("k").result().value == b"v"
    assert copy.spec() == kv.spec()


def test_tensorstore_reads_the_same(served: ServedDirectory) -> None:
    kv = open_store(served)
    theirs = tensorstore.KvStore.open({"driver": "http", "base_url": served.url, "path": "/"}).result()
    for byte_range in (None, slice(5, 10), slice(5, None), slice(-5, None), slice(3, 3)):
        ours_read = kv.read("a", byte_range=byte_range).result()
        their_read = theirs.read("a", byte_range=byte_range).result()
        assert (ours_read.state, ours_read.value, ours_read.stamp.generation) == (
            their_read.state,
            their_read.value,
            their_read.stamp.generation,
        )
    assert kv.read("b").result().state == theirs.read("b").result().state == "missing"
    generation = kv.read("a").result().stamp.generation
    assert kv.read("a", if_not_equal=generation).result().state == "unspecified"
    assert theirs.read("a", if_not_equal=generation).result().state == "unspecified"
    served.etag = "weak"
    assert kv.read("a").result().stamp.generation == theirs.read("a").result().stamp.generation
