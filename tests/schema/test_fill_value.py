"""all_equal_fill: whether a chunk holds only its fill value (and need not be stored)."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from tensortrio.schema.fill_value import all_equal_fill, all_equal_fill_along, equals_fill


def fill(value: object, dtype: str) -> np.ndarray:
    return np.asarray(value, dtype)


def test_a_chunk_of_fill_values_equals_it_and_one_other_element_anywhere_does_not() -> None:
    # A strided view (a chunk of a writer's source), with more rows than one
    # slab compares at once and a last slab shorter than the others.
    source = np.zeros((3000, 700), np.float32)
    chunk = source[100:2999, 50:650]
    assert all_equal_fill(chunk, fill(0, "float32"))
    for where in [(0, 0), (0, 599), (1, 0), (1500, 300), (2898, 0), (2898, 599)]:
        source[100 + where[0], 50 + where[1]] = 1
        assert not all_equal_fill(chunk, fill(0, "float32")), where
        source[100 + where[0], 50 + where[1]] = 0
    source[99, 50] = source[2999, 50] = source[100, 49] = 7  # just outside the chunk
    assert all_equal_fill(chunk, fill(0, "float32"))


def test_chunks_equal_the_fill_value_bit_for_bit_as_in_tensorstore() -> None:
    # == would take -0.0 for 0.0 (and drop a chunk of -0.0 written over a 0.0 fill).
    assert not all_equal_fill(np.full((4, 4), -0.0), fill(0.0, "float64"))
    assert not all_equal_fill_along(np.full((2, 4), -0.0), fill(0.0, "float64"), 1).any()
    # A complex value with one NaN part is not a fill value with a NaN in the other.
    assert not all_equal_fill(np.full(3, complex(1, np.nan), "complex64"), fill(complex(np.nan, 0), "complex64"))
    assert not equals_fill(np.array([complex(np.nan, 1)], "complex128"), fill(complex(np.nan, 0), "complex128")).any()
    # A NaN of another bit pattern is another value.
    other_nan = np.array([0x7FC00001], np.uint32).view(np.float32)
    assert not all_equal_fill(other_nan, fill(np.nan, "float32"))
    # bfloat16 and float8 (NumPy "V" kinds from ml_dtypes) too.
    for name in ("bfloat16", "float8_e4m3fn"):
        dtype = np.dtype(getattr(ml_dtypes, name))
        assert not all_equal_fill(np.full(3, -0.0).astype(dtype), np.asarray(0.0).astype(dtype))


@pytest.mark.parametrize("dtype", ["float32", "complex64"])
def test_a_nan_fill_is_matched_by_nans(dtype: str) -> None:
    chunk = np.full((600, 300), np.nan, dtype)
    assert all_equal_fill(chunk, fill(np.nan, dtype))
    chunk[599, 299] = 0
    assert not all_equal_fill(chunk, fill(np.nan, dtype))
    chunk[599, 299] = np.nan
    chunk[0, 0] = 0
    assert not all_equal_fill(chunk, fill(np.nan, dtype))
    assert not all_equal_fill(np.full((2, 2), np.nan, dtype), fill(0, dtype))


def test_rows_larger_than_a_slab_are_compared_one_at_a_time() -> None:
    chunk = np.full((3, 100_000), 5, np.int64)
    assert all_equal_fill(chunk, fill(5, "int64"))
    chunk[2, 99_999] = 4
    assert not all_equal_fill(chunk, fill(5, "int64"))


def test_rank_zero_and_empty_chunks() -> None:
    assert all_equal_fill(np.asarray(3, np.uint8), fill(3, "uint8"))
    assert not all_equal_fill(np.asarray(2, np.uint8), fill(3, "uint8"))
    assert all_equal_fill(np.zeros((0, 5), np.uint8), fill(3, "uint8"))


@pytest.mark.parametrize(
    ("value", "dtype"), [(0, "float32"), (-0.0, "float64"), (7, "int16"), (np.nan, "float32")]
)
def test_along_axes_each_row_or_block_is_judged_on_its_own(value: float, dtype: str) -> None:
    rows = np.full((4, 6), value, dtype)
    rows[1, 5] = 1  # one element off in row 1
    rows[3] = 2  # row 3 entirely other
    expected = [True, False, True, False]
    assert all_equal_fill_along(rows, fill(value, dtype), 1).tolist() == expected
    blocks = np.full((2, 3, 2, 3), value, dtype)
    blocks[1, 0, 0, 2] = 1
    got = all_equal_fill_along(blocks, fill(value, dtype), (1, 3))
    assert got.dtype == np.bool_
    assert got.tolist() == [[True, True], [False, True]]
