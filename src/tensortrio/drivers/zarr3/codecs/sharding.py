"""The ``sharding_indexed`` array→bytes codec: a shard of inner chunks plus an index.

A shard (one write chunk, one key) holds a regular grid of inner chunks, each
encoded with the inner ``codecs``, concatenated in row-major order, with an
index of ``(offset, nbytes)`` ``uint64`` pairs per inner chunk (shape
``grid + [2]``) encoded with ``index_codecs`` (fixed size: ``bytes`` and
``crc32c`` only) at the ``"start"`` or ``"end"`` of the shard.  An inner
chunk equal to the fill value is not stored: its entry is
``(2**64-1, 2**64-1)`` and it reads as the fill value.  Inner ``codecs`` may
themselves shard (nested sharding).

Pure functions for partial shard I/O (all take the resolved
:class:`ShardLayout`, ``codec.layout``):

- :func:`shard_index_byte_range` — which bytes of a shard hold the index
  (a suffix request when the shard size is unknown and the index is at the end).
- :func:`decode_shard_index` — index bytes → ``uint64`` array ``grid + [2]``,
  checked against the shard size when known.
- :func:`decode_inner_chunk` / :func:`encode_inner_chunk` — one inner chunk's
  bytes ↔ array (``encode_inner_chunk`` gives ``None`` for an all-fill chunk).
- :func:`split_shard` — a whole shard → each inner chunk's stored bytes (or
  ``None``), row-major; :func:`assemble_shard` — the reverse, so unchanged
  inner chunks are carried over without being decoded and re-encoded.
- :func:`decode_shard` / :func:`encode_shard` — the whole shard at once.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs
import numpy as np

from ....errors import DataLossError, InvalidArgumentError
from ....schema.chunk_json import json_text
from ....schema.fill_value import all_equal_fill, all_equal_fill_along, equals_fill
from ...kvstore.byte_range import ByteRangeRequest
from ...kvstore.value_buffer import join_values, new_array
from .base import ArrayInfo, check_config_members, config_member_error, register_codec
from .bytes_codec import BytesCodec
from .chain import CodecChain, parse_codec_chain
from .crc32c import CRC32C_SIZE, Crc32cCodec

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from ...kvstore.value_buffer import Value
    from .base import ArrayToBytesCodec, Buffer

__all__ = [
    "MISSING",
    "ShardLayout",
    "ShardingCodec",
    "assemble_shard",
    "decode_inner_chunk",
    "decode_shard",
    "decode_shard_index",
    "encode_inner_chunk",
    "encode_shard",
    "inner_chunks_equal_to_fill",
    "raw_inner_chunks",
    "shard_index_byte_range",
    "split_shard",
]

_MAX_INNER_CHUNKS: Final = 1 << 30
"""Most inner chunks a shard may have (tensorstore's limit: the index is 16 bytes per chunk)."""
MISSING: Final = 2**64 - 1
"""Offset and size of an inner chunk that is not stored."""
_INDEX_DTYPE: Final = np.dtype(np.uint64)


@attrs.frozen(eq=False)
class ShardLayout:
    """Everything a resolved sharding codec knows about its shards."""

    shard_shape: tuple[int, ...]
    chunk_shape: tuple[int, ...]
    grid_shape: tuple[int, ...]
    inner: CodecChain
    index: CodecChain
    index_location: Literal["start", "end"]
    index_nbytes: int
    info: ArrayInfo
    """The inner chunk's array (shape ``chunk_shape``)."""

    @property
    def num_chunks(self) -> int:
        return math.prod(self.grid_shape)

    def cells(self) -> Iterator[tuple[int, ...]]:
        """Inner grid cells in row-major (storage) order."""
        return np.ndindex(*self.grid_shape)

    def cell_slices(self, cell: tuple[int, ...]) -> tuple[slice, ...]:
        """Where inner chunk ``cell`` lies in the shard."""
        return tuple(slice(i * n, (i + 1) * n) for i, n in zip(cell, self.chunk_shape, strict=True))


@attrs.frozen
class ShardingCodec:
    """``{"name": "sharding_indexed", "configuration": {chunk_shape, codecs, index_codecs, index_location}}``.

    ``index_location`` is ``None`` when not given (meaning ``"end"``, and
    omitted from the JSON as TensorStore omits it).
    """

    chunk_shape: tuple[int, ...] | None
    """None in a codec spec that leaves it to the chunk layout (its read chunk shape)."""
    codecs: CodecChain = attrs.field(factory=lambda: CodecChain(array_to_bytes=BytesCodec()))
    index_codecs: CodecChain = attrs.field(
        factory=lambda: CodecChain(array_to_bytes=BytesCodec(), bytes_to_bytes=(Crc32cCodec(),))
    )
    index_location: Literal["start", "end"] | None = None
    kind: Literal["array_to_bytes"] = attrs.field(default="array_to_bytes", init=False)
    layout: ShardLayout | None = attrs.field(default=None, eq=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "codecs": self.codecs.to_json(),
            "index_codecs": self.index_codecs.to_json(),
        }
        if self.chunk_shape is not None:
            config["chunk_shape"] = list(self.chunk_shape)
        if self.index_location is not None:
            config["index_location"] = self.index_location
        return {"configuration": config, "name": "sharding_indexed"}

    def resolve(self, info: ArrayInfo) -> ArrayToBytesCodec:
        shape = info.shape
        if self.chunk_shape is None:
            raise InvalidArgumentError(
                "sharding_indexed: 'chunk_shape' must be specified, or a read chunk shape given"
            )
        if len(self.chunk_shape) != len(shape):
            raise InvalidArgumentError(
                f"sharding_indexed: 'chunk_shape' {list(self.chunk_shape)} must have rank "
                f"{len(shape)}"
            )
        if any(n % c for n, c in zip(shape, self.chunk_shape, strict=True)):
            # TensorStore's wording, with its brace-enclosed vectors.
            inner_text = ", ".join(map(str, self.chunk_shape))
            outer_text = ", ".join(map(str, shape))
            raise InvalidArgumentError(
                f"sharding_indexed sub-chunk shape of {{{inner_text}}} does not evenly divide chunk "
                f"shape of {{{outer_text}}}"
            )
        grid = tuple(n // c for n, c in zip(shape, self.chunk_shape, strict=True))
        if math.prod(grid) > _MAX_INNER_CHUNKS:
            raise InvalidArgumentError(
                f"grid shape of {{{', '.join(map(str, grid))}}} has more than "
                f"{_MAX_INNER_CHUNKS} entries"
            )
        inner_info = info.with_shape(self.chunk_shape)
        inner = self.codecs.resolve(inner_info)
        index_info = ArrayInfo(
            (*grid, 2), "uint64", _INDEX_DTYPE, np.array(MISSING, dtype=_INDEX_DTYPE)
        )
        index = self.index_codecs.resolve(index_info)
        if not isinstance(index.array_to_bytes, BytesCodec) or not all(
            isinstance(c, Crc32cCodec) for c in index.bytes_to_bytes
        ):
            raise InvalidArgumentError(
                "sharding_indexed: 'index_codecs' must have a fixed encoded size: only "
                f'"transpose", "bytes" and "crc32c" are allowed, got {json_text(index.to_json())}'
            )
        nbytes = math.prod(grid) * 16 + CRC32C_SIZE * len(index.bytes_to_bytes)
        layout = ShardLayout(
            shape, self.chunk_shape, grid, inner, index, self.index_location or "end", nbytes, inner_info
        )
        return attrs.evolve(self, codecs=inner, index_codecs=index, layout=layout)

    def _layout(self) -> ShardLayout:
        assert self.layout is not None, "sharding codec used before resolve()"
        return self.layout

    def encode(self, array: np.ndarray, info: ArrayInfo) -> Buffer:
        return encode_shard(self._layout(), array)

    def decode(self, data: Buffer, info: ArrayInfo) -> np.ndarray:
        return decode_shard(self._layout(), data)


def shard_index_byte_range(layout: ShardLayout, shard_size: int | None = None) -> ByteRangeRequest:
    """The byte range of the index in a shard of ``shard_size`` bytes (None: unknown).

    Index at the start: ``[0, index_nbytes)``.  At the end: the last
    ``index_nbytes`` bytes — a suffix request (negative ``inclusive_min``)
    when the size is unknown.

    Raises:
        DataLossError: a known shard size smaller than the index.
    """
    n = layout.index_nbytes
    if shard_size is not None and shard_size < n:
        raise DataLossError(f"shard is {shard_size} bytes, smaller than its {n}-byte index")
    if layout.index_location == "start":
        return ByteRangeRequest(0, n)
    if shard_size is None:
        return ByteRangeRequest(-n, None)
    return ByteRangeRequest(shard_size - n, shard_size)


def decode_shard_index(
    layout: ShardLayout, data: Buffer, shard_size: int | None = None
) -> np.ndarray:
    """Decode index bytes into a writable ``uint64`` array of shape ``grid_shape + (2,)``.

    ``[..., 0]`` is each inner chunk's offset in the shard, ``[..., 1]`` its
    size; both are :data:`MISSING` for a chunk not stored.

    Raises:
        DataLossError: wrong size, bad checksum, a half-missing entry, or (with
            ``shard_size``) an entry reaching past the shard.
    """
    if len(data) != layout.index_nbytes:
        raise DataLossError(
            f"shard index is {len(data)} bytes, but should be {layout.index_nbytes} bytes"
        )
    index = np.array(layout.index.decode(data), dtype=_INDEX_DTYPE)
    offsets, sizes = index[..., 0], index[..., 1]
    missing = offsets == MISSING
    if not np.array_equal(missing, sizes == MISSING):
        raise DataLossError("shard index has an entry with only one of offset and size missing")
    if shard_size is not None:
        stored = ~missing
        starts, lengths = offsets[stored], sizes[stored]
        ends = starts + lengths  # uint64: an end that wrapped around is below its start
        if bool(((ends < starts) | (ends > np.uint64(shard_size))).any()):
            raise DataLossError(f"shard index refers to bytes past the end of the {shard_size}-byte shard")
    return index


def decode_inner_chunk(layout: ShardLayout, data: Buffer) -> np.ndarray:
    """Decode one inner chunk's stored bytes into an array of ``chunk_shape`` (may be a read-only view)."""
    return layout.inner.decode(data)


def inner_chunks_equal_to_fill(layout: ShardLayout, array: np.ndarray) -> np.ndarray:
    """Per inner chunk (grid-shaped bool array): whether every element equals the fill value."""
    fill = layout.info.fill_value
    blocks = array.reshape(_split_shape(layout))
    rank = len(layout.grid_shape)
    # Most inner chunks of real data differ from the fill value at their first
    # element: when all do, that settles it without the full pass, which on a
    # strided view of the shard costs several times a copy of it.
    first = blocks[(slice(None), 0) * rank]
    if not equals_fill(first, fill).any():
        return np.zeros(layout.grid_shape, np.bool_)
    return all_equal_fill_along(blocks, fill, tuple(range(1, 2 * rank, 2)))


def encode_inner_chunk(layout: ShardLayout, array: np.ndarray) -> Buffer | None:
    """Encode one inner chunk (shape ``chunk_shape``); ``None`` when it is all fill value."""
    if all_equal_fill(array, layout.info.fill_value):
        return None
    return layout.inner.encode(array)


def assemble_shard(layout: ShardLayout, chunks: Sequence[Buffer | None]) -> Value:
    """A shard from each inner chunk's encoded bytes (row-major; ``None`` = not stored).

    The bytes are copied as they are, so chunks split from an existing shard
    (:func:`split_shard`) are carried over without re-encoding.

    Raises:
        ValueError: not exactly one entry per inner chunk.
    """
    if len(chunks) != layout.num_chunks:
        raise InvalidArgumentError(
            f"shard has {layout.num_chunks} inner chunks, got {len(chunks)} entries"
        )
    index = np.full((layout.num_chunks, 2), MISSING, dtype=_INDEX_DTYPE)
    offset = layout.index_nbytes if layout.index_location == "start" else 0
    parts: list[Buffer] = []
    for i, chunk in enumerate(chunks):
        if chunk is None:
            continue
        size = len(chunk) if not isinstance(chunk, memoryview) else chunk.nbytes
        index[i] = (offset, size)
        offset += size
        parts.append(chunk)
    encoded = layout.index.encode(index.reshape((*layout.grid_shape, 2)))
    if layout.index_location == "start":
        parts.insert(0, encoded)
    else:
        parts.append(encoded)
    return join_values(parts)


def split_shard(layout: ShardLayout, data: Buffer) -> list[memoryview | None]:
    """Each inner chunk's stored bytes (views into ``data``), row-major; ``None`` where not stored.

    Raises:
        DataLossError: a corrupt index.
    """
    view = memoryview(data).cast("B")
    size = len(view)
    rng = shard_index_byte_range(layout, size)
    index = decode_shard_index(layout, view[rng.inclusive_min : rng.exclusive_max], size)
    flat = index.reshape(-1, 2)
    out: list[memoryview | None] = []
    for offset, nbytes in flat.tolist():
        out.append(None if offset == MISSING else view[offset : offset + nbytes])
    return out


def decode_shard(
    layout: ShardLayout,
    data: Buffer,
    index: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Decode a whole shard into ``out`` (default: a new array of ``shard_shape``); missing chunks are fill.

    ``index``: the shard's index as :func:`decode_shard_index` gives it (any
    shape with ``(offset, size)`` rows in order), when the caller decoded it already.
    ``out``: a writable array of ``shard_shape``, of any strides (a reader's part of its result).

    Raises:
        DataLossError: a corrupt index or inner chunk (the message names the inner cell).
    """
    if raw_inner_chunks(layout):
        fast = _decode_raw(layout, data, index, out)
        if fast is not None:
            return fast
    chunks = split_shard(layout, data)
    info = layout.info
    if out is None:
        out = new_array(layout.shard_shape, info.dtype)
    if any(chunk is None for chunk in chunks):
        out[...] = info.fill_value
    decode = layout.inner.decode
    for cell, chunk in zip(layout.cells(), chunks, strict=True):
        if chunk is None:
            continue
        try:
            out[layout.cell_slices(cell)] = decode(chunk)
        except DataLossError as exc:
            raise DataLossError(f"inner chunk {list(cell)}: {exc}") from None
    return out


def encode_shard(layout: ShardLayout, array: np.ndarray) -> Value:
    """Encode a whole shard (array of ``shard_shape``); inner chunks equal to the fill value are left out."""
    fill_mask = inner_chunks_equal_to_fill(layout, array)
    if raw_inner_chunks(layout):
        return _encode_raw(layout, array, fill_mask)
    is_fill = fill_mask.reshape(-1).tolist()
    encode = layout.inner.encode
    chunks: list[Buffer | None] = []
    for cell, fill in zip(layout.cells(), is_fill, strict=True):
        chunks.append(None if fill else encode(array[layout.cell_slices(cell)]))
    return assemble_shard(layout, chunks)


def raw_inner_chunks(layout: ShardLayout) -> bool:
    """Whether inner chunks are stored as plain native-order element bytes (the fast path).

    Never for elements held as Python objects (text), whose bytes are a conversion.
    """
    inner = layout.inner
    codec = inner.array_to_bytes
    return (
        layout.info.dtype.kind != "O"
        and not inner.array_to_array
        and not inner.bytes_to_bytes
        and isinstance(codec, BytesCodec)
        and (codec.endian is None or codec.endian == sys.byteorder)
    )


def _grid_major(rank: int) -> tuple[int, ...]:
    """The axes of ``shard.reshape(g0, c0, g1, c1, ...)`` ordered grid first: ``(g0, g1, ..., c0, c1, ...)``."""
    return (*range(0, 2 * rank, 2), *range(1, 2 * rank, 2))


def _split_shape(layout: ShardLayout) -> tuple[int, ...]:
    out: list[int] = []
    for g, c in zip(layout.grid_shape, layout.chunk_shape, strict=True):
        out += [g, c]
    return tuple(out)


def _encode_raw(layout: ShardLayout, array: np.ndarray, fill_mask: np.ndarray) -> Value:
    """Encode a shard of raw inner chunks with one gathering copy instead of one copy per chunk."""
    rank = len(layout.grid_shape)
    blocks = array.reshape(_split_shape(layout)).transpose(_grid_major(rank))
    present = ~fill_mask
    positions = np.flatnonzero(present.reshape(-1))
    chunk_nbytes = math.prod(layout.chunk_shape) * array.dtype.itemsize
    base = layout.index_nbytes if layout.index_location == "start" else 0
    index = np.full((layout.num_chunks, 2), MISSING, dtype=_INDEX_DTYPE)
    index[positions, 0] = base + np.arange(len(positions), dtype=_INDEX_DTYPE) * chunk_nbytes
    index[positions, 1] = chunk_nbytes
    encoded = layout.index.encode(index.reshape((*layout.grid_shape, 2)))
    # The shard is built in one buffer: the inner chunks gathered straight into
    # its body (one copy), the index beside them.
    body_nbytes = len(positions) * chunk_nbytes
    out = new_array(body_nbytes + len(encoded), np.uint8)
    start = base
    body = out[start : start + body_nbytes].view(array.dtype)
    if len(positions) == layout.num_chunks:
        body.reshape(blocks.shape)[...] = blocks
    else:
        body.reshape(len(positions), *layout.chunk_shape)[...] = blocks[present]
    index_at = 0 if layout.index_location == "start" else body_nbytes
    out[index_at : index_at + len(encoded)] = np.frombuffer(encoded, np.uint8)
    return out.data.toreadonly()


def split_view(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``array`` as ``shape``, each of its axes split in two (``_split_shape``), without a copy.

    Splitting an axis is possible for any strides, so this never copies (a
    plain ``reshape`` of a strided view might, silently).
    """
    view = array.view()
    view.shape = shape
    return view


def _decode_raw(
    layout: ShardLayout, data: Buffer, index: np.ndarray | None = None, out: np.ndarray | None = None
) -> np.ndarray | None:
    """Decode a full shard of raw inner chunks stored in order with one copy; None if not that layout.

    ``out``: as for :func:`decode_shard`.
    """
    view = memoryview(data).cast("B")
    if index is None:
        rng = shard_index_byte_range(layout, len(view))
        index = decode_shard_index(layout, view[rng.inclusive_min : rng.exclusive_max], len(view))
    dtype = layout.info.dtype
    chunk_nbytes = math.prod(layout.chunk_shape) * dtype.itemsize
    base = layout.index_nbytes if layout.index_location == "start" else 0
    flat = index.reshape(-1, 2)
    expected = base + np.arange(layout.num_chunks, dtype=_INDEX_DTYPE) * chunk_nbytes
    if not (np.array_equal(flat[:, 0], expected) and bool((flat[:, 1] == chunk_nbytes).all())):
        return None
    body = np.frombuffer(view[base : base + layout.num_chunks * chunk_nbytes], dtype=np.uint8)
    rank = len(layout.grid_shape)
    blocks = body.view(dtype).reshape((*layout.grid_shape, *layout.chunk_shape))
    inverse = tuple(int(i) for i in np.argsort(_grid_major(rank)))
    if out is None:
        out = new_array(layout.shard_shape, dtype)
    split_view(out, _split_shape(layout))[...] = blocks.transpose(inverse)
    return out


def _parse(config: dict[str, Any]) -> ShardingCodec:
    check_config_members(config, ("chunk_shape", "codecs", "index_codecs", "index_location"))
    shape = config.get("chunk_shape")
    # A codec spec may leave it out (not null): creation takes the chunk layout's read chunk shape.
    if "chunk_shape" in config and (
        not isinstance(shape, list)
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)
    ):
        raise config_member_error(
            "chunk_shape", f"Expected array of positive integers, but received: {json_text(shape)}"
        )
    codec = ShardingCodec(None if shape is None else tuple(shape))
    if "codecs" in config:
        try:
            codec = attrs.evolve(codec, codecs=parse_codec_chain(config["codecs"]))
        except InvalidArgumentError as exc:
            raise config_member_error("codecs", str(exc)) from None
    if "index_codecs" in config:
        try:
            codec = attrs.evolve(codec, index_codecs=parse_codec_chain(config["index_codecs"]))
        except InvalidArgumentError as exc:
            raise config_member_error("index_codecs", str(exc)) from None
    location = config.get("index_location")
    if "index_location" in config and location not in ("start", "end"):
        raise config_member_error(
            "index_location", f'Expected one of "start", "end", but received: {json_text(location)}'
        )
    return attrs.evolve(codec, index_location=location)


register_codec("sharding_indexed", _parse)
