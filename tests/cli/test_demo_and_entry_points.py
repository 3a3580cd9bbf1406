"""tensortrio demo, the console script, python -m, --help, and the progress bar on a terminal."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import tensorstore

import zarr

from .conftest import assert_frames_are_indices, read_zarr3, run_child

if TYPE_CHECKING:
    from collections.abc import Callable

    Cli = Callable[..., tuple[int, str, str]]


def test_demo_writes_an_array_tensorstore_and_zarr_open(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "demo"
    args = ("demo", str(target), "--frames", "40", "--frame-shape", "32,16", "--no-progress")
    status, out, err = cli(*args)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"tensortrio demo: 40 frames of 32x16 uint16 into {target}"
    assert re.fullmatch(
        r"  ingest: 40 frames, 0\.0 MB in [0-9.]+ s: [0-9.]+ frames/s, [0-9.]+ MB/s", lines[2]
    )
    assert "every frame holds its index" in lines[3]
    assert_frames_are_indices(read_zarr3(target), 40)
    assert_frames_are_indices(zarr.open_array(str(target), mode="r")[:], 40)
    assert tensorstore.open({"driver": "zarr3", "kvstore": f"file://{target}/"}).result().shape == (
        40,
        32,
        16,
    )
    # An earlier demo is replaced; anything else is refused.
    assert cli(*args)[0] == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    status, _, err = cli("demo", str(other), "--no-progress")
    assert status == 1
    assert re.fullmatch(
        r"tensortrio demo: error: '.*other' is not empty and holds no earlier demo array; give another directory\n",
        err,
    )
    assert (other / "keep.txt").read_text() == "mine"


def test_demo_default_directory_via_python_m(tmp_path: Path) -> None:
    done = run_child("demo", "--frames", "8", "--frame-shape", "8,8", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert_frames_are_indices(read_zarr3(tmp_path / "tensortrio-demo"), 8)


def test_console_script_and_help() -> None:
    script = Path(sys.executable).with_name("tensortrio")
    done = subprocess.run(
        [script, "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    for command in ("ingest", "copy", "info", "demo"):
        assert command in done.stdout
    done = subprocess.run(
        [script, "ingest"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "the following arguments are required: source, dest" in done.stderr


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    main, child_end = pty.openpty()
    command = [sys.executable, "-m", "tensortrio.cli", "ingest", "synthetic:64", str(tmp_path / "d"),
               "--frame-shape", "64,64", "--dtype", "uint8", "--shard-frames", "8"]  # fmt: skip
    child = subprocess.Popen(command, stdout=child_end, stderr=child_end)
    os.close(child_end)
    output = b""
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        output += data
    os.close(main)
    assert child.wait(timeout=60) == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode(errors="replace"))
    assert re.search(r"64/64 frames .*frames/s .*MB/s", text), text
    assert "64 frames committed" in text
    np.testing.assert_array_equal(read_zarr3(tmp_path / "d")[:, 0, 0], np.arange(64, dtype="u1"))


def test_ingest_benchmark_runs_both_libraries() -> None:
    script = Path(__file__).resolve().parents[2] / "bench" / "ingest.py"
    done = subprocess.run(
        [sys.executable, str(script), "--frames", "24", "--frame-shape", "16,16",
         "--shard-frames", "8", "--runs", "1"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert re.fullmatch(
        r"ingest 24 frames of 16,16 uint16 \(0\.0 MB\), shards of 8 frames, median of 1 runs\n"
        r"  tensortrio +[0-9.]+ MB/s  \([0-9.]+ s; first run in the process [0-9.]+ MB/s\)\n"
        r"  tensorstore +[0-9.]+ MB/s  \([0-9.]+ s; first run in the process [0-9.]+ MB/s\)\n"
        r"  ratio tensortrio / tensorstore: [0-9.]+\n",
        done.stdout,
    )
