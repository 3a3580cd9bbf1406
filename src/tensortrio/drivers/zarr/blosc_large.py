"""Blosc compression of large chunks straight into NumPy buffers.

numcodecs' ``Blosc.encode`` compresses an 8 MiB chunk into a fresh ``bytes``
of the chunk's size plus the header (a page fault per 4 KiB touched), then
slices it to the compressed size: a second fresh object and a copy, made
with the GIL held, so the other encode thread waits. Here c-blosc's
``blosc_compress_ctx`` (the same library and the same frame, called through
``ctypes``, which releases the GIL) writes into a NumPy buffer (huge pages
from 4 MiB), which is then shrunk in place (``realloc``) to the frame's size.

A chunk that is a strided view (a full overwrite encodes straight from the
writer's source) is first gathered into a contiguous staging buffer that each
worker thread keeps while it lives: reusing it costs a copy, where a fresh
one costs the copy and a page fault per page.

A *transient* frame, one its caller drops as soon as it is written (a file
store's write), is compressed into reused memory instead
(:func:`~tensortrio.drivers.kvstore.value_buffer.new_buffer`): a buffer of
the chunk's size, leased by the frame until its last view is gone. A fresh
buffer costs a huge-page fault per 2 MiB the frame touches (the kernel zeroes
each page first): on W1's file writes (64 chunks of 8 MiB), frames in reused
buffers took 26-32 ms less CPU per write, 4-5% of it (perf puts most of the
difference in the kernel's page clearing). A frame that is kept (a memory
store's value) must not pin a buffer 2-3 times its size, so it still gets
fresh memory, shrunk in place to the frame.

When the symbol is unavailable (a numcodecs build that hides it),
:data:`AVAILABLE` is false and callers keep using numcodecs.
"""

from __future__ import annotations

import ctypes
import threading
from typing import TYPE_CHECKING, Any, Final

import numcodecs.blosc
import numpy as np

from ..kvstore.value_buffer import new_buffer

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["AVAILABLE", "MAX_NBYTES", "compress_array"]

#: c-blosc 1.x frames hold at most this many bytes (``BLOSC_MAX_BUFFERSIZE``).
MAX_NBYTES: Final = (1 << 31) - 1 - 16
_OVERHEAD: Final = 16  # BLOSC_MAX_OVERHEAD
#: Staging buffers larger than this are not kept between chunks (memory bound).
_MAX_STAGING: Final = 64 << 20


def _load() -> Any:
    try:
        function = ctypes.CDLL(numcodecs.blosc.__file__).blosc_compress_ctx
    except (OSError, AttributeError):
        return None
    function.restype = ctypes.c_int
    function.argtypes = [
        ctypes.c_int,  # clevel
        ctypes.c_int,  # doshuffle
        ctypes.c_size_t,  # typesize
        ctypes.c_size_t,  # nbytes
        ctypes.c_void_p,  # src
        ctypes.c_void_p,  # dest
        ctypes.c_size_t,  # destsize
        ctypes.c_char_p,  # compressor
        ctypes.c_size_t,  # blocksize
        ctypes.c_int,  # numinternalthreads
    ]
    return function


_compress_ctx: Final = _load()
#: Whether :func:`compress_array` can be used in this process.
AVAILABLE: Final = _compress_ctx is not None
_local = threading.local()


def _contiguous(array: NDArray[Any]) -> NDArray[Any]:
    """``array`` if C-contiguous, else its elements copied into this thread's staging buffer."""
    if array.flags.c_contiguous:
        return array
    nbytes = array.nbytes
    if nbytes > _MAX_STAGING:
        return np.ascontiguousarray(array)
    staging: NDArray[np.uint8] | None = getattr(_local, "staging", None)
    if staging is None or staging.nbytes < nbytes:
        staging = np.empty(nbytes, np.uint8)
        _local.staging = staging
    out = staging[:nbytes].view(array.dtype).reshape(array.shape)
    np.copyto(out, array)
    return out


def compress_array(
    array: NDArray[Any],
    *,
    cname: str,
    clevel: int,
    shuffle: int,
    typesize: int,
    blocksize: int = 0,
    transient: bool = False,
) -> memoryview:
    """The blosc frame of ``array``'s elements in C order, as a read-only byte view nobody else holds.

    ``typesize``: the bytes of one element as the format counts them (zarr:
    of one array element, inner dimensions included); ``shuffle``: 0 none,
    1 byte, 2 bit.
    ``transient``: the caller drops the frame once it is written; it may then
    hold on to a buffer of ``array``'s size while it lives.
    Only when :data:`AVAILABLE`, for arrays of at most :data:`MAX_NBYTES` bytes.

    Raises:
        RuntimeError: c-blosc reports an error (an unknown ``cname``).
    """
    source = _contiguous(array)
    nbytes = source.nbytes
    capacity = nbytes + _OVERHEAD
    if transient:
        buffer = new_buffer(capacity)
        dest = ctypes.addressof(ctypes.c_char.from_buffer(buffer))
        cbytes = _compress(source, dest, capacity, cname, clevel, shuffle, typesize, blocksize)
        return buffer[:cbytes].toreadonly()
    out = np.empty(capacity, np.uint8)
    cbytes = _compress(
        source, out.ctypes.data, capacity, cname, clevel, shuffle, typesize, blocksize
    )
    # Nothing else references ``out``: shrinking it is a realloc in place, not a copy.
    out.resize(cbytes, refcheck=False)
    return out.data.toreadonly()


def _compress(
    source: NDArray[Any],
    dest: int,
    capacity: int,
    cname: str,
    clevel: int,
    shuffle: int,
    typesize: int,
    blocksize: int,
) -> int:
    """Compress the C-contiguous ``source`` into ``capacity`` bytes at address ``dest``; the frame's size."""
    cbytes: int = _compress_ctx(
        clevel,
        shuffle,
        typesize,
        source.nbytes,
        source.ctypes.data,
        dest,
        capacity,
        cname.encode(),
        blocksize,
        1,
    )
    if cbytes <= 0:
        raise RuntimeError(
            f"blosc: cannot compress with cname {cname!r} (c-blosc returned {cbytes})"
        )
    return cbytes
