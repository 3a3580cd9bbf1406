"""Running the ``tensortrio`` command: in this process (fast) or as a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import numpy as np
import pytest

from tensortrio.cli.main import main

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def run_child(
    *args: str, stdin: bytes | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m tensortrio.cli ARGS`` in a child process, output as text."""
    result = subprocess.run(
        [sys.executable, "-m", "tensortrio.cli", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
    )


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Runs ``tensortrio ARGS`` in this process; returns (status, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        status = main(list(args))
        out, err = capsys.readouterr()
        return status, out, err

    return run


def stored_frames(path: Path) -> int:
    """shape[0] of the zarr3 array at ``path`` as its metadata says (0 when absent)."""
    try:
        return int(json.loads((path / "zarr.json").read_text())["shape"][0])
    except (OSError, ValueError, KeyError):
        return 0


def read_zarr3(path: Path) -> np.ndarray:
    """The whole zarr3 array at ``path``, read by the real ``tensorstore``."""
    import tensorstore

    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": os.fspath(path) + "/"}}
    return np.asarray(tensorstore.open(spec).result().read().result())


def assert_frames_are_indices(array: np.ndarray, count: int) -> None:
    """Frame ``i`` holds ``i`` (as the synthetic source writes it), exactly ``count`` frames."""
    assert array.shape[0] == count
    expected = np.arange(count).astype(array.dtype)
    flat = array.reshape(count, -1)
    assert (flat == expected[:, None]).all(), np.flatnonzero((flat != expected[:, None]).any(1))
