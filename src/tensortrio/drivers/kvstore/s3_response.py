"""What S3 responses mean: errors (and which are retried), generations, and list pages.

- An error response's kind follows its HTTP status, as for ``http``; its
  message is the XML ``<Error>``'s ``Code: Message``. It is retried when its
  code is one AWS calls transient (``SlowDown``, ``InternalError``,
  ``RequestTimeout``, ...) or, without a code, when its status is (408, 429,
  5xx, ...), as TensorStore's ``AwsHttpResponseToStatus`` decides.
- A value's generation is ``b"\\x00"`` + its ``ETag`` header, quotes included
  (TensorStore's ``StorageGeneration::FromString``).
- A ``ListObjectsV2`` page gives keys, and a continuation token if truncated.
"""

from __future__ import annotations

import urllib.parse
import xml.etree.ElementTree as ElementTree
from typing import TYPE_CHECKING, Final

from ...errors import InvalidArgumentError, TensorTrioError
from .http_response import status_error

if TYPE_CHECKING:
    from .s3_request import S3Response

__all__ = [
    "RETRIABLE_CODES",
    "RETRIABLE_STATUSES",
    "aws_error",
    "etag_of",
    "generation_of",
    "parse_list",
]

RETRIABLE_STATUSES: Final = frozenset({408, 419, 429, 440, 500, 502, 503, 504, 509, 598, 599})
RETRIABLE_CODES: Final = frozenset(
    {
        "InternalFailureException", "InternalFailure", "InternalServerError", "InternalError",
        "RequestExpiredException", "RequestExpired", "ServiceUnavailableException",
        "ServiceUnavailableError", "ServiceUnavailable", "RequestThrottledException",
        "RequestThrottled", "ThrottlingException", "ThrottledException", "Throttling",
        "SlowDownException", "SlowDown", "RequestTimeTooSkewedException",
        "RequestTimeTooSkewed", "RequestTimeoutException", "RequestTimeout",
    }
)  # fmt: skip


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]  # S3 documents carry the 2006-03-01 namespace


def _child_text(node: ElementTree.Element, name: str) -> str | None:
    for child in node:
        if _local(child.tag) == name:
            return child.text or ""
    return None


def aws_error(method: str, where: str, response: S3Response) -> tuple[TensorTrioError, bool]:
    """The error of an error response to ``method`` on ``where`` (bucket/key), and whether to retry.

    The message is ``s3: <method> <where>: <Code>: <Message> [HTTP code <status>]``.
    """
    code = response.headers.get("x-amzn-errortype", "")
    message = ""
    if response.body:
        try:
            root = ElementTree.fromstring(response.body)
        except ElementTree.ParseError:
            root = None
        if root is not None and _local(root.tag) == "Error":
            code = code or (_child_text(root, "Code") or "")
            message = _child_text(root, "Message") or ""
    retry = code in RETRIABLE_CODES if code else response.status in RETRIABLE_STATUSES
    text = (code or "Unknown") + (f": {message}" if message else "")
    kind = type(status_error(method, where, response.status, "", b""))
    return kind(f"s3: {method} {where}: {text} [HTTP code {response.status}]"), retry


def etag_of(generation: bytes) -> str | None:
    """The ETag (with its quotes) a generation was made from, or None if it was not made from one."""
    if len(generation) < 3 or generation[0] != 0:
        return None
    etag = generation[1:]
    if etag[:1] != b'"' or etag[-1:] != b'"':
        return None
    return etag.decode("latin-1")


def generation_of(method: str, where: str, response: S3Response) -> bytes:
    """The generation a response's ``ETag`` names.

    Raises:
        NotFoundError: the response has no ``ETag``.
    """
    etag = response.headers.get("etag")
    if etag is None:
        from ...errors import NotFoundError

        raise NotFoundError(f"s3: {method} {where}: etag not found in response headers")
    return b"\x00" + etag.encode("latin-1")


def parse_list(body: bytes) -> tuple[list[bytes], str | None]:
    """The keys of a ``ListBucketResult`` page and its ``NextContinuationToken`` (None: last page).

    The page was asked for with ``encoding-type=url``: XML 1.0 cannot hold a
    key with control characters, so keys come percent-encoded (a space as
    ``+``, as S3 encodes it) and are decoded here.

    Raises:
        InvalidArgumentError: the page is not a well-formed ``ListBucketResult``.
    """
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise InvalidArgumentError(f"s3: Malformed List response: {exc}") from None
    if _local(root.tag) != "ListBucketResult":
        raise InvalidArgumentError("s3: Malformed List response: missing <ListBucketResult>")
    keys: list[bytes] = []
    for node in root:
        if _local(node.tag) != "Contents":
            continue
        key = _child_text(node, "Key")
        if key is None:
            raise InvalidArgumentError("s3: Malformed List response: missing <Key> in <Contents>")
        keys.append(urllib.parse.unquote_to_bytes(key.replace("+", " ")))
    if _child_text(root, "IsTruncated") != "true":
        return keys, None
    token = _child_text(root, "NextContinuationToken")
    if not token:
        raise InvalidArgumentError("s3: Malformed List response: missing <NextContinuationToken>")
    return keys, token
