"""ts.downsample and the "downsample" driver: methods, views, specs and errors, against tensorstore."""

from __future__ import annotations

import collections
import itertools
import pickle
from typing import Any

import numpy as np
import pytest

import tensortrio as tt

tensorstore = pytest.importorskip("tensorstore")

BOTH = pytest.mark.parametrize("lib", [tt, tensorstore], ids=["tensortrio", "tensorstore"])


@BOTH
@pytest.mark.parametrize(
    ("data", "factors", "method", "expected"),
    [
        # The documentation's examples: the lower median; blocks from index 0.
        (np.array([4.0, 3.0, 1.0, 2.0]), [4], "median", [2.0]),
        (np.arange(7, dtype=np.uint8) + 1, [3], "median", [2, 5, 7]),
        (np.arange(20, dtype=np.int32).reshape(4, 5), [2, 2], "mean", [[3, 5, 6], [13, 15, 16]]),
        # Integer means round to the nearest, ties to even.
        (np.array([-3, -2, -3, -4, 255 - 256, 0], np.int8), [2], "mean", [-2, -4, 0]),
        (np.array([255, 254], np.uint8), [2], "mean", [254]),
        (np.arange(10, dtype=np.int64), [4], "mean", [2, 6, 8]),
        (np.array([2**63 - 1, 2**63 - 3], np.int64), [2], "mean", [2**63 - 2]),
        # bool: the mean is the mode, a tie is False.
        (np.array([True, False, False, True, True]), [2], "mean", [False, False, True]),
        (np.array([True, False, True, True]), [4], "median", [True]),
        # The mode; a tie goes to the lowest value.
        (np.array([3, 1, 3, 1, 2, 2], np.int8), [6], "mode", [1]),
        (np.array([1.5, np.nan, 2.0], np.float32), [3], "max", [2.0]),
        (np.array([5, -1, 7, 2], np.int16), [3], "min", [-1, 2]),
        (np.arange(12, dtype=np.uint16).reshape(3, 4), [2, 3], "stride", [[0, 3], [8, 11]]),
        (np.array([1 + 2j, 3 - 4j, 5j], np.complex64), [2], "mean", [2 - 1j, 5j]),
        # A partial block's mode counts only its elements, whatever they sort after.
        (np.array([1, 2, 3, 4, complex(np.inf, 1), complex(np.inf, 1), 1], np.complex64), [4], "mode", [1, complex(np.inf, 1)]),
        (np.array([1, 2, 3, 4], np.float16), [4], "mean", [2.5]),
    ],
)
def test_each_method_as_documented(
    lib: Any, data: np.ndarray, factors: list[int], method: str, expected: Any
) -> None:
    view = lib.downsample(lib.array(data), factors, method)
    assert not view.writable
    np.testing.assert_array_equal(view.read().result(), np.array(expected, dtype=data.dtype))


@BOTH
def test_a_view_of_a_translated_or_cut_base_blocks_from_index_zero(lib: Any) -> None:
    base = lib.array(np.array([1, 2, 3, 4, 5, 6, 7], np.uint8))
    cut = lib.downsample(base[2:], [3], "mean")
    assert cut.domain == lib.IndexDomain(inclusive_min=[0], exclusive_max=[3])
    np.testing.assert_array_equal(cut.read().result(), [3, 5, 7])  # blocks {2}, {3, 4, 5}, {6}
    moved = lib.downsample(base[lib.d[0].translate_by[-5]], [3], "max")
    assert moved.domain == lib.IndexDomain(inclusive_min=[-2], exclusive_max=[1])
    np.testing.assert_array_equal(moved.read().result(), [2, 5, 7])  # blocks {1, 2}, {3, 4, 5}, {6, 7}
    strided = lib.downsample(base[1:], [3], "stride")
    assert strided.domain == lib.IndexDomain(inclusive_min=[1], exclusive_max=[3])
    np.testing.assert_array_equal(strided.read().result(), [4, 7])


