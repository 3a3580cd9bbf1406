"""Schema constraints where tensortrio once differed from tensorstore; each runs on both."""

from __future__ import annotations

from typing import Any

import numpy as np
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


def _stored(lib: Any) -> Any:
    context = lib.Context()
    store = lib.open(
        {"driver": "zarr", "kvstore": "memory://"}, create=True, dtype="int32", shape=[4, 3],
        chunk_layout=lib.ChunkLayout(chunk_shape=[4, 1]), context=context,
    ).result()
    return store, context


@BOTH
def test_constraints_on_a_transposed_spec_are_on_the_view(lib: Any) -> None:
    spec = lib.Spec({
        "driver": "zarr", "kvstore": "memory://",
        "transform": {"input_shape": [3, 4], "output": [{"input_dimension": 1}, {"input_dimension": 0}]},
    })
    spec.update(chunk_layout=lib.ChunkLayout(chunk_shape=[2, 5]), dimension_units=["nm", "s"])
    assert spec.schema.chunk_layout.write_chunk.shape == (2, 5)
    assert spec.to_json()["schema"] == {
        "chunk_layout": {"read_chunk": {"shape": [5, 2]}, "write_chunk": {"shape": [5, 2]}},
        "dimension_units": [[1.0, "s"], [1.0, "nm"]],
    }
    store, context = _stored(lib)
    # The stored [4, 1] chunks are [1, 4] through .T.
    lib.open(store.T.spec(), open=True, context=context, chunk_layout=lib.ChunkLayout(chunk_shape=[1, 4])).result()
    with pytest.raises(ValueError, match=r"write_chunk shape: New hard constraint \(4\) for dimension"):
        lib.open(store.T.spec(), open=True, context=context, chunk_layout=lib.ChunkLayout(chunk_shape=[4, 1])).result()


@BOTH
def test_constraints_on_a_rank_reduced_or_reversed_view_reach_the_stored_dimensions(lib: Any) -> None:
    store, _ = _stored(lib)
    spec = store[1].spec()
    spec.update(dimension_units=["nm"])
    assert spec.to_json()["schema"] == {"dimension_units": [None, [1.0, "nm"]]}
    # A cell boundary b of a reversed dimension is at offset - b + 1; a translated one at offset + b.
    spec = lib.Spec({
        "driver": "zarr", "kvstore": "memory://",
        "transform": {"input_rank": 2, "output": [{"input_dimension": 0, "offset": -5}, {"input_dimension": 1, "stride": -1}]},
    })
    spec.update(chunk_layout=lib.ChunkLayout(grid_origin=[2, 7]))
    assert spec.to_json()["schema"] == {"chunk_layout": {"grid_origin": [-3, -6]}}


@BOTH
@pytest.mark.parametrize(
    ("flags", "shown"),
    [
        ({"open": True}, {}),
        ({"open": True, "create": True}, {"open": True, "create": True}),
        ({"open": True, "assume_metadata": True}, {"assume_metadata": True}),
        ({"create": True, "delete_existing": True}, {"create": True, "delete_existing": True}),
    ],
)
def test_a_spec_shows_open_only_beside_create(lib: Any, flags: dict[str, bool], shown: dict[str, bool]) -> None:
    base = {"driver": "zarr", "kvstore": {"driver": "memory"}}
    assert lib.Spec({**base, **flags}).to_json() == {**base, **shown}
    spec = lib.Spec(base)
    spec.update(**flags)
    assert spec.to_json() == {**base, **shown}
    assert spec.open_mode == lib.OpenMode(**flags)


@BOTH
def test_a_fill_value_given_as_an_array_stays_an_array(lib: Any) -> None:
    import numpy as np

    schema = lib.Schema(fill_value=np.array(7.0, np.float32), dtype="float32")
    assert isinstance(schema.fill_value, np.ndarray)
    assert schema.fill_value.shape == ()
    store = lib.open({"driver": "zarr", "kvstore": "memory://"}, create=True, dtype="int32", shape=[2], fill_value=7).result()
    for fill in (lib.cast(store, "float32").fill_value, store.astype("float32").fill_value):
        assert isinstance(fill, np.ndarray)
        assert (fill.shape, fill.dtype, float(fill)) == ((), np.float32, 7.0)


