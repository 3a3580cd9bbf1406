"""tensortrio ingest: sources, resume, append, bad input, interop with tensorstore and zarr."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

import zarr

from .conftest import assert_frames_are_indices, read_zarr3, run_child, stored_frames

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    Cli = Callable[..., tuple[int, str, str]]


def test_synthetic_creates_a_sharded_zarr3_array(cli: Cli, tmp_path: Path) -> None:
    dest = tmp_path / "frames"
    status, out, err = cli(
        "ingest", "synthetic:20", str(dest), "--frame-shape", "8,6", "--dtype", "uint16",
        "--shard-frames", "8", "--no-progress",
    )  # fmt: skip
    assert (status, err) == (0, "")
    assert re.match(
        r"tensortrio ingest: created .*frames: 20 frames committed, shape \[20, 8, 6\], shards of 8 frames\n"
        r"  20 frames, 0\.0 MB in [0-9.]+ s: [0-9.]+ frames/s, [0-9.]+ MB/s\n$",
        out,
    )
    assert_frames_are_indices(read_zarr3(dest), 20)
    metadata = zarr.open_array(str(dest), mode="r").metadata.to_dict()
    sharding = metadata["codecs"][0]
    assert sharding["name"] == "sharding_indexed"
    assert sharding["configuration"]["chunk_shape"] == (1, 8, 6)
    assert metadata["chunk_grid"]["configuration"]["chunk_shape"] == (8, 8, 6)
    assert_frames_are_indices(zarr.open_array(str(dest), mode="r")[:], 20)


def test_rerun_resumes_after_the_committed_frames(cli: Cli, tmp_path: Path) -> None:
    dest = str(tmp_path / "a")
    args = ("--frame-shape", "4", "--dtype", "int32", "--shard-frames", "4", "--no-progress")
    assert cli("ingest", "synthetic:6", dest, *args)[0] == 0
    status, out, _ = cli("ingest", "synthetic:15", dest, *args)
    assert status == 0
    assert "(resumed after frame 6): 9 frames committed, shape [15, 4]" in out
    status, out, _ = cli("ingest", "synthetic:15", dest, *args)
    assert "0 frames committed, shape [15, 4]" in out
    assert_frames_are_indices(read_zarr3(tmp_path / "a"), 15)


def _npy_dir(path: Path, frames: list[np.ndarray]) -> Path:
    path.mkdir()
    for i, frame in enumerate(frames):
        np.save(path / f"f{i:04d}.npy", frame)
    return path


def test_npy_directory_in_name_order_with_stacks(cli: Cli, tmp_path: Path) -> None:
    source = _npy_dir(
        tmp_path / "npy",
        [np.full((3, 5), 0, "f4"), np.stack([np.full((3, 5), v, "f4") for v in (1, 2, 3)])],
    )
    (source / "z_last.npy").write_bytes((source / "f0000.npy").read_bytes())
    (source / "notes.txt").write_text("ignored")
    dest = tmp_path / "out"
    status, out, _ = cli("ingest", str(source), str(dest), "--no-progress")
    assert status == 0
    assert "5 frames committed, shape [5, 3, 5]" in out
    np.testing.assert_array_equal(read_zarr3(dest)[:, 0, 0], [0, 1, 2, 3, 0])
    # --append treats the source as new frames instead of resuming.
    status, out, _ = cli("ingest", str(source), str(dest), "--append", "--no-progress")
    assert "5 frames committed, shape [10, 3, 5]" in out
    np.testing.assert_array_equal(read_zarr3(dest)[:, 0, 0], [0, 1, 2, 3, 0] * 2)


def test_bad_frame_commits_the_frames_before_it_and_fails_clearly(cli: Cli, tmp_path: Path) -> None:
    good = [np.full((2, 2), i, "u1") for i in range(5)]
    source = _npy_dir(tmp_path / "npy", [*good, np.zeros((2, 3), "u1"), np.full((2, 2), 6, "u1")])
    dest = tmp_path / "out"
    status, out, err = cli("ingest", str(source), str(dest), "--shard-frames", "2", "--no-progress")
    assert (status, out) == (1, "")
    assert re.fullmatch(
        r"tensortrio ingest: error: frame 5 \(.*f0005\.npy\) has shape \[2, 3\], expected \[2, 2\]\n",
        err,
    )
    assert stored_frames(dest) == 5
    np.testing.assert_array_equal(read_zarr3(dest)[:, 0, 0], range(5))
    # Fixed, run again: it continues after frame 5.
    np.save(source / "f0005.npy", np.full((2, 2), 5, "u1"))
    status, out, _ = cli("ingest", str(source), str(dest), "--no-progress")
    assert status == 0
    assert "(resumed after frame 5): 2 frames committed" in out
    assert_frames_are_indices(read_zarr3(dest), 7)


def test_wrong_dtype_leaves_committed_data_untouched(cli: Cli, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    assert cli("ingest", "synthetic:4", str(dest), "--frame-shape", "3", "--dtype", "uint8")[0] == 0
    before = {p.relative_to(dest): p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    source = _npy_dir(tmp_path / "npy", [np.zeros(3, "u1")] * 4 + [np.zeros(3, "i8")])
    status, out, err = cli("ingest", str(source), str(dest), "--no-progress")
    assert (status, out) == (1, "")
    assert re.fullmatch(
        r"tensortrio ingest: error: frame 4 \(.*f0004\.npy\) has dtype int64, expected uint8\n", err
    )
    after = {p.relative_to(dest): p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    assert after == before


def test_source_and_destination_errors(cli: Cli, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cases = [
        (("ingest", str(tmp_path / "missing"), str(tmp_path / "d")),
         r"source directory '.*missing' does not exist"),
        (("ingest", "synthetic:3", str(tmp_path / "d"), "--dtype", "uint8"),
         r"synthetic:3 needs --frame-shape \(or an existing destination\)"),
        (("ingest", "synthetic:x", str(tmp_path / "d"), "--frame-shape", "2", "--dtype", "uint8"),
         r"synthetic source needs a frame count, e.g\. synthetic:100, got 'synthetic:x'"),
        (("ingest", "synthetic:3", str(tmp_path / "d"), "--frame-shape", "2,-1", "--dtype", "u1"),
         r"--frame-shape must be positive integers like 512,512, got '2,-1'"),
        (("ingest", "synthetic:3", str(tmp_path / "d"), "--frame-shape", "2", "--dtype", "nope"),
         r'No TensorStore data type with name: "nope"'),
        (("ingest", "synthetic:3", str(tmp_path / "d"), "--frame-shape", "2", "--in-flight", "0"),
         r"--in-flight must be at least 1, got 0"),
        (("ingest", "synthetic:3", str(tmp_path / "d"), "--frame-shape", "2", "--shard-frames", "-1"),
         r"--shard-frames must be at least 1, got -1"),
        (("ingest", "synthetic:3", str(tmp_path / "d"), "--frame-shape", "2", "--rate", "0"),
         r"--rate must be positive, got 0\.0"),
        (("ingest", "synthetic:3", str(blocker / "d"), "--frame-shape", "2", "--dtype", "uint8"),
         r".*Not a directory.*"),
    ]  # fmt: skip
    for args, message in cases:
        status, out, err = cli(*args, "--no-progress")
        assert (status, out) == (1, ""), args
        assert re.fullmatch(rf"tensortrio ingest: error: {message}\n", err), err
    assert not (tmp_path / "d").exists()


def test_existing_destination_must_match_the_frames(cli: Cli, tmp_path: Path) -> None:
    dest = str(tmp_path / "d")
    assert cli("ingest", "synthetic:2", dest, "--frame-shape", "2", "--dtype", "uint8")[0] == 0
    status, _, err = cli("ingest", "synthetic:3", dest, "--frame-shape", "3", "--no-progress")
    assert status == 1
    assert (
        err
        == "tensortrio ingest: error: destination frames have shape [2], the source's have [3]\n"
    )
    status, _, err = cli("ingest", "synthetic:3", dest, "--dtype", "int16", "--no-progress")
    assert err == "tensortrio ingest: error: destination dtype is uint8, the source's is int16\n"


def test_raw_frames_on_stdin(tmp_path: Path) -> None:
    frames = np.arange(7 * 4 * 3, dtype="<u2").reshape(7, 4, 3)
    dest = tmp_path / "d"
    args = (
        "ingest",
        "-",
        str(dest),
        "--frame-shape",
        "4,3",
        "--dtype",
        "uint16",
        "--shard-frames",
        "3",
    )
    done = run_child(*args, stdin=frames.tobytes())
    assert (done.returncode, done.stderr) == (0, "")
    assert "7 frames committed, shape [7, 4, 3], shards of 3 frames" in done.stdout
    np.testing.assert_array_equal(read_zarr3(dest), frames)
    # The same stream again resumes: nothing new. Two more frames, one cut short: an error.
    more = np.concatenate([frames, frames[:2] + 100]).tobytes() + b"\x01\x02\x03"
    done = run_child(*args, stdin=more)
    assert done.returncode == 1
    assert (
        done.stderr == "tensortrio ingest: error: stdin ended inside frame 9: got 3 of 24 bytes\n"
    )
    np.testing.assert_array_equal(read_zarr3(dest), np.concatenate([frames, frames[:2] + 100]))


def test_kvstore_url_destination_with_codecs(cli: Cli, tmp_path: Path) -> None:
    dest = tmp_path / "z"
    codec = '[{"name": "bytes"}, {"name": "zstd", "configuration": {"level": 1}}]'
    status, out, err = cli(
        "ingest", "synthetic:12", f"file://{dest}/", "--frame-shape", "6,4", "--dtype", "int16",
        "--shard-frames", "5", "--chunk-shape", "1,3,4", "--codec", codec, "--no-progress",
    )  # fmt: skip
    assert (status, err) == (0, "")
    assert "12 frames committed, shape [12, 6, 4], shards of 5 frames" in out
    metadata = zarr.open_array(str(dest), mode="r").metadata.to_dict()
    inner = metadata["codecs"][0]["configuration"]
    assert inner["chunk_shape"] == (1, 3, 4)
    assert [c["name"] for c in inner["codecs"]] == ["bytes", "zstd"]
    assert_frames_are_indices(read_zarr3(dest), 12)
    # --append onto it through a TensorStore URL.
    status, out, _ = cli(
        "ingest", "synthetic:3", f"file://{dest}/|zarr3:", "--append", "--no-progress"
    )
    assert "3 frames committed, shape [15, 6, 4]" in out
    np.testing.assert_array_equal(read_zarr3(dest)[12:, 0, 0], [0, 1, 2])


def test_corrupt_destination_metadata_is_reported_and_left_alone(cli: Cli, tmp_path: Path) -> None:
    dest = tmp_path / "bad"
    dest.mkdir()
    (dest / "zarr.json").write_text("{not json")
    status, out, err = cli(
        "ingest", "synthetic:3", str(dest), "--frame-shape", "2", "--dtype", "uint8"
    )
    assert (status, out) == (1, "")
    assert re.fullmatch(
        r'tensortrio ingest: error: Error reading ".*bad/zarr\.json": Invalid JSON\n', err
    )
    assert (dest / "zarr.json").read_text() == "{not json"
    assert sorted(p.name for p in dest.iterdir()) == ["zarr.json"]
