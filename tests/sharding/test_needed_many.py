"""ShardIO.needed_many: the union of what each selection needs, counted cheaply for one-chunk boxes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tensortrio as ts

from .conftest import cache_of, sharded_spec

SELECTIONS: list[tuple[Any, ...]] = [
    (slice(0, 8), slice(8, 16)),  # one whole inner chunk
    (slice(9, 11), slice(30, 31)),  # part of one
    (slice(0, 20), slice(0, 3)),  # three inner chunks
    (slice(3, 30, 5), slice(None)),  # a step: the general path
    (5, slice(17, 18)),  # an integer term
    (slice(0, 2), None, slice(24, 32)),  # a new axis
    (np.array([1, 30]), slice(0, 1)),  # an index array
]


@pytest.fixture(scope="module")
def io() -> Any:
    store = ts.open(sharded_spec({"driver": "memory"}), create=True, context=ts.Context()).result()
    return cache_of(store)._io


@pytest.mark.parametrize("count", range(1, len(SELECTIONS) + 1))
def test_needed_many_is_the_union_of_needed(io: Any, count: int) -> None:
    chosen = SELECTIONS[:count]
    expected = np.zeros(io.num_chunks, np.bool_)
    for selection in chosen:
        expected |= io.needed(selection)
    assert np.array_equal(io.needed_many(chosen), expected)


def test_needed_many_of_one_chunk_boxes(io: Any) -> None:
    need = io.needed_many([(slice(8, 16), slice(24, 32)), (slice(0, 1), slice(0, 1))])
    assert np.flatnonzero(need).tolist() == [0, 7]
