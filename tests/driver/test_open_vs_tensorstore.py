"""Opening and creating where tensortrio once differed from tensorstore; each runs on both."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tensortrio as tt

tensorstore = pytest.importorskip("tensorstore")

BOTH = pytest.mark.parametrize("lib", [tt, tensorstore], ids=["tensortrio", "tensorstore"])
ZARR3 = {"driver": "zarr3", "kvstore": "memory://"}


@BOTH
def test_a_spec_transforms_labels_are_not_stored(lib: Any) -> None:
    spec = {**ZARR3, "transform": {"input_shape": [2], "input_labels": ["a"]}}
    store = lib.open(spec, create=True, dtype=lib.uint8, shape=[2]).result(timeout=30)
    assert store.domain.labels == ("a",)
    assert "dimension_names" not in store.spec().to_json()["metadata"]


@BOTH
def test_schema_labels_label_a_zarr2_array(lib: Any) -> None:
    # zarr v2 stores no labels: the opened view carries them.
    store = lib.open(
        {"driver": "zarr", "kvstore": "memory://"},
        create=True,
        dtype=lib.uint8,
        domain=lib.IndexDomain(shape=[2, 3], labels=["y", ""]),
    ).result(timeout=30)
    assert store.domain.labels == ("y", "")
    assert store.spec().to_json()["transform"]["input_labels"] == ["y", ""]


@BOTH
def test_codecs_given_in_the_metadata_are_stored_as_given(lib: Any) -> None:
    metadata = {
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [7]}},
        "codecs": [{"name": "bytes"}],
    }
    store = lib.open(
        {**ZARR3, "metadata": metadata}, create=True, dtype=lib.uint8, shape=[4]
    ).result(timeout=30)
    assert store.spec().to_json()["metadata"]["codecs"] == [{"name": "bytes"}]
    with pytest.raises(ValueError, match="Cannot create using specified \"metadata\" and schema"):
        lib.open(
            {**ZARR3, "metadata": {"codecs": [{"name": "bytes"}]}},
            create=True,
            dtype=lib.uint8,
            shape=[8],
            chunk_layout=lib.ChunkLayout(read_chunk_shape=[2], write_chunk_shape=[4]),
        ).result(timeout=30)


@BOTH
def test_repeated_zarr3_dimension_names_are_refused(lib: Any) -> None:
    with pytest.raises(ValueError, match="dimension_names"):
        lib.open(
            {**ZARR3, "metadata": {"dimension_names": ["a", "a"]}},
            create=True,
            dtype=lib.uint8,
            shape=[2, 2],
        ).result(timeout=30)
    unnamed = {**ZARR3, "metadata": {"dimension_names": [None, None]}}
    store = lib.open(unnamed, create=True, dtype=lib.uint8, shape=[2, 2]).result(timeout=30)
    assert store.domain.labels == ("", "")
    assert "dimension_names" not in store.spec().to_json()["metadata"]  # no name is not stored


def test_repeated_dimension_names_error_names_the_label() -> None:
    with pytest.raises(
        ValueError,
        match=r'^Error parsing object member "metadata": Error parsing object member '
        r'"dimension_names": Dimension label\(s\) "a" not unique$',
    ):
        tt.open(
            {**ZARR3, "metadata": {"dimension_names": ["a", "a"]}},
            create=True,
            dtype=tt.uint8,
            shape=[2, 2],
        ).result(timeout=30)


@pytest.mark.parametrize(
    ("writer", "reader"), [(tt, tensorstore), (tensorstore, tt)], ids=["tt-writes", "ts-writes"]
)
@pytest.mark.parametrize("blosc", [False, True], ids=["raw", "blosc"])
def test_a_rank0_sharded_array_round_trips(
    writer: Any, reader: Any, blosc: bool, tmp_path: Any
) -> None:
    inner: list[dict[str, Any]] = [{"name": "bytes"}]
    if blosc:
        inner.append({"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5}})
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path)}}
    metadata = {"codecs": [{"name": "sharding_indexed", "configuration": {"chunk_shape": [], "codecs": inner}}]}
    store = writer.open(
        {**spec, "metadata": metadata}, create=True, dtype=writer.int32, shape=[]
    ).result(timeout=30)
    assert store.read().result(timeout=30) == 0
    store.write(5).result(timeout=30)
    assert store.read().result(timeout=30) == 5
    assert reader.open(spec).result(timeout=30).read().result(timeout=30) == 5


@BOTH
def test_reopening_a_zarr3_array_that_stores_no_units_or_names(lib: Any) -> None:
    context = lib.Context()
    lib.open(ZARR3, create=True, dtype=lib.uint8, shape=[2], context=context).result(timeout=30)
    # Units asked for and all-null names are what the array has when it stores none.
    store = lib.open(ZARR3, open=True, context=context, dimension_units=["nm"]).result(timeout=30)
    assert store.dimension_units == (None,)
    unnamed = {**ZARR3, "metadata": {"dimension_names": [None]}}
    lib.open(unnamed, open=True, context=context).result(timeout=30)
    with pytest.raises(ValueError, match='Expected "dimension_names" of \\[""\\]'):
        lib.open({**ZARR3, "metadata": {"dimension_names": [""]}}, open=True, context=context).result(
            timeout=30
        )
    lib.open(
        ZARR3, create=True, delete_existing=True, dtype=lib.uint8, shape=[2],
        dimension_units=["um"], context=context,
    ).result(timeout=30)
    with pytest.raises(ValueError, match="dimension_units"):
        lib.open(ZARR3, open=True, context=context, dimension_units=["nm"]).result(timeout=30)


@BOTH
@pytest.mark.parametrize("driver", ["zarr", "zarr3"])
def test_a_rank_alone_creates_a_rank0_array(lib: Any, driver: str) -> None:
    spec = {"driver": driver, "kvstore": "memory://", "rank": 0}
    store = lib.open(spec, create=True, dtype=lib.uint8).result(timeout=30)
    store.write(7).result(timeout=30)
    assert store.shape == ()
    assert store.read().result(timeout=30) == 7
    with pytest.raises(ValueError, match="domain must be specified"):
        lib.open({**spec, "rank": 1}, create=True, dtype=lib.uint8).result(timeout=30)


@BOTH
@pytest.mark.parametrize(
    ("view", "units"),
    [
        (lambda s, m: s[1:, ::2], ("1 nm", None)),
        (lambda s, m: s[::-3, ::2], ("3 nm", None)),
        (lambda s, m: s.T, (None, "1 nm")),
        (lambda s, m: s[m.d[0].stride[2]], ("2 nm", None)),
        (lambda s, m: s[m.d[0, 1].diagonal], (None,)),
        (lambda s, m: s[m.newaxis], (None, "1 nm", None)),
    ],
    ids=["slice", "negative-stride", "transpose", "stride", "diagonal", "newaxis"],
)
def test_a_views_units_follow_its_strides(lib: Any, view: Any, units: tuple[str | None, ...]) -> None:
    store = lib.open(
        ZARR3, create=True, dtype=lib.float32, shape=[4, 6], dimension_units=["nm", None]
    ).result(timeout=30)
    seen = view(store, lib)
    expected = tuple(None if u is None else lib.Unit(u) for u in units)
    assert seen.dimension_units == expected
    assert seen.schema.dimension_units == expected


@BOTH
def test_spec_takes_the_dimension_expression_shortcuts(lib: Any) -> None:
    spec = lib.Spec({**ZARR3, "transform": {"input_shape": [2, 3]}})
    assert spec.translate_to[1].transform.domain == lib.IndexDomain(inclusive_min=[1, 1], shape=[2, 3])
    assert spec.translate_by[1, 2].transform.domain.origin == (1, 2)
    assert spec.translate_backward_by[1].transform.domain.origin == (-1, -1)
    assert spec.label["a", "b"].transform.domain.labels == ("a", "b")
    assert spec.mark_bounds_implicit[True].transform.domain.implicit_lower_bounds == (True, True)


@BOTH
def test_a_cast_view_reads_and_writes_in_the_transaction(lib: Any) -> None:
    store = lib.open(
        {"driver": "zarr", "kvstore": "memory://"}, create=True, dtype=lib.int16, shape=[4]
    ).result(timeout=30)
    txn = lib.Transaction()
    view = lib.cast(store.with_transaction(txn), lib.int32)
    assert view.transaction is txn
    view[0] = 9
    assert list(store.read().result(timeout=30)) == [0, 0, 0, 0]  # not before the commit
    assert list(view.read().result(timeout=30)) == [9, 0, 0, 0]
    lib.cast(store, lib.int32).with_transaction(txn).write(
        np.array([1, 2, 3, 4], np.int32)
    ).result(timeout=30)
    assert list(store.with_transaction(txn).read().result(timeout=30)) == [1, 2, 3, 4]
    assert list(store.read().result(timeout=30)) == [0, 0, 0, 0]
    txn.commit_sync()
    assert list(store.read().result(timeout=30)) == [1, 2, 3, 4]


@BOTH
def test_a_cast_of_a_cast_view_stages_in_the_transaction(lib: Any) -> None:
    store = lib.open(
        {"driver": "zarr", "kvstore": "memory://"}, create=True, dtype=lib.int16, shape=[4]
    ).result(timeout=30)
    txn = lib.Transaction()
    view = lib.cast(lib.cast(store.with_transaction(txn), lib.int64), lib.float32)
    view[1:3] = [5.0, 6.5]
    view[3:4].write(store[0:1]).result(timeout=30)  # a TensorStore source, read outside
    assert view.read().result(timeout=30).tolist() == [0.0, 5.0, 6.0, 0.0]
    assert list(store.read().result(timeout=30)) == [0, 0, 0, 0]
    txn.commit_sync()
    assert list(store.read().result(timeout=30)) == [0, 5, 6, 0]


@BOTH
def test_a_zarr2_array_without_fill_value_stores_every_written_chunk(lib: Any) -> None:
    # fill_value null: no chunk is dropped as "equal to the fill value".
    store = lib.open(
        {"driver": "zarr", "kvstore": "memory://"},
        create=True,
        dtype=lib.int64,
        shape=[4],
        chunk_layout=lib.ChunkLayout(write_chunk_shape=[2]),
    ).result(timeout=30)
    assert store.spec().to_json()["metadata"]["fill_value"] is None
    store[0:2] = 0
    store[2:4] = [0, 5]
    store[2:4] = 0
    assert sorted(store.kvstore.list().result(timeout=30)) == [b".zarray", b"0", b"1"]
    stats = store.storage_statistics(query_not_stored=True, query_fully_stored=True).result(timeout=30)
    assert (stats.not_stored, stats.fully_stored) == (False, True)


def _zarr(lib: Any, shape: list[int]) -> Any:
    return lib.open(
        {"driver": "zarr", "kvstore": "memory://"}, create=True, dtype=lib.int16, shape=shape
    ).result(timeout=30)


@BOTH
@pytest.mark.parametrize(
    ("resize", "message"),
    [
        (lambda s, m: s[2:4].resize(exclusive_max=[6], resize_tied_bounds=True),
         "Invalid resize request for input dimension 0: Cannot change explicit upper bound"),
        (lambda s, m: s.resize(inclusive_min=[0]),
         "Invalid resize request for input dimension 0: Cannot change explicit lower bound"),
        (lambda s, m: s[2:].resize(exclusive_max=[12]),
         r"Resize operation would also affect output dimension 0 over the interval \[0, 2\) "
         "but `resize_tied_bounds` was not specified"),
    ],
    ids=["explicit-upper", "explicit-lower", "partial-view"],
)
def test_a_resize_only_changes_what_the_view_may(lib: Any, resize: Any, message: str) -> None:
    store = _zarr(lib, [9])
    with pytest.raises(ValueError, match=message):
        resize(store, lib).result(timeout=30)
    assert store.shape == (9,)


@BOTH
@pytest.mark.parametrize(
    ("view", "message"),
    [
        (lambda s, m: s[::2], "Output dimension 0 depends on input dimension 0 with non-unit stride of 2"),
        (lambda s, m: s[1], r"would also affect output dimension 0 over the interval \[0, 1\)"),
        (lambda s, m: s[0], r"would also affect output dimension 0 over the interval \[1, 4\)"),
        (lambda s, m: s.oindex[[0, 1]], "Output dimension 0 has index array map"),
    ],
    ids=["stride", "constant", "constant-first", "index-array"],
)
def test_a_resize_through_a_view_with_tied_dimensions(lib: Any, view: Any, message: str) -> None:
    store = _zarr(lib, [4, 5])
    tied = view(store, lib)
    new_max = [None] * (tied.rank - 1) + [8]
    with pytest.raises(ValueError, match=message):
        tied.resize(exclusive_max=new_max).result(timeout=30)
    if "index array" not in message:
        resized = tied.resize(exclusive_max=new_max, resize_tied_bounds=True).result(timeout=30)
        assert resized.domain.exclusive_max[-1] == 8


@BOTH
@pytest.mark.parametrize("index_location", ["end", "start"])
def test_storage_statistics_of_a_sharded_array_count_inner_chunks(lib: Any, index_location: str) -> None:
    sharding = {"chunk_shape": [2, 2], "index_location": index_location}
    store = lib.open(
        {**ZARR3, "metadata": {"codecs": [{"name": "sharding_indexed", "configuration": sharding}]}},
        create=True,
        dtype=lib.uint8,
        shape=[7, 5],
        chunk_layout=lib.ChunkLayout(write_chunk_shape=[4, 4]),
    ).result(timeout=30)
    store[0, 0] = 1
    store[5, 4] = 2
    expected = {
        (0, 2, 0, 2): (False, True),
        (2, 4, 0, 5): (True, False),  # a stored shard, none of these inner chunks
        (0, 4, 0, 2): (False, False),
        (4, 6, 4, 5): (False, True),
        (1, 3, 1, 3): (False, False),
    }
    for (a, b, c, d), flags in expected.items():
        stats = store[a:b, c:d].storage_statistics(
            query_not_stored=True, query_fully_stored=True
        ).result(timeout=30)
        assert (stats.not_stored, stats.fully_stored) == flags


@BOTH
def test_an_inner_order_with_a_codec_constraint_without_transpose(lib: Any, tmp_path: Any) -> None:
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path)}}
    little = [{"name": "bytes", "configuration": {"endian": "little"}}]
    store = lib.open(
        spec,
        create=True,
        dtype=lib.uint16,
        shape=[4, 4],
        chunk_layout=lib.ChunkLayout(inner_order=[1, 0]),
        codec=lib.CodecSpec({"driver": "zarr3", "codecs": little}),
    ).result(timeout=30)
    transpose = {"name": "transpose", "configuration": {"order": [1, 0]}}
    assert store.spec().to_json()["metadata"]["codecs"] == [transpose, *little]
    # The constraint leaves array-to-array codecs open when reopening too; others must match.
    lib.open(spec, codec=lib.CodecSpec({"driver": "zarr3", "codecs": little})).result(timeout=30)
    gzip = [{"name": "bytes"}, {"name": "gzip"}]
    with pytest.raises(ValueError, match="codec from metadata does not match codec in schema"):
        lib.open(spec, codec=lib.CodecSpec({"driver": "zarr3", "codecs": gzip})).result(timeout=30)


@BOTH
def test_no_dimension_units_store_no_attributes(lib: Any) -> None:
    store = lib.open(ZARR3, create=True, dtype=lib.uint8, shape=[4], dimension_units=[None]).result(
        timeout=30
    )
    assert "attributes" not in store.spec().to_json()["metadata"]


@BOTH
def test_a_specs_base_is_an_adapters_base_seen_through_its_transform(lib: Any) -> None:
    zarr = {"driver": "zarr", "kvstore": {"driver": "memory"}}
    assert lib.Spec({**zarr, "transform": {"input_shape": [3]}}).base is None
    assert lib.Spec({"driver": "array", "array": [1, 2], "dtype": "int32"}).base is None
    cast = lib.Spec(
        {
            "driver": "cast",
            "dtype": "int32",
            "base": {**zarr, "transform": {"input_shape": [5]}},
            "transform": {"input_inclusive_min": [1], "input_exclusive_max": [3]},
        }
    )
    assert cast.base.to_json() == {
        **zarr,
        "transform": {"input_inclusive_min": [1], "input_exclusive_max": [3]},
    }
    store = lib.open(zarr, dtype=lib.int16, shape=[4], create=True).result(timeout=30)
    view = lib.cast(store[1:3], lib.int32)
    assert view.spec().base.transform == store[1:3].spec().transform


@BOTH
def test_a_specs_transform_follows_its_drivers_members(lib: Any) -> None:
    zarr3 = {"driver": "zarr3", "kvstore": {"driver": "memory"}}
    named = lib.Spec({**zarr3, "metadata": {"shape": [3, 4], "dimension_names": ["a", None]}})
    assert named.transform == lib.IndexTransform(
        lib.IndexDomain(shape=[3, 4], labels=["a", ""], implicit_upper_bounds=[True, True])
    )
    assert lib.Spec({"driver": "array", "array": [1, 2], "dtype": "int32"}).transform.domain == (
        lib.IndexDomain(shape=[2])
    )
    # An adapter's base's transform is its own.
    cast = lib.Spec({"driver": "cast", "dtype": "int32", "base": {**zarr3, "transform": {"input_shape": [3]}}})
    assert cast.transform == lib.IndexTransform(input_shape=[3])


@BOTH
def test_a_specs_schema_is_seen_through_its_transform(lib: Any) -> None:
    spec = lib.Spec(
        {
            "driver": "zarr3",
            "kvstore": {"driver": "memory"},
            "metadata": {
                "shape": [10, 20],
                "data_type": "int16",
                "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4, 6]}},
                "fill_value": 3,
                "attributes": {"dimension_units": ["nm", "um"]},
            },
        }
    )
    assert spec.codec.to_json() == {"driver": "zarr3"}
    sliced = spec[1:5, ::2].schema
    assert sliced.chunk_layout.write_chunk.shape == (4, 3)
    assert sliced.dimension_units == (lib.Unit("nm"), lib.Unit("2um"))
    transposed = spec.T.schema
    assert transposed.chunk_layout.write_chunk.shape == (6, 4)
    assert transposed.dimension_units == (lib.Unit("um"), lib.Unit("nm"))
    assert transposed.fill_value == 3


@BOTH
def test_a_spec_follows_a_resize_made_through_another_handle(lib: Any) -> None:
    context = lib.Context()
    spec = {"driver": "zarr3", "kvstore": "memory://r/"}
    store = lib.open(spec, dtype=lib.int8, shape=[4], create=True, context=context).result(timeout=30)
    other = lib.open(spec, context=context).result(timeout=30)
    other.resize(exclusive_max=[8]).result(timeout=30)
    assert store.spec().to_json()["transform"] == {
        "input_exclusive_max": [[8]],
        "input_inclusive_min": [0],
    }
    assert store[1:3].spec().to_json()["transform"] == {
        "input_exclusive_max": [3],
        "input_inclusive_min": [1],
    }


@BOTH
@pytest.mark.parametrize(
    "layout",
    [
        {"chunk_shape": [2, 3]},
        {"read_chunk_shape": [2, 3], "write_chunk_shape": [4, 6]},
        {"chunk_shape": [2, 3], "inner_order": [1, 0]},
    ],
    ids=["plain", "sharded", "transposed"],
)
def test_a_zarr3_stores_spec_has_its_whole_chunk_layout(lib: Any, layout: dict[str, Any]) -> None:
    store = lib.open(
        {"driver": "zarr3", "kvstore": "memory://"},
        dtype=lib.int8,
        shape=[4, 6],
        create=True,
        chunk_layout=lib.ChunkLayout(**layout),
    ).result(timeout=30)
    assert store.spec().chunk_layout.to_json() == store.chunk_layout.to_json()


@BOTH
def test_a_cast_spec_shows_its_bases_schema_kvstore_and_url(lib: Any) -> None:
    spec = lib.Spec(
        {
            "driver": "cast",
            "dtype": "float32",
            "base": {
                "driver": "zarr3",
                "kvstore": "memory://a/",
                "metadata": {
                    "shape": [4, 5],
                    "data_type": "int16",
                    "fill_value": 3,
                    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 5]}},
                    "attributes": {"dimension_units": ["nm", None]},
                },
            },
        }
    )
    assert (spec.rank, spec.shape, spec.dtype) == (2, (4, 5), lib.float32)
    assert spec.fill_value == 3.0
    assert spec.dimension_units == (lib.Unit("nm"), None)
    assert spec.chunk_layout.write_chunk.shape == (2, 5)
    assert spec.kvstore.to_json() == {"driver": "memory", "path": "a/"}
    assert spec.url == "memory://a/|zarr3:|cast:float32"
    parsed = lib.Spec("memory://a/|zarr3:|cast:int32")
    assert parsed.to_json() == {
        "base": {"driver": "zarr3", "kvstore": {"driver": "memory", "path": "a/"}},
        "driver": "cast",
        "dtype": "int32",
    }


@BOTH
@pytest.mark.parametrize(
    ("array", "message"),
    [
        ([[1, 2], [3]], r"Expected array of shape \{2, 2\}, but found array element \[3\] of length 1 at position \{1\}\.$"),
        ([[[1]], [2]], r"Expected rank-3 array, but found non-array element 2 at position \{1, 0\}\.$"),
        ([1, [2]], r"Expected rank-1 array, but found array element \[2\] at position \{1\}\.$"),
    ],
)
def test_an_array_spec_with_ragged_lists_is_refused(lib: Any, array: Any, message: str) -> None:
    with pytest.raises(ValueError, match=r'^Error parsing object member "array": ' + message):
        lib.Spec({"driver": "array", "array": array, "dtype": "int32"})


@BOTH
def test_storage_options_go_to_a_casts_base_and_are_ignored_by_an_array(lib: Any) -> None:
    array = {"driver": "array", "array": [1, 2], "dtype": "int32"}
    spec = lib.Spec(array)
    spec.update(open=True, recheck_cached_data=False)
    assert spec.to_json()["array"] == [1, 2]
    assert "open" not in spec.to_json()
    cast = lib.Spec({"driver": "cast", "dtype": "float32", "base": {"driver": "zarr3", "kvstore": "memory://a/"}})
    cast.update(create=True, recheck_cached=False)
    base = cast.to_json()["base"]
    assert base["create"] is True
    assert (base["recheck_cached_data"], base["recheck_cached_metadata"]) == (False, False)