@BOTH
def test_views_of_a_downsampled_store(lib: Any) -> None:
    data = np.arange(90, dtype=np.uint16).reshape(9, 10)
    view = lib.downsample(lib.array(data), [2, 3], "mean")
    full = view.read().result()
    assert full.shape == (5, 4)
    np.testing.assert_array_equal(view[1:3, 2:].read().result(), full[1:3, 2:])
    np.testing.assert_array_equal(view.T.read().result(), full.T)
    np.testing.assert_array_equal(view.vindex[[0, 4], [1, 3]].read().result(), full[[0, 4], [1, 3]])
    np.testing.assert_array_equal(view[3].read().result(), full[3])
    np.testing.assert_array_equal(view[lib.d[0].translate_by[10]][12].read().result(), full[2])


def _reference(values: list[Any], method: str, dtype: np.dtype[Any]) -> Any:
    """The documented result of ``method`` over one block's values."""
    if method == "mean":
        if dtype.kind == "b":
            return 2 * sum(map(bool, values)) > len(values)
        if dtype.kind in "iu":
            quotient, remainder = divmod(sum(int(v) for v in values), len(values))
            return quotient + (2 * remainder > len(values) or (2 * remainder == len(values) and quotient % 2))
        return np.mean(np.array(values, dtype=np.float64))
    if method == "min":
        return min(values)
    if method == "max":
        return max(values)
    if method == "median":
        return sorted(values)[(len(values) - 1) // 2]
    tally = collections.Counter(values)
    top = max(tally.values())
    return min(v for v, n in tally.items() if n == top)


@pytest.mark.parametrize("seed", range(6))
def test_every_position_is_its_block_reduced(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(25):
        rank = int(rng.integers(1, 4))
        shape = [int(rng.integers(1, 7)) for _ in range(rank)]
        dtype = np.dtype(["uint8", "int16", "int64", "uint64", "float32", "float64", "bool"][rng.integers(7)])
        if dtype.kind == "b":
            data = rng.random(shape) > 0.5
        elif dtype.kind == "f":
            data = (rng.integers(-20, 20, shape) / 4).astype(dtype)
        else:
            info = np.iinfo(dtype)
            data = rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
        method = ["stride", "mean", "min", "max", "median", "mode"][rng.integers(6)]
        factors = [int(rng.integers(1, 5)) for _ in range(rank)]
        base = tt.array(data)
        for d in range(rank):
            if rng.random() < 0.4:
                base = base[tt.d[d].translate_by[int(rng.integers(-5, 6))]]
            elif rng.random() < 0.3:
                base = base[tt.d[d].stride[-1]]
        values, origin = base.read().result(), base.domain.inclusive_min
        view = tt.downsample(base, factors, method)
        got = view.read().result()
        for position in itertools.product(*(range(d.inclusive_min, d.exclusive_max) for d in view.domain)):
            value = got[tuple(p - d.inclusive_min for p, d in zip(position, view.domain, strict=True))]
            if method == "stride":
                want = values[tuple(p * f - o for p, f, o in zip(position, factors, origin, strict=True))]
            else:
                block = itertools.product(*(
                    range(max(p * f, o), min((p + 1) * f, o + n))
                    for p, f, o, n in zip(position, factors, origin, values.shape, strict=True)
                ))
                members = [values[tuple(i - o for i, o in zip(index, origin, strict=True))] for index in block]
                want = _reference(members, method, values.dtype)
            if dtype.kind == "f" and method == "mean":
                assert value == pytest.approx(want, rel=1e-6), (method, factors, position)
            else:
                assert value == want, (method, factors, position, data.tolist())


@BOTH
def test_a_stored_array_downsampled_reads_reopens_and_pickles(lib: Any, tmp_path: Any) -> None:
    spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": str(tmp_path)}}
    store = lib.open(spec, create=True, dtype="uint16", shape=[9, 10], chunk_layout=lib.ChunkLayout(chunk_shape=[4, 4])).result()
    store[...] = np.arange(90, dtype=np.uint16).reshape(9, 10)
    view = lib.downsample(store, [2, 3], "mean")
    expected = view.read().result()
    json = view.spec().to_json()
    assert json["driver"] == "downsample"
    assert json["downsample_factors"] == [2, 3]
    assert json["downsample_method"] == "mean"
    assert json["dtype"] == "uint16"
    assert json["base"]["driver"] == "zarr"
    np.testing.assert_array_equal(lib.open(view.spec()).result().read().result(), expected)
    part = lib.open(view[1:, 2:].spec()).result()
    assert part.domain == view[1:, 2:].domain
    np.testing.assert_array_equal(part.read().result(), expected[1:, 2:])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(view[1:])).read().result(), expected[1:])
    assert view.base.domain == lib.IndexDomain(shape=[9, 10])
    assert view[1:].base.domain == lib.IndexDomain(inclusive_min=[2, 0], exclusive_max=[9, 10])
    opened = lib.open(
        {"driver": "downsample", "base": spec, "downsample_factors": [3, 3], "downsample_method": "median"}
    ).result()
    assert opened.readable
    assert not opened.writable
    np.testing.assert_array_equal(opened[0].read().result(), [11, 14, 17, 19])
    with pytest.raises(ValueError, match=r"only reading is supported"):
        lib.open({"driver": "downsample", "base": spec, "downsample_factors": [3, 3], "downsample_method": "median"}, write=True).result()
    # Growing the base grows the view.
    store.resize(exclusive_max=[12, None]).result()
    assert lib.open(view.spec()).result().domain.shape == (6, 4)


