"""Views (indexing, ts.d, oindex, vindex, transpose, translate) read and written vs NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import tensortrio as ts
from tensortrio.errors import OutOfRangeError

SHAPE = (9, 7, 5)
REFERENCE = np.arange(np.prod(SHAPE), dtype=np.int32).reshape(SHAPE)


@pytest.fixture
async def store() -> ts.TensorStore:
    store = await ts.open(
        {"driver": "zarr", "kvstore": "memory://", "metadata": {"chunks": [2, 3, 4]}},
        create=True,
        dtype=ts.int32,
        shape=SHAPE,
    )
    await store.write(REFERENCE)
    return store


KEYS = [
    (slice(None),),
    (1,),
    (slice(2, 8, 3), slice(None, None, -2), 4),
    (Ellipsis, 3),
    (slice(-100, 100) if False else slice(0, 9), 0, slice(1, 4)),
    (np.array([0, 8, 3]),),
    (slice(None), np.array([[0, 6], [2, 2]])),
    (np.array([True, False] * 4 + [True]),),
    (np.newaxis, 2, slice(None, 3)),
]


@pytest.mark.parametrize("key", KEYS, ids=[str(i) for i in range(len(KEYS))])
async def test_default_indexing_reads(store: ts.TensorStore, key: tuple[object, ...]) -> None:
    expected = REFERENCE[key]
    view = store[key]
    assert view.shape == expected.shape
    np.testing.assert_array_equal(await view.read(), expected)


async def test_oindex_and_vindex(store: ts.TensorStore) -> None:
    rows, cols = np.array([0, 5, 8]), np.array([1, 6])
    np.testing.assert_array_equal(
        await store.oindex[rows, cols].read(), REFERENCE[np.ix_(rows, cols)]
    )
    np.testing.assert_array_equal(
        await store.vindex[:, np.array([0, 6]), np.array([1, 4])].read(),
        np.moveaxis(REFERENCE[:, np.array([0, 6]), np.array([1, 4])], 1, 0),
    )


async def test_dim_expressions_and_shortcuts(store: ts.TensorStore) -> None:
    np.testing.assert_array_equal(await store.T.read(), REFERENCE.T)
    np.testing.assert_array_equal(
        await store.transpose([1, 0, 2]).read(), REFERENCE.transpose(1, 0, 2)
    )
    np.testing.assert_array_equal(
        await store[ts.d[2].stride[2]][ts.d[0][3:5]].read(), REFERENCE[3:5, :, ::2]
    )
    moved = store.translate_to[10, 20, 30]
    assert moved.origin == (10, 20, 30)
    np.testing.assert_array_equal(await moved[12, 21:23].read(), REFERENCE[2, 1:3])
    labelled = store.label["x", "y", "z"]
    np.testing.assert_array_equal(await labelled[ts.d["y"][4]].read(), REFERENCE[:, 4])
    assert (await store.translate_by[1, 1, 1].read()).shape == SHAPE


async def test_writes_through_views_match_numpy(store: ts.TensorStore) -> None:
    expected = REFERENCE.copy()
    await store[1:8:3, ::-2].write(-1)
    expected[1:8:3, ::-2] = -1
    await store.oindex[np.array([0, 4]), :, np.array([1, 3])].write(np.full((2, 7, 2), 9, np.int32))
    expected[np.ix_([0, 4], range(7), [1, 3])] = 9
    await store.T[2, 3].write(np.arange(9, dtype=np.int32))
    expected.T[2, 3] = np.arange(9)
    store[ts.d[0].translate_by[100]][104, 0] = [5, 6, 7, 8, 9]
    expected[4, 0] = [5, 6, 7, 8, 9]
    await store.vindex[np.array([8, 0]), np.array([6, 0])].write([[1, 2, 3, 4, 5]])
    expected[[8, 0], [6, 0]] = [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(await store.read(), expected)


async def test_out_of_bounds_views_fail_on_io(store: ts.TensorStore) -> None:
    # The upper bounds are implicit (resizable), so the view can be made...
    view = store[10]
    # ...but reading or writing outside the stored domain fails.
    with pytest.raises(OutOfRangeError):
        await view.read()
    with pytest.raises(OutOfRangeError):
        await view.write(0)
    with pytest.raises(IndexError):
        store[-1]


async def test_read_order_and_array(store: ts.TensorStore) -> None:
    fortran = await store.read(order="F")
    assert fortran.flags.f_contiguous
    np.testing.assert_array_equal(fortran, REFERENCE)
    with pytest.raises(TypeError, match=r"^`order` must be specified as 'C' or 'F'$"):
        store.read(order="X")
    np.testing.assert_array_equal(np.asarray(store[2]), REFERENCE[2])
    assert np.asarray(store[2], dtype=np.float64).dtype == np.float64


async def test_write_source_conversion_and_alignment(store: ts.TensorStore) -> None:
    with pytest.raises(
        TypeError,
        match=r"^Cannot cast array data from dtype\('float64'\) to dtype\('int32'\) according "
        r"to the rule 'safe'$",
    ):
        store.write(np.zeros(SHAPE))
    # As in TensorStore: a source that converts but does not align fails the futures.
    misaligned = store[1:3].write(np.zeros((3, 5), np.int32))
    with pytest.raises(
        ValueError,
        match=r"^Error aligning dimensions: source dimension 0 \[0, 3\) mismatch with target "
        r"dimension 1 \[0, 7\)$",
    ):
        await misaligned
    with pytest.raises(OverflowError):
        store.write(2**40)
    # A source may not have more dimensions than the target.
    with pytest.raises(
        ValueError,
        match=r"^setting an array element with a sequence\. The requested array would exceed "
        r"the maximum number of dimension of 1\.$",
    ):
        store[1, 1].write([[2.7]])
    with pytest.raises(ValueError, match=r"^object too deep for desired array$"):
        store[1, 1].write(np.zeros((1, 5), np.int32))
    with pytest.raises(ValueError, match=r"^Expected array of rank 0, but received array of rank 1$"):
        store[1, 1, 1].write([2])
    # Python objects convert directly, NumPy arrays safely; size-1 dimensions broadcast.
    await store[0].write(np.arange(5, dtype=np.int16))
    await store[1].write([[2.7]])
    expected = REFERENCE.copy()
    expected[0] = np.arange(5)
    expected[1] = 2
    np.testing.assert_array_equal(await store[0:2].read(), expected[0:2])


async def test_write_from_another_store(store: ts.TensorStore) -> None:
    other = await ts.open(
        {"driver": "zarr", "kvstore": "memory://"}, create=True, dtype=ts.int64, shape=[7, 5]
    )
    await other.write(store[3])
    np.testing.assert_array_equal(await other.read(), REFERENCE[3])


def test_oindex_and_vindex_assignment_match_tensorstore() -> None:
    store = ts.open(
        {"driver": "zarr", "kvstore": "memory://"}, dtype=ts.uint8, shape=[4, 4], create=True
    ).result()
    store.oindex[[0, 2], [1, 3]] = 7
    store.vindex[[1, 3], [0, 0]] = [5, 6]
    # The array tensorstore 0.1.86 produces for the same two assignments.
    assert store.read().result().tolist() == [[0, 7, 0, 7], [5, 0, 0, 0], [0, 7, 0, 7], [6, 0, 0, 0]]
