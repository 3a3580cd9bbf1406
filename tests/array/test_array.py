"""ts.array: referencing or copying the source, read/write/views, spec, pickling, errors."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
import tensorstore

import tensortrio as ts


def test_references_the_source_by_default() -> None:
    a = np.zeros(3, np.int32)
    t = ts.array(a)
    a[0] = 5
    np.testing.assert_array_equal(t.read().result(), [5, 0, 0])
    t[1] = 7
    np.testing.assert_array_equal(a, [5, 7, 0])
    assert t.mode == "rw"


def test_copy_true_copies_and_copy_false_refuses_to() -> None:
    a = np.zeros(3, np.int32)
    t = ts.array(a, copy=True)
    t[0] = 1
    assert a[0] == 0
    assert ts.array(a, copy=False).read().result()[0] == 0
    with pytest.raises(
        ts.InvalidArgumentError, match=r"^ts.array: copy=False, but the source cannot be referenced"
    ):
        ts.array([1, 2], copy=False)
    with pytest.raises(ts.InvalidArgumentError, match=r"^ts.array: copy=False"):
        ts.array(a, dtype=ts.int64, copy=False)


def test_write_flag() -> None:
    a = np.zeros(3, np.int32)
    a.flags.writeable = False
    assert ts.array(a).mode == "r"
    writable = ts.array(a, write=True)
    assert writable.mode == "rw"
    writable[0] = 4
    assert a[0] == 0
    readonly = ts.array(np.zeros(2), write=False)
    assert readonly.mode == "r"
    with pytest.raises(ValueError, match=r"^Destination does not support writing\.$"):
        readonly[0] = 1


def test_dtype_conversion_follows_tensorstore() -> None:
    b = ts.array([[1, 2, 3], [4, 5, 6]], dtype=ts.uint32)
    assert b.dtype == ts.uint32
    assert str(b.domain) == "{ [0, 2), [0, 3) }"
    assert ts.array([1, 2]).dtype == ts.int64
    assert ts.array(3).shape == ()
    with pytest.raises(
        TypeError, match=r"^Cannot cast array data from dtype\('float64'\) to dtype\('int32'\)"
    ):
        ts.array(np.zeros(3), dtype=ts.int32)
    with pytest.raises(ValueError, match=r"^No TensorStore data type corresponding to NumPy dtype"):
        ts.array(np.array(["a"]))


def test_views_read_and_write() -> None:
    a = np.arange(12, dtype=np.int16).reshape(3, 4)
    t = ts.array(a)
    np.testing.assert_array_equal(t[1:, ::2].read().result(), a[1:, ::2])
    np.testing.assert_array_equal(t.T.read().result(), a.T)
    t[ts.d[1][0]].write(np.array([-1, -2, -3], np.int16)).result()
    np.testing.assert_array_equal(a[:, 0], [-1, -2, -3])
    t.oindex[[0, 2], [1, 3]].write(99).result()
    assert a[0, 1] == a[2, 3] == 99


@pytest.mark.parametrize("lib", [ts, tensorstore], ids=["tensortrio", "tensorstore"])
def test_writes_where_positions_repeat_keep_the_last(lib: Any) -> None:
    # An input dimension no output depends on writes each of its positions to the
    # same elements; repeated index array values do too. The last one stays.
    a = np.zeros((2, 3), np.int32)
    store = lib.array(a)
    transform = lib.IndexTransform(
        input_shape=[4, 2, 3],
        output=[lib.OutputIndexMap(input_dimension=1), lib.OutputIndexMap(input_dimension=2)],
    )
    store[transform].write(np.arange(24, dtype=np.int32).reshape(4, 2, 3)).result(timeout=30)
    np.testing.assert_array_equal(a, [[18, 19, 20], [21, 22, 23]])
    store[transform][:, 1, 2].write(np.arange(4, dtype=np.int32)).result(timeout=30)
    assert a[1, 2] == 3
    store[0, [1, 1, 2, 1]].write(np.array([7, 8, 9, 10], np.int32)).result(timeout=30)
    np.testing.assert_array_equal(a[0], [18, 10, 9])
    scalar = np.array(5, np.int32)
    lib.array(scalar)[lib.IndexTransform(input_shape=[3], output=[])].write(
        np.array([7, 8, 9], np.int32)
    ).result(timeout=30)
    assert scalar == 9


@pytest.mark.parametrize("index", [([], 1), ([],), (slice(1, 1),), (slice(1, 1), [0, 2])])
def test_writing_an_empty_view_changes_nothing(index: tuple[object, ...]) -> None:
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    view = ts.array(a)[index]
    assert view.size == 0
    view.write(np.zeros(view.shape, np.int32)).result(timeout=30)
    np.testing.assert_array_equal(a, np.arange(6).reshape(2, 3))
    assert view.read().result(timeout=30).shape == tuple(view.shape)


def test_write_with_can_reference_source_data_indefinitely() -> None:
    a = np.zeros(4, np.float32)
    t = ts.array(a)
    source = np.arange(4, dtype=np.float32)
    futures = t.write(source, can_reference_source_data_indefinitely=True)
    futures.copy.result(timeout=30)
    futures.commit.result(timeout=30)
    # The store holds its own array: changing the source afterwards changes nothing.
    source[:] = -1
    np.testing.assert_array_equal(t.read().result(), [0, 1, 2, 3])


def test_spec_repr_and_open_match_tensorstore() -> None:
    t = ts.array(np.arange(6, dtype=np.int32).reshape(2, 3))
    expected = tensorstore.array(np.arange(6, dtype=np.int32).reshape(2, 3))
    assert t.spec().to_json() == expected.spec().to_json()
    assert repr(t) == repr(expected)
    assert str(t.schema) == str(expected.schema)
    spec = {"driver": "array", "array": [[1, 2], [3, 4]], "dtype": "int16"}
    opened = ts.open(spec).result()
    assert repr(opened) == repr(tensorstore.open(spec).result())
    np.testing.assert_array_equal(opened.read().result(), [[1, 2], [3, 4]])
    assert ts.array(np.zeros(2, np.complex64) + 1j).spec().to_json()["array"] == [
        [0.0, 1.0],
        [0.0, 1.0],
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"driver": "array", "array": [[1, 2], [3]], "dtype": "int16"},
            r'^Error parsing object member "array": Expected array of shape',
        ),
        (
            {"driver": "array", "dtype": "int16"},
            r'^Error parsing object member "array": Expected array, but member is missing$',
        ),
        ({"driver": "array", "array": [1]}, r'^array: "dtype" must be specified$'),
        (
            {"driver": "array", "array": [1000], "dtype": "int8"},
            r"Expected integer in the range \[-128, 127\], but received: 1000$",
        ),
    ],
)
def test_bad_specs(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ts.InvalidArgumentError, match=message):
        ts.open(spec).result()


def test_pickling_copies_the_array_and_keeps_the_view() -> None:
    a = np.arange(4, dtype=np.int32)
    view = ts.array(a)[1:3]
    copy = pickle.loads(pickle.dumps(view))
    assert copy.domain == view.domain
    np.testing.assert_array_equal(copy.read().result(), [1, 2])
    copy[1] = 50
    assert a[1] == 1


def test_resize_and_storage_statistics() -> None:
    t = ts.array(np.arange(4))
    with pytest.raises(ts.UnimplementedError, match=r"^array: Resize not supported"):
        t.resize(exclusive_max=[5]).result()
    stats = t.storage_statistics(query_not_stored=True, query_fully_stored=True).result()
    assert (stats.not_stored, stats.fully_stored) == (False, True)


@pytest.mark.parametrize("lib", [ts, tensorstore], ids=["tensortrio", "tensorstore"])
def test_out_of_bounds_is_an_index_error_when_indexing_and_a_value_error_when_reading(
    lib: Any,
) -> None:
    store = lib.array(np.arange(6, dtype=np.int32))
    with pytest.raises(
        IndexError,
        match=r"^(OUT_OF_RANGE: )?Checking bounds of constant output index map for dimension 0: "
        r"Index 9 is outside valid range \[0, 6\)",
    ):
        store[9]
    with pytest.raises(
        ValueError,
        match=r"^(OUT_OF_RANGE: )?In index array map for output dimension 0: "
        r"Index 7 is outside valid range \[0, 6\)$",
    ):
        store[[1, 7]].read().result(timeout=30)


@pytest.mark.parametrize("lib", [ts, tensorstore], ids=["tensortrio", "tensorstore"])
def test_unsupported_operations_raise_not_implemented_error(lib: Any) -> None:
    store = lib.array(np.zeros(3, np.int32))
    with pytest.raises(NotImplementedError, match="Resize not supported"):
        store.resize(exclusive_max=[5]).result(timeout=30)
    with pytest.raises(NotImplementedError, match="driver does not support transactions"):
        store.with_transaction(lib.Transaction())[0].write(1).result(timeout=30)


@pytest.mark.parametrize("lib", ["tensortrio", "tensorstore"])
def test_an_object_array_holds_json_values_and_elements_take_any_of_them(lib: str) -> None:
    module = pytest.importorskip(lib)
    store = module.array(np.array([[1, "a"], [None, [1, 2]]], dtype=object))
    assert store.dtype == module.json
    store[0, 0].write({"x": 1}).result()
    store[1].write([{"y": 2}, 5]).result()
    assert store.read().result().tolist() == [[{"x": 1}, "a"], [{"y": 2}, 5]]


@pytest.mark.parametrize("lib", ["tensortrio", "tensorstore"])
def test_an_array_store_has_no_url(lib: str) -> None:
    module = pytest.importorskip(lib)
    with pytest.raises(NotImplementedError):
        module.array(np.arange(3)).url


@pytest.mark.parametrize(
    "view",
    [
        lambda a, ts_: a,
        lambda a, ts_: a[1],
        lambda a, ts_: a[1, 2],
        lambda a, ts_: a[1:3, ::2],
        lambda a, ts_: a[ts_.d[0].translate_by[5]][6:8],
        lambda a, ts_: a[ts_.d[:].label["x", "y"]][:, 2],
        lambda a, ts_: a.vindex[[0, 2], [1, 3]],
        lambda a, ts_: a.T,
        lambda a, ts_: a[..., np.newaxis],
        lambda a, ts_: a[ts_.d[0].mark_bounds_implicit[True]],
    ],
)
def test_a_views_spec_holds_the_views_data_as_tensorstores_does(view: Any) -> None:
    data = np.arange(12, dtype=np.int32).reshape(3, 4)
    ours = view(ts.array(data), ts)
    theirs = view(tensorstore.array(data), tensorstore)
    assert ours.spec().to_json() == theirs.spec().to_json()
    assert repr(ours) == repr(theirs)
    np.testing.assert_array_equal(ts.open(ours.spec()).result().read().result(), ours.read().result())


@pytest.mark.parametrize("lib", [ts, tensorstore], ids=["tensortrio", "tensorstore"])
@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({"inner_order": [1, 0]}, r"Error setting inner_order: New hard constraint \(\{1, 0\}\) does not match existing hard constraint \(\{0, 1\}\)"),
        ({"grid_origin": [1, 1]}, r"Error setting grid_origin: New hard constraint \(1\) for dimension 0 does not match existing hard constraint \(0\)"),
        ({"write_chunk": {"shape": [2, 2]}}, r"(array: )?chunking not supported"),
    ],
)
def test_a_spec_shows_the_arrays_own_chunk_layout_whatever_its_schema_says(
    lib: Any, layout: dict[str, Any], message: str
) -> None:
    # As tensorstore's array spec: the schema's chunk layout is checked only at open.
    spec = lib.Spec({"driver": "array", "array": [[1, 2], [3, 4]], "dtype": "int32", "schema": {"chunk_layout": layout}})
    assert spec.chunk_layout.to_json() == {"grid_origin": [0, 0], "inner_order": [0, 1]}
    assert spec.schema.chunk_layout == spec.chunk_layout
    assert spec.T.chunk_layout.to_json() == {"grid_origin": [0, 0], "inner_order": [1, 0]}
    assert spec.to_json()["schema"] == {"chunk_layout": layout}
    with pytest.raises(ValueError, match=rf"^(Error opening \"array\" driver: )?{message}( \(schema .*\))?( \[tensorstore_spec=.*\])?$"):
        lib.open(spec).result()
