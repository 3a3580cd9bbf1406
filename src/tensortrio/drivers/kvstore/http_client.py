"""The ``http`` kvstore's connections: a keep-alive pool per concurrency resource, and retries.

Stores opened with one ``http_request_concurrency`` resource share one
``HttpPool`` (all stores using the "shared" limit share one per trio run),
and at most ``limit`` of their requests are in flight at once (the
resource's ``trio.CapacityLimiter``), so a pool never holds more than
``limit`` connections to an origin. Connections (``http_connection``) are
kept per (scheme, host, port) and reused, the most recently used first;
the pool closes them when the last store using it closes. Everything here
runs in the trio run of the runtime thread; cancelling the task of a
request cancels the request and closes its connection.

``send`` holds a request's concurrency token only while the request is in
flight, not while it waits to be tried again. A kept connection that the
server closed while it was idle (the request sent, nothing came back) is
not a failed attempt: the request goes again, once, on a new connection.
"""

from __future__ import annotations

import base64
import functools
import os
import ssl
import urllib.parse
from typing import TYPE_CHECKING, Any, Final

import attrs
import trio

from ...errors import AbortedError, InvalidArgumentError, TensorTrioError, UnavailableError
from .http_connection import HttpConnection, HttpProtocolError, ResponseTimeout, connect
from .http_response import RETRIABLE, status_error

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ...schema.context_resources import ConcurrencyResource
    from ...schema.http_resources import HttpRequestRetriesConfig
    from .http_connection import HttpResponse

__all__ = [
    "TRANSPORT_ERRORS",
    "HttpPool",
    "HttpPoolStatistics",
    "Origin",
    "acquire_pool",
    "exchange",
    "origin_of",
    "send",
    "tls_context",
    "transport_detail",
]

_SHARED: Final = "shared"
#: As TensorStore's curl transport: a connection has 300 s to open, and a
#: response fails once no byte has arrived for 120 s.
CONNECT_TIMEOUT: Final = 300.0
READ_TIMEOUT: Final = 120.0


@attrs.frozen
class Origin:
    """Where a URL's requests go, and what they send as their target."""

    scheme: str
    host: str
    port: int
    host_header: bytes
    target: str
    authorization: str | None = None
    """``Basic ...`` from the URL's ``user:password@``, if any."""


def origin_of(url: str) -> Origin:
    """Split an ``http``/``https`` URL (as ``http_url.join_url`` makes them).

    Raises:
        InvalidArgumentError: not an http(s) URL with a host, or a bad port.
    """
    scheme, sep, rest = url.partition("://")
    rest = rest.partition("#")[0]
    authority, slash, target = rest.partition("/")
    authority, question, query = authority.partition("?")
    if question:  # "http://host?q": no path
        target, slash = "?" + query, ""
    target = "/" + target if slash else (target or "/")
    if not sep:
        raise InvalidArgumentError(f"http: {url}: not an http or https URL with a host")
    try:
        origin = _origin(scheme.lower(), authority)
    except ValueError as exc:
        raise InvalidArgumentError(f"http: {url}: {exc}") from None
    return attrs.evolve(origin, target=target)


@functools.lru_cache(maxsize=64)
def _origin(scheme: str, authority: str) -> Origin:
    # Cached: every key of a store has the same scheme and authority.
    userinfo, at, hostport = authority.rpartition("@")
    if scheme not in ("http", "https") or not hostport:
        raise ValueError("not an http or https URL with a host")
    if hostport.startswith("["):  # an IPv6 literal
        host, _, port_text = hostport[1:].partition("]")
        port_text = port_text.removeprefix(":")
    else:
        host, _, port_text = hostport.partition(":")
    default = 443 if scheme == "https" else 80
    if port_text and (not port_text.isdigit() or not 0 < int(port_text) < 65536):
        raise ValueError(f"invalid port {port_text!r}")
    port = int(port_text) if port_text else default
    authorization = None
    if at:
        credentials = base64.b64encode(urllib.parse.unquote(userinfo).encode("utf-8")).decode("ascii")
        authorization = f"Basic {credentials}"
    shown = f"[{host}]" if ":" in host else host
    host_header = (shown if port == default else f"{shown}:{port}").encode("idna")
    return Origin(scheme, host, port, host_header, "/", authorization)


