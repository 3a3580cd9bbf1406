"""Whole shards of raw inner chunks: the bytes tensorstore writes, fill-value chunks left out."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
import tensorstore

import tensortrio as ts

from .conftest import pattern, sharded_spec

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
