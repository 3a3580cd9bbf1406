"""Seed 004: the chunked storage driver options (cache pools, recheck_cached_*,
fill_missing_data_reads, store_data_equal_to_fill_value) behave as documented."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tensortrio as ts
from tensortrio.errors import TensorTrioError


def _spec(tmp_path: Any, **members: Any) -> dict[str, Any]:
    return {
        "driver": "zarr",
        "kvstore": {"driver": "file", "path": f"{tmp_path}/a/"},
        "metadata": {"chunks": [2]},
        **members,
    }


async def test_fill_missing_data_reads(tmp_path: Any) -> None:
    await ts.open(_spec(tmp_path), create=True, dtype=ts.int32, shape=[4], fill_value=7)
    filled = await ts.open(_spec(tmp_path))
    np.testing.assert_array_equal(await filled.read(), [7, 7, 7, 7])
    strict = await ts.open(_spec(tmp_path, fill_missing_data_reads=False))
    assert strict.spec().to_json()["fill_missing_data_reads"] is False
    with pytest.raises(TensorTrioError, match=r"0"):
        await strict.read()
    await strict[0:2].write([1, 2])
    np.testing.assert_array_equal(await strict[0:2].read(), [1, 2])


async def test_store_data_equal_to_fill_value(tmp_path: Any) -> None:
    default = await ts.open(_spec(tmp_path), create=True, dtype=ts.int32, shape=[4], fill_value=0)
    await default.write([0, 0, 5, 0])
    # The chunk equal to the fill value is not stored (with a fill value: zarr v2's
    # null has none to compare with, and every written chunk is stored).
    assert await default.kvstore.list() == [b".zarray", b"1"]
    keeping = await ts.open(_spec(tmp_path, store_data_equal_to_fill_value=True))
    await keeping.write([0, 0, 0, 0])
    assert await keeping.kvstore.list() == [b".zarray", b"0", b"1"]


async def _outside_write(tmp_path: Any, value: int) -> None:
    other = await ts.open(_spec(tmp_path), context=ts.Context())
    await other.write(value)


async def test_recheck_cached_data(tmp_path: Any) -> None:
    await ts.open(_spec(tmp_path), create=True, dtype=ts.int32, shape=[4])
    context = ts.Context({"cache_pool": {"total_bytes_limit": 1 << 20}})
    cached = await ts.open(_spec(tmp_path), context=context, recheck_cached_data=False)
    always = await ts.open(_spec(tmp_path), context=ts.Context({"cache_pool": {"total_bytes_limit": 1 << 20}}))
    np.testing.assert_array_equal(await cached.read(), [0, 0, 0, 0])
    np.testing.assert_array_equal(await always.read(), [0, 0, 0, 0])
    await _outside_write(tmp_path, 3)
    # recheck_cached_data=False with a cache pool: the cached chunks are used as they are.
    np.testing.assert_array_equal(await cached.read(), [0, 0, 0, 0])
    # The default (True) revalidates on every read.
    np.testing.assert_array_equal(await always.read(), [3, 3, 3, 3])
    assert cached.spec().to_json()["recheck_cached_data"] is False


async def test_cache_pool_shared_by_reference(tmp_path: Any) -> None:
    context = ts.Context({"cache_pool#big": {"total_bytes_limit": 1 << 20}})
    store = await ts.open(
        _spec(tmp_path, cache_pool="cache_pool#big"),
        context=context, create=True, dtype=ts.uint8, shape=[4],
    )
    json = store.spec(unbind_context=True).to_json()
    assert json["cache_pool"] == "cache_pool#big"
    assert json["context"]["cache_pool#big"] == {"total_bytes_limit": 1 << 20}
    inline = await ts.open(
        _spec(tmp_path, cache_pool={"total_bytes_limit": 1000}),
        context=context,
    )
    assert inline.spec(unbind_context=True).to_json()["cache_pool"] == {"total_bytes_limit": 1000}


async def test_recheck_option_errors(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match=r"recheck_cached_data"):
        ts.open(_spec(tmp_path, recheck_cached_data="sometimes"))
