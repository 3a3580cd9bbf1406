"""The ``http`` kvstore's connections: one ``httpx.AsyncClient`` per concurrency resource, and retries.

Stores opened with one ``http_request_concurrency`` resource share one
connection pool (all stores using the "shared" limit share one per trio
run), and at most ``limit`` of their requests are in flight at once (the
resource's ``trio.CapacityLimiter``). The pool closes when the last store
using it closes. Everything here runs in the trio run of the runtime
thread (httpx picks trio through sniffio); cancelling the task of a request
cancels the request and closes its connection.

``send`` holds a request's concurrency token only while the request is in
flight, not while it waits to be tried again.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Final

import attrs
import trio

from ...errors import AbortedError, InvalidArgumentError, TensorTrioError, UnavailableError
from .http_response import RETRIABLE, status_error

if TYPE_CHECKING:
    import httpx

    from ...schema.context_resources import ConcurrencyResource
    from ...schema.http_resources import HttpRequestRetriesConfig

__all__ = ["HttpPool", "acquire_pool", "send"]

_SHARED: Final = "shared"


@attrs.define(eq=False)
class HttpPool:
    """One connection pool and the limiter bounding its requests in flight."""

    client: httpx.AsyncClient
    limiter: trio.CapacityLimiter
    _key: tuple[Any, object]
    users: int = 0

    async def release(self) -> None:
        """One store stopped using the pool; the last one closes its connections."""
        self.users -= 1
        if self.users == 0:
            if _pools.get(self._key) is self:
                del _pools[self._key]
            with trio.CancelScope(shield=True):
                await self.client.aclose()


_pools: dict[tuple[Any, object], HttpPool] = {}


def _forget_pools_in_child() -> None:
    # A forked child has a fresh runtime: the parent's connections are not its own.
    _pools.clear()


os.register_at_fork(after_in_child=_forget_pools_in_child)


def acquire_pool(resource: ConcurrencyResource) -> HttpPool:
    """The pool of ``resource`` in the current trio run, counting one more user (release it)."""
    key = (trio.lowlevel.current_trio_token(), _SHARED if resource.shared else resource)
    pool = _pools.get(key)
    if pool is None:
        import httpx  # not at import: it takes 0.1 s, and most processes never use http

        keepalive = min(resource.limit, 100)
        client = httpx.AsyncClient(
            # As TensorStore's curl transport: a connection has 300 s to open and
            # fails once no byte has arrived for 120 s; requests wait for a slot
            # in the concurrency limiter, never in httpx's own pool.
            timeout=httpx.Timeout(connect=300.0, read=120.0, write=120.0, pool=None),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=keepalive),
            follow_redirects=False,  # as TensorStore: a redirect is an error (FAILED_PRECONDITION)
        )
        pool = _pools[key] = HttpPool(client, resource.limiter, key)
    pool.users += 1
    return pool


def _transport_error(method: str, url: str, exc: httpx.HTTPError) -> TensorTrioError:
    """A request that got no response: retriable (UNAVAILABLE) unless the request itself is bad."""
    import httpx

    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError | httpx.InvalidURL):
        return InvalidArgumentError(f"http: {method} {url}: {detail}")
    return UnavailableError(f"http: {method} {url}: {detail}")


async def send(
    pool: HttpPool,
    method: str,
    url: str,
    headers: dict[str, Any],
    retries: HttpRequestRetriesConfig,
) -> httpx.Response:
    """Send a request, trying again after transient failures as ``retries`` allows.

    Returns the response to a request with a status that is not retriable
    (its body read); statuses of 300 and above are the caller's to judge.

    Raises:
        AbortedError: every attempt failed with a transient error (the last is its cause).
        TensorTrioError: a request that cannot succeed (malformed URL, unsupported scheme).
    """
    import httpx

    attempt = 0
    while True:
        async with pool.limiter:
            try:
                response = await pool.client.request(method, url, headers=headers)
            except httpx.HTTPError as exc:
                error = _transport_error(method, url, exc)
                if not isinstance(error, UnavailableError):
                    raise error from exc
                failure: TensorTrioError = error
            else:
                if response.status_code not in RETRIABLE:
                    return response
                failure = status_error(
                    method, url, response.status_code, response.reason_phrase, response.content
                )
        if attempt >= retries.max_retries:
            raise AbortedError(
                f"http: {method} {url}: All {retries.max_retries} retry attempts failed: "
                f"{str(failure).removeprefix(f'http: {method} {url}: ')}"
            ) from failure
        await trio.sleep(retries.backoff(attempt))
        attempt += 1
