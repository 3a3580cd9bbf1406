"""The ``http`` kvstore driver: read-only access to any HTTP server, as TensorStore's.

A key's value is the body of ``GET <base_url>/<path><key>`` (see ``http_url``
for how the URL is made, ``http_read`` for how reads are sent and answered).
Writing, deleting and listing are not supported and fail with
``UnimplementedError`` (a ``NotImplementedError``), as in TensorStore.
Requests are bounded by the ``http_request_concurrency`` resource and tried
again after transient failures as ``http_request_retries`` says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import trio

from ...errors import InvalidArgumentError, UnimplementedError
from ...schema.json_member import member_error
from .context_members import (
    check_no_extra_members,
    resource_member,
    resource_member_json,
)
from .driver import DriverSpec, KvStoreDriver, ReadGroup
from .http_client import HttpPool, acquire_pool
from .http_read import fetch, read_group
from .http_request import parse_header, parse_headers
from .http_url import join_url, normalize_base_url, validate_base_url
from .operations import ReadRequest
from .registry import register_driver, register_root_url_scheme

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ...schema.http_resources import HttpRequestRetriesConfig
    from .driver import BatchOperation, BatchOutcome
    from .http_read import Observation
    from .key_range import KeyRange
    from .read_result import ReadResult
    from .spec import KvStoreSpec

__all__ = ["HttpDriver", "HttpDriverSpec"]


@register_driver
@attrs.frozen
class HttpDriverSpec(DriverSpec):
    """Spec members of the ``http`` driver: ``base_url``, ``headers`` and two context resources."""

    id: ClassVar[str] = "http"

    base_url: str
    headers: tuple[str, ...] = ()
    http_request_concurrency: Any = None
    http_request_retries: Any = None

    @classmethod
    def from_json(cls, members: dict[str, Any]) -> HttpDriverSpec:
        members = dict(members)
        if "base_url" not in members:
            raise member_error("base_url", "Expected string, but member is missing")
        base_url = members.pop("base_url")
        if not isinstance(base_url, str):
            raise member_error("base_url", f"Expected string, but received: {base_url!r}")
        try:
            validate_base_url(base_url)
        except InvalidArgumentError as exc:
            raise member_error("base_url", exc) from None
        headers: tuple[str, ...] = ()
        if "headers" in members:
            try:
                headers = parse_headers(members.pop("headers"))
            except InvalidArgumentError as exc:
                raise member_error("headers", exc) from None
        concurrency = resource_member("http", members, "http_request_concurrency")
        retries = resource_member("http", members, "http_request_retries")
        check_no_extra_members("http", members)
        return cls(base_url, headers, concurrency, retries)

    def to_json(self, *, include_defaults: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"base_url": self.base_url}
        if self.headers or include_defaults:
            out["headers"] = list(self.headers)
        for member in ("http_request_concurrency", "http_request_retries"):
            value = getattr(self, member)
            out.update(resource_member_json(member, value, include_defaults=include_defaults))
        return out

    def strip_context(self) -> HttpDriverSpec:
        return HttpDriverSpec(self.base_url, self.headers)

    def normalize(self, path: str) -> tuple[HttpDriverSpec, str]:
        base_url, path = normalize_base_url(self.base_url, path)
        return attrs.evolve(self, base_url=base_url), path

    def to_url(self, path: str) -> str:
        return join_url(self.base_url, path)

    async def open(self, context: Any) -> HttpDriver:
        concurrency = context.get_resource("http_request_concurrency", self.http_request_concurrency)
        retries = context.get_resource("http_request_retries", self.http_request_retries)
        return HttpDriver(self, concurrency, retries.config)


@attrs.define(eq=False)
class HttpDriver(KvStoreDriver):
    """An opened ``http`` kvstore: each read is a request sent from a task of the runtime."""

    remote: ClassVar[bool] = True

    _spec: HttpDriverSpec
    concurrency_resource: Any
    """The bound ``http_request_concurrency`` resource (``.limit``, ``.limiter``, ``.shared``)."""
    retries: HttpRequestRetriesConfig
    _headers: dict[str, str] = attrs.field(init=False)
    _pool: HttpPool | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        # As TensorStore: names lower-cased, a later header replacing an earlier one.
        self._headers = dict(parse_header(h) for h in self._spec.headers)

    @property
    def spec(self) -> HttpDriverSpec:
        return self._spec

    @property
    def concurrency(self) -> int:
        return int(self.concurrency_resource.limit)

    @property
    def io_limiter(self) -> trio.CapacityLimiter:
        limiter: trio.CapacityLimiter = self.concurrency_resource.limiter
        return limiter

    def bound_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "driver": "http",
            "base_url": self._spec.base_url,
            "http_request_retries": self.retries.to_json(),
        }
        if self._spec.headers:
            out["headers"] = list(self._spec.headers)
        resource = self.concurrency_resource
        if getattr(resource, "shared", True):
            out["context"] = {"http_request_concurrency": {}}
        else:
            out["http_request_concurrency"] = {"limit": resource.limit}
        return out

    def url_of(self, key: bytes) -> str:
        """The URL a full key is read from."""
        return join_url(self._spec.base_url, key.decode("utf-8", "surrogateescape"))

    def _connections(self) -> HttpPool:
        pool = self._pool
        if pool is None:
            pool = self._pool = acquire_pool(self.concurrency_resource)
        return pool

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.release()

    async def run_batch(self, operations: Sequence[BatchOperation]) -> list[BatchOutcome]:
        # One error per write: futures raising one exception object would share its traceback.
        outcomes: list[BatchOutcome] = [
            UnimplementedError("http: KeyValueStore does not support writing") for _ in operations
        ]

        async def run(index: int, operation: ReadRequest | ReadGroup) -> None:
            if isinstance(operation, ReadRequest):
                outcomes[index] = (await self._read_group([operation]))[0]
            else:
                outcomes[index] = await self._read_group(list(operation.requests))

        if len(operations) == 1:
            # The actor sends each read of a batch alone (to cancel it alone): no nursery.
            if isinstance(operations[0], ReadRequest | ReadGroup):
                await run(0, operations[0])
            return outcomes
        async with trio.open_nursery() as nursery:
            for index, operation in enumerate(operations):
                if isinstance(operation, ReadRequest | ReadGroup):
                    nursery.start_soon(run, index, operation)
        return outcomes

    async def _read_group(self, requests: list[ReadRequest]) -> list[ReadResult | Exception]:
        url = self.url_of(requests[0].key)
        pool = self._connections()

        async def fetch_one(sent: ReadRequest, merged: bool) -> Observation:
            return await fetch(pool, self.retries, self._headers, url, sent, merged=merged)

        return await read_group(requests, fetch_one, f"http: {url}")

    async def list_keys(self, range_: KeyRange) -> list[bytes]:
        raise UnimplementedError("http: KeyValueStore does not support listing")

    async def delete_range(self, range_: KeyRange) -> None:
        raise UnimplementedError("http: KeyValueStore does not support deleting by range")

    async def commit_atomic(self, writes: Sequence[Any]) -> list[Any]:
        raise UnimplementedError("http: KeyValueStore does not support writing")


def _parse_http_url(url: str) -> KvStoreSpec:
    from .spec import KvStoreSpec

    try:
        validate_base_url(url)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"kvstore URL {url!r}: {exc}") from None
    spec, path = HttpDriverSpec(url).normalize("")
    return KvStoreSpec.from_parts(spec, path)


register_root_url_scheme("http", _parse_http_url)
register_root_url_scheme("https", _parse_http_url)