_MEMORY = {"kvstore": {"driver": "memory"}}


@pytest.mark.parametrize(
    "json",
    [
        {"driver": "zarr", "metadata": {"dtype": "<i2"}},
        {"driver": "zarr", "metadata": {"dtype": "<i2", "shape": [3]}},
        {"driver": "zarr", "dtype": "int16", "metadata": {"shape": [3]}},
        {"driver": "zarr", "metadata": {"dtype": "<i2", "shape": [3]}, "transform": {"input_shape": [3]}},
        {"driver": "zarr3"},
        {"driver": "zarr3", "metadata": {"shape": [3, 4]}},
        {"driver": "zarr3", "metadata": {"shape": [3, 4], "data_type": "int16", "dimension_names": ["a", "b"]}},
        {"driver": "n5", "metadata": {"dataType": "int16", "dimensions": [5]}},
    ],
)
def test_an_unopened_spec_shows_the_dtype_and_domain_its_metadata_implies(json: dict[str, Any]) -> None:
    theirs = tensorstore.Spec({**json, **_MEMORY}).to_json()
    mine = tt.Spec({**json, **_MEMORY}).to_json()
    assert mine == theirs
    assert tt.Spec(mine).to_json() == theirs  # and it round-trips


@pytest.mark.parametrize(
    ("json", "update"),
    [
        ({"driver": "n5"}, {"shape": [100, 200, 300]}),
        ({"driver": "zarr"}, {"domain": {"shape": [4, 5]}}),
        ({"driver": "zarr"}, {"rank": 2}),
        ({"driver": "zarr"}, {"shape": [3], "dtype": "uint8"}),
        ({"driver": "zarr3"}, {"domain": {"shape": [4, 5], "labels": ["x", "y"]}}),
        ({"driver": "zarr", "metadata": {"dtype": "|S3"}}, {"shape": [7, 3]}),
        ({"driver": "zarr", "metadata": {"shape": [7]}}, {"domain": {"shape": [7]}}),
    ],
)
def test_a_schema_shape_gives_a_chunked_spec_its_resizable_transform(
    json: dict[str, Any], update: dict[str, Any]
) -> None:
    # tensorstore shows a chunked driver's domain as [0, n*): its upper bounds may change.
    results = []
    for lib in (tensorstore, tt):
        spec = lib.Spec({**json, **_MEMORY})
        kwargs = dict(update)
        if "domain" in kwargs:
            kwargs["domain"] = lib.IndexDomain(**kwargs["domain"])
        spec.update(**kwargs)
        results.append((spec.to_json(), repr(spec.domain), spec[1:].to_json() if spec.rank else None))
    assert results[1] == results[0]


@pytest.mark.parametrize(
    "json",
    [
        # Chunk-layout constraints stay beside a shape the metadata gives.
        {"driver": "zarr", "metadata": {"shape": [100, 100], "dtype": "<f4"}, "schema": {"chunk_layout": {"chunk": {"elements": 100}}}},
        # A schema origin beside an explicit transform is the base's own business until open.
        {"driver": "zarr", "schema": {"domain": {"shape": [3], "inclusive_min": [2]}}, "transform": {"input_shape": [3]}},
        # An array's own shape: the schema's labels do not label its transform.
        {"driver": "array", "array": [1, 2, 3], "dtype": "int32", "schema": {"domain": {"labels": ["t"]}}},
    ],
)
def test_implied_transforms_leave_the_rest_of_the_spec_as_it_was(json: dict[str, Any]) -> None:
    members = json if json["driver"] == "array" else {**json, **_MEMORY}
    ours, theirs = tt.Spec(members), tensorstore.Spec(members)
    assert ours.to_json() == theirs.to_json()
    if "metadata" in json:
        assert ours.chunk_layout.to_json() == theirs.chunk_layout.to_json()


