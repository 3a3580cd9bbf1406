"""Every script in examples/ runs to completion and reports what it did."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (
            "trio_ingest_service.py",
            r"trio service: 96 frames appended in [0-9.]+ s, shape \(96, 128, 128\)",
        ),
        (
            "asyncio_app.py",
            r"asyncio app: 16 tiles written concurrently, read back 262144 bytes intact",
        ),
        (
            "plain_script.py",
            r"plain script: 4 threads wrote \(100, 60\), grown to \(120, 60\), sum 17995800",
        ),
    ],
)
def test_example_runs(script: str, expected: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert re.fullmatch(expected + "\n", done.stdout), done.stdout


def test_every_example_is_tested() -> None:
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert scripts == ["asyncio_app.py", "plain_script.py", "trio_ingest_service.py"]
