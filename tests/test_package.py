"""The package imports without side effects."""

from __future__ import annotations

import subprocess
import sys


def test_import_starts_no_thread() -> None:
    code = (
        "import threading, tensortrio\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_errors_subclass_builtins() -> None:
    import tensortrio as ts

    assert issubclass(ts.InvalidArgumentError, ValueError)
    assert issubclass(ts.KeyNotFoundError, KeyError)
    assert str(ts.KeyNotFoundError("key 'a/b' not found")) == "key 'a/b' not found"
