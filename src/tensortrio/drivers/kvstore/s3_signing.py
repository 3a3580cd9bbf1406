"""AWS Signature Version 4 for S3 requests (header-based), from AWS's specification.

A signed request carries ``x-amz-date``, ``x-amz-content-sha256`` (the hex
SHA-256 of the body), ``x-amz-security-token`` for temporary credentials,
and ``Authorization: AWS4-HMAC-SHA256 Credential=<key>/<scope>,
SignedHeaders=<names>, Signature=<hex>``, where the signature is the
HMAC-SHA256, under a key derived from the secret, the date, the region and
``s3``, of a string hashing the *canonical request*: method, URI-encoded path,
sorted query, sorted lower-case headers, their names and the payload hash.

Anonymous requests (no credentials) carry the two ``x-amz-`` headers but no
signature, as TensorStore sends them.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import urllib.parse
from typing import TYPE_CHECKING, Final

import attrs

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "EMPTY_SHA256",
    "AwsCredentials",
    "Signature",
    "canonical_query",
    "encode_key",
    "sign",
]

#: The SHA-256 of no bytes: the payload hash of GET, HEAD and DELETE.
EMPTY_SHA256: Final = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

_UNRESERVED: Final = "-_.~"  # with letters and digits: RFC 3986 unreserved characters
_SPACES: Final = re.compile(r" {2,}")


@attrs.frozen(repr=False)
class AwsCredentials:
    """An access key, its secret, and the session token of temporary credentials."""

    access_key_id: str
    secret_access_key: str
    session_token: str = ""

    def __repr__(self) -> str:
        # The secret never appears in logs or error messages.
        return f"AwsCredentials(access_key_id={self.access_key_id!r}, ...)"


@attrs.frozen
class Signature:
    """What signing produced: the headers to send, and the intermediate strings (for tests)."""

    headers: dict[str, str]
    canonical_request: str = ""
    string_to_sign: str = ""
    signature: str = ""


def encode_key(key: str) -> str:
    """URI-encode an object key as S3 signs it: everything but unreserved characters and ``/``."""
    return urllib.parse.quote(key, safe=_UNRESERVED + "/")


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    """The query string, names and values URI-encoded (``/`` too) and sorted, as signed and sent."""
    encoded = sorted(
        (urllib.parse.quote(k, safe=_UNRESERVED), urllib.parse.quote(v, safe=_UNRESERVED))
        for k, v in params
    )
    return "&".join(f"{k}={v}" for k, v in encoded)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str) -> bytes:
    """The key derived for one day, region and ``s3``."""
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    key = _hmac(key, region)
    key = _hmac(key, "s3")
    return _hmac(key, "aws4_request")


def sign(
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    payload_sha256: str,
    credentials: AwsCredentials | None,
    region: str,
    when: datetime.datetime,
) -> Signature:
    """Sign a request whose ``headers`` include ``host``.

    Args:
        path: the request's path, already encoded (``encode_key``) as it is sent.
        query: the query string as sent (``canonical_query``).
        headers: lower-case names; every one of them is signed.
        when: the request time (UTC).

    Returns:
        The headers to send: ``headers`` with the ``x-amz-*`` ones and, unless
        ``credentials`` is None (anonymous), ``authorization``.
    """
    stamp = when.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = dict(headers)
    out["x-amz-content-sha256"] = payload_sha256
    out["x-amz-date"] = stamp
    if credentials is None:
        return Signature(out)
    if credentials.session_token:
        out["x-amz-security-token"] = credentials.session_token
    canonical = sorted(
        (name.lower(), _SPACES.sub(" ", value.strip())) for name, value in out.items()
    )
    names = ";".join(name for name, _ in canonical)
    canonical_request = "\n".join(
        [
            method,
            path or "/",
            query,
            *(f"{name}:{value}" for name, value in canonical),
            "",
            names,
            payload_sha256,
        ]
    )
    scope = f"{stamp[:8]}/{region}/s3/aws4_request"
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    string_to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{digest}"
    key = signing_key(credentials.secret_access_key, stamp[:8], region)
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    out["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={names}, Signature={signature}"
    )
    return Signature(out, canonical_request, string_to_sign, signature)
