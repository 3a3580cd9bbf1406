"""The "auto" driver: a bare KvStore URL opens the array there in whatever format it has."""

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
FORMATS = [("zarr", "zarr2"), ("zarr3", "zarr3"), ("n5", "n5")]


@BOTH
@pytest.mark.parametrize(("driver", "name"), FORMATS)
def test_each_format_is_detected_whoever_wrote_it(lib: Any, driver: str, name: str, tmp_path: Path) -> None:
    for writer in (tt, tensorstore):
        path = tmp_path / writer.__name__
        store = writer.open({"driver": driver, "kvstore": {"driver": "file", "path": str(path)}}, create=True, dtype="uint8", shape=[3]).result()
        store[...] = [1, 2, 3]
        url = f"file://{path}/"
        for spec in (url, f"{url}|auto:", {"driver": "auto", "kvstore": url}):
            opened = lib.open(spec).result()
            assert opened.spec().to_json()["driver"] == driver
            np.testing.assert_array_equal(opened.read().result(), [1, 2, 3])
        assert lib.open({"driver": "auto", "kvstore": {"driver": "file", "path": str(tmp_path)}, "path": writer.__name__}).result().shape == (3,)
    del name


@BOTH
def test_a_bare_url_is_an_auto_spec(lib: Any) -> None:
    assert lib.Spec("file:///data/frames/").to_json() == {"driver": "auto", "kvstore": {"driver": "file", "path": "/data/frames/"}}
    assert lib.Spec("file:///data/frames/").url == "file:///data/frames/|auto:"
    assert lib.Spec("memory://").to_json() == {"driver": "auto", "kvstore": {"driver": "memory"}}


@BOTH
def test_none_several_or_creating_are_refused(lib: Any, tmp_path: Path) -> None:
    url = f"file://{tmp_path}/"
    with pytest.raises(ValueError, match=r'Failed to detect format for local file ".*"'):
        lib.open(url).result()
    for driver, _ in FORMATS:
        lib.open({"driver": driver, "kvstore": url}, create=True, dtype="uint8", shape=[3]).result()
    with pytest.raises(ValueError, match=r"Multiple possible formats detected for local file \".*\": \{n5, zarr2, zarr3\}"):
        lib.open(url).result()
    (tmp_path / "zarr.json").unlink()
    (tmp_path / ".zarray").unlink()
    assert lib.open(url).result().spec().to_json()["driver"] == "n5"
    with pytest.raises(ValueError, match=r"create mode not compatible with format auto-detection"):
        lib.open({"driver": "auto", "kvstore": url}, create=True, dtype="uint8", shape=[3]).result()
    (tmp_path / "attributes.json").unlink()
    (tmp_path / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group"}))
    with pytest.raises(ValueError, match=r'"node_type"'):
        lib.open(url).result()


@BOTH
def test_the_schema_given_still_binds(lib: Any, tmp_path: Path) -> None:
    url = f"file://{tmp_path}/"
    lib.open({"driver": "zarr3", "kvstore": url}, create=True, dtype="uint8", shape=[3]).result()
    assert lib.open({"driver": "auto", "kvstore": url}, open=True).result().shape == (3,)
    with pytest.raises(ValueError, match=r"uint8.*int32|int32.*uint8"):
        lib.open({"driver": "auto", "kvstore": url}, dtype="int32").result()


@BOTH
@pytest.mark.parametrize("flags", [{"open": True, "assume_metadata": True}, {"open": True, "delete_existing": True}])
def test_open_beside_other_flags_opens_the_array_as_it_is(lib: Any, flags: dict[str, bool], tmp_path: Path) -> None:
    url = f"file://{tmp_path}/"
    lib.open({"driver": "n5", "kvstore": url}, create=True, dtype="uint8", shape=[3]).result().write(np.arange(3, dtype=np.uint8)).result()
    np.testing.assert_array_equal(lib.open(url, **flags).result().read().result(), [0, 1, 2])


@BOTH
def test_a_domain_given_to_auto_is_its_transform_as_given(lib: Any, tmp_path: Path) -> None:
    # tensorstore's "auto" spec derives its transform from the schema's domain: the bounds
    # given are explicit, where the format's own are resizable (implicit upper bounds).
    url = f"file://{tmp_path}/"
    lib.open({"driver": "zarr", "kvstore": url}, create=True, dtype="int32", shape=[4]).result()
    assert str(lib.open(url).result().domain) == "{ [0, 4*) }"
    assert str(lib.open(url, shape=[4]).result().domain) == "{ [0, 4) }"
    assert lib.open(url, shape=[4]).result().spec().to_json()["transform"] == {
        "input_exclusive_max": [4],
        "input_inclusive_min": [0],
    }
    assert str(lib.open({"driver": "zarr", "kvstore": url}, shape=[4]).result().domain) == "{ [0, 4*) }"
    spec = lib.Spec("memory://x/")
    spec.update(domain=lib.IndexDomain(labels=["x"]))
    assert spec.to_json() == {
        "driver": "auto",
        "kvstore": {"driver": "memory", "path": "x/"},
        "schema": {"domain": {"labels": ["x"]}},
        "transform": {"input_labels": ["x"]},
    }
    with pytest.raises(ValueError, match=r'^(Error opening "auto" driver: Error opening "zarr" driver: )?domain from metadata does not match domain in schema: Cannot merge index domain \{ \[0, 4\*\) \} with index domain \{ \[0, 5\) \}: Mismatch in dimension 0: Upper bounds do not match( \[tensorstore_spec=.*\])?$'):
        lib.open(url, shape=[5]).result()
