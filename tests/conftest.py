"""Suite-wide settings."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest
from hypothesis import settings

# The suite must give the same verdict on every run (CI included): Hypothesis
# draws a fixed sequence of examples. Wider exploration is one environment
# variable away (TENSORTRIO_HYPOTHESIS=explore), for hunting new cases locally.
# Deadlines are off: this 2-core machine is shared and timing is not a property
# these tests check.
settings.register_profile("deterministic", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", derandomize=False, deadline=None, print_blob=True)
settings.load_profile(
    "explore" if os.environ.get("TENSORTRIO_HYPOTHESIS") == "explore" else "deterministic"
)


class WorkerReadOverlap:
    """How many ``WorkerReads.read`` calls ran at once, at most (``peak``)."""

    def __init__(self) -> None:
        self.running = 0
        self.peak = 0
        self.lock = threading.Lock()


@pytest.fixture
def empty_warm_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """The warm buffer pool starts empty (``warm_buffers``): tests see only their own blocks."""
    from tensortrio.drivers.kvstore import warm_buffers

    monkeypatch.setattr(warm_buffers, "_free", [])
    monkeypatch.setattr(warm_buffers, "_free_bytes", 0)


@pytest.fixture
def worker_read_overlap(monkeypatch: pytest.MonkeyPatch) -> WorkerReadOverlap:
    """Makes every worker-thread kvstore read slow (10 ms, a slow disk) and counts the overlap."""
    from tensortrio.actors.kvstore import WorkerReads

    overlap = WorkerReadOverlap()
    original = WorkerReads.read

    def slow_read(self: WorkerReads, key: str | bytes, if_not_equal: bytes = b"") -> Any:
        with overlap.lock:
            overlap.running += 1
            overlap.peak = max(overlap.peak, overlap.running)
        time.sleep(0.01)  # long enough for another thread to start a read meanwhile
        try:
            return original(self, key, if_not_equal)
        finally:
            with overlap.lock:
                overlap.running -= 1

    monkeypatch.setattr(WorkerReads, "read", slow_read)
    return overlap
