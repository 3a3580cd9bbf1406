"""The ``http`` kvstore's own HTTP/1.1 client, against real servers on 127.0.0.1.

Through ``ts.KvStore`` against the tests' threaded server (keep-alive
reuse, connections the server closes, chunked and truncated bodies,
cancelled requests, TLS), and ``http_connection`` against a trio listener
sending exact bytes (interim responses, body framing, malformed responses).
"""

from __future__ import annotations

import datetime
import functools
import ssl
from typing import TYPE_CHECKING, Any

import pytest
import trio

import tensortrio as ts
from tensortrio.drivers.kvstore import http_connection
from tensortrio.drivers.kvstore.http_client import origin_of
from tensortrio.drivers.kvstore.http_connection import (
    HttpProtocolError,
    IncompleteResponse,
    ResponseTimeout,
    connect,
)
from tensortrio.errors import AbortedError, UnavailableError

from .http_server import ServedDirectory, serve

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

VALUE = bytes(range(200))


def open_store(served: ServedDirectory, retries: int = 0) -> Any:
    (served.root / "a").write_bytes(VALUE)
    spec = {
        "driver": "http",
        "base_url": served.url,
        "http_request_retries": {"max_retries": retries, "initial_delay": "1ms", "max_delay": "2ms"},
    }
    return ts.KvStore.open(spec).result()


def test_sequential_reads_reuse_one_connection(served: ServedDirectory) -> None:
    kv = open_store(served)
    for _ in range(10):
        assert kv.read("a").result().value == VALUE
    assert kv.read("a", byte_range=slice(5, 9)).result().value == VALUE[5:9]
    assert kv.read("absent").result().state == "missing"  # a 404 with a body keeps it too
    assert len(served.requests) == 12
    assert served.connections == 1


def test_connection_closed_by_server_between_requests_is_sent_again(
    served: ServedDirectory,
) -> None:
    # No retries allowed: a kept connection found closed is not a failed attempt.
    kv = open_store(served, retries=0)
    served.close_after_response = True
    for _ in range(5):
        assert kv.read("a").result().value == VALUE
    assert len(served.requests) == 5
    assert served.connections == 5


def test_spec_host_header_replaces_the_url_host(served: ServedDirectory) -> None:
    (served.root / "a").write_bytes(VALUE)
    spec = {"driver": "http", "base_url": served.url, "headers": ["Host: example.org"]}
    assert ts.KvStore.open(spec).result().read("a").result().value == VALUE
    (request,) = served.requests
    assert request.headers["host"] == "example.org"


def test_chunked_responses(served: ServedDirectory) -> None:
    kv = open_store(served)
    served.chunked = True
    assert kv.read("a").result().value == VALUE
    assert kv.read("a", byte_range=slice(10, 150)).result().value == VALUE[10:150]
    assert kv.read("a", byte_range=slice(-3, None)).result().value == VALUE[-3:]
    assert served.connections == 1  # a chunked body ends the response, not the connection


def test_cancelled_request_connection_is_not_reused(served: ServedDirectory) -> None:
    kv = open_store(served)
    assert kv.read("a").result().value == VALUE
    served.hold_requests()
    future = kv.read("a")  # on the kept connection
    assert served.wait_held()
    assert future.cancel()
    assert served.wait_abandoned()
    served._hold = None
    assert kv.read("a").result().value == VALUE
    assert served.connections == 2


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_compressed_whole_values_are_decoded(served: ServedDirectory, coding: str) -> None:
    kv = open_store(served)
    served.content_encoding = coding
    assert kv.read("a").result().value == VALUE
    assert kv.read("a", byte_range=slice(1, 4)).result().value == VALUE[1:4]
    whole, ranged = served.requests
    assert whole.headers["accept-encoding"] == "gzip, deflate"
    assert ranged.headers["accept-encoding"] == "identity"


