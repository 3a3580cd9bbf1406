"""The header in front of every stored n5 block.

Per the N5 specification, big-endian throughout: ``mode`` (uint16: 0 default,
1 varlength), the number of dimensions (uint16), the block's shape (one uint32
per dimension, in the order of ``dimensions``) and, in varlength mode only,
the number of elements (uint32).  The (compressed) data follows.  A block's
shape may be smaller than ``blockSize`` (edge blocks), never larger.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Final

import attrs

from ...errors import DataLossError
from ...schema.chunk_grid import format_vector

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["MODE_DEFAULT", "MODE_VARLENGTH", "N5BlockHeader", "decode_block_header"]

MODE_DEFAULT: Final = 0
MODE_VARLENGTH: Final = 1
_PREFIX: Final = struct.Struct(">HH")
_UINT32: Final = struct.Struct(">I")


@attrs.frozen
class N5BlockHeader:
    """A decoded block header: its mode, its shape and (varlength) its element count."""

    shape: tuple[int, ...]
    mode: int = MODE_DEFAULT
    num_elements: int | None = None

    @property
    def nbytes(self) -> int:
        """The header's length in bytes."""
        return _PREFIX.size + 4 * len(self.shape) + (4 if self.mode == MODE_VARLENGTH else 0)

    @property
    def element_count(self) -> int:
        """How many elements the data holds (the varlength count, else the shape's product)."""
        if self.num_elements is not None:
            return self.num_elements
        count = 1
        for n in self.shape:
            count *= n
        return count

    def encode(self) -> bytes:
        """The header bytes."""
        parts = [_PREFIX.pack(self.mode, len(self.shape))]
        parts.extend(_UINT32.pack(n) for n in self.shape)
        if self.mode == MODE_VARLENGTH:
            parts.append(_UINT32.pack(self.element_count))
        return b"".join(parts)


def decode_block_header(data: memoryview, block_size: Sequence[int]) -> N5BlockHeader:
    """Read and check the header at the start of ``data``, for an array of ``block_size``.

    A varlength block is accepted when its element count is what its shape
    holds (then it is an ordinary block with a longer header).

    Raises:
        DataLossError: TensorStore's messages: too short (``Expected header of
            length 12, but chunk has size 2``), an unknown mode, a wrong number
            of dimensions, or a shape exceeding ``block_size``.
    """
    rank = len(block_size)
    expected = _PREFIX.size + 4 * rank
    if len(data) < expected:
        raise DataLossError(f"Expected header of length {expected}, but chunk has size {len(data)}")
    mode, num_dims = _PREFIX.unpack_from(data)
    if mode not in (MODE_DEFAULT, MODE_VARLENGTH):
        raise DataLossError(f"Unexpected N5 chunk mode: {mode}")
    if num_dims != rank:
        raise DataLossError(f"Received chunk with {num_dims} dimensions but expected {rank}")
    shape = tuple(_UINT32.unpack_from(data, _PREFIX.size + 4 * i)[0] for i in range(rank))
    if any(n > b for n, b in zip(shape, block_size, strict=True)):
        raise DataLossError(
            f"Received chunk of size {format_vector(shape)} which exceeds blockSize of "
            f"{format_vector(block_size)}"
        )
    if mode == MODE_DEFAULT:
        return N5BlockHeader(shape)
    if len(data) < expected + 4:
        raise DataLossError(
            f"Expected header of length {expected + 4}, but chunk has size {len(data)}"
        )
    header = N5BlockHeader(shape, MODE_VARLENGTH, _UINT32.unpack_from(data, expected)[0])
    held = N5BlockHeader(shape).element_count
    if header.num_elements != held:
        raise DataLossError(
            f"varlength chunk has {header.num_elements} elements, but its shape "
            f"{format_vector(shape)} holds {held}; only array blocks can be read"
        )
    return header
