"""ShardIO.load_range / load_from_shard: many inner chunks decoded together, as one by one would."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import tensortrio as ts
from tensortrio.drivers.zarr3.codecs.sharding import decode_inner_chunk
from tensortrio.errors import DataLossError

from .conftest import cache_of, pattern, sharded_spec

BLOSC = ["bytes", {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5}}]


def _io_and_shard(inner_codecs: Any, data: np.ndarray) -> tuple[Any, bytes]:
    spec = sharded_spec({"driver": "memory"}, inner_codecs=inner_codecs)
    store = ts.open(spec, create=True, context=ts.Context()).result()
    io = cache_of(store)._io
    shard, _ = io.encode_all(data[: io.layout.shard_shape[0], : io.layout.shard_shape[1]])
    return io, bytes(shard)


def _expected(io: Any, shard: bytes, cells: list[int]) -> np.ndarray:
    """Each of ``cells`` loaded one by one (the reference)."""
    out = np.zeros(io.layout.shard_shape, io.layout.info.dtype)
    index = io.shard_index(shard)
    for cell in cells:
        offset, size = (int(v) for v in index[cell])
        io.load(out, cell, None if offset == 2**64 - 1 else shard[offset : offset + size])
    return out


@pytest.mark.parametrize("codecs", [None, BLOSC], ids=["raw", "blosc"])
@pytest.mark.parametrize("cells", [[0, 1, 2, 3], [1, 5, 6, 14], [15, 0, 9]])
def test_range_reads_load_as_one_by_one(codecs: Any, cells: list[int]) -> None:
    data = pattern((32, 32))
    data[8:16, 8:16] = 0  # inner chunk 5 is the fill value: not stored
    io, shard = _io_and_shard(codecs, data)
    index = io.shard_index(shard)
    buffer = np.zeros(io.layout.shard_shape, io.layout.info.dtype)
    wanted = np.array(sorted(cells), np.intp)
    io.fill(buffer, io.missing_cells(index, wanted))
    for plan in io.plan_ranges(index, wanted, gap=0 if 14 in cells else 1 << 20):
        io.load_range(buffer, shard[plan.start : plan.stop], plan)
    assert np.array_equal(buffer, _expected(io, shard, cells))
    from_shard = np.zeros(io.layout.shard_shape, io.layout.info.dtype)
    stored = io.load_from_shard(from_shard, shard, wanted, index)
    assert stored == len([c for c in cells if c != 5])
    assert np.array_equal(from_shard, buffer)


def test_a_corrupt_member_is_named_as_the_codec_chain_names_it() -> None:
    io, shard = _io_and_shard(BLOSC, pattern((32, 32)))
    index = io.shard_index(shard)
    plan = io.plan_ranges(index, np.array([0, 1, 2], np.intp))[0]
    offset, size = (int(v) for v in index[1])
    body = bytearray(shard[plan.start : plan.stop])
    body[offset - plan.start + 4 : offset - plan.start + 8] = (1000).to_bytes(4, "little")
    with pytest.raises(DataLossError) as info:
        decode_inner_chunk(io.layout, bytes(body[offset - plan.start : offset - plan.start + size]))
    message = re.escape(f"inner chunk [0, 1]: {info.value}")
    buffer = np.zeros(io.layout.shard_shape, io.layout.info.dtype)
    with pytest.raises(DataLossError, match=f"^{message}$"):
        io.load_range(buffer, bytes(body), plan)


def test_a_short_range_read_is_named() -> None:
    io, shard = _io_and_shard(None, pattern((32, 32)))
    index = io.shard_index(shard)
    plan = io.plan_ranges(index, np.array([0, 1], np.intp))[0]
    buffer = np.zeros(io.layout.shard_shape, io.layout.info.dtype)
    with pytest.raises(DataLossError, match=r"^inner chunk \[0, 1\]: bytes codec: chunk is"):
        io.load_range(buffer, shard[plan.start : plan.stop - 1], plan)
