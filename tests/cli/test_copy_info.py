"""tensortrio copy and info: rechunking, codecs, drivers, stored chunk counts, errors."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import numpy as np
import pytest
import tensorstore

import tensortrio as ts
import zarr

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def source(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A zarr v2 array written by the real tensorstore, with one chunk left unwritten."""
    path = tmp_path / "src"
    data = np.arange(30 * 20, dtype="<i4").reshape(30, 20)
    spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": f"{path}/"}}
    store = tensorstore.open(
        spec,
        create=True,
        dtype="int32",
        shape=[30, 20],
        chunk_layout=tensorstore.ChunkLayout(chunk_shape=[10, 10]),
    ).result()
    store[:20].write(data[:20]).result()
    store[20:, :10].write(data[20:, :10]).result()
    data[20:, 10:] = 0
    return path, data


def test_copy_rechunks_into_sharded_zarr3(
    cli: Cli, tmp_path: Path, source: tuple[Path, np.ndarray]
) -> None:
    path, data = source
    dest = tmp_path / "dst"
    status, out, err = cli(
        "copy", str(path), str(dest), "--driver", "zarr3", "--chunk-shape", "5,10",
        "--shard-shape", "15,20", "--codec", '[{"name": "bytes"}, {"name": "zstd"}]', "--jobs", "2",
        "--no-progress",
    )  # fmt: skip
    assert (status, err) == (0, "")
    assert re.match(
        r"tensortrio copy: .*src -> .*dst \(zarr3, shape \[30, 20\], chunks \[5, 10\], shards \[15, 20\]\)\n"
        r"  2 chunks, 0\.0 MB in [0-9.]+ s",
        out,
    )
    copied = zarr.open_array(str(dest), mode="r")
    np.testing.assert_array_equal(copied[:], data)
    codecs = copied.metadata.to_dict()["codecs"][0]["configuration"]["codecs"]
    assert [c["name"] for c in codecs] == ["bytes", "zstd"]


def test_copy_keeps_the_layout_and_codec_by_default(
    cli: Cli, tmp_path: Path, source: tuple[Path, np.ndarray]
) -> None:
    path, data = source
    dest = tmp_path / "dst"
    assert cli("copy", str(path), str(dest), "--no-progress")[0] == 0
    copied = tensorstore.open({"driver": "zarr", "kvstore": f"file://{dest}/"}).result()
    np.testing.assert_array_equal(copied.read().result(), data)
    assert copied.chunk_layout.read_chunk.shape == (10, 10)
    original = tensorstore.open({"driver": "zarr", "kvstore": f"file://{path}/"}).result()
    assert copied.codec.to_json() == original.codec.to_json()


def test_copy_errors(cli: Cli, tmp_path: Path, source: tuple[Path, np.ndarray]) -> None:
    path, _ = source
    cases = [
        (("copy", str(tmp_path / "none"), str(tmp_path / "x")), r"no zarr, zarr3 or n5 array at '.*none'"),
        (("copy", str(path), str(path)), r"destination '.*src' already holds an array"),
        (("copy", str(path), str(tmp_path / "x"), "--shard-shape", "10"), r"--shard-shape must have rank 2, got \[10\]"),
        (("copy", str(path), str(tmp_path / "x"), "--driver", "zarr", "--shard-shape", "10,10"),
         r"--shard-shape needs the zarr3 driver, not zarr"),
        (("copy", str(path), str(tmp_path / "x"), "--codec", "{bad"), r"--codec is not valid JSON: .*"),
    ]  # fmt: skip
    for args, message in cases:
        status, out, err = cli(*args, "--no-progress")
        assert (status, out) == (1, ""), args
        assert re.fullmatch(rf"tensortrio copy: error: {message}\n", err), err
    assert not (tmp_path / "x").exists()


def test_info_counts_stored_shards_and_chunks(
    cli: Cli, tmp_path: Path, source: tuple[Path, np.ndarray]
) -> None:
    path, _ = source
    status, out, _ = cli("info", "--json", str(path))
    assert status == 0
    report = json.loads(out)
    assert (report["stored_chunks"], report["grid_cells"]) == (5, 6)
    assert report["chunk_key_examples"] == ["0.0", "0.1", "1.0"]
    assert report["spec"]["driver"] == "zarr"
    assert report["dtype"] == "int32"

    sharded = tmp_path / "sharded"
    store = ts.open(
        {"driver": "zarr3", "kvstore": f"file://{sharded}/"}, create=True, dtype=ts.uint8,
        shape=[8, 8], chunk_layout=ts.ChunkLayout(read_chunk_shape=[2, 2], write_chunk_shape=[4, 8]),
    ).result()  # fmt: skip
    store[5:, :].write(np.ones((3, 8), "u1")).result()
    status, out, _ = cli("info", f"file://{sharded}/|zarr3:")
    assert status == 0
    assert "stored:      1 of 2 shards  (keys like c/1/0)\n" in out
    assert "chunk:       [2, 2]  in shards of [4, 8]\n" in out
    assert '"name": "sharding_indexed"' in out


def test_info_shows_a_char_fill_value_as_its_bytes(cli: Cli, tmp_path: Path) -> None:
    """char data has no JSON form (``Schema.to_json`` refuses it): info shows its bytes."""
    metadata = {"shape": [4], "chunks": [2], "dtype": "|S2", "compressor": None, "fill_value": "YWI="}
    ts.open({"driver": "zarr", "kvstore": f"file://{tmp_path}/", "metadata": metadata}, create=True).result()
    status, out, _ = cli("info", "--json", str(tmp_path))
    assert status == 0
    assert json.loads(out)["schema"]["fill_value"] == "b'ab'"


def test_info_of_a_text_array_and_its_copy(cli: Cli, tmp_path: Path) -> None:
    zarr.create_array(tmp_path / "a", shape=(3,), chunks=(2,), dtype=str, zarr_format=3)[:] = ["x", "yé", ""]
    status, out, _ = cli("info", str(tmp_path / "a"))
    assert status == 0
    assert "dtype:       ustring\n" in out
    assert "shape:       [3]  (variable-length elements)\n" in out
    status, _, _ = cli("copy", str(tmp_path / "a"), str(tmp_path / "b"))
    assert status == 0
    assert zarr.open_array(tmp_path / "b")[:].tolist() == ["x", "yé", ""]


def test_info_errors(cli: Cli, tmp_path: Path) -> None:
    status, out, err = cli("info", str(tmp_path))
    assert (status, out) == (1, "")
    assert re.fullmatch(r"tensortrio info: error: no zarr, zarr3 or n5 array at '.*'\n", err)
    status, _, err = cli("info", '{"driver": "zarr3"')
    assert re.fullmatch(r"tensortrio info: error: target is not valid JSON: .*\n", err)
