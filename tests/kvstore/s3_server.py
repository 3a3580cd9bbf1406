"""A real S3 server for the ``s3`` kvstore tests: moto's standalone server on 127.0.0.1.

``MotoS3`` runs ``moto.server.ThreadedMotoServer`` on an ephemeral port and
talks to it with boto3, so tests create buckets and look at objects without
going through the driver under test.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import attrs

__all__ = ["MotoS3"]

#: Credentials the tests sign with (moto accepts any unless auth is enabled).
ACCESS_KEY = "AKIDTESTING"
SECRET_KEY = "tensortrio-testing-secret"


@attrs.define
class MotoS3:
    """A running moto server: ``url`` is ``http://127.0.0.1:<port>``."""

    server: Any
    url: str

    @classmethod
    def start(cls) -> MotoS3:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        return cls(server, f"http://{host}:{port}")

    def stop(self) -> None:
        self.server.stop()

    def client(self) -> Any:
        """A boto3 S3 client of this server (an independent implementation to check ours against)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
        )

    def new_bucket(self) -> str:
        """Create a bucket with a fresh name and return the name."""
        name = f"bucket-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name

    def put(self, bucket: str, key: str, value: bytes) -> None:
        self.client().put_object(Bucket=bucket, Key=key, Body=value)

    def get(self, bucket: str, key: str) -> bytes | None:
        client = self.client()
        try:
            body: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            return None
        return body

    def spec(self, bucket: str, **members: Any) -> dict[str, Any]:
        """The spec of ``bucket`` on this server, signed with the test credentials from the environment."""
        return {"driver": "s3", "bucket": bucket, "endpoint": self.url, **members}
