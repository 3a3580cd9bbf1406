"""One HTTP exchange of the ``s3`` kvstore: the only place that touches the HTTP client.

``s3_request(pool, method, url, headers, body)`` sends one request on the
connection pool of an ``s3_request_concurrency`` resource and returns the
status, the headers (lower-case names) and the body. It neither retries nor
waits for a concurrency slot: ``s3_client`` does both around it. Keeping the
boundary this small lets the HTTP client underneath change without touching
the driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from ...errors import InvalidArgumentError, TensorTrioError, UnavailableError

if TYPE_CHECKING:
    from .http_client import HttpPool

__all__ = ["S3Response", "s3_request"]


@attrs.frozen
class S3Response:
    """A response: status, headers (lower-case names; the last of repeated ones) and body."""

    status: int
    reason: str
    headers: dict[str, str]
    body: bytes


async def s3_request(
    pool: HttpPool,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | memoryview | None = None,
) -> S3Response:
    """Send one request and read the whole response.

    ``url`` is sent as given (already percent-encoded); ``headers`` include
    ``host``, and are sent as given (they are signed).

    Raises:
        UnavailableError: no response (connection refused or lost, timeout): retriable.
        InvalidArgumentError: the request cannot be sent (malformed URL).
    """
    import httpx

    content = None if body is None else bytes(body) if type(body) is memoryview else body
    try:
        response = await pool.client.request(method, url, headers=headers, content=content)
    except httpx.HTTPError as exc:
        raise _transport_error(method, url, exc) from exc
    return S3Response(
        response.status_code,
        response.reason_phrase,
        {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers.raw},
        response.content,
    )


def _transport_error(method: str, url: str, exc: Exception) -> TensorTrioError:
    import httpx

    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError | httpx.InvalidURL):
        return InvalidArgumentError(f"s3: {method} {url}: {detail}")
    return UnavailableError(f"s3: {method} {url}: {detail}")
