"""The ``http`` driver below ``ts.KvStore``: conditions, request plans, headers, connection pools."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest
import trio

import tensortrio as ts
from tensortrio.drivers.kvstore.byte_range import FULL, ByteRangeRequest
from tensortrio.drivers.kvstore.driver import ReadGroup
from tensortrio.drivers.kvstore.http import HttpDriver, HttpDriverSpec
from tensortrio.drivers.kvstore.http_client import HttpPoolStatistics, _pools
from tensortrio.drivers.kvstore.http_read import plan_reads
from tensortrio.drivers.kvstore.http_request import cache_control, range_header
from tensortrio.drivers.kvstore.http_response import check_content_range
from tensortrio.drivers.kvstore.operations import ReadRequest, WriteRequest
from tensortrio.drivers.kvstore.read_result import ReadResult
from tensortrio.errors import FailedPreconditionError, OutOfRangeError, UnimplementedError
from tensortrio.schema.http_resources import HttpRequestRetriesConfig

if TYPE_CHECKING:
    from .http_server import ServedDirectory

VALUE = bytes(range(200))


async def open_driver(served: ServedDirectory, context: ts.Context | None = None) -> HttpDriver:
    (served.root / "a").write_bytes(VALUE)
    spec = HttpDriverSpec(served.url)
    return await spec.open(context or ts.Context())


def read(key: bytes = b"/a", **options: object) -> ReadRequest:
    return ReadRequest(key, **options)  # type: ignore[arg-type]


def _result(outcome: object) -> ReadResult:
    assert isinstance(outcome, ReadResult), outcome
    return outcome


async def test_if_equal_sends_if_match(served: ServedDirectory) -> None:
    driver = await open_driver(served)
    try:
        (first,) = await driver.run_batch([read()])
        generation = _result(first).stamp.generation
        same, other, no_value = await driver.run_batch(
            [read(if_equal=generation), read(if_equal=b"\x00zz"), read(if_equal=b"\x02")]
        )
        assert _result(same).value == VALUE
        assert (_result(other).state, _result(other).stamp.generation) == ("unspecified", b"")
        # No ETag to send for "no value": the value found answers it.
        assert _result(no_value).state == "unspecified"
        conditions = [q.headers.get("if-match") for q in served.requests[1:]]
        assert sorted(map(str, conditions)) == sorted(
            ['"' + generation[1:].decode() + '"', '"zz"', "None"]
        )
        (missing,) = await driver.run_batch([read(b"/nothing", if_equal=b"\x02")])
        assert _result(missing).state == "missing"
        (missing,) = await driver.run_batch([read(b"/nothing", if_equal=generation)])
        assert _result(missing).state == "unspecified"
    finally:
        await driver.aclose()


async def test_if_equal_without_server_support(served: ServedDirectory) -> None:
    driver = await open_driver(served)
    served.ignore_conditions = True
    try:
        (outcome,) = await driver.run_batch([read(if_equal=b"\x00stale")])
        assert _result(outcome).state == "unspecified"
    finally:
        await driver.aclose()


async def test_writes_in_a_batch_are_refused(served: ServedDirectory) -> None:
    driver = await open_driver(served)
    try:
        write, value = await driver.run_batch([WriteRequest(b"/a", b"x"), read()])
        assert isinstance(write, UnimplementedError)
        assert _result(value).value == VALUE
    finally:
        await driver.aclose()
    assert served.requests[0].method == "GET"
    assert len(served.requests) == 1


async def test_group_answers_each_read(served: ServedDirectory) -> None:
    driver = await open_driver(served)
    group = ReadGroup(
        b"/a",
        (
            read(byte_range=ByteRangeRequest(0, 10)),
            read(byte_range=ByteRangeRequest(150, 190)),
            read(byte_range=ByteRangeRequest(195, 210)),
        ),
    )
    try:
        ((first, second, beyond),) = await driver.run_batch([group])
    finally:
        await driver.aclose()
    assert (_result(first).value, _result(second).value) == (VALUE[:10], VALUE[150:190])
    assert isinstance(beyond, OutOfRangeError)
    assert str(beyond).endswith(
        "Requested byte range [195, 210) was not satisfied by response with byte range "
        "[0, 200) and total size 200"
    )
    (request,) = served.requests
    assert request.headers["range"] == "bytes=0-209"


async def test_cancelled_request_releases_its_connection(served: ServedDirectory) -> None:
    driver = await open_driver(served)
    served.hold_requests()
    try:
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(driver.run_batch, [read()])
                assert await trio.to_thread.run_sync(served.wait_held)
                scope.cancel()
        assert scope.cancelled_caught
        assert await trio.to_thread.run_sync(served.wait_abandoned)
        served._hold = None
        (outcome,) = await driver.run_batch([read()])
        assert _result(outcome).value == VALUE
    finally:
        await driver.aclose()


async def test_one_pool_per_concurrency_resource(served: ServedDirectory) -> None:
    shared = [await open_driver(served) for _ in range(2)]
    context = ts.Context({"http_request_concurrency": {"limit": 3}})
    own = [await open_driver(served, context) for _ in range(2)]
    drivers = shared + own
    for driver in drivers:
        await driver.run_batch([read()])
    pools = [driver._pool for driver in drivers]
    assert pools[0] is pools[1]
    assert pools[2] is pools[3]
    assert pools[0] is not pools[2]
    assert pools[2] is not None
    assert pools[2].limiter.total_tokens == 3
    assert pools[2].statistics() == HttpPoolStatistics(
        connections_opened=1, idle_connections=1, requests_in_flight=0
    )
    for driver in drivers:
        await driver.aclose()
    assert all(pool is not None and pool.closed for pool in pools)
    token = trio.lowlevel.current_trio_token()
    assert not [key for key in _pools if key[0] is token]


def test_plan_merges_close_ranges_with_equal_conditions() -> None:
    reads = [
        read(byte_range=ByteRangeRequest(0, 10)),
        read(byte_range=ByteRangeRequest(4000, 4100)),  # 3990 bytes after the first: merged
        read(byte_range=ByteRangeRequest(9000, 9010)),  # 4900 after: alone
        read(byte_range=ByteRangeRequest(0, 10), if_not_equal=b"\x00g"),  # other conditions
        read(byte_range=ByteRangeRequest(-5, None)),
        read(byte_range=ByteRangeRequest(5, 5)),
    ]
    plan = {tuple(members): sent.byte_range for sent, members in plan_reads(reads)}
    assert plan == {
        (0, 1): ByteRangeRequest(0, 4100),
        (2,): ByteRangeRequest(9000, 9010),
        (3,): ByteRangeRequest(0, 10),
        (4,): ByteRangeRequest(-5, None),
        (5,): ByteRangeRequest(5, 5),
    }
    whole = plan_reads([read(), read(byte_range=ByteRangeRequest(100, 120))])
    assert [(sent.byte_range, members) for sent, members in whole] == [(FULL, [0, 1])]


def test_plan_keeps_the_most_recent_staleness_bound() -> None:
    ((sent, _),) = plan_reads(
        [read(staleness_bound=5.0), read(byte_range=ByteRangeRequest(1, 2), staleness_bound=9.0)]
    )
    assert sent.staleness_bound == 9.0


@pytest.mark.parametrize(
    ("byte_range", "header"),
    [
        (FULL, None),
        (ByteRangeRequest(0, 1), "bytes=0-0"),
        (ByteRangeRequest(3, None), "bytes=3-"),
        (ByteRangeRequest(-7, None), "bytes=-7"),
        (ByteRangeRequest(4, 4), None),
    ],
)
def test_range_header(byte_range: ByteRangeRequest, header: str | None) -> None:
    assert range_header(byte_range) == header


@pytest.mark.parametrize(
    ("bound", "header"),
    [
        (math.inf, "no-cache"),
        (-math.inf, None),
        (1000.0, "no-cache"),
        (999.5, "no-cache"),
        (999.0, "max-age=1"),
        (0.0, "max-age=1000"),
        (2000.0, "no-cache"),
    ],
)
def test_cache_control(bound: float, header: str | None) -> None:
    assert cache_control(bound, now=1000.0) == header


@pytest.mark.parametrize(
    ("content_range", "error", "message"),
    [
        (None, FailedPreconditionError, r"^http: u: Expected Content-Range header with HTTP 206 response$"),
        (b"bytes 5-2/10", FailedPreconditionError, r"^http: u: Unexpected Content-Range header received: 'bytes 5-2/10'$"),
        (b"bytes 0-10/10", FailedPreconditionError, r"^http: u: Unexpected Content-Range header received"),
        (b"items 0-1/10", FailedPreconditionError, r"^http: u: Unexpected Content-Range header received"),
        (b"bytes 1-5/10", OutOfRangeError, r"^http: u: Requested byte range \[2, 6\) was not satisfied by response with byte range \[1, 6\) and total size 10$"),
    ],
)
def test_bad_content_range(content_range: bytes | None, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        check_content_range("http: u", 206, content_range, ByteRangeRequest(2, 6), 5)


def test_content_range_of_unknown_total() -> None:
    assert check_content_range("http: u", 206, b"bytes 2-5/*", ByteRangeRequest(2, 6), 4) == (2, None)


def test_backoff_doubles_with_bounded_jitter() -> None:
    policy = HttpRequestRetriesConfig(10, 10**9, 32 * 10**9)
    assert [policy.backoff(n, jitter=0.0) for n in range(7)] == [1, 2, 4, 8, 16, 32, 32]
    assert policy.backoff(0, jitter=0.999) == pytest.approx(1.999)
    short = HttpRequestRetriesConfig(10, 10**6, 10**9)  # 1 ms: the jitter is at most 1 ms too
    assert short.backoff(0, jitter=0.5) == pytest.approx(0.0015)
