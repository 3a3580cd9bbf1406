"""One ``http`` kvstore read: which requests answer a group of reads, sending them, and the answers.

Reads of one key waiting together (a ``ReadGroup``) with the same
generation conditions are merged as TensorStore merges reads of remote
storage: byte ranges less than 4 KiB apart are read with one request, and
each read takes its part of the response. Reads of the last ``n`` bytes
and of no bytes (``HEAD``) go alone.
"""

from __future__ import annotations

import time
import zlib
from typing import TYPE_CHECKING, Final, cast

import attrs
import trio

from ...errors import OutOfRangeError, UnavailableError
from .byte_range import FULL, ByteRangeRequest
from .generation import NO_VALUE, TimestampedStorageGeneration
from .http_client import send
from .http_request import (
    cache_control,
    condition_headers,
    format_byte_range,
    is_empty,
    range_header,
)
from .http_response import check_content_range, generation_from_etag, stamp_time, status_error
from .operations import ReadRequest
from .read_result import ReadResult

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from ...schema.http_resources import HttpRequestRetriesConfig
    from .http_client import HttpPool
    from .http_connection import HttpResponse

__all__ = ["MAX_EXTRA_READ_BYTES", "Observation", "answer", "fetch", "plan_reads", "read_group"]

#: zlib's ``wbits`` for each Content-Encoding read (deflate: zlib-wrapped, else raw).
_WBITS: Final = {b"gzip": 31, b"x-gzip": 31, b"deflate": 47}

#: Bytes between two ranges read anyway to save a request (TensorStore's remote-storage default).
MAX_EXTRA_READ_BYTES: Final = 4095


@attrs.frozen
class Observation:
    """What one response said: the value's bytes from ``start`` (its ``size`` if known), or no value."""

    state: str
    """``"value"``, ``"missing"``, or ``"unspecified"`` (a condition sent to the server failed)."""
    stamp: TimestampedStorageGeneration
    data: bytes | memoryview = b""
    start: int = 0
    size: int | None = None


def plan_reads(requests: Sequence[ReadRequest]) -> list[tuple[ReadRequest, list[int]]]:
    """The requests to send for ``requests`` (reads of one key), each with the reads it answers."""
    buckets: dict[tuple[bytes, bytes], list[int]] = {}
    plan: list[tuple[ReadRequest, list[int]]] = []
    for index, request in enumerate(requests):
        if request.byte_range.inclusive_min < 0 or is_empty(request.byte_range):
            plan.append((request, [index]))
        else:
            buckets.setdefault((request.if_equal, request.if_not_equal), []).append(index)
    for members in buckets.values():
        members.sort(key=lambda i: requests[i].byte_range.inclusive_min)
        segments: list[tuple[int, int | None, list[int]]] = []
        for index in members:
            lo, hi = requests[index].byte_range.inclusive_min, requests[index].byte_range.exclusive_max
            if segments:
                start, stop, joined = segments[-1]
                if stop is None or lo - stop <= MAX_EXTRA_READ_BYTES:
                    joined.append(index)
                    merged = None if stop is None or hi is None else max(stop, hi)
                    segments[-1] = (start, merged, joined)
                    continue
            segments.append((lo, hi, [index]))
        for start, stop, joined in segments:
            if len(joined) == 1:
                plan.append((requests[joined[0]], joined))
                continue
            first = requests[joined[0]]
            span = FULL if start == 0 and stop is None else ByteRangeRequest(start, stop)
            bound = max(requests[i].staleness_bound for i in joined)
            plan.append(
                (ReadRequest(first.key, span, first.if_not_equal, first.if_equal, bound), joined)
            )
    return plan


async def read_group(
    requests: Sequence[ReadRequest],
    fetch_one: Callable[[ReadRequest, bool], Awaitable[Observation]],
    where: str,
) -> list[ReadResult | Exception]:
    """Answer reads of one key with the requests ``plan_reads`` merges them into, sent at once.

    ``fetch_one(sent, merged)`` sends one planned request (``merged``: it
    answers several reads); its error is the answer of every read it covers.
    ``where`` names the value in errors, its driver first (``"s3: <bucket>/<key>"``).
    """
    results: list[ReadResult | Exception | None] = [None] * len(requests)

    async def run(sent: ReadRequest, members: list[int]) -> None:
        try:
            seen = await fetch_one(sent, len(members) > 1)
        except Exception as exc:
            for index in members:
                results[index] = exc
            return
        for index in members:
            results[index] = answer(requests[index], seen, where)

    plan = plan_reads(requests)
    if len(plan) == 1:
        await run(*plan[0])
    else:
        async with trio.open_nursery() as nursery:
            for sent, members in plan:
                nursery.start_soon(run, sent, members)
    return cast("list[ReadResult | Exception]", results)  # every read was answered