def test_a_metadata_shape_takes_the_schemas_labels() -> None:
    json = {
        "driver": "zarr3",
        "kvstore": {"driver": "memory"},
        "metadata": {"shape": [1, 5], "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1, 3]}}},
        "schema": {"rank": 2, "domain": {"labels": ["z", "y"]}},
    }
    ours, theirs = tt.Spec(json), tensorstore.Spec(json)
    assert ours.to_json() == theirs.to_json()
    assert repr(ours[1].domain) == repr(theirs[1].domain) == '{ "y": [0, 5*) }'


def test_a_metadata_rank_takes_the_schemas_bounds() -> None:
    json = {
        "driver": "n5",
        "kvstore": {"driver": "memory"},
        "metadata": {"axes": ["t"]},
        "schema": {"domain": {"inclusive_min": [0], "exclusive_max": [[5]]}},
    }
    ours, theirs = tt.Spec(json), tensorstore.Spec(json)
    assert ours.to_json() == theirs.to_json()
    assert repr(ours.domain) == repr(theirs.domain) == '{ "t": [0, 5*) }'


def test_a_labels_only_schema_domain_still_makes_a_spec() -> None:
    spec = tt.Spec({"driver": "n5", "kvstore": "memory://", "schema": {"domain": {"labels": ["t"]}}})
    assert spec.rank == 1
    assert spec.domain is not None
    assert spec.domain.labels == ("t",)


@pytest.mark.parametrize("view", [lambda s: s[1], lambda s: s[:, 1], lambda s: s[..., None]])
def test_a_rank_changing_view_of_a_spec_opens(view: Any) -> None:
    # The spec's schema constrains the base (the transform's output), not the view.
    shown = []
    for lib in (tensorstore, tt):
        spec = lib.Spec({"driver": "zarr", "kvstore": "memory://", "dtype": "uint8"})
        spec.update(shape=[3, 5])
        store = lib.open(view(spec), create=True).result()
        shown.append((repr(store.domain), store.spec().to_json()["transform"]))
    assert shown[1] == shown[0]


@pytest.mark.parametrize(
    "json",
    [
        {"driver": "zarr", "kvstore": "memory://a/", "metadata": {"shape": [3], "dtype": "<u2"}},
        {"driver": "zarr3", "kvstore": "memory://a/", "metadata": {"shape": [3], "data_type": "uint16", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [3]}}}},
        {"driver": "n5", "kvstore": "memory://a/", "metadata": {"dimensions": [3], "dataType": "uint16", "blockSize": [3], "compression": {"type": "raw"}}},
        {"driver": "zarr", "kvstore": "memory://a/"},
    ],
)
def test_update_minimal_spec_drops_the_metadata_keeping_what_it_implied(json: dict[str, Any]) -> None:
    specs = [lib.Spec(json) for lib in (tensorstore, tt)]
    for spec in specs:
        spec.update(minimal_spec=True)
    assert specs[1].to_json() == specs[0].to_json()


def test_an_array_spec_has_no_open_mode() -> None:
    json = {"driver": "array", "array": [1], "dtype": "int32"}
    assert repr(tt.Spec(json).open_mode) == repr(tensorstore.Spec(json).open_mode) == "OpenMode()"


@BOTH
@pytest.mark.parametrize(
    ("value", "dtype", "expected"),
    [
        (np.float64(0.1), "float32", np.float32(0.1)),
        (np.int64(3), "int32", 3),
        (np.float32(2.5), "int8", 2),
        (np.int64(300), "uint8", 44),  # as NumPy's astype
        (np.complex128(1 + 2j), "complex64", 1 + 2j),
        (np.float64(2.0), "bool", True),
    ],
)
def test_a_numpy_scalar_fill_value_converts_as_astype_does(lib: Any, value: Any, dtype: str, expected: Any) -> None:
    assert lib.Schema(dtype=dtype, fill_value=value).fill_value == np.asarray(expected).astype(dtype)
    store = lib.open({"driver": "zarr", "kvstore": "memory://"}, create=True, dtype=dtype, shape=[2], fill_value=value).result()
    assert store.fill_value == np.asarray(expected).astype(dtype)
    # An array (even 0-d) still converts only where the cast is safe.
    with pytest.raises(TypeError, match=r"according to the rule 'safe'"):
        lib.Schema(dtype="float32", fill_value=np.array(0.1))


