"""A codec storing chunks as their raw C-order bytes (tests and benchmarks).

The simplest :class:`~.chunk_codec.ChunkCodec`: no header, no compression; keys
are the cell indices joined by ``"."`` (as zarr v2's default). Decoding is
zero-copy: the decoded chunk is a read-only view of the stored bytes.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from ..errors import DataLossError

__all__ = ["RawChunkCodec"]


def _as_dtype(value: Any) -> np.dtype[Any]:
    dtype: np.dtype[Any] = np.dtype(value)
    return dtype


def _as_shape(value: Any) -> tuple[int, ...]:
    return tuple(int(n) for n in value)


@attrs.frozen
class RawChunkCodec:
    """Raw C-order chunks of ``chunk_shape`` and ``dtype``, keyed ``prefix + "i.j.k"``."""

    chunk_shape: tuple[int, ...] = attrs.field(converter=_as_shape)
    dtype: np.dtype[Any] = attrs.field(converter=_as_dtype)
    fill_value: np.ndarray = attrs.field(default=None)
    inline_codec_bytes: int = 1 << 16
    prefix: str = ""

    chunk_nbytes: int = attrs.field(init=False)
    """Bytes of one stored chunk."""

    def __attrs_post_init__(self) -> None:
        fill = np.zeros((), self.dtype) if self.fill_value is None else self.fill_value
        object.__setattr__(self, "fill_value", np.asarray(fill, self.dtype).reshape(()))
        nbytes = int(np.prod(self.chunk_shape, dtype=np.int64)) * self.dtype.itemsize
        object.__setattr__(self, "chunk_nbytes", nbytes)

    def chunk_key(self, cell: tuple[int, ...]) -> str:
        return self.prefix + ".".join(map(str, cell))

    def decode(self, data: bytes) -> np.ndarray:
        if len(data) != self.chunk_nbytes:
            raise DataLossError(f"raw chunk has {len(data)} bytes, expected {self.chunk_nbytes}")
        return np.frombuffer(data, self.dtype).reshape(self.chunk_shape)

    def encode(self, chunk: np.ndarray) -> bytes:
        return chunk.tobytes()