def test_truncated_body_is_an_error_naming_the_url(served: ServedDirectory) -> None:
    kv = open_store(served, retries=0)
    served.truncate_at = 50
    url = f"{served.url}/a"
    with pytest.raises(
        AbortedError,
        match=rf"^http: GET {url}: All 0 retry attempts failed: "
        r"connection closed after 50 of 200 body bytes$",
    ) as caught:
        kv.read("a").result()
    assert isinstance(caught.value.__cause__, UnavailableError)


def test_truncated_body_is_tried_again(served: ServedDirectory) -> None:
    kv = open_store(served, retries=2)
    served.truncate_at = 50
    with pytest.raises(AbortedError, match=r"All 2 retry attempts failed: connection closed"):
        kv.read("a").result()
    assert len(served.requests) == 3


def test_https_to_a_plain_http_server_fails(served: ServedDirectory) -> None:
    (served.root / "a").write_bytes(VALUE)
    url = served.url.replace("http://", "https://")
    spec = {"driver": "http", "base_url": url, "http_request_retries": {"max_retries": 0}}
    kv = ts.KvStore.open(spec).result()
    with pytest.raises(AbortedError, match=rf"^http: GET {url}/a: All 0 retry attempts failed: "):
        kv.read("a").result()


@pytest.fixture
def served_tls(tmp_path: Path) -> Iterator[ServedDirectory]:
    """Like ``served``, over TLS with a self-signed certificate for 127.0.0.1."""
    pytest.importorskip(
        "cryptography",
        reason="making a self-signed certificate needs the cryptography package, not installed",
    )
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    root = tmp_path / "www"
    root.mkdir()
    directory = ServedDirectory(root)
    server, thread = serve(directory, context)
    yield directory
    server.shutdown()
    server.server_close()
    thread.join()


def test_https_with_the_certificate_in_tensorstore_ca_bundle(
    served_tls: ServedDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENSORSTORE_CA_BUNDLE", str(served_tls.root.parent / "cert.pem"))
    (served_tls.root / "a").write_bytes(VALUE)
    # A pool of its own: the shared pool may have made its TLS context already.
    spec = {"driver": "http", "base_url": served_tls.url, "http_request_concurrency": {"limit": 2}}
    kv = ts.KvStore.open(spec).result()
    for _ in range(3):
        assert kv.read("a").result().value == VALUE
    assert served_tls.connections == 1


def test_https_self_signed_certificate_is_refused(served_tls: ServedDirectory) -> None:
    # Refused at once: another attempt would meet the same certificate.
    kv = open_store(served_tls, retries=5)
    with pytest.raises(UnavailableError, match=r"^http: GET https://127\.0\.0\.1:\d+/a: .*certificate verify failed"):
        kv.read("a").result()
    assert served_tls.requests == []


# --- the connection alone, against a listener sending exact bytes


async def exchange(
    responses: list[bytes], method: str = "GET", *, close: bool = False
) -> tuple[list[Any], list[bytes]]:
    """Requests on one connection to a server answering each with the next of ``responses``.

    Returns the responses (or the exceptions raised) and the requests' bytes.
    """
    received: list[bytes] = []

    async def handler(stream: trio.SocketStream) -> None:
        buffer = b""
        for response in responses:
            while b"\r\n\r\n" not in buffer:
                data = await stream.receive_some(65536)
                if not data:
                    return
                buffer += data
            request, _, buffer = buffer.partition(b"\r\n\r\n")
            received.append(request)
            await stream.send_all(response)
        if close:
            await stream.aclose()
        else:
            await trio.sleep_forever()

    outcomes: list[Any] = []
    async with trio.open_nursery() as nursery:
        (listener,) = await nursery.start(
            functools.partial(trio.serve_tcp, handler, 0, host="127.0.0.1")
        )
        port = listener.socket.getsockname()[1]
        connection = await connect("http", "127.0.0.1", port, b"h", None, 10.0)
        for _ in responses:
            try:
                outcomes.append(await connection.request(method, "/k", [("x-a", b"1")]))
            except HttpProtocolError as exc:
                outcomes.append(exc)
                break
            if not connection.reusable:
                break
        connection.close()
        nursery.cancel_scope.cancel()
    return outcomes, received


async def test_request_bytes() -> None:
    _, (request,) = await exchange([b"HTTP/1.1 204 No Content\r\n\r\n"])
    assert request == b"GET /k HTTP/1.1\r\nhost: h\r\nx-a: 1"


async def test_interim_responses_are_skipped() -> None:
    (response,), _ = await exchange(
        [b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]
    )
    assert (response.status_code, bytes(response.content)) == (200, b"ok")


async def test_body_until_close_then_not_reusable() -> None:
    (response,), _ = await exchange([b"HTTP/1.1 200 OK\r\n\r\nuntil the end"], close=True)
    assert bytes(response.content) == b"until the end"


async def test_head_and_304_have_no_body_and_keep_the_connection() -> None:
    responses = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
    ]
    outcomes, _ = await exchange(responses, "HEAD")
    assert [(r.status_code, r.content) for r in outcomes] == [(200, b""), (304, b"")]