@BOTH
def test_a_schema_scales_units_and_keeps_dtype_codec_and_fill_value(lib: Any) -> None:
    store = lib.open(
        {"driver": "zarr3", "kvstore": "memory://"}, create=True, dtype="uint8", shape=[7, 6],
        chunk_layout=lib.ChunkLayout(chunk_shape=[2, 3]), dimension_units=["4nm", None], fill_value=3,
    ).result()
    schema = lib.downsample(store, [2, 3], "mean").schema
    assert schema.dimension_units == (lib.Unit(8, "nm"), None)
    assert schema.dtype == lib.uint8
    assert schema.fill_value == 3
    assert schema.domain == lib.IndexDomain(json={"inclusive_min": [0, 0], "exclusive_max": [[4], [2]]})
    assert schema.chunk_layout.to_json() == {
        "grid_origin": [0, 0], "inner_order": [0, 1], "read_chunk": {"shape": [1, 1]}, "write_chunk": {"shape": [1, 1]},
    }
    assert schema.codec.to_json() == store.codec.to_json()


@BOTH
def test_a_read_in_a_transaction_sees_its_staged_writes(lib: Any) -> None:
    store = lib.open({"driver": "zarr", "kvstore": "memory://"}, create=True, dtype="int32", shape=[4, 4]).result()
    txn = lib.Transaction()
    store.with_transaction(txn)[0, 0] = 1000
    assert lib.downsample(store.with_transaction(txn), [2, 2], "max")[0, 0].read().result() == 1000
    assert lib.downsample(store, [2, 2], "max")[0, 0].read().result() == 0
    txn.abort()


@BOTH
def test_a_spec_downsampled(lib: Any) -> None:
    spec = lib.downsample(lib.Spec({"driver": "zarr", "kvstore": "memory://", "dtype": "int16"}), [2, 2], "max")
    json = spec.to_json()
    assert (json["driver"], json["downsample_factors"], json["downsample_method"]) == ("downsample", [2, 2], "max")
    assert spec.dtype == lib.int16
    given = lib.Spec({
        "driver": "downsample",
        "base": {"driver": "zarr", "kvstore": "memory://", "metadata": {"shape": [5, 5], "dtype": "<i2"}},
        "downsample_factors": [2, 2],
        "downsample_method": "mean",
    })
    assert given.domain == lib.IndexDomain(json={"inclusive_min": [0, 0], "exclusive_max": [[3], [3]]})
    assert given.dtype == lib.int16


