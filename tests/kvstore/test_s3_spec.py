"""The s3 spec, URL, bucket names, credentials and signing, without a server."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

import pytest
import tensorstore

import tensortrio as ts
from tensortrio.drivers.kvstore.s3_credentials import load_credentials
from tensortrio.drivers.kvstore.s3_endpoint import BucketName, classify_bucket, fixed_endpoint
from tensortrio.drivers.kvstore.s3_signing import (
    EMPTY_SHA256,
    AwsCredentials,
    canonical_query,
    encode_key,
    sign,
)
from tensortrio.errors import InvalidArgumentError, NotFoundError
from tensortrio.schema.s3_resources import AwsCredentialsConfig

if TYPE_CHECKING:
    from pathlib import Path

SPECS: list[Any] = [
    {"driver": "s3", "bucket": "my-bucket"},
    {"driver": "s3", "bucket": "My_Bucket", "path": "a//b"},
    {"driver": "s3", "bucket": "b" * 64},
    {"driver": "s3", "bucket": "", "endpoint": "https://mybucket.example.com"},
    {
        "driver": "s3",
        "bucket": "bkt",
        "endpoint": "http://127.0.0.1:9/",
        "host_header": "x",
        "aws_region": "r",
        "requester_pays": True,
        "use_conditional_write": False,
    },
    {"driver": "s3", "bucket": "bkt", "aws_credentials": {"type": "anonymous"}},
    {"driver": "s3", "bucket": "bkt", "aws_credentials": {"type": "profile", "profile": "p"}},
    {"driver": "s3", "bucket": "bkt", "s3_request_retries": {"max_retries": 0}},
    {"driver": "s3", "bucket": "bkt", "s3_request_concurrency": {"limit": 4}},
    "s3://my-bucket",
    "s3://my-bucket/a/b%20c",
]


@pytest.mark.parametrize("spec", SPECS)
def test_spec_json_is_tensorstores(spec: Any) -> None:
    ours, theirs = ts.KvStore.Spec(spec), tensorstore.KvStore.Spec(spec)
    assert ours.to_json() == theirs.to_json()
    assert ours.to_json(include_defaults=True) == theirs.to_json(include_defaults=True)
    if "endpoint" not in ours.to_json():
        assert ours.url == theirs.url


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"driver": "s3"}, r'^"bucket" must be specified when "endpoint" is not set$'),
        (
            {"driver": "s3", "bucket": "ab"},
            r'^Error parsing object member "bucket": Invalid S3 bucket name: "ab"$',
        ),
        ({"driver": "s3", "bucket": "1.2.3.4"}, r'Invalid S3 bucket name: "1.2.3.4"$'),
        ({"driver": "s3", "bucket": "a..b"}, r'Invalid S3 bucket name: "a..b"$'),
        ({"driver": "s3", "bucket": 5}, r'^Error parsing object member "bucket": Expected string'),
        (
            {"driver": "s3", "bucket": "bkt", "requester_pays": 1},
            r'member "requester_pays": Expected boolean',
        ),
        (
            {"driver": "s3", "bucket": "bkt", "host_header": "x"},
            r'^"host_header" cannot be set without',
        ),
        (
            {"driver": "s3", "bucket": "bkt", "endpoint": "ftp://x"},
            r'^Error parsing object member "endpoint": Endpoint ftp://x has invalid scheme ftp\. Should be http\(s\)\.$',
        ),
        (
            {"driver": "s3", "bucket": "bkt", "endpoint": "http://h:99999"},
            r'member "endpoint": Endpoint http://h:99999 is not a valid URL',
        ),
        (
            {"driver": "s3", "bucket": "bkt", "endpoint": "http://h/?q"},
            r"Query in endpoint unsupported",
        ),
        (
            {"driver": "s3", "bucket": "bkt", "aws_credentials": {"type": "bogus"}},
            r'member "aws_credentials": Failed to parse AWS credentials spec: Failed to parse tag name, '
            r"expected one of: default, anonymous, environment, imds, profile, ecs, but received: bogus$",
        ),
        (
            {"driver": "s3", "bucket": "bkt", "aws_credentials": {}},
            r'Error parsing object member "type": Expected string, but member is missing$',
        ),
        ({"driver": "s3", "bucket": "bkt", "x": 1}, r"^s3: unknown member\(s\) 'x'"),
        ("s3://", r"""^kvstore URL 's3://': Invalid S3 bucket name: ""$"""),
        ("s3://b%20c/x", r'Invalid S3 bucket name: "b%20c"$'),
        ("s3://bkt/a?x", r"query strings are not supported$"),
    ],
)
def test_bad_specs_name_the_member(spec: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        ts.KvStore.Spec(spec)
    if "endpoint" not in str(spec):  # tensorstore judges the endpoint only when opening
        with pytest.raises(ValueError):  # noqa: PT011 -- refused by tensorstore too, in its words
            tensorstore.KvStore.Spec(spec)


def test_url_of_an_endpoint_spec_is_refused() -> None:
    json = {"driver": "s3", "bucket": "bkt", "endpoint": "http://h"}
    with pytest.raises(NotImplementedError, match=r"^S3 URL syntax not supported with explicit endpoint$"):
        tensorstore.KvStore.Spec(json).url
    with pytest.raises(
        NotImplementedError, match=r"^s3: S3 URL syntax not supported with explicit endpoint$"
    ):
        ts.KvStore.Spec(json).url


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("abc", BucketName.STANDARD),
        ("a.b-c.d", BucketName.STANDARD),
        ("My_Bucket", BucketName.OLD_US_EAST_1),
        ("b" * 64, BucketName.OLD_US_EAST_1),
        ("b" * 256, BucketName.INVALID),
        ("xn--abc", BucketName.INVALID),
        ("abc-s3alias", BucketName.INVALID),
        ("-abc", BucketName.INVALID),
        ("192.168.5.4", BucketName.INVALID),
    ],
)
def test_bucket_names(name: str, kind: BucketName) -> None:
    assert classify_bucket(name) is kind


def test_endpoints() -> None:
    assert fixed_endpoint("bkt", "us-west-2", "") is not None
    assert fixed_endpoint("bkt", "us-west-2", "").url == "https://bkt.s3.us-west-2.amazonaws.com"  # type: ignore[union-attr]
    assert fixed_endpoint("a.b", "eu-west-1", "").url == "https://s3.eu-west-1.amazonaws.com/a.b"  # type: ignore[union-attr]
    assert fixed_endpoint("bkt", "", "") is None  # the region is asked of Amazon
    assert fixed_endpoint("bkt", "r", "http://h:1/").url == "http://h:1/bkt"  # type: ignore[union-attr]
    with pytest.raises(
        InvalidArgumentError,
        match=r'^Bucket "My_Bucket" requires aws_region "us-east-1", not "eu-west-1"$',
    ):
        fixed_endpoint("My_Bucket", "eu-west-1", "")


# --- AWS's published Signature Version 4 examples (S3 API reference, "Examples")

_KEYS = AwsCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
_WHEN = datetime.datetime(2013, 5, 24, tzinfo=datetime.UTC)
_HOST = "examplebucket.s3.amazonaws.com"


def test_sigv4_get_object_example() -> None:
    signed = sign(
        "GET",
        "/test.txt",
        "",
        {"host": _HOST, "range": "bytes=0-9"},
        EMPTY_SHA256,
        _KEYS,
        "us-east-1",
        _WHEN,
    )
    assert signed.string_to_sign.endswith(
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
    )
    assert signed.headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


def test_sigv4_put_object_example() -> None:
    headers = {
        "host": _HOST,
        "date": "Fri, 24 May 2013 00:00:00 GMT",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
    }
    payload = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
    signed = sign(
        "PUT", "/" + encode_key("test$file.text"), "", headers, payload, _KEYS, "us-east-1", _WHEN
    )
    assert signed.canonical_request.split("\n")[1] == "/test%24file.text"
    assert signed.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"


def test_sigv4_list_objects_example() -> None:
    query = canonical_query([("prefix", "J"), ("max-keys", "2")])
    assert query == "max-keys=2&prefix=J"
    signed = sign("GET", "/", query, {"host": _HOST}, EMPTY_SHA256, _KEYS, "us-east-1", _WHEN)
    assert signed.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"


def test_sigv4_session_token_and_anonymous() -> None:
    temporary = AwsCredentials("AKID", "secret", "token")
    signed = sign("GET", "/k", "", {"host": "h"}, EMPTY_SHA256, temporary, "r", _WHEN)
    assert signed.headers["x-amz-security-token"] == "token"
    assert "x-amz-security-token" in signed.headers["authorization"]
    anonymous = sign("GET", "/k", "", {"host": "h"}, EMPTY_SHA256, None, "r", _WHEN)
    assert "authorization" not in anonymous.headers
    assert anonymous.headers["x-amz-date"] == "20130524T000000Z"
    assert "secret" not in repr(temporary)


# --- credentials


def test_environment_credentials() -> None:
    config = AwsCredentialsConfig("environment")
    environ = {"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"}
    assert load_credentials(config, environ) == AwsCredentials("id", "s", "t")
    with pytest.raises(NotFoundError, match=r"AWS_ACCESS_KEY_ID is not set$"):
        load_credentials(config, {})


def test_profile_credentials(tmp_path: Path) -> None:
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text(
        "[default]\naws_access_key_id = d\naws_secret_access_key = ds\n"
        "[other]\naws_access_key_id = o\naws_secret_access_key = os\naws_session_token = ot\n"
    )
    (tmp_path / ".aws" / "config").write_text(
        "[profile cfg]\naws_access_key_id = c\naws_secret_access_key = cs\n"
    )
    default = AwsCredentialsConfig("default")
    assert load_credentials(default, {}, tmp_path) == AwsCredentials("d", "ds")
    assert load_credentials(default, {"AWS_PROFILE": "other"}, tmp_path) == AwsCredentials(
        "o", "os", "ot"
    )
    assert load_credentials(default, {"AWS_ACCESS_KEY_ID": "e"}, tmp_path) == AwsCredentials(
        "e", ""
    )
    profile = AwsCredentialsConfig("profile", (("profile", "cfg"),))
    assert load_credentials(profile, {}, tmp_path) == AwsCredentials("c", "cs")
    missing = AwsCredentialsConfig("profile", (("profile", "nope"),))
    with pytest.raises(NotFoundError, match=r"no credentials for profile 'nope'"):
        load_credentials(missing, {}, tmp_path)
    # No environment and no files: the default chain ends with anonymous access.
    assert load_credentials(default, {}, tmp_path / "empty") is None
