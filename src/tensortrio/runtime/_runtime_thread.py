"""Which thread is the runtime thread.

Kept apart from the runtime so that futures can refuse to block the runtime
thread without importing the runtime itself.
"""

from __future__ import annotations

import threading

__all__ = ["in_runtime_thread", "mark_runtime_thread", "unmark_runtime_thread"]

_local = threading.local()


def in_runtime_thread() -> bool:
    """Return whether the calling thread is the one running tensortrio's trio loop."""
    return getattr(_local, "is_runtime", False)


def mark_runtime_thread() -> None:
    """Record that the calling thread runs the runtime's trio loop."""
    _local.is_runtime = True


def unmark_runtime_thread() -> None:
    """Forget the mark: the thread left the runtime loop, or a fork copied it."""
    _local.is_runtime = False