def tls_context() -> ssl.SSLContext:
    """Checking servers' certificates against the system's certificate authorities.

    As TensorStore: ``TENSORSTORE_CA_BUNDLE`` (a PEM file) or
    ``TENSORSTORE_CA_PATH`` (a ``c_rehash``-ed directory) replace them.
    """
    cafile = os.environ.get("TENSORSTORE_CA_BUNDLE") or None
    capath = os.environ.get("TENSORSTORE_CA_PATH") or None
    return ssl.create_default_context(cafile=cafile, capath=capath)


@attrs.frozen
class HttpPoolStatistics:
    """What a pool holds: connections opened so far, kept idle now, and requests in flight."""

    connections_opened: int
    idle_connections: int
    requests_in_flight: int


@attrs.define(eq=False)
class HttpPool:
    """Kept-alive connections per origin, and the limiter bounding requests in flight."""

    limiter: trio.CapacityLimiter
    _key: tuple[Any, object]
    users: int = 0
    connections_opened: int = 0
    """Connections this pool opened so far (a kept-alive one counts once)."""
    _idle: dict[tuple[str, str, int], list[HttpConnection]] = attrs.field(init=False, factory=dict)
    _ssl: ssl.SSLContext | None = attrs.field(init=False, default=None)
    closed: bool = attrs.field(init=False, default=False)

    async def release(self) -> None:
        """One store stopped using the pool; the last one closes its connections."""
        self.users -= 1
        if self.users == 0:
            if _pools.get(self._key) is self:
                del _pools[self._key]
            self.closed = True
            for kept in self._idle.values():
                for connection in kept:
                    connection.close()
            self._idle.clear()

    def statistics(self) -> HttpPoolStatistics:
        return HttpPoolStatistics(
            self.connections_opened,
            sum(len(kept) for kept in self._idle.values()),
            int(self.limiter.borrowed_tokens),
        )

    def _take(self, origin: Origin) -> HttpConnection | None:
        kept = self._idle.get((origin.scheme, origin.host, origin.port))
        return kept.pop() if kept else None

    def _give_back(self, origin: Origin, connection: HttpConnection) -> None:
        if not connection.reusable or self.closed:
            connection.close()
            return
        kept = self._idle.setdefault((origin.scheme, origin.host, origin.port), [])
        if len(kept) >= self.limiter.total_tokens:
            connection.close()
        else:
            kept.append(connection)

    async def _open(self, origin: Origin) -> HttpConnection:
        context = None
        if origin.scheme == "https":
            context = self._ssl
            if context is None:
                context = self._ssl = tls_context()
        with trio.fail_after(CONNECT_TIMEOUT):
            connection = await connect(
                origin.scheme, origin.host, origin.port, origin.host_header, context, READ_TIMEOUT
            )
        self.connections_opened += 1
        return connection

    async def request(
        self,
        origin: Origin,
        method: str,
        headers: Sequence[tuple[str, str | bytes]],
        body: bytes | memoryview | None = None,
    ) -> HttpResponse:
        """One exchange on a kept connection (or a new one); the caller holds a limiter token.

        A kept connection that fails before any byte of the response came
        back (the server had closed it while idle) is closed and the request
        sent once more on a new connection.
        """
        connection = self._take(origin)
        if connection is not None:
            try:
                response = await connection.request(method, origin.target, headers, body)
            except (HttpProtocolError, trio.BrokenResourceError, OSError) as exc:
                connection.close()
                if connection.received or isinstance(exc, ResponseTimeout):
                    raise
                # Nothing came back: the server had closed the kept connection. Send again.
            except BaseException:
                connection.close()
                raise
            else:
                self._give_back(origin, connection)
                return response
        connection = await self._open(origin)
        try:
            response = await connection.request(method, origin.target, headers, body)
        except BaseException:
            connection.close()
            raise
        self._give_back(origin, connection)
        return response


_pools: dict[tuple[Any, object], HttpPool] = {}


