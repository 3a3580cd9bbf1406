"""Partial shard reads and writes for every shard layout, against a NumPy model and tensorstore/zarr."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import tensortrio as ts

from .conftest import cache_of, sharded_spec

if TYPE_CHECKING:
    from pathlib import Path

tensorstore = pytest.importorskip("tensorstore")
zarr = pytest.importorskip("zarr")

LAYOUTS: list[tuple[str, dict[str, Any]]] = [
    ("raw_end", {}),
    ("raw_start", {"index_location": "start"}),
    ("blosc", {"inner_codecs": ["bytes", {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5}}]}),
    ("gzip_start", {"inner_codecs": ["bytes", {"name": "gzip"}], "index_location": "start"}),
    (
        "transposed_big_endian",
        {
            "inner_codecs": [
                {"name": "transpose", "configuration": {"order": [1, 0]}},
                {"name": "bytes", "configuration": {"endian": "big"}},
            ]
        },
    ),
    (
        "nested",
        {
            "inner_codecs": [
                {
                    "name": "sharding_indexed",
                    "configuration": {"chunk_shape": [4, 2], "index_location": "start"},
                }
            ]
        },
    ),
]


def apply_ops(store: Any, model: np.ndarray, seed: int) -> None:
    """Random unaligned writes and reads (each checked against ``model``, updated in place)."""
    rng = np.random.default_rng(seed)
    for step in range(12):
        y, x = (int(v) for v in rng.integers(0, 60, size=2))
        h, w = (int(v) for v in rng.integers(1, 20, size=2))
        box = (slice(y, min(y + h, 64)), slice(x, min(x + w, 64)))
        part = model[box]
        if step % 3 == 2:
            values = np.zeros(part.shape, np.uint16)  # back to the fill value
        else:
            values = rng.integers(0, 1000, size=part.shape).astype(np.uint16)
        store[box].write(values).result()
        model[box] = values
        y, x = (int(v) for v in rng.integers(0, 51, size=2))
        window = (slice(y, y + 9), slice(x, x + 13))
        assert np.array_equal(store[window].read().result(), model[window])


@pytest.mark.parametrize(("name", "options"), LAYOUTS, ids=[n for n, _ in LAYOUTS])
def test_partial_reads_and_writes_match_a_numpy_model(
    name: str, options: dict[str, Any], tmp_path: Path
) -> None:
    path = f"{tmp_path}/{name}/"
    spec = sharded_spec({"driver": "file", "path": path}, **options)
    store = ts.open(spec, create=True, context=ts.Context()).result()
    model = np.zeros((64, 64), np.uint16)
    apply_ops(store, model, seed=len(name))
    assert cache_of(store).shard_statistics().inner_carried > 0
    assert np.array_equal(store.read().result(), model)
    # tensorstore and zarr-python read what the partial-write path produced.
    theirs = tensorstore.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": path}}).result()
    assert np.array_equal(theirs.read().result(), model)
    assert np.array_equal(zarr.open_array(path, mode="r")[...], model)
    # And we partially update what tensorstore wrote.
    theirs[5:40, 3:30].write(np.full((35, 27), 77, np.uint16)).result()
    model[5:40, 3:30] = 77
    apply_ops(store, model, seed=100 + len(name))
    assert np.array_equal(theirs.read().result(), model)
    assert np.array_equal(zarr.open_array(path, mode="r")[...], model)