@BOTH
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda lib: lib.downsample(lib.array(np.arange(6)), [2, 2], "mean"),
         r"^Number of downsample factors \(2\) does not match TensorStore rank \(1\)$"),
        (lambda lib: lib.downsample(lib.array(np.arange(6)), [0], "mean"),
         r"^Downsample factors \{0\} are not all positive$"),
        (lambda lib: lib.downsample(lib.array(np.arange(6)), [2], "avg"),
         r'^Expected one of "stride", "mean", "min", "max", "median", "mode", but received: "avg"$'),
        (lambda lib: lib.downsample(lib.array(np.array([1j, 2j])), [2], "median"),
         r'^Downsample method "median" does not support data type "complex128"$'),
        (lambda lib: lib.Spec({"driver": "downsample", "base": {"driver": "zarr", "kvstore": "memory://"},
                               "downsample_factors": [2, 0], "downsample_method": "mean"}),
         r'^Error parsing object member "downsample_factors": Error parsing value at position 1: '
         r"Expected integer in the range \[1, 9223372036854775807\], but received: 0$"),
        (lambda lib: lib.Spec({"driver": "downsample", "base": {"driver": "zarr", "kvstore": "memory://"},
                               "downsample_method": "mean"}),
         r'^Error parsing object member "downsample_factors": Expected array, but member is missing$'),
        (lambda lib: lib.Spec({"driver": "downsample", "base": {"driver": "zarr", "kvstore": "memory://", "dtype": "string"},
                               "downsample_factors": [2], "downsample_method": "mean"}),
         r'^Error parsing object member "downsample_method": Downsample method "mean" does not support data type "string"$'),
    ],
)
def test_bad_arguments_are_named(lib: Any, call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(lib)


@BOTH
def test_writing_and_resizing_are_refused(lib: Any) -> None:
    store = lib.open({"driver": "zarr", "kvstore": "memory://"}, create=True, dtype="int32", shape=[4]).result()
    view = lib.downsample(store, [2], "mean")
    with pytest.raises(ValueError, match=r"(?i)writ"):
        view.write(1).result()
    with pytest.raises(ValueError, match=r"(?i)writ"):
        view.resize(exclusive_max=[3]).result()
    np.testing.assert_array_equal(store.read().result(), [0, 0, 0, 0])


def test_text_takes_stride_and_mode_only() -> None:
    text = tt.array(np.array(["b", "a", "b", "a", "c"], dtype=object), dtype=tt.ustring)
    np.testing.assert_array_equal(tt.downsample(text, [4], "mode").read().result(), ["a", "c"])
    np.testing.assert_array_equal(tt.downsample(text, [2], "stride").read().result(), ["b", "b", "c"])
    with pytest.raises(ValueError, match=r'^Downsample method "min" does not support data type "ustring"$'):
        tt.downsample(text, [2], "min")


@pytest.mark.parametrize("method", ["stride", "mean", "median", "mode"])
def test_a_read_in_many_slabs_equals_one_read(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    from tensortrio.drivers import downsample as downsample_module

    data = np.random.default_rng(3).integers(0, 5, (37, 11), dtype=np.int32)
    base = tt.array(data)[tt.d[0].translate_by[-4]]
    whole = tt.downsample(base, [3, 2], method).read().result()
    monkeypatch.setattr(downsample_module, "SLAB_BYTES", 100)  # (a slab of one block row)
    view = tt.downsample(base, [3, 2], method)
    np.testing.assert_array_equal(view.read().result(), whole)
    np.testing.assert_array_equal(view[2:9:3, 1:].read().result(), whole[2 - view.origin[0] : 9 - view.origin[0] : 3, 1:])


@BOTH
@pytest.mark.parametrize(
    ("chunk", "factors", "expected"),
    [([4, 4], [2, 3], [2, 4]), ([8, 9], [2, 3], [4, 3]), ([6, 6], [4, 4], [3, 3]), ([12, 12], [8, 9], [3, 4])],
)
def test_a_chunk_repeats_every_chunk_over_gcd_positions(
    lib: Any, chunk: list[int], factors: list[int], expected: list[int]
) -> None:
    store = lib.open(
        {"driver": "zarr3", "kvstore": "memory://"}, create=True, dtype="uint8", shape=[24, 24],
        chunk_layout=lib.ChunkLayout(chunk_shape=chunk),
    ).result()
    layout = lib.downsample(store, factors, "mean").chunk_layout
    assert layout.read_chunk.shape == tuple(expected)
    assert layout.write_chunk.shape == tuple(expected)


@BOTH
def test_edge_cases_of_extent_and_rank(lib: Any) -> None:
    empty = lib.downsample(lib.array(np.zeros((0, 3), np.int32))[lib.d[0].translate_to[1]], [2, 1], "mean")
    assert empty.domain == lib.IndexDomain(inclusive_min=[0, 0], exclusive_max=[0, 3])
    assert empty.read().result().shape == (0, 3)
    assert lib.downsample(lib.array(np.array(2**63 - 1, np.int64)), [], "mean").read().result() == 2**63 - 1
    with pytest.raises(TypeError):
        lib.downsample(lib.array(np.arange(10)), [2.5], "mean")


def test_a_factor_beyond_the_extent_reduces_all_of_it() -> None:
    # (tensorstore 0.1.86 does not return from this read.)
    assert tt.downsample(tt.array(np.arange(10)), [2**40], "mean").read().result().tolist() == [4]
    assert tt.downsample(tt.array(np.arange(10))[3:], [2**62], "max").read().result().tolist() == [9]


def test_text_mode_of_rank_zero() -> None:
    text = tt.array(np.array("ab", dtype=object), dtype=tt.ustring)
    assert tt.downsample(text, [], "mode").read().result() == "ab"


@BOTH
def test_a_schema_domain_that_the_view_does_not_have_is_refused_at_open(lib: Any, tmp_path: Any) -> None:
    base = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path)}}
    lib.open(base, create=True, dtype="uint8", shape=[6, 7]).result()
    spec = {"driver": "downsample", "base": base, "downsample_factors": [2, 2], "downsample_method": "mean"}
    assert lib.open({**spec, "schema": {"domain": {"shape": [3, 4]}}}).result().shape == (3, 4)
    with pytest.raises(ValueError, match=r"downsampled domain does not match domain in schema"):
        lib.open({**spec, "schema": {"domain": {"shape": [7, 7]}}}).result()


