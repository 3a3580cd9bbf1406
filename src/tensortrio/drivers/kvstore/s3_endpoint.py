"""Where an ``s3`` bucket lives: bucket names, endpoints and regions, as TensorStore decides them.

- Bucket names follow AWS's rules (``classify_bucket``): 3–63 characters of
  lowercase letters, digits, ``-`` and ``.`` labels; not an IP address; not
  a reserved prefix or suffix. Names made before 2018 in us-east-1 may be up
  to 255 characters with uppercase letters and ``_`` (they force the region
  ``us-east-1``).
- With an ``endpoint`` the bucket is addressed path-style,
  ``<endpoint>/<bucket>`` (or the endpoint alone when ``bucket`` is empty).
  Without one, ``https://<bucket>.s3.<region>.amazonaws.com`` (path-style
  ``https://s3.<region>.amazonaws.com/<bucket>`` for names with a ``.``).
- The region is ``aws_region`` if given; otherwise it is asked of the server
  once (``x-amz-bucket-region`` of a ``HEAD`` of the bucket), defaulting to
  ``us-east-1`` for custom endpoints.
"""

from __future__ import annotations

import enum
import re
import urllib.parse
from typing import Final

import attrs

from ...errors import InvalidArgumentError

__all__ = [
    "BucketName",
    "S3Endpoint",
    "WriteMode",
    "classify_bucket",
    "fixed_endpoint",
    "is_aws_endpoint",
    "validate_endpoint",
]


class BucketName(enum.Enum):
    INVALID = "invalid"
    STANDARD = "standard"
    OLD_US_EAST_1 = "old-us-east-1"


class WriteMode(enum.Enum):
    """How conditional writes are made (TensorStore's ``ConditionalWriteMode``)."""

    DEFAULT = "default"
    """A ``HEAD`` checks the condition first, and the ``PUT`` carries it too."""
    ENABLED = "enabled"
    """The server honours ``If-Match`` / ``If-None-Match`` on ``PUT`` (AWS): no ``HEAD``."""
    DISABLED = "disabled"
    """Only the ``HEAD`` check (Ceph, which refuses conditional ``PUT``)."""


_IP_ADDRESS: Final = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_STANDARD: Final = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")
_OLD_US_EAST: Final = re.compile(
    r"[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?)*"
)
_AWS_HOST: Final = re.compile(
    r"(^|[.])s3(-fips|-accesspoint|-accesspoint-fips)?[.](dualstack[.])?([^.]+[.])?amazonaws[.]com$"
)


def classify_bucket(bucket: str) -> BucketName:
    """Which kind of S3 bucket name ``bucket`` is, as TensorStore's ``ClassifyBucketName``."""
    if (
        not 3 <= len(bucket) <= 255
        or bucket.endswith(("--ol-s3", "-s3alias"))
        or bucket.startswith(("sthree-", "xn--"))
        or _IP_ADDRESS.fullmatch(bucket)
    ):
        return BucketName.INVALID
    if len(bucket) <= 63 and _STANDARD.fullmatch(bucket):
        return BucketName.STANDARD
    if _OLD_US_EAST.fullmatch(bucket):
        return BucketName.OLD_US_EAST_1
    return BucketName.INVALID


def is_aws_endpoint(endpoint: str) -> bool:
    """Whether ``endpoint`` is one of Amazon's own S3 hosts."""
    rest = endpoint.removeprefix("https://").removeprefix("http://")
    return bool(rest) and _AWS_HOST.search(rest.split("/", 1)[0]) is not None


def write_mode_of(endpoint: str, request_id: str = "") -> WriteMode:
    """TensorStore's heuristic: AWS honours conditional ``PUT``; Ceph (``-ceph3`` request ids) refuses it."""
    if is_aws_endpoint(endpoint):
        return WriteMode.ENABLED
    if request_id.endswith("-ceph3"):
        return WriteMode.DISABLED
    return WriteMode.DEFAULT


