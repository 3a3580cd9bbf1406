"""``N5ChunkCodec``: n5 block keys and the bytes of one block.

A stored block is a header (:mod:`.block_header`) followed by the block's
elements, big-endian, in Fortran order (the first dimension varies fastest),
compressed with the dataset's ``compression``.  Keys are the grid cell's
indices joined by ``"/"``, in the order of ``dimensions`` (``"0"`` for rank
0), as TensorStore and n5-java name them.

Edge blocks: a block may be stored smaller than ``blockSize`` (n5-java,
z5 and zarr-python store edge blocks truncated to the dataset bounds); it
decodes into a full block padded with zeros.  Encoding truncates an edge block
to the bounds of the dimensions the codec was made for *only when every
element cut off is zero*, so no data is ever lost to truncation: after a
concurrent or later resize that grew the dataset, or with data left beyond
the bounds by a shrink, the block is stored full size, as TensorStore always
stores it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from ...errors import InvalidArgumentError
from ...schema.dtype import dtype as ts_dtype
from ..chunk_codec import inline_codec_threshold
from .block_header import N5BlockHeader, decode_block_header

if TYPE_CHECKING:
    from ..kvstore.value_buffer import Value
    from .compression import N5Compression
    from .metadata import N5Metadata

__all__ = ["N5ChunkCodec", "chunk_codec_for"]

@attrs.frozen(eq=False)
class N5ChunkCodec:
    """Keys, decodes and encodes the blocks of one n5 dataset (a ``CellChunkCodec``)."""

    chunk_shape: tuple[int, ...]
    dtype: np.dtype[Any]
    """Native-byte-order dtype of decoded blocks."""
    fill_value: np.ndarray
    inline_codec_bytes: int
    array_shape: tuple[int, ...]
    """The dataset's ``dimensions`` when the codec was made: where edge blocks end."""
    compression: N5Compression
    _stored: np.dtype[Any] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_stored", self.dtype.newbyteorder(">"))

    def chunk_key(self, cell: tuple[int, ...]) -> str:
        """``"i/j/k"``; ``"0"`` for a rank-0 dataset."""
        if not cell:
            return "0"
        return "/".join(map(str, cell))

    def decode(self, data: Value) -> np.ndarray:
        """Decode a stored block into an array of ``chunk_shape`` (Fortran-contiguous).

        A block stored smaller than ``blockSize`` is padded with zeros.

        Raises:
            DataLossError: a bad header, or data that does not decompress to
                what the header's shape holds.
        """
        view = memoryview(data)
        header = decode_block_header(view, self.chunk_shape)
        count = header.element_count
        payload = self.compression.decompress(view[header.nbytes :], count * self._stored.itemsize)
        flat = np.frombuffer(payload, dtype=self._stored).astype(self.dtype, copy=False)
        # Fortran-order elements are the C-order elements of the reversed shape.
        block = flat.reshape(header.shape[::-1]).T
        if header.shape == self.chunk_shape:
            return block
        out = np.zeros(self.chunk_shape, self.dtype, order="F")
        out[tuple(slice(0, n) for n in header.shape)] = block
        return out

    def encode(self, chunk: np.ndarray) -> bytes:
        """Encode a native array of ``chunk_shape`` as a full-size block.

        Raises:
            ValueError: ``chunk`` has another shape.
        """
        self._check_shape(chunk)
        return self._encode_block(chunk)

    def encode_cell(self, chunk: np.ndarray, cell: tuple[int, ...]) -> bytes:
        """Encode ``chunk`` as the block of grid cell ``cell``: truncated at the dataset's
        bounds when all it would cut off is zero, full size otherwise.

        Raises:
            ValueError: ``chunk`` has another shape.
        """
        self._check_shape(chunk)
        edge = self.stored_shape(cell)
        if edge == self.chunk_shape or not self._zero_beyond(chunk, edge):
            return self._encode_block(chunk)
        return self._encode_block(chunk[tuple(slice(0, n) for n in edge)])

    def stored_shape(self, cell: tuple[int, ...]) -> tuple[int, ...]:
        """The part of cell ``cell``'s block inside the dataset (full size if the cell lies outside)."""
        edge = tuple(
            min(size, extent - index * size)
            for index, size, extent in zip(cell, self.chunk_shape, self.array_shape, strict=True)
        )
        if any(n <= 0 for n in edge):
            return self.chunk_shape
        return edge

    def _zero_beyond(self, chunk: np.ndarray, edge: tuple[int, ...]) -> bool:
        """Whether every element of ``chunk`` outside ``[0, edge)`` is zero (bit for bit)."""
        floating = chunk.dtype.kind == "f"
        for dim, n in enumerate(edge):
            if n == chunk.shape[dim]:
                continue
            slab = chunk[(slice(None),) * dim + (slice(n, None),)]
            if np.any(slab) or (floating and np.signbit(slab).any()):
                return False
        return True

    def _check_shape(self, chunk: np.ndarray) -> None:
        if chunk.shape != self.chunk_shape:
            raise InvalidArgumentError(
                f"n5 block must have shape {list(self.chunk_shape)}, got {list(chunk.shape)}"
            )

    def _encode_block(self, block: np.ndarray) -> bytes:
        # The transpose's C order is the block's Fortran order: one converting copy at most.
        data = np.ascontiguousarray(block.T, dtype=self._stored)
        header = N5BlockHeader(tuple(block.shape)).encode()
        return header + self.compression.compress(data)


def chunk_codec_for(metadata: N5Metadata) -> N5ChunkCodec:
    """The block codec of a dataset with ``metadata``.

    Raises:
        InvalidArgumentError: its compressor is not available here.
    """
    metadata.compression.check_available()
    native = ts_dtype(metadata.data_type).numpy_dtype
    return N5ChunkCodec(
        chunk_shape=metadata.block_size,
        dtype=native,
        fill_value=np.zeros((), native),
        inline_codec_bytes=inline_codec_threshold(metadata.compression.is_fast),
        array_shape=metadata.shape,
        compression=metadata.compression,
    )