def _indexed_spec(lib: Any, index: str) -> Any:
    spec = lib.Spec({"driver": "zarr", "kvstore": "memory://", "dtype": "int32", "schema": {"domain": {"shape": [10, 4]}}})
    return {"::2": spec[::2], "[1]": spec[1], "1:": spec[1:], "T": spec.T, "newaxis": spec[..., lib.newaxis]}[index]


@BOTH
@pytest.mark.parametrize(
    ("index", "updates", "message"),
    [
        ("::2", {"fill_value": 3}, r"Error transforming fill_value: Cannot transform input array through non-unit-stride output index map"),
        ("[1]", {"fill_value": 3}, r"Error transforming fill_value: Cannot transform input array through constant output index map"),
        ("newaxis", {"fill_value": np.ones((1, 1, 3))}, r"Error transforming fill_value: Cannot transform input array; dimension 0 cannot be mapped"),
        ("[1]", {"rank": 2}, r"Cannot inverse transform schema of rank 2 by index transform of rank 1 -> 2"),
        ("[1]", {"dimension_units": ["nm", "m"]}, r"Cannot inverse transform schema of rank 2 by index transform of rank 1 -> 2"),
        ("::2", {"shape": [5, 4]}, r"Error transforming domain: Cannot specify finite domain through a transform with non-unit-stride output index map"),
        ("1:", {"shape": [5, 4]}, r"Cannot merge index domain \{ \[0, 10\), \[0, 4\) \} with index domain \{ \[0, 5\), \[0, 4\) \}: Mismatch in dimension 0: Upper bounds do not match"),
        ("newaxis", {"chunk_layout": {"grid_origin": [0, 0, 5]}}, r"Error transforming grid_origin: No output dimension corresponds to input dimension 2"),
        ("newaxis", {"chunk_layout": {"write_chunk": {"shape": [1, 2, 3]}}}, r"Error transforming write_chunk: Error transforming shape: No output dimension corresponds to input dimension 2"),
        ("newaxis", {"dimension_units": ["nm", None, "s"]}, r"Error transforming dimension_units: No output dimension corresponds to input dimension 2 with unit s"),
    ],
)
def test_schema_updates_a_view_spec_cannot_carry_are_refused(
    lib: Any, index: str, updates: dict[str, Any], message: str
) -> None:
    # tensorstore carries constraints given to a spec with a transform back through it
    # (TransformInputSpaceSchema); what does not go through is refused, and the spec is unchanged.
    spec = _indexed_spec(lib, index)
    before = spec.to_json()
    if "chunk_layout" in updates:
        updates = {"chunk_layout": lib.ChunkLayout(updates["chunk_layout"])}
    with pytest.raises(ValueError, match=rf"^{message}$"):
        spec.update(**updates)
    assert spec.to_json() == before


@BOTH
def test_schema_updates_a_view_spec_carries_to_the_stored_arrays_space(lib: Any) -> None:
    spec = _indexed_spec(lib, "::2")
    spec.update(dimension_units=["nm", "m"], chunk_layout=lib.ChunkLayout(inner_order=[1, 0], write_chunk_shape=[2, 3]))
    assert spec.to_json()["schema"] == {
        "chunk_layout": {"inner_order": [1, 0], "write_chunk": {"shape": [4, 3]}},
        "dimension_units": [[0.5, "nm"], [1.0, "m"]],
        "domain": {"exclusive_max": [10, 4], "inclusive_min": [0, 0]},
    }
    transposed = _indexed_spec(lib, "T")
    transposed.update(fill_value=np.array([1, 2, 3, 4], np.int32)[:, np.newaxis])
    transposed.update(domain=lib.IndexDomain(labels=["y", "x"]))
    json = transposed.to_json()["schema"]
    assert (json["fill_value"], json["domain"]["labels"]) == ([1, 2, 3, 4], ["x", "y"])
    assert transposed.transform == _indexed_spec(lib, "T").transform  # the transform stays as it is
    with_new_axis = _indexed_spec(lib, "newaxis")
    with_new_axis.update(chunk_layout=lib.ChunkLayout(write_chunk_shape_soft_constraint=[1, 2, 3]))
    assert with_new_axis.to_json()["schema"]["chunk_layout"] == {"write_chunk": {"shape_soft_constraint": [1, 2]}}
