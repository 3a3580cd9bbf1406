"""The ``s3`` kvstore driver: Amazon S3 and S3-compatible object stores, as TensorStore's.

Spec: ``{"driver": "s3", "bucket", "path", "endpoint", "host_header",
"aws_region", "requester_pays", "use_conditional_write", "aws_credentials",
"s3_request_concurrency", "s3_request_retries", "data_copy_concurrency"}``,
or the URL ``s3://<bucket>/<path>``. A key is the object ``<path><key>`` of
the bucket. See ``s3_endpoint`` (where the bucket is), ``s3_client``
(signing, retries), ``s3_operations`` (what each operation sends).

Like TensorStore's, the driver cannot commit several keys atomically, and
writes are atomic only on servers honouring conditional ``PUT``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from ...errors import InvalidArgumentError, UnimplementedError
from ...schema.json_member import member_error
from .context_members import (
    check_no_extra_members,
    resource_member,
    resource_member_json,
)
from .driver import DriverSpec
from .registry import register_driver, register_root_url_scheme
from .s3_endpoint import BucketName, classify_bucket, validate_endpoint
from .url import decode_url_path, encode_url_path, split_component

if TYPE_CHECKING:
    from .s3_driver import S3Driver
    from .spec import KvStoreSpec

__all__ = ["S3DriverSpec"]

_RESOURCES = (
    "aws_credentials",
    "s3_request_concurrency",
    "s3_request_retries",
    "data_copy_concurrency",
)


def _string(members: dict[str, Any], name: str) -> str | None:
    if name not in members:
        return None
    value = members.pop(name)
    if not isinstance(value, str):
        raise member_error(name, f"Expected string, but received: {value!r}")
    return value


def _boolean(members: dict[str, Any], name: str) -> bool | None:
    if name not in members:
        return None
    value = members.pop(name)
    if not isinstance(value, bool):
        raise member_error(name, f"Expected boolean, but received: {value!r}")
    return value


def _with_defaults(name: str, value: dict[str, Any]) -> Any:
    from ...schema.context_resources import get_provider

    provider = get_provider(name)
    return value if provider is None else provider.parse(value).to_json(include_defaults=True)


@register_driver
@attrs.frozen
class S3DriverSpec(DriverSpec):
    """Spec members of the ``s3`` driver."""

    id: ClassVar[str] = "s3"

    bucket: str = ""
    requester_pays: bool = False
    endpoint: str | None = None
    host_header: str | None = None
    aws_region: str = ""
    use_conditional_write: bool | None = None
    aws_credentials: Any = None
    s3_request_concurrency: Any = None
    s3_request_retries: Any = None
    data_copy_concurrency: Any = None

    def __attrs_post_init__(self) -> None:
        if self.bucket and classify_bucket(self.bucket) is BucketName.INVALID:
            raise member_error("bucket", f'Invalid S3 bucket name: "{self.bucket}"')
        if not self.endpoint:
            if not self.bucket:
                raise InvalidArgumentError('"bucket" must be specified when "endpoint" is not set')
            if self.host_header:
                raise InvalidArgumentError(
                    '"host_header" cannot be set without also setting "endpoint"'
                )
        else:
            try:
                validate_endpoint(self.endpoint)
            except InvalidArgumentError as exc:
                raise member_error("endpoint", exc) from None

    @classmethod
    def from_json(cls, members: dict[str, Any]) -> S3DriverSpec:
        members = dict(members)
        bucket = _string(members, "bucket") or ""
        requester_pays = _boolean(members, "requester_pays") or False
        endpoint = _string(members, "endpoint")
        host_header = _string(members, "host_header")
        region = _string(members, "aws_region") or ""
        conditional = _boolean(members, "use_conditional_write")
        resources = [resource_member("s3", members, name) for name in _RESOURCES]
        check_no_extra_members("s3", members)
        return cls(bucket, requester_pays, endpoint, host_header, region, conditional, *resources)

    def to_json(self, *, include_defaults: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.bucket or include_defaults:
            out["bucket"] = self.bucket
        if self.requester_pays or include_defaults:
            out["requester_pays"] = self.requester_pays
        for name in ("endpoint", "host_header", "use_conditional_write"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.aws_region or include_defaults:
            out["aws_region"] = self.aws_region
        for name in _RESOURCES:
            value = getattr(self, name)
            if include_defaults and isinstance(value, dict):
                value = _with_defaults(name, value)
            out.update(resource_member_json(name, value, include_defaults=include_defaults))
        return out

    def strip_context(self) -> S3DriverSpec:
        return attrs.evolve(
            self,
            aws_credentials=None,
            s3_request_concurrency=None,
            s3_request_retries=None,
            data_copy_concurrency=None,
        )

    def to_url(self, path: str) -> str:
        if self.endpoint is not None or not self.bucket:
            # (A NotImplementedError, as tensorstore's.)
            raise UnimplementedError("s3: S3 URL syntax not supported with explicit endpoint")
        return f"s3://{self.bucket}/{encode_url_path(path)}"

    async def open(self, context: Any) -> S3Driver:
        from .s3_driver import open_driver

        return await open_driver(self, context)


def _parse_s3_url(url: str) -> KvStoreSpec:
    from .spec import KvStoreSpec

    component = split_component(url)
    if not component.has_authority:
        raise InvalidArgumentError(f"kvstore URL {url!r}: expected 's3://<bucket>/<path>'")
    bucket, _, path = component.rest.partition("/")
    if classify_bucket(bucket) is BucketName.INVALID:
        raise InvalidArgumentError(f'kvstore URL {url!r}: Invalid S3 bucket name: "{bucket}"')
    return KvStoreSpec.from_parts(S3DriverSpec(bucket), decode_url_path(path))


register_root_url_scheme("s3", _parse_s3_url)
