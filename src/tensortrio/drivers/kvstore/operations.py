"""The requests a kvstore driver executes, and how a group of reads of one key is answered.

These are the driver-level forms of ``KvStore.read``/``write``: keys are
full keys (the store's ``path`` already prepended) and every condition is
explicit. The KvStore actor batches them; drivers execute batches.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

import attrs

from .byte_range import FULL, ByteRangeRequest
from .generation import NO_VALUE, TimestampedStorageGeneration
from .read_result import ReadResult

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["MAX_COALESCING_GAP", "ReadRequest", "WriteRequest", "answer_reads"]

#: Byte ranges of one value closer than this are read with one I/O (TensorStore uses 255).
MAX_COALESCING_GAP = 255


@attrs.frozen
class ReadRequest:
    """Read ``key``: the whole value or ``byte_range``, subject to generation conditions.

    ``if_not_equal``: the read is aborted (state ``'unspecified'``) when the
    stored generation equals it. ``if_equal``: aborted when the stored
    generation differs (drivers use it to read consistent byte ranges).
    ``staleness_bound``: seconds since the epoch; a result at least this
    recent satisfies the read (``inf``: current as of the request).
    """

    key: bytes
    byte_range: ByteRangeRequest = FULL
    if_not_equal: bytes = b""
    if_equal: bytes = b""
    staleness_bound: float = math.inf


@attrs.frozen
class WriteRequest:
    """Write ``value`` under ``key`` (``None`` deletes it), if the stored generation is ``if_equal``.

    ``if_equal`` of ``b""`` writes unconditionally; ``b"\\x02"`` writes only if
    the key does not exist.
    """

    key: bytes
    value: bytes | memoryview | None
    if_equal: bytes = b""


def answer_reads(
    requests: Sequence[ReadRequest],
    stamp: TimestampedStorageGeneration,
    size: int | None,
    fetch: Callable[[int, int], bytes | memoryview],
) -> list[ReadResult | Exception]:
    """Answer reads of one key from one observation of it.

    ``stamp`` is the key's generation when observed, ``size`` its value's
    length (``None``: missing) and ``fetch(start, stop)`` returns bytes of
    that value. Byte ranges closer than ``MAX_COALESCING_GAP`` are fetched
    together, so N reads of one key cost one I/O.
    """
    if len(requests) == 1:
        # The common case: one plain read, answered without planning spans.
        request = requests[0]
        if (
            size is not None
            and request.byte_range is FULL
            and not request.if_equal
            and request.if_not_equal != stamp.generation
        ):
            return [ReadResult._make("value", fetch(0, size), stamp)]
    outcomes: list[ReadResult | Exception | None] = []
    spans: list[tuple[int, int, int]] = []  # (start, stop, index in outcomes)
    generation = stamp.generation
    for request in requests:
        if size is None:
            if request.if_equal and request.if_equal != NO_VALUE:
                outcomes.append(ReadResult._make("unspecified", b"", stamp))
            else:
                outcomes.append(ReadResult._make("missing", b"", stamp))
            continue
        if (request.if_not_equal and request.if_not_equal == generation) or (
            request.if_equal and request.if_equal != generation
        ):
            outcomes.append(ReadResult._make("unspecified", b"", stamp))
            continue
        try:
            start, stop = request.byte_range.resolve(size, request.key)
        except Exception as exc:
            outcomes.append(exc)
            continue
        spans.append((start, stop, len(outcomes)))
        outcomes.append(None)
    if spans:
        for segment_start, data, members in _coalesce(spans, fetch):
            for start, stop, index in members:
                piece = data[start - segment_start : stop - segment_start]
                outcomes[index] = ReadResult._make("value", piece, stamp)
    # Every slot is filled: each span's index was answered above.
    return cast("list[ReadResult | Exception]", outcomes)


def _coalesce(
    spans: list[tuple[int, int, int]], fetch: Callable[[int, int], bytes | memoryview]
) -> list[tuple[int, bytes | memoryview, list[tuple[int, int, int]]]]:
    ordered = sorted(spans)
    segments: list[tuple[int, int, list[tuple[int, int, int]]]] = []
    for span in ordered:
        start, stop, _ = span
        if segments and start - segments[-1][1] <= MAX_COALESCING_GAP:
            seg_start, seg_stop, members = segments[-1]
            members.append(span)
            segments[-1] = (seg_start, max(seg_stop, stop), members)
        else:
            segments.append((start, stop, [span]))
    return [(lo, fetch(lo, hi), members) for lo, hi, members in segments]