async def fetch(
    pool: HttpPool,
    retries: HttpRequestRetriesConfig,
    headers: dict[str, str],
    url: str,
    request: ReadRequest,
    *,
    merged: bool = False,
) -> Observation:
    """Send the request reading ``request`` from ``url`` and say what came back.

    ``merged``: the request answers several reads (a response cut short at
    the end of the value is then theirs to judge).

    Raises:
        TensorTrioError: the status is an error (see ``http_response``), or the
            response is not the range asked for.
    """
    sent: dict[str, str | bytes] = dict(headers)
    method = "HEAD" if is_empty(request.byte_range) else "GET"
    wanted = range_header(request.byte_range)
    if wanted is not None:
        sent["range"] = wanted
        # A compressed response to a range request is of the compressed bytes.
        sent["accept-encoding"] = "identity"
    elif method == "GET":
        sent.setdefault("accept-encoding", "gzip, deflate")  # as TensorStore's (curl's) reads
    control = cache_control(request.staleness_bound)
    if control is not None:
        sent["cache-control"] = control
    sent.update(condition_headers(request.if_equal, request.if_not_equal))
    start_time = time.time()
    response = await send(pool, method, url, sent, retries)
    status = response.status_code
    date = response.header(b"date")
    when = stamp_time(
        None if date is None else date.decode("latin-1"), start_time, request.staleness_bound
    )
    if status in (204, 404):
        return Observation("missing", TimestampedStorageGeneration._make(NO_VALUE, when))
    if status == 304:
        return Observation("unspecified", TimestampedStorageGeneration(request.if_not_equal, when))
    if status == 412:
        return Observation("unspecified", TimestampedStorageGeneration(b"", when))
    if status >= 300:
        raise status_error(method, url, status, response.reason_phrase, bytes(response.content))
    stamp = TimestampedStorageGeneration(generation_from_etag(response.header(b"etag")), when)
    if method == "HEAD":
        return Observation("value", stamp, b"", max(0, request.byte_range.inclusive_min))
    data = decoded_content(url, response)
    content_range = response.header(b"content-range")
    start, size = check_content_range(
        f"http: {url}", status, content_range, request.byte_range, len(data), to_end_ok=merged
    )
    return Observation("value", stamp, data, start, size)


def decoded_content(url: str, response: HttpResponse) -> bytes | memoryview:
    """The body of ``response`` without its ``Content-Encoding`` (gzip or deflate).

    Raises:
        UnavailableError: a body that does not decompress, or an encoding not asked for.
    """
    encoding = response.header(b"content-encoding")
    if encoding is None or encoding.lower() == b"identity":
        return response.content
    kind = encoding.lower()
    if kind not in _WBITS:
        raise UnavailableError(
            f"http: GET {url}: unsupported Content-Encoding {encoding.decode('latin-1')!r}"
        )
    try:
        try:
            return zlib.decompress(response.content, _WBITS[kind])
        except zlib.error:
            if kind != b"deflate":
                raise
            return zlib.decompress(response.content, -15)  # raw deflate, as some servers send
    except zlib.error as exc:
        raise UnavailableError(f"http: GET {url}: corrupt {kind.decode()} body: {exc}") from None


def answer(request: ReadRequest, seen: Observation, subject: str) -> ReadResult | Exception:
    """The result of ``request`` from a response to a request covering it.

    ``subject`` names the value in errors, its driver first (``"http: <url>"``).
    """
    stamp = seen.stamp
    if seen.state == "missing":
        if request.if_equal and request.if_equal != NO_VALUE:
            return ReadResult._make("unspecified", b"", stamp)
        return ReadResult._make("missing", b"", stamp)
    generation = stamp.generation
    if (
        seen.state == "unspecified"
        or (request.if_not_equal and request.if_not_equal == generation)
        or (request.if_equal and request.if_equal != generation)
    ):
        # The server may not support conditions: they are checked here too.
        return ReadResult._make("unspecified", b"", stamp)
    lo, hi = request.byte_range.inclusive_min, request.byte_range.exclusive_max
    if lo < 0:  # the last -lo bytes: always read alone, checked by ``fetch``
        return ReadResult._make("value", seen.data, stamp)
    stop = seen.start + len(seen.data)
    end = stop if hi is None else hi
    if lo < seen.start or lo > end or end > stop or (hi is None and seen.size not in (None, stop)):
        return OutOfRangeError(
            f"{subject}: Requested byte range {format_byte_range(request.byte_range)} was not "
            f"satisfied by response with byte range [{seen.start}, {stop}) and total size "
            f"{-1 if seen.size is None else seen.size}"
        )
    if lo == seen.start and end == stop:
        return ReadResult._make("value", seen.data, stamp)
    return ReadResult._make("value", seen.data[lo - seen.start : end - seen.start], stamp)
