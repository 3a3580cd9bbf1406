"""``ZarrChunkCodec``: zarr v2 chunk keys and the bytes of one chunk.

A stored chunk is the full ``chunks`` shape (edge chunks too) in the
metadata's ``order`` and byte order, passed through the ``filters`` and then
the ``compressor``.  A data type with inner dimensions (``|S4``, a field of
shape ``[2, 3]``) adds them to the decoded chunk's shape after ``chunks``;
each element's inner values are stored together in C order, whatever the
``order``, and blosc's typesize is the bytes of one such element.

This is the hot path of every read and write, so decoding
decompresses blosc straight into the array it returns, swaps bytes in place,
and makes at most one copy (for other compressors or an uncompressed chunk);
Fortran-order chunks decode to transposed views, and encoding copies
only to reorder or byteswap.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from ...errors import DataLossError, InvalidArgumentError
from ..blosc_codec import SMALL, compress, decompress_checked
from ..blosc_format import blosc_header_sizes
from ..chunk_codec import inline_codec_threshold
from ..kvstore.value_buffer import array_value, new_array
from ..text_codec import empty_fill, fixed_length_text, vlen_values
from . import blosc_large

if TYPE_CHECKING:
    from ..kvstore.value_buffer import Value
    from .metadata import ZarrMetadata

__all__ = ["ZarrChunkCodec", "chunk_codec_for"]

def _corrupt(what: str, exc: BaseException | None = None) -> DataLossError:
    detail = f": {exc}" if exc is not None else ""
    return DataLossError(f"{what}{detail}")


@attrs.frozen(eq=False)
class ZarrChunkCodec:
    """Keys, decodes and encodes the chunks of one zarr v2 array (a ``ChunkCodec``)."""

    chunk_shape: tuple[int, ...]
    dtype: np.dtype[Any]
    """Native-byte-order dtype of decoded chunks."""
    fill_value: np.ndarray
    inline_codec_bytes: int
    stored_dtype: np.dtype[Any]
    order: str
    separator: str
    compressor_id: str | None
    compressor: Any
    filters: tuple[Any, ...]
    stores_every_chunk: bool = False
    """The metadata's fill value is null: no chunk equals it (see ``ChunkCodec``)."""
    inner_rank: int = 0
    """How many of ``chunk_shape``'s last dimensions are the data type's inner dimensions."""
    _nbytes: int = attrs.field(init=False)
    _typesize: int = attrs.field(init=False)
    _order_axes: tuple[int, ...] = attrs.field(init=False)
    _swap: bool = attrs.field(init=False)
    _buffer_dtype: np.dtype[Any] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        count = 1
        for n in self.chunk_shape:
            count *= n
        object.__setattr__(self, "_nbytes", count * self.stored_dtype.itemsize)
        object.__setattr__(self, "_swap", self.stored_dtype != self.dtype)
        # Codecs see elements through the buffer protocol, which knows only
        # NumPy's own numeric types: ml_dtypes elements (bfloat16, float8) and
        # raw bytes pass as unsigned integers of the same size.
        stored = self.stored_dtype
        plain = stored.type.__module__ == "numpy" and stored.kind not in "SV"
        object.__setattr__(self, "_buffer_dtype", stored if plain else np.dtype(f"<u{stored.itemsize}"))
        inner = self.chunk_shape[len(self.chunk_shape) - self.inner_rank :]
        object.__setattr__(self, "_typesize", stored.itemsize * math.prod(inner))
        # Fortran order reverses the element dimensions only; the perm is its own inverse.
        outer = len(self.chunk_shape) - self.inner_rank
        axes = (*range(outer - 1, -1, -1), *range(outer, len(self.chunk_shape)))
        object.__setattr__(self, "_order_axes", axes)

    def check_values(self, values: np.ndarray) -> None:
        """Refuse text longer than a fixed-length text type (``<U<n>``) holds (see ``ChunkCodec``)."""
        if self.stored_dtype.kind == "U":
            fixed_length_text(values, self.stored_dtype)

    def chunk_key(self, cell: tuple[int, ...]) -> str:
        """``"i.j.k"`` (or ``"i/j/k"``); ``"0"`` for a rank-0 array.

        The cell's inner dimensions (always 0: one chunk spans them) are not named.
        """
        if self.inner_rank:
            cell = cell[: len(cell) - self.inner_rank]
        if not cell:
            return "0"
        return self.separator.join(map(str, cell))

    def _decompress(self, data: Value) -> np.ndarray:
        """The stored elements, flat, as an array of ``stored_dtype``.

        Uncompressed, it is a read-only view of ``data``; otherwise fresh memory.
        """
        expected = self._nbytes
        if self.filters:
            return self._decode_filtered(data)
        if self.compressor is None:
            if len(data) != expected:
                raise _corrupt(
                    f"Uncompressed chunk is {len(data)} bytes, but should be {expected} bytes"
                )
            return np.frombuffer(data, dtype=self.stored_dtype)
        if self.compressor_id == "blosc":
            self._check_blosc_header(data)
            out = new_array(expected // self.stored_dtype.itemsize, self._buffer_dtype)
            try:
                decompress_checked(data, out)
            except DataLossError as exc:
                raise _corrupt("Error decoding blosc chunk", exc) from exc
            return out.view(self.stored_dtype)
        try:
            # Other codecs do not all check the decoded size against ``out``.
            decoded = self.compressor.decode(data)
        except Exception as exc:  # codecs raise assorted types on corrupt input
            raise _corrupt(f"Error decoding {self.compressor_id} chunk", exc) from exc
        raw = np.frombuffer(memoryview(decoded).cast("B"), dtype=np.uint8)
        if raw.nbytes != expected:
            raise _corrupt(
                f"Uncompressed chunk is {raw.nbytes} bytes, but should be {expected} bytes"
            )
        if not raw.flags.writeable:
            raw = raw.copy()
        return raw.view(self.stored_dtype)

    def _check_blosc_header(self, data: Value) -> None:
        # Blosc decompresses a truncated buffer without complaint; its header
        # says how long the buffer and the decoded chunk must be.
        sizes = blosc_header_sizes(data)
        if sizes is None:
            raise _corrupt(f"Error decoding blosc chunk: {len(data)} bytes is too short")
        nbytes, cbytes = sizes
        if cbytes != len(data):
            raise _corrupt(
                f"Error decoding blosc chunk: header says {cbytes} compressed bytes, "
                f"but the chunk has {len(data)}"
            )
        if nbytes != self._nbytes:
            raise _corrupt(
                f"Uncompressed chunk is {nbytes} bytes, but should be {self._nbytes} bytes"
            )

    def _decode_filtered(self, data: Value) -> np.ndarray:
        try:
            buffer: Any = data if self.compressor is None else self.compressor.decode(data)
            for codec in reversed(self.filters):
                buffer = codec.decode(buffer)
        except Exception as exc:  # codecs raise assorted types on corrupt input
            raise _corrupt("Error decoding filtered chunk", exc) from exc
        if self.stored_dtype.kind == "O":
            return vlen_values(buffer, (self._nbytes // self.stored_dtype.itemsize,))
        raw = np.ascontiguousarray(buffer).reshape(-1).view(np.uint8)
        if raw.nbytes != self._nbytes:
            raise _corrupt(
                f"Uncompressed chunk is {raw.nbytes} bytes, but should be {self._nbytes} bytes"
            )
        return raw.view(self.stored_dtype).copy()

    def decode(self, data: Value) -> np.ndarray:
        """Decode a stored chunk into a native array of ``chunk_shape``.

        An uncompressed chunk in native byte order decodes to a read-only view
        of ``data`` (the cache never modifies decoded chunks); otherwise the
        array owns fresh memory.  It is C-contiguous for ``"C"`` order; for
        ``"F"`` order it is the Fortran-contiguous decoded buffer itself (a
        transposed view, as TensorStore decodes it) rather than a transposing
        copy, which costs ten times the decompression for large chunks.

        Raises:
            DataLossError: the bytes do not decompress, or decompress to the wrong size.
        """
        flat = self._decompress(data)
        if self.stored_dtype.kind == "U":
            flat = flat.astype(object)
        elif self._swap:
            swapped = flat.byteswap(inplace=True) if flat.flags.writeable else flat.byteswap()
            flat = swapped.view(self.dtype)
        if self.order == "F":
            axes = self._order_axes
            return flat.reshape(tuple(self.chunk_shape[a] for a in axes)).transpose(axes)
        return flat.reshape(self.chunk_shape)

    def encode(self, chunk: np.ndarray) -> Value:
        """Encode a native array of ``chunk_shape`` into the bytes stored for it.

        Raises:
            ValueError: ``chunk`` has another shape.
        """
        return self._encode(chunk, transient=False)

    def encode_transient(self, chunk: np.ndarray) -> Value:
        """:meth:`encode`, for bytes the caller drops once they are written (a file store's write).

        A large blosc frame may then lease a reused buffer of the chunk's
        size rather than fresh memory (see ``blosc_large``).
        """
        return self._encode(chunk, transient=True)

    def _encode(self, chunk: np.ndarray, *, transient: bool) -> Value:
        if chunk.shape != self.chunk_shape:
            raise InvalidArgumentError(
                f"zarr chunk must have shape {list(self.chunk_shape)}, got {list(chunk.shape)}"
            )
        # An array, not a NumPy scalar (a rank-0 chunk may be one): a scalar's
        # astype to a byte-swapped dtype keeps the native byte order.
        array = np.asarray(chunk.transpose(self._order_axes) if self.order == "F" else chunk)
        owned = False
        if self.stored_dtype.kind == "U":
            array = fixed_length_text(array, self.stored_dtype)
            owned = True
        elif self._swap or array.dtype != self.stored_dtype:
            array = array.astype(self.stored_dtype, order="C")
            owned = True
        if not self.filters and self.compressor is None:
            return array_value(array, owned=owned)  # one copy at most, from any layout
        if self.compressor_id == "blosc" and not self.filters:
            return self._compress_blosc(array.view(self._buffer_dtype), transient)
        if not array.flags.c_contiguous or (self.filters and not array.flags.writeable):
            # (numcodecs' vlen filters take only writable buffers; a broadcast source is not.)
            array = np.array(array, order="C")
        buffer: Any = array.view(self._buffer_dtype)
        for codec in self.filters:
            buffer = codec.encode(buffer)
        if self.compressor is not None:
            buffer = self.compressor.encode(buffer)
        if isinstance(buffer, bytes):
            return buffer
        return np.ascontiguousarray(buffer).tobytes()


    def _compress_blosc(self, buffer: np.ndarray, transient: bool) -> Value:
        """The blosc frame of ``buffer`` (any layout; elements in C order)."""
        blosc = self.compressor
        typesize = self._typesize
        shuffle = blosc.shuffle
        if shuffle == -1:  # numcodecs' AUTOSHUFFLE, as numcodecs resolves it
            shuffle = 2 if typesize == 1 else 1
        if blosc_large.AVAILABLE and SMALL <= buffer.nbytes <= blosc_large.MAX_NBYTES:
            return blosc_large.compress_array(
                buffer,
                cname=blosc.cname,
                clevel=blosc.clevel,
                shuffle=shuffle,
                typesize=typesize,
                blocksize=blosc.blocksize,
                transient=transient,
            )
        if not buffer.flags.c_contiguous:
            buffer = np.ascontiguousarray(buffer)
        return compress(
            buffer,
            cname=blosc.cname,
            clevel=blosc.clevel,
            shuffle=shuffle,
            typesize=typesize,
            blocksize=blosc.blocksize,
        )


def chunk_codec_for(metadata: ZarrMetadata) -> ZarrChunkCodec:
    """The chunk codec of an array with ``metadata``.

    Raises:
        ValueError: numcodecs cannot build the compressor or a filter.
    """
    dtype = metadata.dtype
    if metadata.fill_value is not None:
        fill = metadata.fill_value.astype(dtype.native)
    elif dtype.native.kind == "O":  # text or bytes: empty
        fill = empty_fill(dtype.name)
    else:
        fill = np.zeros((), dtype=dtype.native)
    compressor = metadata.compressor
    fast = compressor is None or compressor.id == "blosc"
    return ZarrChunkCodec(
        chunk_shape=metadata.chunk_shape,
        dtype=dtype.native,
        fill_value=fill,
        inline_codec_bytes=inline_codec_threshold(fast),
        stored_dtype=dtype.stored,
        order=metadata.order,
        separator=metadata.key_separator,
        compressor_id=None if compressor is None else compressor.id,
        compressor=None if compressor is None else compressor.numcodec(),
        filters=tuple(f.numcodec() for f in metadata.filters or ()),
        stores_every_chunk=metadata.fill_value is None,
        inner_rank=len(dtype.field_shape),
    )
