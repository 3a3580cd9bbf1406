"""The README: two set-up commands at the top, and its tour's Python blocks run as printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
CI = Path(__file__).resolve().parents[2] / ".ci" / "run"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", README.read_text(), re.S | re.M)


def test_the_two_setup_commands_come_first() -> None:
    text = README.read_text()
    fences = re.findall(r"^```(\w+)\n(.*?)^```$", text, re.S | re.M)
    first, second = fences[0], fences[1]
    assert first == (
        "sh",
        "python3 -m venv .venv && . .venv/bin/activate && pip install . && tensortrio demo\n",
    )
    assert second[0] == "sh"
    assert second[1].endswith("pip install -e '.[test]' && python -m pytest\n")
    # Both come before any prose but the title.
    assert text.index(first[1]) < text.index(second[1]) < text.index("The first command")
    # .ci/run installs the same extras and runs the same suite.
    ci = CI.read_text()
    assert "install --quiet -e '.[test]'" in ci
    assert "python -m pytest" in ci


@pytest.mark.parametrize("index", range(5))
def test_tour_block_runs(index: int, tmp_path: Path) -> None:
    block = _blocks("python")[index]
    done = subprocess.run(
        [sys.executable, "-c", block],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    expected = {
        0: "(8, 256, 256)",
        1: "[0.0, 16.0, 32.0, 48.0]",
        2: "[ 0  3  6  9 12 15 18 21]",
        3: "['grace', 'édouard']",
        4: "[0, 2, 4, 6]",
    }[index]
    assert expected in done.stdout
