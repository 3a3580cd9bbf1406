"""Blosc compression of small buffers with little per-call overhead.

numcodecs' Blosc spends 2–3 µs per call on argument checks and on deciding
whether blosc may use threads (it asks ``multiprocessing`` which process it
is in, every call): as much as lz4 takes to decompress an 8 KiB inner chunk.
For buffers under :data:`SMALL` bytes we call c-blosc through python-blosc
(``blosc``) instead: about 1 µs per decompression and the same bytes out
(both wrap c-blosc 1.x). It holds the GIL while it works, which for small
buffers costs less than releasing and re-taking it, and it runs
single-threaded (set once, process-wide, on import: blosc's own threads only
add synchronisation for buffers this small). Larger buffers, and a
non-default ``blocksize`` (python-blosc has only a process-wide setting for
it), keep using numcodecs, which releases the GIL.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Final

import blosc
import numcodecs.blosc
import numpy as np

from ..errors import DataLossError, InvalidArgumentError
from .blosc_format import blosc_header_sizes
from .kvstore.value_buffer import new_array

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import NDArray

__all__ = [
    "SMALL",
    "check_cname_available",
    "compress",
    "decompress",
    "decompress_checked",
    "decompress_rows",
    "decompressor_into",
]

#: Buffers below this many bytes go through python-blosc (GIL held, low overhead).
SMALL: Final = 1 << 16

blosc.set_nthreads(1)

# python-blosc's ``compress`` and ``decompress_ptr`` check their arguments in
# Python on every call (``compress`` lists the compressors each time): a third
# of the call for an 8 KiB chunk. The checks do not depend on the data, so a
# parameter set is checked once, by the first ``blosc.compress`` call with it,
# and the C extension is called directly after that.
_compress_ext = blosc.blosc_extension.compress  # loaded by ``import blosc``
_decompress_ptr = blosc.blosc_extension.decompress_ptr
_CHECKED: set[tuple[int, int, int, str]] = set()
"""``(typesize, clevel, shuffle, cname)`` that ``blosc.compress`` has accepted."""


@functools.cache
def _available() -> frozenset[str]:
    return frozenset(numcodecs.blosc.list_compressors())


def check_cname_available(cname: str) -> None:
    """Refuse a blosc ``cname`` that numcodecs' c-blosc was built without (e.g. ``"snappy"``).

    Raises:
        InvalidArgumentError: naming the compressor.
    """
    if cname not in _available():
        raise InvalidArgumentError(f'blosc compressor "{cname}" is not available in this numcodecs build')


def compress(
    data: Any, *, cname: str, clevel: int, shuffle: int, typesize: int, blocksize: int = 0
) -> bytes:
    """Compress the bytes of the C-contiguous buffer ``data`` into a blosc frame.

    ``shuffle``: 0 none, 1 byte shuffle, 2 bit shuffle.
    """
    flat = memoryview(data).cast("B")
    if flat.nbytes < SMALL and blocksize == 0:
        params = (typesize, clevel, shuffle, cname)
        if params in _CHECKED:
            fast: bytes = _compress_ext(flat, typesize, clevel, shuffle, cname)
            return fast
        out: bytes = blosc.compress(flat, typesize, clevel, shuffle, cname)
        _CHECKED.add(params)
        return out
    codec = numcodecs.blosc.Blosc(
        cname=cname, clevel=clevel, shuffle=shuffle, blocksize=blocksize, typesize=typesize
    )
    return bytes(codec.encode(flat))


def decompressor_into(
    out: NDArray[np.uint8],
) -> Callable[[bytes | bytearray | memoryview], object]:
    """A function that decompresses a frame into ``out`` (a writable C-contiguous byte array).

    For hot loops: it does no checks. Its caller has checked each frame's
    header (``blosc_header_sizes``): the frame is complete and decodes to
    exactly ``out.nbytes`` bytes. The function raises an exception of blosc's
    choosing when a frame's body is corrupt.
    """
    if out.nbytes < SMALL:
        address = out.ctypes.data

        def small(data: bytes | bytearray | memoryview, out: NDArray[np.uint8] = out) -> object:
            # ``out`` is bound so that the memory at ``address`` stays alive.
            return _decompress_ptr(data, address)

        return small

    def large(data: bytes | bytearray | memoryview) -> object:
        return numcodecs.blosc.decompress(data, out)

    return large


def decompress_rows(
    frames: Sequence[tuple[int, bytes | bytearray | memoryview]],
    out: NDArray[np.uint8],
    where: Callable[[int], str],
) -> None:
    """Decompress each ``(row, frame)`` into that row of ``out`` (2-D, C-contiguous bytes).

    For hot loops, like :func:`decompressor_into`: each frame's header was
    checked to decode to exactly one row.

    Raises:
        DataLossError: ``"<where(row)>: blosc: <blosc's error>"`` for a corrupt frame.
    """
    row_bytes = out.shape[1]
    base = out.ctypes.data
    small = row_bytes < SMALL
    decompress_ptr = _decompress_ptr
    for row, frame in frames:
        try:
            if small:
                decompress_ptr(frame, base + row * row_bytes)
            else:
                numcodecs.blosc.decompress(frame, out[row])
        except Exception as exc:  # blosc raises assorted types on corrupt input
            raise DataLossError(f"{where(row)}: blosc: {exc}") from exc


def decompress_checked(
    data: bytes | bytearray | memoryview, out: Any, what: str = "blosc"
) -> None:
    """Decompress the frame ``data`` into the writable C-contiguous buffer ``out``, exactly filled.

    Raises:
        DataLossError: naming ``what``, when the frame is truncated, claims
            another size, or does not decompress.
    """
    target = np.frombuffer(out, np.uint8)
    if not target.flags.writeable:
        raise ValueError(f"{what}: the output buffer is read-only")
    nbytes = target.nbytes
    decoded = _decoded_size(data, what)
    if decoded != nbytes:
        raise DataLossError(f"{what}: header says {decoded} decoded bytes, expected {nbytes}")
    _decompress(data, target, what)


def decompress(data: bytes | bytearray | memoryview, what: str = "blosc") -> NDArray[np.uint8]:
    """The frame ``data`` decompressed into a new byte array, as long as its header says.

    Raises:
        DataLossError: as :func:`decompress_checked`.
    """
    out = new_array(_decoded_size(data, what), np.uint8)
    _decompress(data, out, what)
    return out


def _decoded_size(data: bytes | bytearray | memoryview, what: str) -> int:
    # Blosc decodes a truncated buffer without complaint; its header knows the sizes.
    sizes = blosc_header_sizes(data)
    size = data.nbytes if isinstance(data, memoryview) else len(data)
    if sizes is None:
        raise DataLossError(f"{what}: {size} bytes is too short for a blosc header")
    decoded, cbytes = sizes
    if cbytes != size:
        raise DataLossError(f"{what}: header says {cbytes} compressed bytes, got {size}")
    return decoded


def _decompress(data: bytes | bytearray | memoryview, out: NDArray[np.uint8], what: str) -> None:
    try:
        decompressor_into(out)(data)
    except Exception as exc:  # blosc raises assorted types on corrupt input
        raise DataLossError(f"{what}: {exc}") from exc
