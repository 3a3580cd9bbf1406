"""Schema constraints where tensortrio once differed from tensorstore; each runs on both."""

from __future__ import annotations

from typing import Any

import pytest

import tensortrio as tt

tensorstore = pytest.importorskip("tensorstore")

BOTH = pytest.mark.parametrize("lib", [tt, tensorstore], ids=["tensortrio", "tensorstore"])


@BOTH
def test_a_fill_value_with_more_dimensions_than_the_rank_is_refused(lib: Any) -> None:
    with pytest.raises(ValueError, match=r"^Invalid fill_value: Invalid fill_value for rank 0: \{0, 0, 0\}"):
        lib.Schema(rank=0, fill_value=[0, 0, 0])
    schema = lib.Schema(fill_value=[0, 0, 0])
    with pytest.raises(
        ValueError,
        match=r"^Invalid rank: Rank specified by rank \(0\) is incompatible with existing "
        r"fill_value of shape \{3\}",
    ):
        schema.update(rank=0)


@BOTH
@pytest.mark.parametrize(
    ("rank", "fill_value", "stored"),
    [(1, [[1, 2]], [1, 2]), (0, [[5]], 5), (2, [[[1, 2]]], [1, 2])],
)
def test_leading_unit_dimensions_of_a_fill_value_are_dropped(
    lib: Any, rank: int, fill_value: Any, stored: Any
) -> None:
    assert lib.Schema(rank=rank, fill_value=fill_value).to_json()["fill_value"] == stored
    later = lib.Schema(fill_value=fill_value)
    later.update(rank=rank)
    assert later.to_json()["fill_value"] == stored


@BOTH
def test_json_integers_may_be_written_as_integral_floats(lib: Any) -> None:
    assert lib.Schema({"rank": 2.0}).rank == 2
    assert lib.ChunkLayout({"rank": 2.0}).rank == 2
    assert lib.ChunkLayout({"inner_order": [1.0, 0.0]}).inner_order == (1, 0)
    assert lib.IndexDomain(json={"inclusive_min": [[1.0]], "exclusive_max": [3.0]}) == lib.IndexDomain(
        inclusive_min=[1], exclusive_max=[3], implicit_lower_bounds=[True]
    )
    transform = lib.IndexTransform(
        json={"input_shape": [2.0], "output": [{"offset": 1.0, "input_dimension": 0.0, "stride": 2.0}]}
    )
    assert transform([1]) == (3,)
    for bad in (2.5, True):
        with pytest.raises(ValueError, match=r'^Error parsing object member "rank": Expected integer'):
            lib.Schema({"rank": bad})


@BOTH
def test_a_grid_takes_rank_minus_one_as_unspecified(lib: Any) -> None:
    assert lib.ChunkLayout.Grid(rank=-1).rank is None


@BOTH
@pytest.mark.parametrize("driver", ["zarr", "zarr3", "n5"])
def test_a_rank_0_store_has_a_chunk_layout_of_rank_0(lib: Any, driver: str) -> None:
    store = lib.open(
        {"driver": driver, "kvstore": {"driver": "memory"}}, create=True, dtype=lib.int32, shape=[]
    ).result()
    assert store.chunk_layout.rank == 0
    assert store.chunk_layout.to_json() == {"rank": 0}
