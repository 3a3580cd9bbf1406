"""Large kvstore values as read-only views of NumPy buffers, not ``bytes``.

Chunk caches move values of megabytes: an 8 MiB chunk is encoded, written,
read and decoded. Building each as a ``bytes`` object costs a page fault per
4 KiB of fresh memory, which on this class of machine is most of the cost of
the copy itself. NumPy asks the kernel for transparent huge pages for large
buffers (one fault per 2 MiB), so a value of at least :data:`LARGE_VALUE`
bytes is built in a NumPy buffer and passed on as a read-only ``memoryview``
(measured: encoding 8 MiB chunks 2x faster, reading them from files 2x
faster). Smaller values stay ``bytes``, which are cheaper to create and
join (NumPy does not ask for huge pages below 4 MiB).

Such a view is *owned*: whoever made it never writes to it again, so the
kvstore may keep it as the stored value and readers may decode from it
without a copy.

Large buffers come from :mod:`.warm_buffers`: memory already paged in,
given back for reuse once the last view of it is gone.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from .warm_buffers import POOLED_BYTES, take

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

__all__ = ["LARGE_VALUE", "Value", "array_value", "join_values", "new_array", "new_buffer"]

Value: TypeAlias = "bytes | memoryview"
"""A stored value: ``bytes``, or a read-only byte ``memoryview`` nobody writes to."""

#: Values at least this large are NumPy buffers (huge pages) rather than ``bytes``.
#: NumPy asks for huge pages from 4 MiB; below that a NumPy buffer is only slower.
LARGE_VALUE = 1 << 22


def new_buffer(size: int) -> memoryview:
    """A writable byte buffer of ``size`` bytes (uninitialised) nobody else references.

    Large ones are reused memory (``warm_buffers``): fresh pages cost more than the copies.
    """
    if size >= POOLED_BYTES:
        return take(size)
    return np.empty(size, np.uint8).data


def new_array(shape: tuple[int, ...] | int, dtype: Any) -> NDArray[Any]:
    """An uninitialised C-order array nobody else references; large ones are reused memory."""
    dtype = np.dtype(dtype)
    count = shape if isinstance(shape, int) else math.prod(shape)
    nbytes = count * dtype.itemsize
    if nbytes < POOLED_BYTES or dtype.hasobject:  # objects cannot live in a raw buffer
        return np.empty(shape, dtype)
    return np.frombuffer(take(nbytes), dtype).reshape(shape)


def array_value(array: NDArray[Any], *, owned: bool = False) -> Value:
    """The bytes of ``array`` (any memory layout) in C order, as a value: one copy at most.

    ``owned``: nobody else references or modifies ``array``; a large
    C-contiguous one is then passed on without a copy.
    """
    nbytes = array.nbytes
    if nbytes < LARGE_VALUE:
        return array.tobytes()
    if owned and array.flags.c_contiguous:
        return array.reshape(-1).view(np.uint8).data.toreadonly()
    buffer = new_array(array.shape, array.dtype)
    np.copyto(buffer, array)
    return buffer.reshape(-1).view(np.uint8).data.toreadonly()


def join_values(parts: Sequence[bytes | bytearray | memoryview]) -> Value:
    """The concatenation of ``parts``, as a new value (the parts may be modified afterwards)."""
    sizes = [part.nbytes if type(part) is memoryview else len(part) for part in parts]
    total = sum(sizes)
    if total < LARGE_VALUE:
        return b"".join(parts)
    out = new_buffer(total)
    at = 0
    for part, size in zip(parts, sizes, strict=True):
        out[at : at + size] = part  # a memoryview slice assignment is a plain memcpy
        at += size
    return out.toreadonly()
