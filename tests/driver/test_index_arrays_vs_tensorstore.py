"""Index arrays on a view reach only the view's elements (checked when used, as tensorstore checks)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import tensorstore

import tensortrio as tt

BOTH = pytest.mark.parametrize("lib", [tt, tensorstore], ids=["tensortrio", "tensorstore"])


def stores(lib: Any) -> list[Any]:
    zarr = lib.open(
        {"driver": "zarr", "kvstore": {"driver": "memory"}, "metadata": {"chunks": [2]}},
        create=True,
        dtype=lib.int16,
        shape=[6],
    ).result()
    zarr.write(np.arange(6, dtype=np.int16)).result()
    return [zarr, lib.array(np.arange(6, dtype=np.int16))]


@BOTH
@pytest.mark.parametrize("which", [0, 1], ids=["zarr", "array"])
def test_index_arrays_outside_a_views_bounds_fail_and_change_nothing(lib: Any, which: int) -> None:
    store = stores(lib)[which]
    view = store[1:3]
    assert view[[1, 2]].read().result().tolist() == [1, 2]
    assert view.oindex[[2, 1]].read().result().tolist() == [2, 1]
    for outside in (view[[0, 5]], view.oindex[[1, 3]], view.vindex[[2, 0]]):
        with pytest.raises(ValueError, match=r"Index [035] is outside valid range \[1, 3\)$"):
            outside.write(99).result()
        with pytest.raises(ValueError, match=r"Index [035] is outside valid range \[1, 3\)$"):
            outside.read().result()
    assert store.read().result().tolist() == [0, 1, 2, 3, 4, 5]
