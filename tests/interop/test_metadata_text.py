"""Metadata files as text: byte-identical to tensorstore's, non-ASCII included."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

import tensortrio as tt

if TYPE_CHECKING:
    from pathlib import Path

tensorstore = pytest.importorskip("tensorstore")

_CASES = [
    (
        "zarr3",
        "zarr.json",
        {"shape": [2], "data_type": "uint8", "attributes": {"name": "é ∑ 🌊"}},
    ),
    (
        "n5",
        "attributes.json",
        {
            "dimensions": [2],
            "blockSize": [2],
            "dataType": "uint8",
            "compression": {"type": "raw"},
            "units": ["µm"],
        },
    ),
]


@pytest.mark.parametrize(("driver", "name", "metadata"), _CASES, ids=[c[0] for c in _CASES])
def test_non_ascii_metadata_is_written_as_utf8_as_by_tensorstore(
    tmp_path: Path, driver: str, name: str, metadata: dict[str, Any]
) -> None:
    written = {}
    for lib in (tt, tensorstore):
        path = tmp_path / lib.__name__
        spec = {"driver": driver, "kvstore": {"driver": "file", "path": f"{path}/"}}
        lib.open({**spec, "metadata": metadata}, create=True).result(timeout=30)
        written[lib.__name__] = (path / name).read_bytes()
    assert written["tensortrio"] == written["tensorstore"]
    assert "\\u" not in written["tensortrio"].decode("utf-8")


def test_all_null_dimension_names_are_no_names_as_in_tensorstore(tmp_path: Path) -> None:
    # zarr-python writes "dimension_names": [null, null] for an array without names.
    (tmp_path / "zarr.json").write_text(
        json.dumps(
            {
                "zarr_format": 3,
                "node_type": "array",
                "shape": [2, 3],
                "data_type": "uint8",
                "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 3]}},
                "chunk_key_encoding": {"name": "default"},
                "fill_value": 0,
                "codecs": [{"name": "bytes"}],
                "dimension_names": [None, None],
            }
        )
    )
    specs = []
    for lib in (tt, tensorstore):
        store = lib.open({"driver": "zarr3", "kvstore": f"file://{tmp_path}/"}).result(timeout=30)
        assert store.domain.labels == ("", "")
        specs.append(store.spec().to_json()["metadata"])
    assert "dimension_names" not in specs[0]
    assert specs[0] == specs[1]
