"""An opened bucket: finds its endpoint and credentials once, then signs, sends and retries requests.

Each attempt waits for a slot of the ``s3_request_concurrency`` limiter (not
held while waiting to try again), is signed afresh (its ``x-amz-date`` is
the time it is sent), and is sent through ``s3_request``. Transient failures
(no response, and the statuses and AWS error codes ``s3_response`` calls
retriable, and ``409 Conflict`` of a ``PUT``) are tried again after
``s3_request_retries``' backoff; after ``max_retries`` retries the request
fails with ``AbortedError``, the last failure its cause.
"""

from __future__ import annotations

import datetime
import urllib.parse
from typing import TYPE_CHECKING, Any

import attrs
import trio

from ...errors import AbortedError, TensorTrioError, UnavailableError
from .s3_credentials import load_credentials
from .s3_endpoint import discovered_endpoint, discovery_url, fixed_endpoint
from .s3_request import s3_request
from .s3_response import aws_error
from .s3_signing import EMPTY_SHA256, canonical_query, encode_key, sign

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from ...schema.http_resources import HttpRequestRetriesConfig
    from ...schema.s3_resources import AwsCredentialsConfig
    from .http_client import HttpPool
    from .s3_endpoint import S3Endpoint
    from .s3_request import S3Response
    from .s3_signing import AwsCredentials

__all__ = ["S3Client"]

_UNSET: Any = object()


@attrs.define(eq=False)
class S3Client:
    """Requests to one bucket (``bucket`` at ``endpoint``, or Amazon's own hosts)."""

    bucket: str
    endpoint_member: str
    region_member: str
    host_header: str
    requester_pays: bool
    credentials_config: AwsCredentialsConfig
    retries: HttpRequestRetriesConfig
    limiter: trio.CapacityLimiter
    pool: HttpPool
    _endpoint: S3Endpoint | None = attrs.field(init=False, default=None)
    _credentials: AwsCredentials | None = attrs.field(init=False, default=_UNSET)
    _setup: trio.Lock = attrs.field(init=False, factory=trio.Lock)

    def where(self, key: str | None) -> str:
        """``bucket/key`` (or the bucket alone), as messages name what a request was about."""
        name = self.bucket or self.endpoint_member
        return name if key is None else f"{name}/{key}"

    async def endpoint(self) -> S3Endpoint:
        """The bucket's endpoint, asked of the server on first use if the spec does not fix it.

        Raises:
            InvalidArgumentError: a malformed endpoint, a region an old bucket cannot have.
            FailedPreconditionError: Amazon would not say the bucket's region.
        """
        if self._endpoint is None:
            async with self._setup:
                if self._endpoint is None:
                    self._endpoint = await self._resolve()
        return self._endpoint

    async def _resolve(self) -> S3Endpoint:
        fixed = fixed_endpoint(self.bucket, self.region_member, self.endpoint_member)
        if fixed is not None:
            return fixed
        url = discovery_url(self.bucket, self.endpoint_member)
        headers = {"host": self.host_header or urllib.parse.urlsplit(url).netloc}
        async with self.limiter:
            response = await s3_request(self.pool, "HEAD", url, headers)
        return discovered_endpoint(
            self.bucket,
            self.endpoint_member,
            response.headers.get("x-amz-bucket-region"),
            response.headers.get("x-amz-request-id", ""),
        )

    async def credentials(self) -> AwsCredentials | None:
        """The credentials requests are signed with (None: anonymous), found on first use."""
        if self._credentials is _UNSET:
            # Reading ~/.aws files is blocking I/O: not on the runtime thread.
            found = await trio.to_thread.run_sync(load_credentials, self.credentials_config)
            if self._credentials is _UNSET:
                self._credentials = found
        return self._credentials

    async def send(
        self,
        method: str,
        key: str | None,
        *,
        query: Sequence[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
        body: bytes | memoryview | None = None,
        accept: Collection[int] = (),
    ) -> S3Response:
        """Send a request about ``key`` (None: the bucket itself), retrying transient failures.

        Returns a response with a status below 300 or in ``accept``.

        Raises:
            TensorTrioError: the error status of the response, naming bucket, key and status.
            AbortedError: every attempt failed with a transient error.
        """
        endpoint = await self.endpoint()
        credentials = await self.credentials()
        url = endpoint.url + "/" + ("" if key is None else encode_key(key))
        query_text = canonical_query(query)
        if query_text:
            url += "?" + query_text
        path = urllib.parse.urlsplit(url).path
        base = dict(headers or {})
        base["host"] = self.host_header or urllib.parse.urlsplit(url).netloc
        if self.requester_pays:
            base["x-amz-request-payer"] = "requester"
        payload_hash = EMPTY_SHA256
        if body is not None:
            import hashlib

            payload_hash = hashlib.sha256(body).hexdigest()
        where = self.where(key)
        attempt = 0
        while True:
            async with self.limiter:
                now = datetime.datetime.now(datetime.UTC)
                signed = sign(
                    method, path, query_text, base, payload_hash, credentials, endpoint.region, now
                )
                try:
                    response = await s3_request(self.pool, method, url, signed.headers, body)
                except UnavailableError as exc:
                    detail = str(exc).removeprefix("s3: ")
                    failure: TensorTrioError = UnavailableError(f"s3: {method} {where}: {detail}")
                    retry = True
                else:
                    if response.status < 300 or response.status in accept:
                        return response
                    failure, retry = aws_error(method, where, response)
                    retry = retry or (response.status == 409 and method == "PUT")
            if not retry:
                raise failure
            if attempt >= self.retries.max_retries:
                raise AbortedError(
                    f"s3: {method} {where}: All {self.retries.max_retries} retry attempts failed: "
                    f"{str(failure).removeprefix(f's3: {method} {where}: ')}"
                ) from failure
            await trio.sleep(self.retries.backoff(attempt))
            attempt += 1
