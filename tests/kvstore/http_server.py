"""A real HTTP server over a directory, for the ``http`` kvstore tests.

``http.server`` answers neither ``Range`` nor conditional requests; this
handler does what the ``http`` driver relies on, as object stores and
static file servers do: ``GET``/``HEAD`` with ``Range`` (206, or 416 with
``Content-Range: bytes */size``), a strong ``ETag`` derived from the
content, ``If-None-Match`` (304) and ``If-Match`` (412). The test controls
it through :class:`ServedDirectory`: fail the next N requests with a
status, leave out or weaken the ETag, hold requests until released (to
cancel them in flight), and see every request it received.
"""

from __future__ import annotations

import hashlib
import http.server
import re
import select
import threading
import urllib.parse
import zlib
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    import ssl
    from pathlib import Path

__all__ = ["ReceivedRequest", "ServedDirectory"]

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@attrs.frozen
class ReceivedRequest:
    """One request as the server saw it (header names lower-cased)."""

    method: str
    path: str
    """The request target, query string included, as sent (still percent-encoded)."""
    headers: dict[str, str]


@attrs.define(eq=False)
class ServedDirectory:
    """What the server serves and how it behaves; shared with its handler threads."""

    root: Path
    etag: str = "strong"
    """``"strong"``, ``"weak"`` (``W/"..."``) or ``"none"``: the ETag sent with values."""
    date: str | None = None
    """The ``Date`` header sent with every response (by default the current time)."""
    ignore_range: bool = False
    """Answer every ``GET`` with the whole value (200), as servers that ignore ``Range`` do."""
    ignore_conditions: bool = False
    """Answer as if ``If-Match`` and ``If-None-Match`` were not there (servers without them)."""
    fail_status: int = 503
    close_after_response: bool = False
    """Close each connection after one response, without saying so (no ``Connection: close``),
    as servers dropping idle kept-alive connections do."""
    chunked: bool = False
    """Send bodies with ``Transfer-Encoding: chunked`` (in chunks of 7 bytes, with a trailer)."""
    content_encoding: str | None = None
    """``"gzip"`` or ``"deflate"``: compress whole values for clients accepting it."""
    truncate_at: int | None = None
    """Send only this many bytes of each body (announcing all of them), then close."""
    connections: int = 0
    """Connections accepted so far."""
    _failures: int = 0
    _hold: threading.Event | None = None
    _held: threading.Event = attrs.field(factory=threading.Event)
    _abandoned: threading.Event = attrs.field(factory=threading.Event)
    _requests: list[ReceivedRequest] = attrs.field(factory=list)
    _lock: threading.Condition = attrs.field(factory=threading.Condition)
    _running: int = 0
    peak: int = 0
    """The most requests the server was answering at once."""
    url: str = ""
    """``http://127.0.0.1:<port>`` once serving."""

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` requests with ``status`` (an empty body)."""
        with self._lock:
            self._failures = count
            self.fail_status = status

    def hold_requests(self) -> threading.Event:
        """Hold every request until the returned event is set (see ``wait_held``)."""
        self._hold = threading.Event()
        self._held.clear()
        self._abandoned.clear()
        return self._hold

    def wait_held(self, timeout: float = 10.0) -> bool:
        """Wait until a held request has arrived."""
        return self._held.wait(timeout)

    def wait_abandoned(self, timeout: float = 10.0) -> bool:
        """Wait until the client of a held request closed its connection (it gave up)."""
        return self._abandoned.wait(timeout)

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every request received so far, in order."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()
            self.peak = self._running

    def wait_requests(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until ``count`` requests were received (since the last ``clear_requests``)."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self._requests) >= count, timeout)

    def _finished(self) -> None:
        with self._lock:
            self._running -= 1

    def _record(self, request: ReceivedRequest) -> int | None:
        with self._lock:
            self._requests.append(request)
            self._running += 1
            self.peak = max(self.peak, self._running)
            self._lock.notify_all()
            if self._failures:
                self._failures -= 1
                return self.fail_status
        return None

    def etag_of(self, data: bytes) -> str | None:
        if self.etag == "none":
            return None
        digest = hashlib.blake2b(data, digest_size=8).hexdigest()
        return f'W/"{digest}"' if self.etag == "weak" else f'"{digest}"'


def _matches(condition: str, etag: str | None) -> bool:
    if condition.strip() == "*":
        return etag is not None
    candidates = [c.strip() for c in condition.split(",")]
    return etag is not None and etag.removeprefix("W/") in (
        c.removeprefix("W/") for c in candidates
    )


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per response, sent at once: headers and body written apart
    # meet the client's delayed ACK (40 ms a request) under Nagle's algorithm.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    timeout = 30  # an idle kept-alive connection's thread ends after this
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.served._lock:
            self.server.served.connections += 1

    def date_time_string(self, timestamp: float | None = None) -> str:
        date = self.server.served.date
        return super().date_time_string(timestamp) if date is None else date

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the tests look at ``ServedDirectory.requests`` instead

    def do_HEAD(self) -> None:
        try:
            self._answer(body=False)
        finally:
            self.server.served._finished()

    def do_GET(self) -> None:
        try:
            self._answer(body=True)
        finally:
            self.server.served._finished()

    def _send(self, status: int, headers: dict[str, str], body: bytes, send_body: bool) -> None:
        served = self.server.served
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if served.chunked and send_body:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 7):
                part = body[i : i + 7]
                self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\nx-trailer: t\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body if served.truncate_at is None else body[: served.truncate_at])
        if served.truncate_at is not None or served.close_after_response:
            self.close_connection = True

    def _answer(self, body: bool) -> None:
        served = self.server.served
        headers = {k.lower(): v for k, v in self.headers.items()}
        failure = served._record(ReceivedRequest(self.command, self.path, headers))
        hold = served._hold
        if hold is not None:
            served._held.set()
            while not hold.wait(0.01):
                # A client that gave up closes the connection: readable at EOF.
                if select.select([self.connection], [], [], 0)[0] and not self.connection.recv(
                    1, 0x2  # MSG_PEEK
                ):
                    served._abandoned.set()
                    self.close_connection = True
                    return
        if failure is not None:
            self._send(failure, {}, b"", body)
            return
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        file = (served.root / path.lstrip("/")).resolve()
        if not file.is_relative_to(served.root.resolve()) or not file.is_file():
            self._send(404, {}, b"not found", body)
            return
        data = file.read_bytes()
        etag = served.etag_of(data)
        tag = {} if etag is None else {"ETag": etag}
        if_match = None if served.ignore_conditions else headers.get("if-match")
        if if_match is not None and not _matches(if_match, etag):
            self._send(412, {}, b"", body)
            return
        if_none_match = None if served.ignore_conditions else headers.get("if-none-match")
        if if_none_match is not None and _matches(if_none_match, etag):
            self._send(304, tag, b"", False)
            return
        requested = headers.get("range")
        if requested is None or served.ignore_range:
            coding = served.content_encoding
            if coding is not None and coding in headers.get("accept-encoding", ""):
                packer = zlib.compressobj(wbits=31 if coding == "gzip" else 15)
                compressed = packer.compress(data) + packer.flush()
                self._send(200, {**tag, "Content-Encoding": coding}, compressed, body)
                return
            self._send(200, tag, data, body)
            return
        span = _resolve_range(requested, len(data))
        if span is None:
            self._send(416, {"Content-Range": f"bytes */{len(data)}"}, b"", body)
            return
        start, stop = span
        content_range = f"bytes {start}-{stop - 1}/{len(data)}"
        self._send(206, {**tag, "Content-Range": content_range}, data[start:stop], body)


def _resolve_range(header: str, size: int) -> tuple[int, int] | None:
    """``[start, stop)`` of a single ``bytes=`` range, or None if it is not satisfiable."""
    match = _RANGE.match(header.strip())
    if match is None or not (match.group(1) or match.group(2)):
        return None
    first, last = match.groups()
    if not first:  # a suffix: the last N bytes
        length = int(last)
        return (max(0, size - length), size) if length and size else None
    start = int(first)
    stop = size if not last else min(size, int(last) + 1)
    return (start, stop) if start < size and start < stop else None


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    served: ServedDirectory


def serve(
    served: ServedDirectory, tls: ssl.SSLContext | None = None
) -> tuple[_Server, threading.Thread]:
    """Start serving ``served`` on an ephemeral port of 127.0.0.1, in a thread (https with ``tls``)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.served = served
    scheme = "http"
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    served.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    # A short poll: shutdown() waits for the loop to notice (0.5 s by default).
    thread = threading.Thread(
        target=server.serve_forever, args=(0.01,), name="test http server", daemon=True
    )
    thread.start()
    return server, thread
