"""Indexing a Schema (``schema[...]``, ``oindex``, ``vindex``, ``T``, shortcuts), against tensorstore."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import tensortrio as tt

if TYPE_CHECKING:
    from collections.abc import Callable

tensorstore = pytest.importorskip("tensorstore")

BOTH = pytest.mark.parametrize("lib", [tt, tensorstore], ids=["tensortrio", "tensorstore"])


def _xy(lib: Any) -> Any:
    """A [3, 13) x [3, 23) schema whose fill value varies along y only."""
    return lib.Schema(
        domain=lib.IndexDomain(labels=["x", "y"], shape=[10, 20]).translate_to[3],
        fill_value=np.arange(20, dtype=np.int32),
        dtype=lib.int32,
        dimension_units=["4nm", None],
        chunk_layout=lib.ChunkLayout(grid_origin=[1, 2], inner_order=[1, 0], read_chunk_shape=[4, 6]),
    )


CASES: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("slice", lambda lib, s: s[:, 5:7]),
    ("stride", lambda lib, s: s[::2, 3:9]),
    ("integer", lambda lib, s: s[5]),
    ("newaxis", lambda lib, s: s[lib.newaxis, 4]),
    ("index-array-broadcast-dim", lambda lib, s: s[[3, 4], 5]),
    ("index-array", lambda lib, s: s[3, [3, 4, 5]]),
    ("oindex", lambda lib, s: s.oindex[[3, 4], [5, 6]]),
    ("vindex", lambda lib, s: s.vindex[[3, 4], [5, 6]]),
    ("dim-expression", lambda lib, s: s[lib.d["x"].stride[2]]),
    ("T", lambda lib, s: s.T),
    ("transpose", lambda lib, s: s.transpose([1, 0])),
    ("translate_to", lambda lib, s: s.translate_to[0]),
    ("label", lambda lib, s: s.label["a", "b"]),
    ("mark_bounds_implicit", lambda lib, s: s.mark_bounds_implicit[True]),
    ("reversed", lambda lib, s: s[::-1, ::-3]),
]


@pytest.mark.parametrize(("name", "index"), CASES, ids=[c[0] for c in CASES])
def test_indexing_a_schema_transforms_every_member_as_tensorstore(
    name: str, index: Callable[[Any, Any], Any]
) -> None:
    ours, theirs = (index(lib, _xy(lib)) for lib in (tt, tensorstore))
    assert ours.to_json() == theirs.to_json()
    np.testing.assert_array_equal(ours.fill_value, theirs.fill_value)


SCHEMAS: list[tuple[str, Callable[[Any], Any], Callable[[Any, Any], Any]]] = [
    (
        "docs-example",
        lambda lib: lib.Schema(
            domain=lib.IndexDomain(labels=["x", "y", "z"], shape=[1000, 2000, 3000]),
            chunk_layout=lib.ChunkLayout(grid_origin=[100, 200, 300], inner_order=[0, 1, 2]),
        ),
        lambda lib, s: s[[5, 10, 20], 6:10],
    ),
    (
        "rank-only-units",
        lambda lib: lib.Schema(rank=2, dimension_units=["nm", "um"]),
        lambda lib, s: s[:, 3:7].T,
    ),
    (
        "rank-only-fill-from-unbounded",
        lambda lib: lib.Schema(rank=2, fill_value=[1, 2, 3]),
        lambda lib, s: s[5][::-1],
    ),
    (
        "rank-only-fill-over-its-extent",
        lambda lib: lib.Schema(rank=2, fill_value=[1, 2, 3]),
        lambda lib, s: s[:, 4:7],
    ),
    (
        "2d-fill",
        lambda lib: lib.Schema(
            domain=lib.IndexDomain(shape=[2, 3]), fill_value=[[1, 2, 3], [4, 5, 6]], dtype=lib.int32
        ),
        lambda lib, s: s[lib.d[0].translate_by[5]][6:7, ::2][lib.newaxis],
    ),
    (
        "implicit-domain",
        lambda lib: lib.Schema(domain=lib.IndexDomain(shape=[3, 4]).mark_bounds_implicit[True]),
        lambda lib, s: s[::-1][lib.d[1].mark_bounds_implicit[False]],
    ),
    (
        "diagonal",
        lambda lib: lib.Schema(
            rank=2, dimension_units=["nm", "nm"], chunk_layout=lib.ChunkLayout(inner_order=[1, 0])
        ),
        lambda lib, s: s[lib.d[0, 1].diagonal],
    ),
]


@pytest.mark.parametrize(("name", "make", "index"), SCHEMAS, ids=[c[0] for c in SCHEMAS])
def test_indexed_schemas_match_tensorstore(
    name: str, make: Callable[[Any], Any], index: Callable[[Any, Any], Any]
) -> None:
    ours, theirs = (index(lib, make(lib)) for lib in (tt, tensorstore))
    assert ours.to_json() == theirs.to_json()


@BOTH
def test_indexing_errors_are_index_errors(lib: Any) -> None:
    schema = _xy(lib)
    with pytest.raises(IndexError, match=r"Slice interval \[0, 5\) is not contained within domain \[3, 13\)"):
        schema[0:5]
    with pytest.raises(IndexError, match=r"^Rank 2 -> 2 transform cannot be composed with rank 3 -> 3"):
        schema[lib.IndexTransform(input_rank=3)]


@BOTH
def test_a_fill_value_without_a_known_extent_cannot_be_transformed(lib: Any) -> None:
    with pytest.raises(ValueError, match=r"^Error transforming fill_value: Cannot broadcast array of shape \{2\}"):
        lib.Schema(rank=2, fill_value=[1, 2])[:, 1:2]


def test_a_schema_without_a_rank_cannot_be_indexed() -> None:
    # tensorstore crashes here (a segfault); its documentation promises a ValueError.
    for index in (lambda s: s[1], lambda s: s.T, lambda s: s.oindex[[1]], lambda s: s.translate_to[0]):
        with pytest.raises(ValueError, match=r"^Cannot perform indexing operations on Schema with unspecified rank$"):
            index(tt.Schema(dtype=tt.int32))


def test_a_stores_schema_is_its_base_schema_seen_through_its_transform() -> None:
    store = tt.open({"driver": "zarr", "kvstore": "memory://"}, dtype=tt.uint8, shape=[4, 5], create=True).result()
    for view in (store[1:], store[::-1], store[tt.newaxis], store.T, store[tt.d[0].mark_bounds_implicit[False]]):
        assert view.schema.domain == view.domain
    assert store.schema[1:, ::2] == store[1:, ::2].schema
