"""``Zarr3ChunkCodec``: zarr v3 chunk keys and the bytes of one chunk (the shard when sharded).

The chunk cache's unit is the write chunk: the ``chunk_grid`` chunk, which
is a whole shard when the codecs shard.  Decoding returns the array the codec
chain produces — a zero-copy read-only view for uncompressed ``bytes``
chunks, a fresh array assembled inner chunk by inner chunk for shards;
encoding copies only to lay out elements (one copy per inner chunk).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from ...errors import InvalidArgumentError
from ..chunk_codec import inline_codec_threshold
from ..kvstore.value_buffer import join_values
from ..text_codec import fixed_length_text
from .codecs import BytesCodec, ShardingCodec
from .dtype import fixed_text_dtype

if TYPE_CHECKING:
    import numpy as np

    from ..kvstore.value_buffer import Value
    from .chunk_key_encoding import ChunkKeyEncoding
    from .codecs import CodecChain
    from .metadata import Zarr3Metadata

__all__ = ["Zarr3ChunkCodec", "chunk_codec_for"]

@attrs.frozen(eq=False)
class Zarr3ChunkCodec:
    """Keys, decodes and encodes the (write) chunks of one zarr v3 array (a ``ChunkCodec``)."""

    chunk_shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fill_value: np.ndarray
    inline_codec_bytes: int
    codecs: CodecChain
    key_encoding: ChunkKeyEncoding

    def check_values(self, values: np.ndarray) -> None:
        """Refuse text longer than ``fixed_length_utf32`` holds (see ``ChunkCodec``)."""
        text = fixed_text_dtype(self.codecs.infos[0].data_type)
        if text is not None:
            fixed_length_text(values, text)

    def chunk_key(self, cell: tuple[int, ...]) -> str:
        """``"c/i/j"`` (default encoding) or ``"i.j"`` (v2), per ``chunk_key_encoding``."""
        return self.key_encoding.key(cell)

    def decode(self, data: Value) -> np.ndarray:
        """Decode a stored chunk into an array of ``chunk_shape`` (may be a read-only view of ``data``).

        Raises:
            DataLossError: corrupt bytes, naming the codec (and inner chunk for shards).
        """
        return self.codecs.decode(data)

    def encode(self, chunk: np.ndarray) -> Value:
        """Encode a native array of ``chunk_shape``; a shard leaves out inner chunks equal to the fill value.

        Raises:
            ValueError: ``chunk`` has another shape.
        """
        if chunk.shape != self.chunk_shape:
            raise InvalidArgumentError(
                f"zarr3 chunk must have shape {list(self.chunk_shape)}, got {list(chunk.shape)}"
            )
        data = self.codecs.encode(chunk)
        return data if isinstance(data, bytes) else join_values([data])

    @property
    def sharding(self) -> ShardingCodec | None:
        """The sharding codec when chunks are shards (its ``layout`` drives partial shard I/O).

        Only when it is the whole chain: a ``transpose`` before it or a
        bytes-to-bytes codec after it change the shard's layout or bytes, so such
        chains encode and decode whole shards through every codec instead.
        """
        chain = self.codecs
        codec = chain.array_to_bytes
        if chain.array_to_array or chain.bytes_to_bytes:
            return None
        return codec if isinstance(codec, ShardingCodec) else None


def chunk_codec_for(metadata: Zarr3Metadata) -> Zarr3ChunkCodec:
    """The chunk codec of an array with ``metadata``."""
    chain = metadata.codecs
    raw = not chain.bytes_to_bytes and isinstance(chain.array_to_bytes, BytesCodec)
    return Zarr3ChunkCodec(
        chunk_shape=metadata.chunk_shape,
        dtype=metadata.dtype,
        fill_value=metadata.fill_value.reshape(()),
        inline_codec_bytes=inline_codec_threshold(raw),
        codecs=chain,
        key_encoding=metadata.chunk_key_encoding,
    )


