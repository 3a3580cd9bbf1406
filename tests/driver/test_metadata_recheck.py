"""Cached metadata: first reads whatever the bound, rechecks that tolerate unrelated changes."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import numpy as np
import pytest

import tensortrio as ts

if TYPE_CHECKING:
    import pathlib


@pytest.mark.parametrize("driver", ["zarr", "zarr3", "n5"])
def test_recheck_false_in_a_fresh_context_still_reads_the_metadata(
    tmp_path: pathlib.Path, driver: str
) -> None:
    spec = {"driver": driver, "kvstore": {"driver": "file", "path": str(tmp_path)}}
    created = ts.open(spec, dtype=ts.uint16, shape=[6, 4], create=True).result()
    created[1:3, :] = 9
    reopened = ts.open(spec, context=ts.Context(), recheck_cached_metadata=False).result()
    assert reopened.shape == (6, 4)
    assert reopened[1:3, :].read().result().tolist() == [[9] * 4] * 2


def test_an_added_attribute_does_not_make_the_metadata_incompatible(
    tmp_path: pathlib.Path,
) -> None:
    spec = {"driver": "n5", "kvstore": {"driver": "file", "path": str(tmp_path)}}
    store = ts.open(spec, dtype=ts.uint8, shape=[8], create=True, recheck_cached_metadata=True).result()
    store[0:4] = 3
    attributes = tmp_path / "attributes.json"
    members = json.loads(attributes.read_text())
    members["note"] = "added by another tool"
    attributes.write_text(json.dumps(members))
    assert store.read().result().tolist() == [3, 3, 3, 3, 0, 0, 0, 0]


def test_a_new_compressor_makes_the_metadata_incompatible(tmp_path: pathlib.Path) -> None:
    spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": str(tmp_path)}}
    store = ts.open(spec, dtype=ts.uint8, shape=[8], create=True, recheck_cached_metadata=True).result()
    zarray = tmp_path / ".zarray"
    members = json.loads(zarray.read_text())
    members["compressor"] = None
    zarray.write_text(json.dumps(members))
    with pytest.raises(ts.FailedPreconditionError, match=r"^Metadata at .* changed incompatibly"):
        store.read().result()
    assert np.array_equal(
        ts.open(spec, context=ts.Context()).result().read().result(), np.zeros(8, np.uint8)
    )


def test_codec_specs_load_their_driver_on_first_use() -> None:
    code = (
        "import tensortrio as ts\n"
        "for name in ('zarr', 'zarr3', 'n5'):\n"
        "    assert ts.CodecSpec({'driver': name}).to_json()['driver'] == name\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
