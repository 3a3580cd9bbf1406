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


def test_format_drivers_load_on_first_use() -> None:
    code = (
        "import sys, tensortrio as ts\n"
        "assert 'tensortrio.drivers.zarr3' not in sys.modules\n"
        "for driver in ('zarr', 'zarr3'):\n"
        "    store = ts.open({'driver': driver, 'kvstore': 'memory://'},\n"
        "                    dtype=ts.uint8, shape=[4], create=True).result()\n"
        "    store[1:3] = 7\n"
        "    assert store.read().result().tolist() == [0, 7, 7, 0], driver\n"
        "assert ts.Spec('memory://|zarr3:').to_json()['driver'] == 'zarr3'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
