"""One HTTP/1.1 client connection on trio: send a request, read its response.

A lean client for the ``http`` kvstore, which sends small ``GET``/``HEAD``
requests at a high rate: a generic client (httpx over httpcore and anyio)
spends about 0.5 ms of Python per request, this one about 0.05 ms.

It speaks HTTP/1.1 as RFC 9112 says a client must, strictly:

- the response body is framed, as for any client, by: no body after ``HEAD``
  and for 1xx/204/304; ``Transfer-Encoding`` ending in ``chunked`` (trailers
  read and dropped; other transfer codings, such as gzip, are refused);
  ``Content-Length`` (read into one preallocated buffer up to 64 MiB, beyond
  that as the bytes arrive); otherwise everything until the server closes
  the connection;
- interim 1xx responses are skipped; a malformed status line, header, chunk
  size or ``Content-Length``, or a head over 64 KiB, is a
  :class:`HttpProtocolError`, and the connection is not used again;
- a connection is kept for the next request only after a complete response
  to an HTTP/1.1 request without ``Connection: close`` (``reusable``); one
  whose request failed or was cancelled half-way is closed, since what is
  still in flight on it is unknown.

Timeouts are the caller's (trio cancel scopes); ``receive`` pushes the
deadline of ``idle_scope`` forward each time bytes arrive, so a response
fails once no byte has arrived for ``read_timeout`` seconds, not after a
fixed total time.
"""

from __future__ import annotations

import math
import re
import socket
from typing import TYPE_CHECKING, Final

import attrs
import trio

from ...errors import InvalidArgumentError

if TYPE_CHECKING:
    import ssl
    from collections.abc import Sequence

__all__ = [
    "HttpConnection",
    "HttpProtocolError",
    "HttpResponse",
    "IncompleteResponse",
    "ResponseTimeout",
    "connect",
]

_MAX_HEAD: Final = 64 * 1024
_RECEIVE: Final = 64 * 1024  # less than malloc's mmap threshold: a recv's buffer is cheap
_NO_BODY_STATUSES: Final = frozenset({204, 304})
#: A body of a declared length up to this is read into one buffer allocated at once; a longer
#: one grows as it arrives, so memory follows the bytes received, not the header's claim.
_PREALLOCATE: Final = 64 << 20
_CHUNK_SIZE: Final = re.compile(rb"[0-9A-Fa-f]+")


class HttpProtocolError(Exception):
    """The server's bytes are not a valid HTTP/1.1 response (or not the whole of one)."""


class IncompleteResponse(HttpProtocolError):
    """The connection closed before the response was complete."""


class ResponseTimeout(HttpProtocolError):
    """No byte of the response arrived for ``read_timeout`` seconds."""