def _forget_pools_in_child() -> None:
    # A forked child has a fresh runtime: the parent's connections are not its own.
    _pools.clear()


os.register_at_fork(after_in_child=_forget_pools_in_child)


def acquire_pool(resource: ConcurrencyResource) -> HttpPool:
    """The pool of ``resource`` in the current trio run, counting one more user (release it)."""
    # The "shared" resources of http and of s3 are different resources.
    key = (
        trio.lowlevel.current_trio_token(),
        (resource.kind, _SHARED) if resource.shared else resource,
    )
    pool = _pools.get(key)
    if pool is None:
        pool = _pools[key] = HttpPool(resource.limiter, key)
    pool.users += 1
    return pool


#: What a request that got no (whole) response raises: a retriable network failure.
TRANSPORT_ERRORS: Final = (HttpProtocolError, trio.BrokenResourceError, trio.TooSlowError, OSError)


async def exchange(
    pool: HttpPool,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | memoryview | None = None,
) -> HttpResponse:
    """One request as given, no retries and no concurrency slot (the caller's); a ``host`` header replaces the URL's.

    Raises:
        InvalidArgumentError: a URL that is not http(s) with a host.
        TRANSPORT_ERRORS: no response (see ``transport_detail``).
    """
    origin = origin_of(url)
    sent: list[tuple[str, str | bytes]] = []
    for name, value in headers.items():
        if name == "host":
            origin = attrs.evolve(origin, host_header=value.encode("latin-1"))
        else:
            sent.append((name, value))
    return await pool.request(origin, method, sent, body)


def transport_detail(exc: BaseException) -> str:
    """What went wrong with a request that raised one of ``TRANSPORT_ERRORS``."""
    if isinstance(exc, trio.TooSlowError):
        return f"no connection within {CONNECT_TIMEOUT:g} s"
    if isinstance(exc, trio.BrokenResourceError) and exc.__cause__ is not None:
        exc = exc.__cause__  # the OSError or ssl.SSLError underneath
    return str(exc) or type(exc).__name__


async def send(
    pool: HttpPool,
    method: str,
    url: str,
    headers: dict[str, Any],
    retries: HttpRequestRetriesConfig,
) -> HttpResponse:
    """Send a request, trying again after transient failures as ``retries`` allows.

    Returns the response to a request with a status that is not retriable
    (its body read); statuses of 300 and above are the caller's to judge.

    Raises:
        AbortedError: every attempt failed with a transient error (the last is its cause).
        TensorTrioError: a request that cannot succeed (malformed URL, unsupported scheme).
    """
    origin = origin_of(url)
    sent = [(name, value) for name, value in headers.items() if name != "host"]
    if "host" in headers:  # the spec's own Host header replaces the URL's
        host = headers["host"]
        origin = attrs.evolve(origin, host_header=host if isinstance(host, bytes) else host.encode("latin-1"))
    if origin.authorization is not None and "authorization" not in headers:
        sent.append(("authorization", origin.authorization))
    limiter = pool.limiter
    attempt = 0
    while True:
        try:
            # Not ``async with limiter``: its acquire yields to the scheduler even
            # when a token is free, a whole scheduling round per request.
            limiter.acquire_nowait()
        except trio.WouldBlock:
            await limiter.acquire()
        try:
            try:
                response = await pool.request(origin, method, sent)
            except TRANSPORT_ERRORS as exc:
                failure: TensorTrioError = UnavailableError(f"http: {method} {url}: {transport_detail(exc)}")
                failure.__cause__ = exc
                if isinstance(exc.__cause__, ssl.SSLCertVerificationError):
                    raise failure from exc  # another attempt meets the same certificate
            else:
                if response.status_code not in RETRIABLE:
                    return response
                failure = status_error(
                    method, url, response.status_code, response.reason_phrase, bytes(response.content)
                )
        finally:
            limiter.release()
        if attempt >= retries.max_retries:
            raise AbortedError(
                f"http: {method} {url}: All {retries.max_retries} retry attempts failed: "
                f"{str(failure).removeprefix(f'http: {method} {url}: ')}"
            ) from failure
        await trio.sleep(retries.backoff(attempt))
        attempt += 1
