"""Trying ``file`` operations again after transient I/O errors (the ``file_io_retries`` resource).

An operation whose outcome is an ``OSError`` with a transient ``errno``
(``EIO``, ``EAGAIN``, ``EBUSY``, ``EINTR``, ``ETIMEDOUT``) is run again, up to
``max_retries`` times, after ``initial_delay``, then twice that, and so on up
to ``max_delay``; other errors (``EACCES``, ``ENOSPC``, a missing directory)
are final at once. A write that failed did not happen (its value was never
renamed into place), so running it again is safe. The worker thread sleeps
between rounds, holding its ``file_io_concurrency`` token, as an operation
that is still running does.

Operations of a batch apply in order, so an operation is not run again when
a later write of the same key in its batch already ran: its error stands.
A listing or a ``delete_range`` (which only ever removes what is there) is
run again whole.
"""

from __future__ import annotations

import errno
import time
from typing import TYPE_CHECKING, Final, TypeVar

from ...schema.duration import seconds
from .operations import WriteRequest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from ...schema.file_io_resources import FileIoRetriesConfig
    from .driver import BatchOperation, BatchOutcome

__all__ = ["TRANSIENT_ERRNOS", "call_with_retries", "run_with_retries"]

_T = TypeVar("_T")

#: The errors worth another attempt: the device or the filesystem may recover.
TRANSIENT_ERRNOS: Final = frozenset(
    {errno.EIO, errno.EAGAIN, errno.EBUSY, errno.EINTR, errno.ETIMEDOUT}
)


def _transient(outcome: object) -> bool:
    if isinstance(outcome, list):
        return any(_transient(o) for o in outcome)
    return isinstance(outcome, OSError) and outcome.errno in TRANSIENT_ERRNOS


def _retriable(operations: Sequence[BatchOperation], outcomes: list[BatchOutcome]) -> list[int]:
    """Positions of transient failures that no later write of their key in the batch overtook."""
    written_later: set[bytes] = set()
    out: list[int] = []
    for position in range(len(operations) - 1, -1, -1):
        operation = operations[position]
        key = operation.key
        if _transient(outcomes[position]) and key not in written_later:
            out.append(position)
        if type(operation) is WriteRequest:
            written_later.add(key)
    out.reverse()
    return out


def _delays(policy: FileIoRetriesConfig) -> Iterator[float]:
    """The waits before each of ``policy.max_retries`` further attempts, in seconds."""
    delay = max(0.0, seconds(policy.initial_delay))
    longest = max(0.0, seconds(policy.max_delay))
    for _ in range(policy.max_retries):
        yield min(delay, longest)
        delay *= 2


def call_with_retries(call: Callable[[], _T], policy: FileIoRetriesConfig) -> _T:
    """``call()``, called again after a transient ``OSError`` as ``policy`` allows (worker threads only)."""
    for delay in _delays(policy):
        try:
            return call()
        except OSError as exc:
            if not _transient(exc):
                raise
        time.sleep(delay)
    return call()


def run_with_retries(
    operations: Sequence[BatchOperation],
    run: Callable[[Sequence[BatchOperation]], list[BatchOutcome]],
    policy: FileIoRetriesConfig,
) -> list[BatchOutcome]:
    """``run(operations)``, then ``run`` again on its transient failures as ``policy`` allows."""
    outcomes = run(operations)
    for delay in _delays(policy):
        again = _retriable(operations, outcomes)
        if not again:
            break
        time.sleep(delay)
        retried = run([operations[i] for i in again])
        for position, outcome in zip(again, retried, strict=True):
            outcomes[position] = outcome
    return outcomes
