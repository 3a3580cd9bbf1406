"""Whole shards of raw inner chunks: the bytes tensorstore writes, fill-value chunks left out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tensorstore

import tensortrio as ts

from .conftest import pattern, shard_io, sharded_spec

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize("index_location", ["start", "end"])
@pytest.mark.parametrize("missing", [0, 3])
def test_whole_raw_shards_are_byte_identical_to_tensorstore(
    tmp_path: Path, index_location: str, missing: int
) -> None:
    data = pattern((32, 32))
    for k in range(missing):  # inner chunks equal to the fill value are not stored
        data[8 * k : 8 * k + 8, 0:8] = 0
    files = {}
    for name, lib in (("ours", ts), ("theirs", tensorstore)):
        root = tmp_path / name
        spec = sharded_spec(
            {"driver": "file", "path": f"{root}/"},
            shape=(32, 32),
            index_location=index_location,
        )
        lib.open(spec, create=True).result().write(data).result()
        files[name] = (root / "c" / "0" / "0").read_bytes()
    assert files["ours"] == files["theirs"]
    ours = ts.open({"driver": "zarr3", "kvstore": f"file://{tmp_path / 'ours'}/"}).result()
    np.testing.assert_array_equal(ours.read().result(), data)


GZIP = ["bytes", {"name": "gzip", "configuration": {"level": 1}}]


@pytest.mark.parametrize("inner_codecs", [None, GZIP], ids=["raw", "gzip"])
@pytest.mark.parametrize(
    ("dtype", "fill"),
    [("uint16", 0), ("uint16", 7), ("float32", "NaN"), ("float32", 0)],
)
def test_a_chunk_is_left_out_only_when_every_element_is_the_fill_value(
    inner_codecs: list[Any] | None, dtype: str, fill: Any
) -> None:
    # The first element of an inner chunk decides most chunks at once; a chunk
    # that starts with the fill value must still be checked in full.
    io = shard_io(dtype=dtype, inner_codecs=inner_codecs, fill_value=fill)
    value = np.array(fill, dtype)
    data = pattern((32, 32), dtype)
    data[0:8, 0:8] = value  # all fill: left out
    data[0:8, 8:16] = value  # starts with the fill value, one element differs: stored
    data[7, 15] = 3
    data[8, 8] = value  # starts with the fill value, the rest differs: stored
    if dtype == "float32" and fill == 0:
        data[16:24, 16:24] = -0.0  # not the fill value bit for bit, as TensorStore compares: stored
    encoded, stored = io.encode_all(data)
    assert stored == 16 - 1
    np.testing.assert_array_equal(io.decode_all(bytes(encoded)), data)
    # One inner chunk merged into the stored shard goes through the per-chunk check.
    mask = np.zeros((32, 32), np.bool_)
    mask[0:8, 8:16] = True
    pending = np.full((32, 32), value, dtype)
    merged = io.merge(encoded, pending, mask)
    assert merged.data is not None
    expected = data.copy()
    expected[0:8, 8:16] = value
    np.testing.assert_array_equal(io.decode_all(bytes(merged.data)), expected)
    index = io.shard_index(merged.data)
    assert int((index[:, 0] != np.iinfo(np.uint64).max).sum()) == stored - 1
