"""Writing one TensorStore into another converts only as TensorStore converts implicitly.

The whole table (every pair of data types) is checked against tensorstore
writing a one-element array of one type into one of the other.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import tensorstore

import tensortrio as tt
from tensortrio.drivers.cast import can_convert, converts_implicitly

NAMES = [
    "bool", "char", "byte", "int2", "int4", "int8", "uint8", "int16", "uint16", "int32",
    "uint32", "int64", "uint64", "float8_e3m4", "float8_e4m3fn", "float8_e4m3fnuz",
    "float8_e4m3b11fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn",
    "float16", "bfloat16", "float32", "float64", "complex64", "complex128", "string",
    "ustring", "json",
]  # fmt: skip


def one_element(lib: Any, name: str) -> Any:
    dtype = lib.dtype(name)
    if name == "json":
        return lib.array(np.array([1], dtype=object), dtype=dtype)
    if name in ("string", "ustring"):
        return lib.array(np.array([b"1" if name == "string" else "1"], dtype=object), dtype=dtype)
    return lib.array(np.zeros(1, dtype.numpy_dtype))


def tensorstore_verdict(source: str, target: str) -> str:
    """'implicit', 'explicit' (needs ts.cast) or 'none' (no conversion), as tensorstore answers."""
    try:
        one_element(tensorstore, target).write(one_element(tensorstore, source)).result()
    except ValueError as exc:
        message = str(exc)
    else:
        return "implicit"
    if message.startswith("Explicit data type conversion required"):
        return "explicit"
    return "none" if message.startswith("Cannot convert") else message


@pytest.mark.parametrize("source", NAMES)
def test_the_conversion_table_is_tensorstores(source: str) -> None:
    for target in NAMES:
        s, t = tt.dtype(source), tt.dtype(target)
        ours = "implicit" if converts_implicitly(s, t) else "explicit" if can_convert(s, t) else "none"
        assert ours == tensorstore_verdict(source, target), (source, target)


@pytest.mark.parametrize("lib", [tt, tensorstore], ids=["tensortrio", "tensorstore"])
def test_writes_between_stores_convert_implicitly_or_fail_their_futures(lib: Any) -> None:
    target = lib.array(np.zeros(2, np.float64))
    target.write(lib.array(np.array([1, 2], np.int32))).result()
    assert target.read().result().tolist() == [1.0, 2.0]
    futures = target.write(lib.array(np.array([3, 4], np.int64)))
    with pytest.raises(
        ValueError, match=r"^Explicit data type conversion required to convert int64 -> float64$"
    ):
        futures.result()
    target.write(lib.cast(lib.array(np.array([3, 4], np.int64)), lib.float64)).result()
    assert target.read().result().tolist() == [3.0, 4.0]
    with pytest.raises(ValueError, match=r"^Cannot convert complex64 -> bool$"):
        lib.array(np.zeros(2, bool)).write(lib.array(np.zeros(2, np.complex64))).result()
    strings = lib.array(np.array([b"", b""], dtype=object), dtype=lib.string)
    strings.write(lib.array(np.array(["x", "y"], dtype=object), dtype=lib.ustring)).result()
    assert strings.read().result().tolist() == [b"x", b"y"]


@pytest.mark.parametrize("dtype", [">i2", ">f8", ">c8"])
def test_a_rank_0_big_endian_zarr_chunk_is_stored_big_endian(dtype: str) -> None:
    stored = {}
    for lib in (tt, tensorstore):
        context = lib.Context()
        spec = {"driver": "zarr", "kvstore": {"driver": "memory"}, "metadata": {"shape": [], "chunks": [], "dtype": dtype, "compressor": None}}
        store = lib.open(spec, create=True, context=context).result()
        store.write(1).result()
        assert store.read().result() == 1
        stored[lib.__name__] = lib.KvStore.open({"driver": "memory"}, context=context).result().read("0").result().value
    assert stored["tensortrio"] == stored["tensorstore"] == np.ones((), dtype).tobytes()


@pytest.mark.parametrize("library", ["tensortrio", "tensorstore"])
def test_a_rank_0_read_in_fortran_order_stays_rank_0(library: str) -> None:
    lib: Any = pytest.importorskip(library)
    store = lib.open({"driver": "zarr3", "kvstore": {"driver": "memory"}}, dtype="int16", shape=[3], create=True).result()
    assert store[1].read(order="F").result().shape == ()
    assert lib.array(np.int16(5)).read(order="F").result().shape == ()
    assert store.read(order="F").result().flags.f_contiguous
