"""An opened ``s3`` kvstore: runs the KvStore actor's batches as S3 requests.

Reads of a batch run at once (each in a task the actor cancels when nobody
waits for it any more); writes run at once too, except that writes of one
key run one after another, in the order the actor batched them. Requests
are bounded by the ``s3_request_concurrency`` limiter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

import attrs
import trio

from ...errors import InvalidArgumentError
from .driver import KvStoreDriver, ReadGroup
from .http_client import acquire_pool
from .http_read import read_group
from .operations import ReadRequest
from .s3_credentials import check_supported
from .s3_endpoint import fixed_endpoint
from .s3_operations import delete, list_keys, read, write

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .driver import BatchOperation, BatchOutcome
    from .http_read import Observation
    from .key_range import KeyRange
    from .operations import WriteRequest
    from .read_result import ReadResult
    from .s3 import S3DriverSpec
    from .s3_client import S3Client

__all__ = ["S3Driver", "open_driver"]

#: S3's longest object key, in bytes.
MAX_KEY_BYTES = 1024


async def open_driver(spec: S3DriverSpec, context: Any) -> S3Driver:
    """Bind the spec's resources and open the driver (no request is sent yet).

    Raises:
        UnimplementedError: credentials from a metadata service (``imds``, ``ecs``).
        InvalidArgumentError: an old-style bucket with a region other than us-east-1.
    """
    from .s3_client import S3Client

    credentials = context.get_resource("aws_credentials", spec.aws_credentials)
    concurrency = context.get_resource("s3_request_concurrency", spec.s3_request_concurrency)
    retries = context.get_resource("s3_request_retries", spec.s3_request_retries)
    check_supported(credentials.config)
    fixed_endpoint(spec.bucket, spec.aws_region, spec.endpoint or "")  # raises if never usable
    client = S3Client(
        spec.bucket,
        spec.endpoint or "",
        spec.aws_region,
        spec.host_header or "",
        spec.requester_pays,
        credentials.config,
        retries.config,
        concurrency.limiter,
        acquire_pool(concurrency),
    )
    return S3Driver(spec, client, concurrency, credentials, retries)


@attrs.define(eq=False)
class S3Driver(KvStoreDriver):
    """An opened ``s3`` kvstore."""

    remote: ClassVar[bool] = True

    _spec: S3DriverSpec
    client: S3Client
    concurrency_resource: Any
    credentials_resource: Any
    retries_resource: Any
    _closed: bool = attrs.field(init=False, default=False)

    @property
    def spec(self) -> S3DriverSpec:
        return self._spec

    @property
    def concurrency(self) -> int:
        return int(self.concurrency_resource.limit)

    @property
    def io_limiter(self) -> trio.CapacityLimiter:
        return self.client.limiter

    def bound_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "driver": "s3",
            **self._spec.strip_context().to_json(include_defaults=False),
        }
        out["aws_credentials"] = self.credentials_resource.to_json()
        out["s3_request_retries"] = self.retries_resource.to_json()
        resource = self.concurrency_resource
        if resource.shared:
            out["context"] = {"s3_request_concurrency": {}}
        else:
            out["s3_request_concurrency"] = {"limit": resource.limit}
        return out

    def validate_key(self, prefix: bytes, key: bytes) -> None:
        full = prefix + key
        try:
            full.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgumentError(f"s3: Invalid S3 object name {full!r}: not UTF-8") from None
        if not full or len(full) > MAX_KEY_BYTES:
            raise InvalidArgumentError(
                f"s3: Invalid S3 object name {full!r}: must be 1 to {MAX_KEY_BYTES} bytes long"
            )

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self.client.pool.release()

    async def run_batch(self, operations: Sequence[BatchOperation]) -> list[BatchOutcome]:
        outcomes: list[Any] = [None] * len(operations)
        writes: dict[bytes, list[int]] = {}

        async def run_reads(index: int, requests: list[ReadRequest], group: bool) -> None:
            results = await self._read_group(requests)
            outcomes[index] = results if group else results[0]

        async def run_writes(indices: list[int]) -> None:
            for index in indices:  # one key: in order
                try:
                    outcomes[index] = await self._write(cast("WriteRequest", operations[index]))
                except Exception as exc:
                    outcomes[index] = exc

        async with trio.open_nursery() as nursery:
            for index, operation in enumerate(operations):
                if isinstance(operation, ReadRequest):
                    nursery.start_soon(run_reads, index, [operation], False)
                elif isinstance(operation, ReadGroup):
                    nursery.start_soon(run_reads, index, list(operation.requests), True)
                else:
                    writes.setdefault(operation.key, []).append(index)
            for indices in writes.values():
                nursery.start_soon(run_writes, indices)
        return cast("list[BatchOutcome]", outcomes)

    async def _write(self, request: WriteRequest) -> Any:
        key = request.key.decode("utf-8")
        if request.value is None:
            return await delete(self.client, key, request.if_equal)
        return await write(
            self.client, key, request.value, request.if_equal, self._spec.use_conditional_write
        )

    async def _read_group(self, requests: list[ReadRequest]) -> list[ReadResult | Exception]:
        key = requests[0].key.decode("utf-8")

        async def fetch_one(sent: ReadRequest, merged: bool) -> Observation:
            return await read(self.client, key, sent, merged=merged)

        return await read_group(requests, fetch_one, f"s3: {self.client.where(key)}")

    async def list_keys(self, range_: KeyRange) -> list[bytes]:
        return await list_keys(self.client, range_)

    async def delete_range(self, range_: KeyRange) -> None:
        # As TensorStore: list, then delete each key (bounded by the request limiter).
        keys = await list_keys(self.client, range_)
        tasks = trio.CapacityLimiter(max(1, self.concurrency))

        async def remove(key: bytes) -> None:
            try:
                await delete(self.client, key.decode("utf-8"), b"")
            finally:
                tasks.release_on_behalf_of(key)

        async with trio.open_nursery() as nursery:
            for key in keys:
                await tasks.acquire_on_behalf_of(key)
                nursery.start_soon(remove, key)
