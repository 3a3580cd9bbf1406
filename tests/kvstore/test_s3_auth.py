"""Signature Version 4 against a server that checks it: moto with IAM authentication on.

moto verifies signatures only after ``INITIAL_NO_AUTH_ACTION_COUNT`` actions,
a process-wide setting read at import, so this server runs in a process of
its own; its first four actions make an IAM user, its key and an s3:* policy.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest

import tensortrio as ts
from tensortrio.errors import PermissionDeniedError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

_SERVER = (
    "import sys, time\n"
    "from moto.server import ThreadedMotoServer\n"
    "ThreadedMotoServer(ip_address='127.0.0.1', port=int(sys.argv[1]), verbose=False).start()\n"
    "time.sleep(3600)\n"
)


@pytest.fixture(scope="module")
def auth_server() -> Iterator[tuple[str, dict[str, str]]]:
    """(url, access key) of a moto server that checks signatures, with bucket ``authb``."""
    import boto3

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="4")
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        anyone = {"aws_access_key_id": "x", "aws_secret_access_key": "x"}
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", **anyone)
        iam.create_user(UserName="tester")
        key = iam.create_access_key(UserName="tester")["AccessKey"]
        document = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        }
        policy = iam.create_policy(PolicyName="s3-all", PolicyDocument=json.dumps(document))
        iam.attach_user_policy(UserName="tester", PolicyArn=policy["Policy"]["Arn"])
        access = {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
        s3 = boto3.client(
            "s3",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id=access["id"],
            aws_secret_access_key=access["secret"],
        )
        s3.create_bucket(Bucket="authb")
        yield url, access
    finally:
        process.kill()
        process.wait()


def _spec(url: str, credentials_file: Path) -> dict[str, Any]:
    return {
        "driver": "s3",
        "bucket": "authb",
        "endpoint": url,
        "aws_region": "us-east-1",
        "s3_request_retries": {"max_retries": 0},
        "aws_credentials": {"type": "profile", "credentials_file": str(credentials_file)},
    }


def test_signed_requests_are_accepted(
    auth_server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, access = auth_server
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[default]\naws_access_key_id = {access['id']}\naws_secret_access_key = {access['secret']}\n"
    )
    store = ts.KvStore.open(_spec(url, credentials)).result()
    # Keys whose characters must be encoded exercise the canonical URI; list the canonical query.
    keys = [b"a/b c", b"a/$&,:=@~", "ü/ß".encode()]
    for key in keys:
        store[key] = key
    assert [store[k] for k in keys] == keys
    assert store.list(ts.KvStore.KeyRange.prefix(b"a/")).result() == sorted(keys[:2])
    assert store.read(b"a/b c", byte_range=slice(1, 3)).result().value == b"/b"
    store.delete_range(ts.KvStore.KeyRange()).result()
    assert store.list().result() == []


def test_a_wrong_secret_is_refused(auth_server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    url, access = auth_server
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[default]\naws_access_key_id = {access['id']}\naws_secret_access_key = wrong\n"
    )
    store = ts.KvStore.open(_spec(url, credentials)).result()
    with pytest.raises(
        PermissionDeniedError,
        match=r"^s3: PUT authb/k: SignatureDoesNotMatch: The request signature we calculated "
        r"does not match.* \[HTTP code 403\]$",
    ):
        store["k"] = b"v"


def test_anonymous_requests_are_refused(
    auth_server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, access = auth_server
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[default]\naws_access_key_id = {access['id']}\naws_secret_access_key = {access['secret']}\n"
    )
    ts.KvStore.open(_spec(url, credentials)).result()["k"] = b"v"
    spec = {**_spec(url, credentials), "aws_credentials": {"type": "anonymous"}}
    store = ts.KvStore.open(spec).result()
    # (moto answers anonymous requests of missing keys and PUTs with a 500, a GET of
    # an existing private key with the 403 S3 sends.)
    with pytest.raises(PermissionDeniedError, match=r"^s3: GET authb/k: .*\[HTTP code 403\]$"):
        store.read("k").result()
