"""The requests of ``s3`` kvstore operations, as TensorStore's S3 driver makes them.

- read: ``GET`` (``HEAD`` for no bytes) with ``Range`` and ``If-Match`` /
  ``If-None-Match`` (``""`` standing for "no value"); 404 is a missing key,
  412 and 304 a failed condition. Whole-value reads ask for the stored
  SHA-256 checksum (``x-amz-checksum-mode``) and check it when one is sent.
- write: ``PUT``. A conditional write first checks its condition with a
  ``HEAD`` (unless the server is known to honour conditional ``PUT``: AWS),
  then sends ``If-Match: <etag>`` or ``If-None-Match: *`` with the ``PUT``
  (unless the server is known to refuse them: Ceph). ``use_conditional_write``
  overrides the guess. On a server that honours them the write is atomic;
  otherwise a writer racing between the ``HEAD`` and the ``PUT`` can be
  overwritten — TensorStore documents the same limitation.
- delete: ``DELETE`` (S3 has no conditional delete of ordinary buckets), after
  a ``HEAD`` checking the condition of a conditional delete.
- list: ``ListObjectsV2`` pages under the range's longest common prefix.

A generation not made from an ETag can never match an object: a condition
with one fails (TensorStore refuses it as "Malformed StorageGeneration").
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from typing import TYPE_CHECKING, Final

from ...errors import DataLossError, InvalidArgumentError
from .generation import NO_VALUE, UNKNOWN, TimestampedStorageGeneration
from .http_read import Observation
from .http_request import is_empty, range_header
from .http_response import check_content_range
from .s3_endpoint import WriteMode
from .s3_response import etag_of, generation_of, parse_list

if TYPE_CHECKING:
    from .key_range import KeyRange
    from .operations import ReadRequest
    from .s3_client import S3Client
    from .s3_request import S3Response

__all__ = ["MAX_PUT_BYTES", "delete", "list_keys", "read", "write"]

#: The largest value one PUT may store (5 GiB).
MAX_PUT_BYTES: Final = 5 * 1024**3

_TOTAL: Final = re.compile(r"/(\d+)$")


def _condition(generation: bytes) -> str | None:
    """The header value standing for ``generation`` in a condition (None: none can be sent)."""
    return '""' if generation == NO_VALUE else etag_of(generation)


def _check_checksum(where: str, response: S3Response) -> None:
    expected = response.headers.get("x-amz-checksum-sha256")
    kind = response.headers.get("x-amz-checksum-type", "FULL_OBJECT")
    if expected is None or kind != "FULL_OBJECT":
        return  # multipart checksums are of the parts, not of the value
    actual = base64.b64encode(hashlib.sha256(response.body).digest()).decode("ascii")
    if actual != expected:
        raise DataLossError(f"s3: GET {where}: Content hash mismatch: {actual} vs {expected}")


async def read(client: S3Client, key: str, request: ReadRequest, *, merged: bool) -> Observation:
    """Send the request reading ``request`` of ``key`` and say what came back."""
    headers: dict[str, str] = {}
    method = "HEAD" if is_empty(request.byte_range) else "GET"
    for name, generation in (
        ("if-none-match", request.if_not_equal),
        ("if-match", request.if_equal),
    ):
        value = _condition(generation) if generation else None
        if value is not None:
            headers[name] = value
    wanted = range_header(request.byte_range)
    if wanted is not None:
        headers["range"] = wanted
        headers["accept-encoding"] = "identity"  # a compressed range is of the compressed bytes
    elif method == "GET":
        headers["x-amz-checksum-mode"] = "ENABLED"
    start = time.time()
    accept = (204, 304, 404, 412, 416)
    response = await client.send(method, key, headers=headers, accept=accept)
    where = client.where(key)
    status = response.status
    if status == 416:
        # S3 refuses a range starting at the end: the value's size says whether it is empty or bad.
        del headers["range"]
        response = await client.send("HEAD", key, headers=headers, accept=accept)
        status = response.status
        method = "HEAD"
    if status in (204, 404):
        return Observation("missing", TimestampedStorageGeneration._make(NO_VALUE, start))
    if status == 412:
        return Observation("unspecified", TimestampedStorageGeneration(UNKNOWN, start))
    if status == 304:
        return Observation("unspecified", TimestampedStorageGeneration(request.if_not_equal, start))
    stamp = TimestampedStorageGeneration(generation_of(method, where, response), start)
    if method == "HEAD":
        if wanted is not None:  # after a 416: the range must resolve within the size
            length = int(response.headers.get("content-length", "0"))
            lo, _ = request.byte_range.resolve(length, request.key)
            return Observation("value", stamp, b"", lo, length)
        return Observation("value", stamp, b"", max(0, request.byte_range.inclusive_min))
    if wanted is None:
        _check_checksum(where, response)
    content_range = response.headers.get("content-range")
    total = _TOTAL.search(content_range or "")
    if total is not None and not merged:
        # S3 answers a range ending past the value with what there is: refuse it as other stores do.
        request.byte_range.resolve(int(total.group(1)), request.key)
    first, size = check_content_range(
        f"s3: {where}",
        status,
        None if content_range is None else content_range.encode("latin-1"),
        request.byte_range,
        len(response.body),
        to_end_ok=merged,
    )
    return Observation("value", stamp, response.body, first, size)


async def _precondition_holds(client: S3Client, key: str, if_equal: bytes) -> bool | None:
    """``HEAD`` the key: whether ``if_equal`` holds (None: the key is missing)."""
    value = _condition(if_equal)
    headers = {} if value is None else {"if-match": value}
    response = await client.send("HEAD", key, headers=headers, accept=(304, 404, 412))
    if response.status == 404:
        return None
    if response.status in (304, 412):
        return False
    # Checked here too: a server may ignore If-Match on HEAD.
    return generation_of("HEAD", client.where(key), response) == if_equal


async def write(
    client: S3Client,
    key: str,
    value: bytes | memoryview,
    if_equal: bytes,
    use_conditional_write: bool | None,
) -> TimestampedStorageGeneration:
    """``PUT`` ``value`` under ``key`` if ``if_equal`` holds (generation ``b""`` if it does not)."""
    if len(value) > MAX_PUT_BYTES:  # S3 takes larger values only in multipart uploads
        raise InvalidArgumentError(
            f"s3: PUT {client.where(key)}: Object size {len(value)} exceeds S3 limit of {MAX_PUT_BYTES}"
        )
    start = time.time()
    if if_equal and _condition(if_equal) is None:
        return TimestampedStorageGeneration(UNKNOWN, start)
    mode = (await client.endpoint()).write_mode
    if if_equal and not (
        mode is WriteMode.ENABLED if use_conditional_write is None else use_conditional_write
    ):
        holds = await _precondition_holds(client, key, if_equal)
        if holds is False or (holds is None and if_equal != NO_VALUE):
            return TimestampedStorageGeneration(UNKNOWN, start)
    headers = {"content-type": "application/octet-stream", "content-length": str(len(value))}
    if if_equal and (
        mode is not WriteMode.DISABLED if use_conditional_write is None else use_conditional_write
    ):
        if if_equal == NO_VALUE:
            headers["if-none-match"] = "*"
        else:
            headers["if-match"] = etag_of(if_equal) or ""
    start = time.time()
    response = await client.send(
        "PUT", key, headers=headers, body=value, accept=(304, 412, 404) if if_equal else ()
    )
    if response.status in (304, 404, 412):
        return TimestampedStorageGeneration(UNKNOWN, start)
    return TimestampedStorageGeneration(generation_of("PUT", client.where(key), response), start)


async def delete(client: S3Client, key: str, if_equal: bytes) -> TimestampedStorageGeneration:
    """``DELETE`` ``key`` if ``if_equal`` holds (generation ``b""`` if it does not)."""
    start = time.time()
    if if_equal:
        if _condition(if_equal) is None:
            return TimestampedStorageGeneration(UNKNOWN, start)
        holds = await _precondition_holds(client, key, if_equal)
        if holds is None:
            return TimestampedStorageGeneration(
                NO_VALUE if if_equal == NO_VALUE else UNKNOWN, start
            )
        if not holds:
            return TimestampedStorageGeneration(UNKNOWN, start)
    start = time.time()
    response = await client.send("DELETE", key, accept=(404, 412))
    if response.status == 412 or (response.status == 404 and if_equal not in (b"", NO_VALUE)):
        return TimestampedStorageGeneration(UNKNOWN, start)
    return TimestampedStorageGeneration(NO_VALUE, start)


async def list_keys(client: S3Client, range_: KeyRange) -> list[bytes]:
    """The keys of the bucket in ``range_``, sorted (S3 lists in UTF-8 byte order)."""
    if range_.empty:
        return []
    # A prefix cut inside a character lists a superset; keys are valid UTF-8.
    prefix = range_.longest_prefix().decode("utf-8", "ignore")
    keys: list[bytes] = []
    token: str | None = None
    while True:
        query = [("encoding-type", "url"), ("list-type", "2")]
        if prefix:
            query.append(("prefix", prefix))
        if token is not None:
            query.append(("continuation-token", token))
        response = await client.send("GET", None, query=query)
        page, token = parse_list(response.body)
        for key in page:
            if key < range_.inclusive_min:
                continue
            if range_.exclusive_max and key >= range_.exclusive_max:
                return keys  # keys come sorted: nothing further is in range
            keys.append(key)
        if token is None:
            return keys
