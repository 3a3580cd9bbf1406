"""JSON arguments given as Python values: tuples and NumPy values read as tensorstore reads them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tensortrio as tt

tensorstore = pytest.importorskip("tensorstore")

BOTH = pytest.mark.parametrize("lib", [tt, tensorstore], ids=["tensortrio", "tensorstore"])


@BOTH
def test_a_spec_takes_an_array_shape_tuple(lib: Any) -> None:
    data = np.zeros((3, 4), np.float32)
    store = lib.open(
        {
            "driver": "zarr3",
            "kvstore": "memory://",
            "metadata": {
                "shape": data.shape,
                "data_type": "float32",
                "codecs": ({"name": "bytes", "configuration": {"endian": "little"}},),
            },
        },
        create=True,
    ).result(timeout=30)
    assert store.shape == (3, 4)


@BOTH
@pytest.mark.parametrize(
    "shape", [(3,), [np.int64(3)], np.array([3]), (np.uint8(3),)], ids=["tuple", "np-int", "array", "tuple-np"]
)
def test_schema_layout_and_domain_json_take_python_values(lib: Any, shape: Any) -> None:
    assert lib.Schema({"domain": {"shape": shape}}).to_json()["domain"] == {
        "exclusive_max": [3],
        "inclusive_min": [0],
    }
    assert lib.ChunkLayout({"chunk": {"shape": shape}}).read_chunk.shape == (3,)
    assert lib.IndexDomain(json={"shape": shape}).shape == (3,)
    assert lib.IndexTransform(json={"input_shape": shape}).domain.shape == (3,)


@BOTH
def test_codec_context_and_kvstore_json_take_numpy_scalars(lib: Any) -> None:
    codec = lib.CodecSpec({"driver": "zarr", "compressor": {"id": "blosc", "clevel": np.int32(3)}})
    assert codec.to_json()["compressor"]["clevel"] == 3
    lib.Context({"cache_pool": {"total_bytes_limit": np.int64(10)}})
    store = lib.KvStore.open({"driver": "memory", "path": np.str_("a/")}).result(timeout=30)
    assert store.path == "a/"


def test_other_python_objects_are_named_in_the_error() -> None:
    with pytest.raises(
        ValueError,
        match=r'^Error parsing object member "metadata": Error parsing object member "shape": ',
    ):
        tt.Spec({"driver": "zarr", "kvstore": "memory://", "metadata": {"shape": {1, 2}}})
