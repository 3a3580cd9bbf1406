"""Fixtures of the kvstore tests: a real HTTP server over a temporary directory, and a real S3 server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .http_server import ServedDirectory, serve
from .s3_server import ACCESS_KEY, SECRET_KEY, MotoS3

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedDirectory]:
    """``tmp_path/"www"`` served at ``served.url`` (``http://127.0.0.1:<port>``) until the test ends."""
    root = tmp_path / "www"
    root.mkdir()
    directory = ServedDirectory(root)
    server, thread = serve(directory)
    yield directory
    hold = directory._hold
    if hold is not None:
        hold.set()  # held handler threads end
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    """One moto S3 server for the session (tests make buckets of their own)."""
    server = MotoS3.start()
    yield server
    server.stop()


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The test credentials in the environment, and no shared credentials file."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