@attrs.frozen
class HttpResponse:
    """A response: status, reason, headers (names lower-cased, bytes) and body."""

    status_code: int
    reason_phrase: str
    headers: Sequence[tuple[bytes, bytes]]
    content: bytes | memoryview
    """The body: ``bytes``, or a read-only view of the buffer a long body was read into."""

    def header(self, name: bytes) -> bytes | None:
        """The first header named ``name`` (lower case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


@attrs.define(eq=False)
class HttpConnection:
    """An open connection to one origin; one request at a time."""

    transport: socket.socket | trio.SSLStream[trio.SocketStream]
    """A plain connection's own non-blocking socket (read and written directly: trio's
    ``SocketStream`` costs about 10 us a call in Python), or a TLS stream."""
    host_header: bytes
    """The ``Host`` header's value: ``host[:port]`` (the port when it is not the scheme's)."""
    read_timeout: float = math.inf
    requests: int = 0
    """Responses read on this connection so far."""
    reusable: bool = True
    """False once the connection cannot carry another request (close it)."""
    _buffer: bytearray = attrs.field(init=False, factory=bytearray)
    received: int = attrs.field(init=False, default=0)
    """Bytes of the current response received so far."""
    _scope: trio.CancelScope | None = attrs.field(init=False, default=None)

    def close(self) -> None:
        """Close the socket now (no TLS close_notify: the connection may be mid-response)."""
        self.reusable = False
        transport = self.transport
        if isinstance(transport, socket.socket):
            if transport.fileno() >= 0:
                trio.lowlevel.notify_closing(transport)  # a task waiting on it wakes up
                transport.close()
        else:
            transport.transport_stream.socket.close()

    async def request(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str | bytes]],
        body: bytes | memoryview | None = None,
    ) -> HttpResponse:
        """Send ``method target`` with ``headers`` (``Host`` added) and read the whole response.

        ``body`` is sent with a ``Content-Length`` (added unless ``headers`` has one).

        On any exception (cancellation included) the connection is no longer
        ``reusable``.

        Raises:
            HttpProtocolError: a malformed or incomplete response.
            trio.BrokenResourceError, OSError: the connection failed.
        """
        self.reusable = False  # until the response is read whole
        self.received = 0
        if b"\n" in self.host_header or b"\r" in self.host_header:
            raise InvalidArgumentError(f"http: Host header {self.host_header!r} holds a line break")
        parts = [f"{method} {target} HTTP/1.1\r\nhost: ".encode("latin-1"), self.host_header]
        length_sent = False
        for name, value in headers:
            raw = value if isinstance(value, bytes) else value.encode("latin-1")
            if b"\n" in raw or b"\r" in raw or "\n" in name or "\r" in name:
                # (A line break would end the head early: the rest a request of its own.)
                raise InvalidArgumentError(f"http: header {name!r} holds a line break")
            parts.append(b"\r\n" + name.encode("latin-1") + b": " + raw)
            length_sent = length_sent or name == "content-length"
        if body is not None and not length_sent:
            parts.append(b"\r\ncontent-length: %d" % len(body))
        parts.append(b"\r\n\r\n")
        small = body is not None and len(body) <= _RECEIVE
        if small:
            parts.append(body)  # type: ignore[arg-type]  # bytes or a byte memoryview
        with trio.CancelScope(deadline=trio.current_time() + self.read_timeout) as scope:
            self._scope = scope
            await self._send_all(b"".join(parts))
            if body is not None and not small:
                await self._send_all(body)  # not copied into one buffer with the head
            response, keep = await self._read_response(method == "HEAD")
        if scope.cancelled_caught:
            raise ResponseTimeout(f"no response byte arrived for {self.read_timeout:g} s")
        self.requests += 1
        self.reusable = keep
        return response

    async def _send_all(self, data: bytes | memoryview) -> None:
        transport = self.transport
        if not isinstance(transport, socket.socket):
            await transport.send_all(data)
            return
        view = memoryview(data).cast("B")
        sent = 0
        while sent < len(view):
            try:
                sent += transport.send(view[sent:])
            except BlockingIOError:
                await trio.lowlevel.wait_writable(transport)

    async def _receive(self) -> bytes | bytearray:
        transport = self.transport
        if isinstance(transport, socket.socket):
            while True:
                try:
                    data: bytes | bytearray = transport.recv(_RECEIVE)
                    break
                except BlockingIOError:
                    await trio.lowlevel.wait_readable(transport)
        else:
            data = await transport.receive_some(_RECEIVE)
        if data:
            self._received_some(len(data))
        return data

    def _received_some(self, count: int) -> None:
        self.received += count
        if self._scope is not None and self.read_timeout != math.inf:
            self._scope.deadline = trio.current_time() + self.read_timeout

    async def _read_head(self) -> tuple[int, str, list[tuple[bytes, bytes]], bool]:
        buffer = self._buffer
        searched = 0
        while (end := buffer.find(b"\r\n\r\n", searched)) < 0:
            if len(buffer) > _MAX_HEAD:
                raise HttpProtocolError(f"response head longer than {_MAX_HEAD} bytes")
            searched = max(0, len(buffer) - 3)
            data = await self._receive()
            if not data:
                raise IncompleteResponse(
                    "connection closed before the response's status line and headers"
                )
            buffer += data
        head = bytes(buffer[:end])
        del buffer[: end + 4]
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        code, _, reason = rest.partition(b" ")
        if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
            raise HttpProtocolError(f"malformed status line {lines[0][:100]!r}")
        headers: list[tuple[bytes, bytes]] = []
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip() or b" " in name or b"\t" in name:
                # A line starting with whitespace is obsolete line folding, refused as RFC 9112 allows.
                raise HttpProtocolError(f"malformed header line {line[:100]!r}")
            headers.append((name.lower(), value.strip(b" \t")))
        return int(code), reason.decode("latin-1"), headers, version == b"HTTP/1.1"

    async def _read_response(self, head_request: bool) -> tuple[HttpResponse, bool]:
        while True:
            status, reason, headers, http11 = await self._read_head()
            if status >= 200:
                break
            if status == 101:
                raise HttpProtocolError("unexpected 101 Switching Protocols")
            # 1xx (100 Continue, 103 Early Hints): another head follows.
        keep = http11
        transfer: bytes | None = None
        lengths: list[bytes] = []
        for name, value in headers:
            if name == b"content-length":
                lengths.append(value)
            elif name == b"transfer-encoding":
                transfer = value if transfer is None else transfer + b"," + value
            elif name == b"connection" and b"close" in value.lower().split(b","):
                keep = False
        if head_request or status in _NO_BODY_STATUSES:
            body: bytes | memoryview = b""
        elif transfer is not None:
            codings = [c.strip() for c in transfer.lower().split(b",")]
            if any(c not in (b"chunked", b"identity") for c in codings):
                # (Only Content-Encoding is decoded; a transfer coding such as gzip is not.)
                raise HttpProtocolError(f"unsupported Transfer-Encoding {transfer[:100]!r}")
            if codings[-1] == b"chunked":
                body = await self._read_chunked()
            else:
                body, keep = await self._read_to_close(), False
        elif lengths:
            body = await self._read_exactly(_content_length(lengths))
        else:
            body, keep = await self._read_to_close(), False
        if self._buffer:
            keep = False  # bytes after the response: not a server to trust with another request
        return HttpResponse(status, reason, headers, body), keep

    async def _read_exactly(self, size: int) -> bytes | memoryview:
        buffer = self._buffer
        if len(buffer) >= size:
            head = bytes(buffer[:size])
            del buffer[:size]
            return head
        if size > _PREALLOCATE:
            return await self._read_growing(size)
        view = memoryview(bytearray(size))
        filled = len(buffer)
        view[:filled] = buffer
        buffer.clear()
        transport = self.transport
        while filled < size and isinstance(transport, socket.socket):
            # Straight into the body's buffer: no copy.
            try:
                count = transport.recv_into(view[filled:])
            except BlockingIOError:
                await trio.lowlevel.wait_readable(transport)
                continue
            if not count:
                raise IncompleteResponse(f"connection closed after {filled} of {size} body bytes")
            self._received_some(count)
            filled += count
        while filled < size:
            data = await self._receive()
            if not data:
                raise IncompleteResponse(f"connection closed after {filled} of {size} body bytes")
            take = min(len(data), size - filled)
            view[filled : filled + take] = data[:take]
            filled += take
            if take < len(data):
                buffer += data[take:]
        return view.toreadonly()

    async def _read_growing(self, size: int) -> memoryview:
        """A body of ``size`` bytes collected as it arrives (a size too large to allocate up front)."""
        buffer = self._buffer
        body = bytearray(buffer)
        buffer.clear()
        while len(body) < size:
            data = await self._receive()
            if not data:
                raise IncompleteResponse(f"connection closed after {len(body)} of {size} body bytes")
            take = min(len(data), size - len(body))
            body += data[:take]
            if take < len(data):
                buffer += data[take:]
        return memoryview(body).toreadonly()

    async def _read_line(self) -> bytes:
        buffer = self._buffer
        while (end := buffer.find(b"\r\n")) < 0:
            if len(buffer) > _MAX_HEAD:
                raise HttpProtocolError("chunk size or trailer line too long")
            data = await self._receive()
            if not data:
                raise IncompleteResponse("connection closed in a chunked body")
            buffer += data
        line = bytes(buffer[:end])
        del buffer[: end + 2]
        return line

    async def _read_chunked(self) -> bytes:
        parts: list[bytes | memoryview] = []
        while True:
            line = await self._read_line()
            size_text = line.partition(b";")[0].strip()  # chunk extensions are ignored
            if _CHUNK_SIZE.fullmatch(size_text) is None:  # (int() would take "0x14", "1_4")
                raise HttpProtocolError(f"malformed chunk size line {line[:100]!r}")
            size = int(size_text, 16)
            if size == 0:
                while await self._read_line():
                    pass  # trailer fields, up to the empty line
                return b"".join(parts)
            parts.append(await self._read_exactly(size))
            if await self._read_line():
                raise HttpProtocolError("chunk data not followed by CRLF")

    async def _read_to_close(self) -> bytes:
        parts: list[bytes | bytearray] = [bytes(self._buffer)]
        self._buffer.clear()
        while data := await self._receive():
            parts.append(data)
        return b"".join(parts)


def _content_length(values: list[bytes]) -> int:
    # Repeated (or comma-joined) equal values are one length; different ones are refused.
    found = {v.strip() for value in values for v in value.split(b",")}
    if len(found) != 1:
        raise HttpProtocolError(f"conflicting Content-Length headers {sorted(found)!r}")
    (text,) = found
    if not text.isdigit():
        raise HttpProtocolError(f"malformed Content-Length {text[:40]!r}")
    return int(text)


async def connect(
    scheme: str,
    host: str,
    port: int,
    host_header: bytes,
    ssl_context: ssl.SSLContext | None,
    read_timeout: float,
) -> HttpConnection:
    """Open a connection (TCP, then TLS for ``https``, checking the server's certificate).

    The caller bounds the time it takes with a cancel scope.
    """
    tcp = await trio.open_tcp_stream(host, port)  # TCP_NODELAY set
    if scheme != "https":
        raw = socket.socket(fileno=tcp.socket.detach())
        raw.setblocking(False)
        return HttpConnection(raw, host_header, read_timeout)
    assert ssl_context is not None
    stream = trio.SSLStream(tcp, ssl_context, server_hostname=host, https_compatible=True)
    try:
        await stream.do_handshake()
    except BaseException:
        tcp.socket.close()
        raise
    return HttpConnection(stream, host_header, read_timeout)