@BOTH
def test_a_kvstore_base_opens_the_array_there(lib: Any, tmp_path: Any) -> None:
    store = lib.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": str(tmp_path)}}, create=True, dtype="uint8", shape=[4]).result()
    store[...] = [1, 2, 3, 4]
    spec = {"driver": "downsample", "base": {"driver": "file", "path": str(tmp_path) + "/"}, "downsample_factors": [2], "downsample_method": "mean"}
    assert lib.Spec(spec).to_json()["base"]["driver"] == "auto"
    np.testing.assert_array_equal(lib.open(spec).result().read().result(), [2, 4])


@BOTH
def test_the_base_of_a_strided_view_is_the_base_strided(lib: Any) -> None:
    base = lib.array(np.arange(12, dtype=np.int32).reshape(3, 4))
    view = lib.downsample(base, [2, 2], "stride")
    assert view.base.domain == lib.IndexDomain(shape=[2, 2])
    assert view.base.read().result().tolist() == [[0, 2], [8, 10]]
    assert view[1:].base.read().result().tolist() == [[8, 10]]
    assert lib.downsample(base, [2, 2], "mean").base.domain == lib.IndexDomain(shape=[3, 4])


@BOTH
@pytest.mark.parametrize(
    ("data", "factors", "expected"),
    [
        # Floats are summed from zero in each block's C order, in the element type (float16
        # in float32): 1e8 + 1 rounds back to 1e8 in float32, so the order shows.
        (np.array([[1e8, 1], [-1e8, 1]], np.float32), [2, 2], [[0.25]]),
        (np.array([[1e8, -1e8], [1, 1]], np.float32), [2, 2], [[0.5]]),
        (np.array([1e8, *[1] * 14, -1e8], np.float32), [16], [0.0]),
    ],
)
def test_a_float_mean_sums_each_block_in_order(
    lib: Any, data: np.ndarray, factors: list[int], expected: Any
) -> None:
    got = lib.downsample(lib.array(data), factors, "mean").read().result()
    np.testing.assert_array_equal(got, np.array(expected, dtype=data.dtype))


