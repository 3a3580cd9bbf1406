"""bench/compare.py --quick runs end to end on all three libraries and tensortrio loses nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "compare.py"


def test_compare_quick_runs_every_workload_on_every_library() -> None:
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    libraries = ["tensortrio", "tensorstore", "zarr"]
    ratios = ["tt/tenso", "tt/zarr", "pair/tenso", "pair/zarr"]
    assert lines[0].split() == ["workload", "phase", *libraries, *ratios]
    assert not [line for line in lines if "FAILED" in line], completed.stdout + completed.stderr
    # Fixed-width table: workload in columns 0-17, phase in 19-24.
    rows = {f"{line[:18].strip()} {line[19:25].strip()}": line[25:] for line in lines[1:]}
    for workload in ("W1 memory raw", "W1 memory blosc", "W1 file raw", "W1 file blosc"):
        for phase in ("write", "read"):
            assert re.search(r"MiB/s", rows[f"{workload} {phase}"])
    for workload in ("W2 memory", "W2 file"):
        assert f"{workload} write" in rows
        assert f"{workload} read" in rows
    lost = rows["W3 file lost"].split()
    # tensortrio and tensorstore never lose an acknowledged write.
    assert lost[0] == "0"
    assert lost[1] == "0"
    for workload in ("W3 txn memory", "W3 txn file"):
        assert re.search(r"w/s", rows[f"{workload} write"])
        assert rows[f"{workload} lost"].split()[:2] == ["0", "0"]
    # 64 inner chunks of one shard read in one batch: a handful of kvstore reads, not 128.
    assert int(rows["W6 shard kvrd"].split()[0]) == 128
    assert int(rows["W6 shard bkvrd"].split()[0]) <= 4
