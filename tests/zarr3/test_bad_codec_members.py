"""Bad zarr3 codec and chunk-key members: refused as tensorstore refuses them, naming the member."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import tensortrio as tt

if TYPE_CHECKING:
    from pathlib import Path

tensorstore = pytest.importorskip("tensorstore")

BOTH = pytest.mark.parametrize("lib", [tt, tensorstore], ids=["tensortrio", "tensorstore"])


def _spec(codecs: list[Any], data_type: str = "int32", **metadata: Any) -> dict[str, Any]:
    return {
        "driver": "zarr3",
        "kvstore": "memory://",
        "metadata": {"shape": [4, 4], "data_type": data_type, "codecs": codecs, **metadata},
    }


SHARD = "sharding_indexed"


@BOTH
@pytest.mark.parametrize(
    ("spec", "message"),
    [
        # An explicit null is a bad value, not a member left out.
        (_spec([{"name": "bytes", "configuration": {"endian": None}}]),
         r'"endian": Expected one of "little", "big", but received: null'),
        (_spec([{"name": "bytes", "configuration": {"endian": None}}], "uint8"),
         r'"endian": Expected one of "little", "big", but received: null'),
        (_spec(["bytes", {"name": "blosc", "configuration": {"shuffle": None}}]),
         r'"shuffle": Expected one of "noshuffle", "shuffle", "bitshuffle", but received: null'),
        (_spec([{"name": SHARD, "configuration": {"chunk_shape": None}}]),
         r'"chunk_shape": Expected array'),
        (_spec([{"name": SHARD, "configuration": {"chunk_shape": [2, 2], "index_location": None}}]),
         r'"index_location": Expected one of "start", "end", but received: null'),
        # Values of the wrong type are named, not a Python error.
        (_spec(["bytes", {"name": "blosc", "configuration": {"shuffle": []}}]),
         r'"shuffle": Expected one of "noshuffle", "shuffle", "bitshuffle", but received: \[\]'),
        (_spec(["bytes"], chunk_key_encoding={"name": []}),
         r'"chunk_key_encoding": Error parsing object member "name": Expected one of "default", "v2", '
         r"but received: \[\]"),
        (_spec([{"name": SHARD, "configuration": {"chunk_shape": [2]}}]),
         r"sharding_indexed sub-chunk shape of \{2\} is not compatible with array of rank 2"),
        (_spec([{"name": SHARD, "configuration": {"chunk_shape": [2, 2, 2]}}]),
         r"sharding_indexed sub-chunk shape of \{2, 2, 2\} is not compatible with array of rank 2"),
    ],
)
def test_a_bad_codec_member_is_named(lib: Any, spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lib.open(spec, create=True).result()


def test_a_stored_null_endian_is_refused_not_read_as_little_endian(tmp_path: Path) -> None:
    path = str(tmp_path)
    store = tensorstore.open(
        {"driver": "zarr3", "kvstore": {"driver": "file", "path": path},
         "metadata": {"codecs": [{"name": "bytes", "configuration": {"endian": "big"}}]}},
        create=True, dtype="int32", shape=[3],
    ).result()
    store.write(np.array([1, 2, 3], np.int32)).result()
    metadata = json.loads((tmp_path / "zarr.json").read_text())
    metadata["codecs"][0]["configuration"]["endian"] = None
    (tmp_path / "zarr.json").write_text(json.dumps(metadata))
    with pytest.raises(ValueError, match=r'"endian": Expected one of "little", "big", but received: null'):
        tt.open({"driver": "zarr3", "kvstore": {"driver": "file", "path": path}}).result()


def test_a_nan_in_attributes_is_named_when_creating() -> None:
    spec = {"driver": "zarr3", "kvstore": "memory://",
            "metadata": {"shape": [4], "data_type": "uint8", "attributes": {"k": [1, float("nan")]}}}
    with pytest.raises(ValueError, match=r'^Error writing metadata: "attributes\.k\.1" is nan, which JSON cannot hold$'):
        tt.open(spec, create=True).result()
