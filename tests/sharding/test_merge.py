"""ShardIO.merge: inner chunks the writes do not touch are carried over as their bytes, in runs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensortrio.drivers.zarr3.codecs.sharding import (
    MISSING,
    assemble_shard,
    split_shard,
)
from tensortrio.errors import DataLossError

from .conftest import pattern, shard_io

GZIP = [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "gzip"}]


def boxes_mask(boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    mask = np.zeros((32, 32), np.bool_)
    for y, x, h, w in boxes:
        mask[y : y + h, x : x + w] = True
    return mask


box = st.tuples(
    st.integers(0, 31), st.integers(0, 31), st.integers(1, 16), st.integers(1, 16)
)


@settings(max_examples=150, deadline=None)
@given(
    boxes=st.lists(box, max_size=4),
    zeros=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=4),
    holes=st.sets(st.integers(0, 15), min_size=1, max_size=8),
    index_location=st.sampled_from(["start", "end"]),
    gzip=st.booleans(),
    stored=st.booleans(),
)
def test_a_merge_is_the_shard_assembled_from_its_chunks(
    boxes: list[tuple[int, int, int, int]],
    zeros: list[tuple[int, int]],
    holes: set[int],
    index_location: str,
    gzip: bool,
    stored: bool,
) -> None:
    io = shard_io(index_location=index_location, inner_codecs=GZIP if gzip else None)
    layout = io.layout
    before = pattern((32, 32), seed=1)
    for cell in holes:  # inner chunks not stored before the write
        y, x = divmod(cell, 4)
        before[8 * y : 8 * y + 8, 8 * x : 8 * x + 8] = 0
    if stored:
        shard, _ = io.encode_all(before)
        old = bytes(shard)
    else:
        before[...] = 0
        old = None
    pending = pattern((32, 32), seed=2)
    for y, x in zeros:  # writes of the fill value drop whole inner chunks
        pending[8 * y : 8 * y + 8, 8 * x : 8 * x + 8] = 0
    mask = boxes_mask(boxes)
    merged = io.merge(old, pending, mask)
    expected = before.copy()
    expected[mask] = pending[mask]
    touched = mask.reshape(4, 8, 4, 8).any(axis=(1, 3)).reshape(-1)
    if merged.data is None:
        assert not expected.any()
        return
    np.testing.assert_array_equal(io.decode_all(bytes(merged.data)), expected)
    # Byte for byte what assembling the chunks in row-major order gives.
    old_chunks = split_shard(layout, old) if old is not None else [None] * 16
    new_chunks = split_shard(layout, merged.data)
    for cell in np.flatnonzero(~touched).tolist():
        assert new_chunks[cell] == old_chunks[cell]  # carried over, never re-encoded
    assert bytes(merged.data) == bytes(assemble_shard(layout, new_chunks))
    assert merged.encoded == int(touched.sum())
    assert merged.carried == sum(old_chunks[c] is not None for c in np.flatnonzero(~touched))


@pytest.mark.parametrize("index_location", ["start", "end"])
def test_a_chunk_written_where_none_was_stored_moves_the_rest(index_location: str) -> None:
    io = shard_io(index_location=index_location)
    before = pattern((32, 32), seed=1)
    before[0:8, 8:16] = 0  # inner chunk 1 is not stored: 0 and 2 are adjacent bytes
    stored, count = io.encode_all(before)
    assert count == 15
    pending = pattern((32, 32), seed=2)
    mask = boxes_mask([(0, 8, 8, 8), (30, 30, 2, 2)])
    merged = io.merge(bytes(stored), pending, mask)
    expected = before.copy()
    expected[mask] = pending[mask]
    assert merged.data is not None
    np.testing.assert_array_equal(io.decode_all(bytes(merged.data)), expected)
    assert (merged.encoded, merged.carried) == (2, 14)


def shuffled_shard(io: Any, data: np.ndarray, order: list[int], gap: int) -> bytes:
    """``data`` as a shard whose inner chunks lie in ``order``, ``gap`` junk bytes between them."""
    layout = io.layout
    chunks = split_shard(layout, bytes(io.encode_all(data)[0]))
    body = bytearray()
    index = np.full((16, 2), MISSING, np.uint64)
    for cell in order:
        body += b"\xee" * gap
        chunk = chunks[cell]
        assert chunk is not None
        index[cell] = (len(body), chunk.nbytes)
        body += chunk
    encoded = bytes(layout.index.encode(index.reshape(4, 4, 2)))
    return bytes(body) + encoded


@pytest.mark.parametrize("gap", [0, 5])
def test_chunks_stored_out_of_order_are_carried_over_in_row_major_order(gap: int) -> None:
    io = shard_io()
    data = pattern((32, 32), seed=3)
    order = [15, 3, 0, 7, 1, 2, 14, 4, 5, 6, 8, 9, 13, 10, 11]  # chunk 12 is not stored
    data[24:32, 0:8] = 0
    stored = shuffled_shard(io, data, order, gap)
    np.testing.assert_array_equal(io.decode_all(stored), data)
    mask = boxes_mask([(8, 8, 8, 8), (0, 0, 3, 3)])  # chunk 5 whole, chunk 0 in part
    pending = pattern((32, 32), seed=4)
    merged = io.merge(stored, pending, mask)
    expected = data.copy()
    expected[mask] = pending[mask]
    assert merged.data is not None
    np.testing.assert_array_equal(io.decode_all(bytes(merged.data)), expected)
    chunks = split_shard(io.layout, merged.data)
    assert bytes(merged.data) == bytes(assemble_shard(io.layout, chunks))
    assert (merged.encoded, merged.carried) == (2, 13)


def test_a_corrupt_stored_index_is_data_loss() -> None:
    io = shard_io()
    shard = bytearray(io.encode_all(pattern((32, 32)))[0])
    shard[-1] ^= 0xFF  # the index checksum
    with pytest.raises(DataLossError, match="checksum"):
        io.merge(bytes(shard), pattern((32, 32)), boxes_mask([(0, 0, 1, 1)]))
