"""SIGKILL in the middle of an ingest, then a rerun: every frame exactly once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from typing import TYPE_CHECKING

from .conftest import assert_frames_are_indices, read_zarr3, run_child, stored_frames

if TYPE_CHECKING:
    from pathlib import Path

ARGS = ("--frame-shape", "16,16", "--dtype", "uint32", "--shard-frames", "8", "--no-progress")


def test_sigkill_mid_stream_then_resume(tmp_path: Path) -> None:
    dest = tmp_path / "frames"
    command = [sys.executable, "-m", "tensortrio.cli", "ingest", "synthetic:100000", str(dest)]
    child = subprocess.Popen([*command, *ARGS, "--rate", "2000"])
    try:
        deadline = time.monotonic() + 30
        # The metadata's shape is the commit point: kill once some frames are committed.
        while stored_frames(dest) < 24:
            assert child.poll() is None, "ingest ended before it could be killed"
            assert time.monotonic() < deadline, "no frames committed in 30 s"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    committed = stored_frames(dest)
    assert 24 <= committed < 100000
    assert committed % 8 == 0  # every commit ends a shard slab
    assert_frames_are_indices(read_zarr3(dest), committed)

    total = committed + 50  # the same stream, cut shorter: resume and finish quickly
    done = run_child("ingest", f"synthetic:{total}", str(dest), *ARGS)
    assert done.returncode == 0, done.stderr
    assert f"(resumed after frame {committed}): 50 frames committed" in done.stdout
    assert_frames_are_indices(read_zarr3(dest), total)


# Killed after the third slab's data is durable but before its resize: the
# commit protocol's one window where data exists past the shape.
_KILL_BEFORE_THIRD_RESIZE = textwrap.dedent(
    """
    import os, signal, sys
    import tensortrio as ts
    from tensortrio.cli.main import main

    resize = ts.TensorStore.resize
    calls = []

    def killing_resize(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return resize(self, *args, **kwargs)

    ts.TensorStore.resize = killing_resize
    sys.exit(main(sys.argv[1:]))
    """
)


def test_sigkill_between_data_and_resize_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "frames"
    args = ["ingest", "synthetic:40", str(dest), *ARGS, "--in-flight", "1"]
    done = subprocess.run(
        [sys.executable, "-c", _KILL_BEFORE_THIRD_RESIZE, *args], timeout=60, check=False
    )
    assert done.returncode == -signal.SIGKILL
    assert stored_frames(dest) == 16
    # The third shard's data is on disk past the shape, invisible to readers.
    assert (dest / "c" / "2" / "0" / "0").is_file()
    assert_frames_are_indices(read_zarr3(dest), 16)
    rerun = run_child(*args)
    assert rerun.returncode == 0, rerun.stderr
    assert "(resumed after frame 16): 24 frames committed" in rerun.stdout
    assert_frames_are_indices(read_zarr3(dest), 40)
    assert sorted(os.listdir(dest / "c")) == ["0", "1", "2", "3", "4"]


def test_ctrl_c_reports_what_is_committed(tmp_path: Path) -> None:
    dest = tmp_path / "frames"
    command = [sys.executable, "-m", "tensortrio.cli", "ingest", "synthetic:100000", str(dest)]
    child = subprocess.Popen(
        [*command, *ARGS, "--rate", "2000"],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while stored_frames(dest) < 16:
            assert child.poll() is None, "ingest ended before it could be interrupted"
            assert time.monotonic() < deadline, "no frames committed in 30 s"
            time.sleep(0.01)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130
    assert out == ""
    # A resize already under way when Ctrl-C came may still land: at least the reported frames.
    reported = re.fullmatch(
        r"tensortrio ingest: at least (\d+) frames are committed; run it again to resume\n"
        r"tensortrio ingest: interrupted\n",
        err,
    )
    assert reported, err
    committed = stored_frames(dest)
    assert int(reported[1]) <= committed
    assert committed >= 16
    assert_frames_are_indices(read_zarr3(dest), committed)
