"""The parts of a request that fall in one chunk: coverage, size, views and copies.

Pure NumPy helpers for the chunk cache's write and read paths, on the
:class:`~tensortrio.index.partition.ChunkCellSelection` of one grid cell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from ..index.partition import ChunkCellSelection

__all__ = [
    "COPY_INLINE_BYTES",
    "COPY_THREAD_MIN_PART_BYTES",
    "copy_inline",
    "covers_chunk",
    "prepare_part",
    "selection_nbytes",
    "source_view",
]

#: Copies of less than this many bytes in one step run inline on the runtime thread.
COPY_INLINE_BYTES = 1 << 20
#: Copies of parts smaller than this on average run inline whatever their total:
#: NumPy holds the GIL for small copies, so threads would only add their hops.
COPY_THREAD_MIN_PART_BYTES = 1 << 18


def copy_inline(costs: Sequence[int]) -> bool:
    """Whether copies of parts of ``costs`` bytes are cheaper on the runtime thread."""
    total = sum(costs)
    return total < COPY_INLINE_BYTES or total < COPY_THREAD_MIN_PART_BYTES * len(costs)


def covers_chunk(selection: ChunkCellSelection, chunk_shape: tuple[int, ...]) -> bool:
    """Whether ``selection`` selects every element of the chunk (a full overwrite)."""
    terms = selection.chunk_selection
    dim = 0
    for term in terms:
        if term is None:
            continue
        size = chunk_shape[dim]
        if isinstance(term, slice):
            if term.indices(size) != (0, size, 1):
                return False
        elif isinstance(term, int):
            if size != 1:
                return False
        else:
            return False
        dim += 1
    return dim == len(chunk_shape)


def selection_nbytes(selection: ChunkCellSelection, source: NDArray[Any]) -> int:
    """The bytes of ``source`` that ``selection`` selects (called per chunk: kept lean)."""
    count = source.itemsize
    shape = source.shape
    for dim, term in enumerate(selection.array_selection):
        if term.__class__ is slice:
            count *= len(range(*term.indices(shape[dim])))
        elif isinstance(term, np.ndarray):
            return int(term.size) * source.itemsize
    return count


def source_view(
    selection: ChunkCellSelection, source: NDArray[Any], chunk_shape: tuple[int, ...]
) -> NDArray[Any] | None:
    """The part of ``source`` a full overwrite writes, as a view of the chunk's shape, if free.

    The view may be strided: encoding copies it once in any layout, where
    copying it into a chunk buffer first would copy it twice. None when only a
    copy gives it the chunk's shape (the caller then copies).
    """
    picked: Any = source[selection.array_selection]
    # Every index an integer, into an object array, picks the element itself: take a 0-d view.
    part: NDArray[Any] = (
        picked if isinstance(picked, np.ndarray) else source[(*selection.array_selection, Ellipsis)]
    )
    if selection.chunk_axes is not None:
        part = np.transpose(part, np.argsort(selection.chunk_axes))
    if part.shape == chunk_shape:
        return part
    if not part.flags.c_contiguous:
        return None
    return part.reshape(chunk_shape)


def prepare_part(
    selection: ChunkCellSelection,
    source: NDArray[Any],
    full: bool,
    chunk_shape: tuple[int, ...],
    dtype: np.dtype[Any],
) -> tuple[NDArray[Any], NDArray[np.bool_] | None]:
    buffer = np.empty(chunk_shape, dtype)
    selection.write(source, buffer)
    if full:
        return buffer, None
    mask = np.zeros(chunk_shape, np.bool_)
    mask[selection.chunk_selection] = True
    return buffer, mask
