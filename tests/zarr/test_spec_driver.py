"""The zarr driver as ``ts.Spec`` sees it, and Hypothesis round trips of ``.zarray`` against tensorstore."""

from __future__ import annotations

import json
from typing import Any

import hypothesis.strategies as st
import pytest
import tensorstore as ts
from hypothesis import HealthCheck, given, settings

import tensortrio as tt
from tensortrio.drivers.zarr import ZARR_FORMAT
from tensortrio.errors import InvalidArgumentError


def test_spec_normalises_zarr_members() -> None:
    spec = tt.Spec(
        {"driver": "zarr", "kvstore": {"driver": "memory"}, "metadata": {"compressor": {"id": "zlib"}}}
    )
    assert spec.to_json()["metadata"] == {"compressor": {"id": "zlib", "level": 1}}


def test_spec_rejects_bad_zarr_members() -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r'Error parsing object member "metadata": Error parsing object member "order": '
        r'Expected one of "C", "F", but received: "X"$',
    ):
        tt.Spec({"driver": "zarr", "kvstore": {"driver": "memory"}, "metadata": {"order": "X"}})


def test_opened_spec_keeps_metadata_key(tmp_path: Any) -> None:
    """An array whose metadata is not ``.zarray`` is found again from its spec, as tensorstore's is."""
    spec = {
        "driver": "zarr",
        "kvstore": {"driver": "file", "path": f"{tmp_path}/a/"},
        "metadata_key": ".zarr2",
        "metadata": {"dtype": "<u2", "shape": [3], "chunks": [2]},
    }
    ours = tt.open(spec, create=True).result()
    theirs = ts.open({**spec, "kvstore": {"driver": "memory"}}, create=True).result()
    for minimal in (False, True):
        shown = ours.spec(minimal_spec=minimal).to_json()
        assert shown["metadata_key"] == theirs.spec(minimal_spec=minimal).to_json()["metadata_key"]
    ours[1:].write([5, 6]).result()
    again = tt.open(ours.spec(minimal_spec=True)).result()
    assert again.read().result().tolist() == [0, 5, 6]


def test_spec_schema_from_zarr_metadata() -> None:
    spec = tt.Spec(
        {"driver": "zarr", "kvstore": {"driver": "memory"}, "metadata": {"dtype": "<u2", "shape": [3, 4]}}
    )
    assert spec.dtype == tt.uint16
    assert spec.rank == 2


_DTYPES = ["|b1", "|u1", "|i1", "<u2", ">i2", "<f2", ">f4", "<u4", ">i8", "<f8", ">c8", "<c16", "bfloat16"]
_COMPRESSORS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"id": st.just("blosc")},
        optional={
            "cname": st.sampled_from(["blosclz", "lz4", "lz4hc", "zlib", "zstd"]),
            "clevel": st.integers(0, 9),
            "shuffle": st.sampled_from([-1, 0, 1, 2]),
            "blocksize": st.integers(0, 1 << 20),
        },
    ),
    st.fixed_dictionaries({"id": st.sampled_from(["zlib", "gzip"])}, optional={"level": st.integers(0, 9)}),
    st.fixed_dictionaries({"id": st.just("bz2")}, optional={"level": st.integers(1, 9)}),
    st.fixed_dictionaries({"id": st.just("zstd")}, optional={"level": st.integers(-5, 22)}),
)


def _fill_values(dtype: str) -> st.SearchStrategy[Any]:
    kind = "f" if dtype == "bfloat16" else dtype[1]
    if kind == "b":
        return st.one_of(st.none(), st.booleans())
    if kind in "iu":
        bits = int(dtype[2:]) * 8
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if kind == "i" else (0, (1 << bits) - 1)
        return st.one_of(st.none(), st.integers(low, high))
    floats = st.one_of(
        st.sampled_from(["NaN", "Infinity", "-Infinity"]),
        st.floats(-1000, 1000, width=16).map(float),
    )
    if kind == "c":
        return st.one_of(st.none(), st.lists(floats, min_size=2, max_size=2))
    return st.one_of(st.none(), floats)


@st.composite
def _zarray(draw: st.DrawFn) -> dict[str, Any]:
    rank = draw(st.integers(0, 3))
    shape = draw(st.lists(st.integers(0, 50), min_size=rank, max_size=rank))
    chunks = draw(st.lists(st.integers(1, 20), min_size=rank, max_size=rank))
    dtype = draw(st.sampled_from(_DTYPES))
    out: dict[str, Any] = {
        "zarr_format": 2,
        "shape": shape,
        "chunks": chunks,
        "dtype": dtype,
        "compressor": draw(_COMPRESSORS),
        "fill_value": draw(_fill_values(dtype)),
        "order": draw(st.sampled_from(["C", "F"])),
        "filters": draw(st.sampled_from([None, []])),
    }
    separator = draw(st.sampled_from([None, ".", "/"]))
    if separator is not None:
        out["dimension_separator"] = separator
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_zarray())
def test_stored_metadata_normalises_like_tensorstore(zarray: dict[str, Any]) -> None:
    context = ts.Context()
    kvstore = ts.KvStore.open({"driver": "memory"}, context=context).result()
    kvstore.write(".zarray", json.dumps(zarray)).result()
    store = ts.open({"driver": "zarr", "kvstore": {"driver": "memory"}}, context=context).result()
    expected = store.spec().to_json()["metadata"]
    metadata = ZARR_FORMAT.decode_metadata(json.dumps(zarray).encode())
    assert json.dumps(ZARR_FORMAT.metadata_json(metadata)) == json.dumps(expected)
    assert json.dumps(ZARR_FORMAT.metadata_schema(metadata).to_json()) == json.dumps(
        store.schema.to_json()
    )
