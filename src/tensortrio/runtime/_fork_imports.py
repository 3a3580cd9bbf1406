"""Letting imports that other threads have under way finish before the process forks.

tensortrio imports many modules lazily, on the runtime thread and in worker
threads. A module being imported sits in ``sys.modules`` half-initialised,
with its import lock held by the importing thread; a child forked at that
moment inherits the half module and a lock that nobody will release, so its
own first use fails with "partially initialized module" or hangs. Before a
fork, this waits for such imports (by importing the module again, which
blocks on its lock until the other thread is done). An import that the
forking thread itself has under way is re-entrant and returns at once.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from typing import Final

__all__ = ["settle_imports"]

#: Rounds of waiting: an import finishing can reveal one it was waiting on.
_ROUNDS: Final = 4


def _initializing() -> list[str]:
    return [
        name
        for name, module in list(sys.modules.items())
        if getattr(getattr(module, "__spec__", None), "_initializing", False)
    ]


def settle_imports() -> None:
    """Wait until no module import is half done (run by ``os.fork`` in the forking thread)."""
    for _ in range(_ROUNDS):
        pending = _initializing()
        if not pending:
            return
        for name in pending:
            # A failed import is the importing thread's to report.
            with contextlib.suppress(Exception):
                importlib.import_module(name)