@attrs.frozen
class S3Endpoint:
    """The resolved base URL of a bucket (keys are ``<url>/<key>``) and the region to sign for."""

    url: str
    region: str
    write_mode: WriteMode = WriteMode.DEFAULT


def validate_endpoint(endpoint: str) -> None:
    """Refuse an ``endpoint`` that is not a plain ``http(s)://host[:port][/path]`` URL.

    Raises:
        InvalidArgumentError: naming the endpoint and what is wrong.
    """
    try:
        parsed = urllib.parse.urlsplit(endpoint)
        parsed.port  # noqa: B018 -- raises ValueError for a malformed port
    except ValueError as exc:
        raise InvalidArgumentError(f"Endpoint {endpoint} is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise InvalidArgumentError(
            f"Endpoint {endpoint} has invalid scheme {parsed.scheme}. Should be http(s)."
        )
    if parsed.query or endpoint.endswith("?"):
        raise InvalidArgumentError(f"Query in endpoint unsupported {endpoint}")
    if parsed.fragment or "#" in endpoint:
        raise InvalidArgumentError(f"Fragment in endpoint unsupported {endpoint}")
    if not parsed.hostname:
        raise InvalidArgumentError(f"Endpoint {endpoint} has no host")


def custom_url(endpoint: str, bucket: str) -> str:
    """The base URL of ``bucket`` at a custom ``endpoint`` (path-style)."""
    # A trailing "/" on the endpoint would double the separator.
    base = endpoint.rstrip("/")
    return f"{base}/{bucket}" if bucket else base


def fixed_endpoint(bucket: str, region: str, endpoint: str) -> S3Endpoint | None:
    """The bucket's endpoint when no request is needed to find it, else None (ask the server).

    Raises:
        InvalidArgumentError: a region other than us-east-1 for an old-style
            bucket, a malformed endpoint.
    """
    if bucket and classify_bucket(bucket) is BucketName.OLD_US_EAST_1:
        if region and region != "us-east-1":
            raise InvalidArgumentError(
                f'Bucket "{bucket}" requires aws_region "us-east-1", not "{region}"'
            )
        region = "us-east-1"
    if endpoint:
        validate_endpoint(endpoint)
        if region:
            return S3Endpoint(custom_url(endpoint, bucket), region, write_mode_of(endpoint))
        return None
    if not region:
        return None
    if "." in bucket:
        # Virtual-host addressing of a name with a dot breaks TLS host checks.
        url = f"https://s3.{region}.amazonaws.com/{bucket}"
    else:
        url = f"https://{bucket}.s3.{region}.amazonaws.com"
    return S3Endpoint(url, region, write_mode_of(url))


def discovery_url(bucket: str, endpoint: str) -> str:
    """The URL whose ``HEAD`` response names the bucket's region (``x-amz-bucket-region``)."""
    if endpoint:
        return custom_url(endpoint, bucket)
    if "." in bucket:
        return f"https://s3.us-east-1.amazonaws.com/{bucket}"
    return f"https://{bucket}.s3.amazonaws.com"


def discovered_endpoint(
    bucket: str, endpoint: str, bucket_region: str | None, request_id: str
) -> S3Endpoint:
    """The endpoint after the discovery ``HEAD`` answered with ``bucket_region`` (None: no header).

    Raises:
        FailedPreconditionError: Amazon did not say the region.
    """
    from ...errors import FailedPreconditionError

    if endpoint:
        region = bucket_region or "us-east-1"
        return S3Endpoint(custom_url(endpoint, bucket), region, write_mode_of(endpoint, request_id))
    if not bucket_region:
        raise FailedPreconditionError(f'Failed to resolve aws_region for bucket "{bucket}"')
    fixed = fixed_endpoint(bucket, bucket_region, "")
    assert fixed is not None  # a region was given
    return attrs.evolve(fixed, write_mode=write_mode_of(fixed.url, request_id))
