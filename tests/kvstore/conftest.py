"""Fixtures of the kvstore tests: a real HTTP server over a temporary directory."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .http_server import ServedDirectory, serve

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
