"""What an HTTP response means to an ``http`` kvstore read, as TensorStore reads it.

- 404 and 204: the key is missing; 304 (``If-None-Match`` held): unchanged;
  412 (``If-Match`` failed): a different generation. Other statuses of 300
  and above are errors of TensorStore's kind for them (``status_error``);
  those in ``RETRIABLE`` are tried again first.
- The generation is ``b"\\x00"`` + the strong ``ETag`` without its quotes;
  without one (or with a weak ``W/"..."`` one) it is ``b"\\x10"``, TensorStore's
  invalid generation, which no condition ever matches.
- The stamp's time is when the request started, or the response's ``Date``
  when that is earlier (a cached response is as old as its ``Date``).
- A ranged response must be the range asked for (``check_content_range``).
"""

from __future__ import annotations

import email.utils
import re
from typing import TYPE_CHECKING, Final

from ...errors import (
    AbortedError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    OutOfRangeError,
    PermissionDeniedError,
    TensorTrioError,
    UnavailableError,
    UnimplementedError,
    UnknownError,
)
from .http_request import format_byte_range

if TYPE_CHECKING:
    from .byte_range import ByteRangeRequest

__all__ = [
    "INVALID_GENERATION",
    "RETRIABLE",
    "check_content_range",
    "generation_from_etag",
    "stamp_time",
    "status_error",
]

#: TensorStore's ``StorageGeneration::Invalid()``: a value whose generation is not known.
INVALID_GENERATION: Final = b"\x10"

#: Statuses TensorStore maps to ``UNAVAILABLE`` and retries.
RETRIABLE: Final = frozenset({308, 408, 429, 500, 502, 503, 504})

_ERRORS: Final[dict[int, type[TensorTrioError]]] = {
    400: InvalidArgumentError,
    411: InvalidArgumentError,
    401: PermissionDeniedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    410: NotFoundError,
    302: FailedPreconditionError,
    303: FailedPreconditionError,
    304: FailedPreconditionError,
    307: FailedPreconditionError,
    412: FailedPreconditionError,
    413: FailedPreconditionError,
    416: OutOfRangeError,
    409: AbortedError,
    501: UnimplementedError,
    **dict.fromkeys(RETRIABLE, UnavailableError),
}

_CONTENT_RANGE = re.compile(rb"bytes (\d+)-(\d+)/(?:(\d+)|\*)")


def status_error(method: str, url: str, status: int, reason: str, body: bytes) -> TensorTrioError:
    """The error of a response with ``status`` (300 and above, other than a read's 304/404/412)."""
    kind = _ERRORS.get(status, UnknownError)
    message = f"http: {method} {url}: {reason or 'Unknown'} [HTTP code {status}]"
    if body:
        message += f" (response body: {body[:256]!r})"
    return kind(message)


def generation_from_etag(etag: bytes | None) -> bytes:
    """The storage generation of a value with the ``ETag`` header ``etag``."""
    if etag is not None and len(etag) > 2 and etag[:1] == b'"' and etag[-1:] == b'"':
        return b"\x00" + etag[1:-1]
    return INVALID_GENERATION


def stamp_time(date: str | None, start: float, staleness_bound: float) -> float:
    """When the response was known current: ``start``, or its ``Date`` if earlier.

    A ``Date`` earlier than the staleness bound that was asked for (clock
    skew: the bound was sent as ``max-age``) counts as the bound, as in
    TensorStore.

    Raises:
        InvalidArgumentError: an unparsable ``Date`` header.
    """
    if date is None:
        return start
    try:
        parsed = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f'http: Invalid "date" response header: {date!r}') from None
    when = parsed.timestamp()
    if when >= start:
        return start
    if staleness_bound < start and when < staleness_bound:
        return staleness_bound
    return when


def check_content_range(
    subject: str,
    status: int,
    content_range: bytes | None,
    requested: ByteRangeRequest,
    length: int,
    *,
    to_end_ok: bool = False,
) -> tuple[int, int | None]:
    """Where a response to a read of ``requested`` starts, and the value's size if known.

    ``to_end_ok``: a response that stops short of ``requested`` is accepted
    if it stops at the end of the value (reads merged into one request then
    check their own ranges).

    Raises:
        FailedPreconditionError: the server ignored the range, or sent a
            malformed ``Content-Range``.
        OutOfRangeError: the response is not the range asked for.
    """
    lo, hi = requested.inclusive_min, requested.exclusive_max
    if status != 206:
        # The whole value came back: fine if that is what was asked for.
        size = length
        start = lo + size if lo < 0 else lo
        stop = size if hi is None else hi
        if start < 0 or start > stop or stop > size:
            raise OutOfRangeError(
                f"{subject}: Requested byte range {format_byte_range(requested)} is not valid "
                f"for value of size {size}"
            )
        if stop - start != length:
            raise FailedPreconditionError(
                f"{subject}: Requested byte range {format_byte_range(requested)} was ignored by server"
            )
        return 0, size
    if content_range is None:
        raise FailedPreconditionError(
            f"{subject}: Expected Content-Range header with HTTP 206 response"
        )
    match = _CONTENT_RANGE.fullmatch(content_range)
    first = last = total = -1
    if match is not None:
        first, last = int(match.group(1)), int(match.group(2))
        total = -1 if match.group(3) is None else int(match.group(3))
    if match is None or first > last or (total >= 0 and last >= total):
        raise FailedPreconditionError(
            f"{subject}: Unexpected Content-Range header received: {content_range.decode('latin-1')!r}"
        )
    stop = last + 1
    size = -lo if lo < 0 and hi is None else (hi - lo if hi is not None else -1)
    short = to_end_ok and total >= 0 and stop == total
    if (
        (lo >= 0 and lo != first)
        or (hi is not None and hi != stop and not short)
        or (size >= 0 and size != length and not short)
        or (total >= 0 and hi is None and stop != total)
        or length != stop - first
    ):
        raise OutOfRangeError(
            f"{subject}: Requested byte range {format_byte_range(requested)} was not satisfied "
            f"by response with byte range [{first}, {stop}) and total size {total}"
        )
    return first, None if total < 0 else total
