"""The ``http`` kvstore's retry resource: ``http_request_retries``.

As in TensorStore: ``{"max_retries": integer[0, 2**63-1] = 32,
"initial_delay": duration = "1s", "max_delay": duration = "32s"}``. A request
failing with a transient error (HTTP 408, 429, 5xx, a network error) is sent
again up to ``max_retries`` times, the n-th time after
``min(initial_delay * 2**n + jitter, max_delay)``, the jitter being up to
``min(1s, initial_delay)``.

(``http_request_concurrency`` is a concurrency limit like ``file_io_concurrency``,
"shared" meaning 32: see ``context_resources``.)
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from .retries_config import RetriesConfig

__all__ = ["HttpRequestRetriesConfig"]


@attrs.frozen
class HttpRequestRetriesConfig(RetriesConfig):
    """Parsed ``http_request_retries`` (and ``s3_request_retries``) JSON (delays in nanoseconds)."""

    DEFAULT_MAX_RETRIES: ClassVar[int] = 32
