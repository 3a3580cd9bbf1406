"""Large byte buffers taken from memory already paged in, and given back when nothing uses them.

Encoding, reading and assembling chunks and shards of megabytes each need a
fresh buffer of that size. Fresh memory is expensive: the C allocator maps
buffers this large anew and unmaps them when freed, so every 4 KiB page
faults on first touch; on virtual machines that report free pages to their
host, each fault costs about 2 µs, 0.5 ms per MiB: five times a copy of the
same bytes (measured here: encoding the [1024, 1024] uint16 shards of a
full write took 1.7-2.7 ms in fresh buffers and 0.3-0.5 ms in reused ones).

A buffer from :func:`take` is a slice of a pooled block, leased through a
``ctypes`` array over the block: every NumPy view and ``memoryview`` made
from the buffer references the lease, so the lease dies exactly when the
last of them does, and only then (``weakref.finalize``) is the block put
back for another :func:`take`. Blocks are kept by size class (sizes rounded
up by at most an eighth) up to :data:`POOL_LIMIT_BYTES` free bytes; beyond
that the free blocks given back longest ago go back to the allocator, so the
pool follows the sizes in use. A pool kept full of one workload's blocks
would turn every block of the next one's size away: in ``bench/compare.py``,
W1's raw file case filled it with 8 MiB blocks, and the blosc file write
that runs next, whose frames are a size class up, took fresh memory for all
64 frames of every write (17 now; the write's page faults halved).
"""

from __future__ import annotations

import ctypes
import os
import threading
import weakref
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["POOLED_BYTES", "POOL_LIMIT_BYTES", "free_bytes", "take"]

#: Buffers of at least this many bytes come from the pool; smaller ones are cheap to allocate.
POOLED_BYTES = 1 << 20

#: Most bytes of free blocks kept for reuse.
POOL_LIMIT_BYTES = 64 << 20

_lock = threading.RLock()  # a lease may die, and give back its block, in any thread
_free: list[NDArray[np.uint8]] = []  # given back longest ago first
_free_bytes = 0


def _reset_after_fork() -> None:
    global _lock
    _lock = threading.RLock()


os.register_at_fork(after_in_child=_reset_after_fork)


def _size_class(size: int) -> int:
    """``size`` rounded up to a multiple of an eighth of the power of two at or below it."""
    step = 1 << max((size - 1).bit_length() - 4, 12)
    return -(-size // step) * step


def take(size: int) -> memoryview:
    """A writable byte buffer of ``size`` bytes (uninitialised), reused when one is free."""
    global _free_bytes
    block_size = _size_class(size)
    block = None
    with _lock:
        # The most recently given back (the warmest in caches) of its class.
        for index in range(len(_free) - 1, -1, -1):
            if _free[index].size == block_size:
                block = _free.pop(index)
                _free_bytes -= block_size
                break
    if block is None:
        block = np.empty(block_size, np.uint8)
    lease = (ctypes.c_ubyte * block_size).from_buffer(block.data)
    weakref.finalize(lease, _give_back, block)
    buffer: memoryview = memoryview(lease).cast("B")[:size]
    return buffer


def _give_back(block: NDArray[np.uint8]) -> None:
    global _free_bytes
    size = block.size
    if size > POOL_LIMIT_BYTES:
        return  # it would only push every other block out
    with _lock:
        _free.append(block)
        _free_bytes += size
        while _free_bytes > POOL_LIMIT_BYTES:
            _free_bytes -= _free.pop(0).size


def free_bytes() -> int:
    """Bytes held in free blocks (for tests and monitoring)."""
    return _free_bytes
