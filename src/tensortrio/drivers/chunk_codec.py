"""The chunk codec: what the chunk cache needs to know about a chunked format.

A format driver (zarr, zarr3, n5, ...) gives the chunk cache one
:class:`ChunkCodec` per opened array. The cache calls it to name a chunk's key
and to turn stored bytes into a decoded chunk and back; everything else
(caching, coalescing, conditional writes) is the cache's business.

``decode`` and ``encode`` are pure CPU work and may run in worker threads, many
chunks per thread hop, so they must not touch shared mutable state.

A format whose stored chunks depend on where the chunk lies (n5 stores edge
blocks truncated to the array bounds) also implements
:class:`CellChunkCodec`'s ``encode_cell``; the cache calls every codec through
:func:`cell_encoder`, so plain codecs need nothing new. So may a codec whose
bytes can be built more cheaply when the caller drops them once written (a
file store's writes): its ``encode_transient(chunk)`` is used then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from .kvstore.value_buffer import Value

__all__ = ["CellChunkCodec", "ChunkCodec", "cell_encoder", "inline_codec_threshold"]

# Below these decoded sizes, codec work is cheaper than the ~100 µs thread hop.
_INLINE_FAST: Final = 64 * 1024
_INLINE_SLOW: Final = 16 * 1024


def inline_codec_threshold(fast: bool) -> int:
    """A format codec's ``inline_codec_bytes``: larger when its compression is cheap (raw, fast codecs)."""
    return _INLINE_FAST if fast else _INLINE_SLOW


@runtime_checkable
class ChunkCodec(Protocol):
    """How one array's chunks are keyed, decoded and encoded.

    Attributes:
      chunk_shape: the full chunk shape (zarr v2: edge chunks are stored full size).
      dtype: the in-memory dtype (native byte order) of decoded chunks.
      fill_value: a 0-d array of ``dtype``: the value of elements never written
        (zeros if the format has no fill value); for a data type with inner
        dimensions (zarr ``|S4``), the array of those last dimensions.
      stores_every_chunk: optional, default False: true when the array has no
        fill value (zarr v2's null), so that no chunk is dropped as equal to it
        (as TensorStore: every written chunk is stored).
      check_values: optional: ``check_values(array)`` raises ValueError for values
        the stored data type cannot hold (fixed-length text too long), so that
        a write is refused before any chunk changes.
      inline_codec_bytes: codec work for chunks whose decoded size is below this
        many bytes runs inline on the runtime thread (a thread hop costs about
        100 µs, more than decoding a small chunk); larger chunks are decoded and
        encoded in worker threads.
    """

    @property
    def chunk_shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> np.dtype[Any]: ...

    @property
    def fill_value(self) -> np.ndarray: ...

    @property
    def inline_codec_bytes(self) -> int: ...

    def chunk_key(self, cell: tuple[int, ...]) -> str:
        """The kvstore key of grid cell ``cell``, relative to the array's kvstore path."""
        ...

    def decode(self, data: Value) -> np.ndarray:
        """Decode stored bytes into an array of ``chunk_shape`` and ``dtype``.

        The result may be read-only and may share memory with ``data`` (the
        cache never modifies a decoded chunk: it merges writes into a copy).
        Raises any exception for corrupt data (the cache reraises it as
        DataLossError naming the key).
        """
        ...

    def encode(self, chunk: np.ndarray) -> Value:
        """Encode an array of ``chunk_shape`` and ``dtype`` (in any memory layout) into stored bytes.

        ``chunk`` may be a read-only view of a writer's source array (full
        overwrites are encoded without a copy): never modify it, nor keep a
        reference to it in the result.
        """
        ...


class CellChunkCodec(ChunkCodec, Protocol):
    """A :class:`ChunkCodec` whose stored bytes depend on the chunk's grid cell."""

    def encode_cell(self, chunk: np.ndarray, cell: tuple[int, ...]) -> Value:
        """Encode ``chunk`` (as :meth:`ChunkCodec.encode`) as the chunk of grid cell ``cell``."""
        ...


def cell_encoder(
    codec: ChunkCodec, *, transient: bool = False
) -> Callable[[np.ndarray, tuple[int, ...]], Value]:
    """``codec.encode_cell`` if the codec has one, else ``encode`` ignoring the cell.

    ``transient``: the bytes are dropped once written; a codec's
    ``encode_transient`` is then used in place of ``encode``, where it has one.
    Looked up once per cache, not per chunk.
    """
    encode_cell: Callable[[np.ndarray, tuple[int, ...]], Value] | None = getattr(
        codec, "encode_cell", None
    )
    if encode_cell is not None:
        return encode_cell
    encode: Callable[[np.ndarray], Value] = codec.encode
    if transient:
        encode = getattr(codec, "encode_transient", encode)

    def encode_ignoring_cell(chunk: np.ndarray, cell: tuple[int, ...]) -> Value:
        return encode(chunk)

    return encode_ignoring_cell