async def test_connection_close_header_ends_reuse() -> None:
    responses = [b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx"] * 2
    outcomes, _ = await exchange(responses)
    assert len(outcomes) == 1  # exchange stops at a connection that is not reusable


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (b"HTTP/2 200 OK\r\n\r\n", r"^malformed status line b'HTTP/2 200 OK'$"),
        (b"HTTP/1.1 20 OK\r\n\r\n", r"^malformed status line"),
        (b"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", r"^malformed header line b' folded: x'$"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
            r"^conflicting Content-Length headers",
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", r"^malformed Content-Length b'-1'$"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            r"^malformed chunk size line b'zz'$",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
            r"^chunk data not followed by CRLF$",
        ),
        # Python's int(_, 16) takes these; a chunk size is hex digits only.
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\nab\r\n0\r\n\r\n",
            r"^malformed chunk size line b'0x2'$",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1_0\r\n",
            r"^malformed chunk size line b'1_0'$",
        ),
        # A transfer coding is not a content coding: gzip here would come back undecoded.
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            r"^unsupported Transfer-Encoding b'gzip, chunked'$",
        ),
    ],
)
async def test_malformed_responses(response: bytes, message: str) -> None:
    (outcome,), _ = await exchange([response])
    assert isinstance(outcome, HttpProtocolError)
    with pytest.raises(HttpProtocolError, match=message):
        raise outcome


async def test_a_huge_content_length_is_not_allocated_before_the_body_arrives() -> None:
    # 2**60 bytes cannot be allocated: the body is collected as it arrives instead.
    (outcome,), _ = await exchange(
        [b"HTTP/1.1 200 OK\r\nContent-Length: 1152921504606846976\r\n\r\nonly this"], close=True
    )
    with pytest.raises(IncompleteResponse, match=r"^connection closed after 9 of 1152921504606846976 body bytes$"):
        raise outcome


async def test_a_body_longer_than_the_preallocation_limit_is_read_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http_connection, "_PREALLOCATE", 4)
    body = bytes(range(256)) * 1000
    responses = [b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body] * 2
    outcomes, _ = await exchange(responses)
    assert [bytes(r.content) for r in outcomes] == [body, body]  # and the connection was kept


@pytest.mark.parametrize(
    "header", [("x-a", b"1\r\nx-b: 2"), ("x-a", "1\n"), ("x-a\r\nx-b", "2")]
)
async def test_a_header_with_a_line_break_is_refused_before_sending(
    header: tuple[str, str | bytes],
) -> None:
    async def silent(stream: trio.SocketStream) -> None:
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        (listener,) = await nursery.start(
            functools.partial(trio.serve_tcp, silent, 0, host="127.0.0.1")
        )
        port = listener.socket.getsockname()[1]
        connection = await connect("http", "127.0.0.1", port, b"h", None, 10.0)
        with pytest.raises(ts.errors.InvalidArgumentError, match=r"^http: header .* holds a line break$"):
            await connection.request("GET", "/k", [header])
        assert not connection.reusable
        connection.close()
        nursery.cancel_scope.cancel()