def _block_reference(values: np.ndarray, origin: list[int], factors: list[int], method: str) -> np.ndarray:
    """Every block reduced on its own by :func:`_reference` (blocks from index 0, partial at the edges)."""
    lows = [o // f for o, f in zip(origin, factors, strict=True)]
    highs = [-(-(o + n) // f) for o, n, f in zip(origin, values.shape, factors, strict=True)]
    out = np.empty([h - lo for lo, h in zip(lows, highs, strict=True)], dtype=values.dtype)
    for position in itertools.product(*(range(lo, h) for lo, h in zip(lows, highs, strict=True))):
        window = tuple(
            slice(max(p * f - o, 0), min((p + 1) * f - o, n))
            for p, f, o, n in zip(position, factors, origin, values.shape, strict=True)
        )
        members = values[window].reshape(-1).tolist()
        out[tuple(p - lo for p, lo in zip(position, lows, strict=True))] = _reference(members, method, values.dtype)
    return out


@pytest.mark.parametrize("method", ["mean", "min", "max", "median", "mode"])
@pytest.mark.parametrize(
    ("dtype", "low", "high"),
    [
        ("uint8", 0, 255), ("int8", -128, 127), ("uint16", 0, 65535), ("int32", -(2**31), 2**31 - 1),
        ("int64", -(2**62), 2**62), ("uint64", 2**64 - 9, 2**64 - 1), ("bool", 0, 1), ("float64", -4, 4),
    ],
)
@pytest.mark.parametrize(
    ("shape", "origin", "factors"),
    [
        ([23, 17, 11], [-3, 5, 1], [2, 3, 4]),  # partial blocks on both sides of every dimension
        ([12, 10], [0, 0], [3, 2]),  # whole blocks only (6 a block: ties of an even, not power-of-2 count)
        ([9, 8, 8], [0, 1, 0], [3, 3, 1]),  # 9 a block: no ties
        ([16, 16], [0, 0], [4, 4]),  # 16 a block
        ([5, 4, 4, 6], [1, 0, 0, 0], [5, 2, 2, 1]),  # 20 a block, rank 4
    ],
)
def test_whole_and_partial_blocks_in_many_pieces_are_each_their_block_reduced(
    monkeypatch: pytest.MonkeyPatch, method: str, dtype: str, low: int, high: int,
    shape: list[int], origin: list[int], factors: list[int],
) -> None:
    from tensortrio.drivers import downsample_full

    monkeypatch.setattr(downsample_full, "PIECE_BYTES", 64)  # many pieces, some of one block
    rng = np.random.default_rng(len(shape) * 100 + sum(factors))
    if dtype == "bool":
        values = rng.random(shape) < 0.5
    elif dtype == "float64":
        values = rng.integers(low, high, shape, endpoint=True) / 2  # ties and repeats
    else:
        # Extremes and their neighbours (sums near the accumulator's limits), and repeats.
        candidates = np.array([low, low + 1, high - 1, high, (low + high) // 2], dtype=dtype)
        values = rng.choice(candidates, shape)
    base = tt.array(values)[tt.d[:].translate_by[origin]]
    got = tt.downsample(base, factors, method).read().result()
    want = _block_reference(values, origin, factors, method)
    if dtype == "float64" and method == "mean":
        np.testing.assert_allclose(got, want, rtol=1e-12)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("method", ["mean", "min", "max", "median", "mode"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "complex64", "bfloat16"])
def test_whole_blocks_reduce_bit_for_bit_as_partial_ones(method: str, dtype: str) -> None:
    # The general path (padding, per-block counts) is the reference for the fast one, signs of
    # zeros included; float min/max only up to the sign of a zero (NumPy's fmin/fmax pick
    # either zero depending on the memory layout, so neither path fixes it).
    from tensortrio.drivers import downsample_array

    if dtype == "complex64" and method != "mean":
        return
    rng = np.random.default_rng(7)
    pool = np.array([0.0, -0.0, 1.0, -1.0, 0.5, 3.0, np.nan, 1e30 if dtype != "float16" else 6e4])
    values = rng.choice(pool, (24, 18))
    if dtype == "complex64":
        values = values + 1j * rng.choice(pool, (24, 18))
    values = values.astype(tt.dtype(dtype).numpy_dtype)
    factors = [4, 3]
    with np.errstate(invalid="ignore"):  # (ml_dtypes warns of a NaN in minimum/maximum)
        fast, _ = downsample_array.downsample_block(values, [0, 0], factors, method)
        general = np.empty_like(fast)
        has_nan = method in ("median", "mode") and values.dtype.kind in "fc" and bool(np.isnan(values).any())
        downsample_array._general(values, [(0, 6), (0, 6)], [0, 0], factors, method, has_nan, general)
    same = (fast == general) | (np.isnan(fast.astype(np.complex128)) & np.isnan(general.astype(np.complex128)))
    assert same.all()
    if method not in ("min", "max"):
        as_real = np.float32 if dtype in ("float16", "bfloat16") else None
        a = fast.astype(as_real) if as_real else fast
        b = general.astype(as_real) if as_real else general
        a, b = (a.view(a.real.dtype), b.view(b.real.dtype)) if a.dtype.kind == "c" else (a, b)
        np.testing.assert_array_equal(np.signbit(a), np.signbit(b))
