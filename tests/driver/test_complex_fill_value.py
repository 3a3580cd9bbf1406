"""Complex fill values given to ts.open, and the schema of complex arrays (no JSON round trip)."""

from __future__ import annotations

from typing import Any

import pytest

import tensortrio as tt

tensorstore = pytest.importorskip("tensorstore")

BOTH = pytest.mark.parametrize("lib", [tt, tensorstore], ids=["tensortrio", "tensorstore"])


@BOTH
@pytest.mark.parametrize("driver", ["zarr", "zarr3"])
def test_open_takes_a_complex_fill_value_with_a_shape(lib: Any, driver: str) -> None:
    store = lib.open(
        {"driver": driver, "kvstore": "memory://"},
        create=True,
        dtype=lib.complex64,
        shape=[2, 3],
        fill_value=1 + 2j,
    ).result(timeout=30)
    assert store.fill_value == 1 + 2j
    assert store.read().result(timeout=30)[1, 2] == 1 + 2j
    assert store.spec().to_json()["metadata"]["fill_value"] == [1.0, 2.0]


@BOTH
@pytest.mark.parametrize("driver", ["zarr", "zarr3"])
def test_a_complex_array_and_its_views_have_a_schema(lib: Any, driver: str) -> None:
    store = lib.open(
        {"driver": driver, "kvstore": "memory://"},
        create=True,
        dtype=lib.complex128,
        shape=[2, 3],
        fill_value=3j,
    ).result(timeout=30)
    assert store.chunk_layout.read_chunk.shape == (2, 3)
    view = store[1:, lib.newaxis]
    assert view.schema.fill_value == 3j
    assert view.schema.to_json()["fill_value"] == [0.0, 3.0]
    assert view.schema.domain.shape == (1, 1, 3)