async def test_incomplete_head() -> None:
    (outcome,), _ = await exchange([b"HTTP/1.1 200 OK\r\nContent-"], close=True)
    assert isinstance(outcome, IncompleteResponse)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h/a/b?q=1", ("http", "h", 80, b"h", "/a/b?q=1", None)),
        ("https://h:8443/", ("https", "h", 8443, b"h:8443", "/", None)),
        ("https://h:443", ("https", "h", 443, b"h", "/", None)),
        ("http://[::1]:81/x", ("http", "::1", 81, b"[::1]:81", "/x", None)),
        ("http://u:p%40@h/x", ("http", "h", 80, b"h", "/x", "Basic dTpwQA==")),
    ],
)
def test_origin_of(url: str, expected: tuple[object, ...]) -> None:
    origin = origin_of(url)
    assert (
        origin.scheme,
        origin.host,
        origin.port,
        origin.host_header,
        origin.target,
        origin.authorization,
    ) == expected



async def drip(stream: trio.SocketStream, response: bytes, pause: float) -> None:
    """After the request's head, send ``response`` a byte at a time, ``pause`` seconds apart."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        buffer += await stream.receive_some(65536)
    for i in range(len(response)):
        await trio.sleep(pause)
        await stream.send_all(response[i : i + 1])
    await trio.sleep_forever()


async def dripped(response: bytes, pause: float, read_timeout: float) -> Any:
    async with trio.open_nursery() as nursery:
        handler = functools.partial(drip, response=response, pause=pause)
        (listener,) = await nursery.start(
            functools.partial(trio.serve_tcp, handler, 0, host="127.0.0.1")
        )
        port = listener.socket.getsockname()[1]
        connection = await connect("http", "127.0.0.1", port, b"h", None, read_timeout)
        try:
            outcome: Any = await connection.request("GET", "/k", [])
        except HttpProtocolError as exc:
            outcome = exc
        connection.close()
        nursery.cancel_scope.cancel()
    return outcome


async def test_read_timeout_counts_from_the_last_byte(autojump_clock: trio.abc.Clock) -> None:
    # Every byte 100 s after the one before: over an hour in all, never 120 s without one.
    start = trio.current_time()
    response = await dripped(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nabcdefgh", 100.0, 120.0)
    assert bytes(response.content) == b"abcdefgh"
    assert trio.current_time() - start >= 100.0 * 40


async def test_read_timeout_without_bytes(autojump_clock: trio.abc.Clock) -> None:
    start = trio.current_time()
    outcome = await dripped(b"HTTP/1.1 200 OK\r\n\r\n", 1000.0, 120.0)
    assert 120.0 <= trio.current_time() - start < 121.0
    with pytest.raises(ResponseTimeout, match=r"^no response byte arrived for 120 s$"):
        raise outcome


@pytest.mark.parametrize("size", [10, 300_000])
async def test_request_body_is_sent_with_its_length(size: int) -> None:
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    received: list[bytes] = []

    async def handler(stream: trio.SocketStream) -> None:
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            buffer += await stream.receive_some(65536)
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(buffer) < length:
            buffer += await stream.receive_some(65536)
        received.append(buffer)
        await stream.send_all(b"HTTP/1.1 204 No Content\r\n\r\n")
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        (listener,) = await nursery.start(
            functools.partial(trio.serve_tcp, handler, 0, host="127.0.0.1")
        )
        port = listener.socket.getsockname()[1]
        connection = await connect("http", "127.0.0.1", port, b"h", None, 10.0)
        response = await connection.request("PUT", "/k", [], memoryview(body))
        connection.close()
        nursery.cancel_scope.cancel()
    assert response.status_code == 204
    assert received == [body]
