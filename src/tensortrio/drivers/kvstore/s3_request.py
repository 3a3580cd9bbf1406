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

from ...errors import InvalidArgumentError, UnavailableError
from .http_client import TRANSPORT_ERRORS, exchange, transport_detail

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
    try:
        response = await exchange(pool, method, url, headers, body)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"s3: {method} {url}: {exc}") from exc
    except TRANSPORT_ERRORS as exc:
        raise UnavailableError(f"s3: {method} {url}: {transport_detail(exc)}") from exc
    return S3Response(
        response.status_code,
        response.reason_phrase,
        {k.decode("latin-1"): v.decode("latin-1") for k, v in response.headers},
        bytes(response.content),
    )
