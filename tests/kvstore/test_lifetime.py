"""Lifetime of a store's actor: closed with its last handle, unusable (not hanging) after fork."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap

import pytest
import trio.testing

import tensortrio as ts
from tensortrio.runtime import get_runtime


def test_actor_closes_when_the_last_handle_goes() -> None:
    store = ts.KvStore.open("memory://").result()
    actor = store._actor
    sub = store / "x/"
    del store
    gc.collect()
    get_runtime().submit(trio.testing.wait_all_tasks_blocked).result()
    assert not actor.closed  # `sub` still uses it
    sub["k"] = b"v"
    del sub
    gc.collect()
    get_runtime().submit(trio.testing.wait_all_tasks_blocked).result()
    assert actor.closed
    assert not actor.statistics().running


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_store_opened_before_fork_fails_clearly_in_the_child() -> None:
    code = """
        import os, sys
        import tensortrio as ts
        store = ts.KvStore.open("memory://").result()
        store["k"] = b"parent"
        child = os.fork()
        if child == 0:
            try:
                try:
                    store["k"]
                except ts.TensorTrioError as exc:
                    print("refused:", exc, flush=True)
                fresh = ts.KvStore.open("memory://").result()
                fresh["k"] = b"child"
                print("fresh:", fresh["k"].decode(), flush=True)
            except BaseException as exc:
                print("child failed", repr(exc), flush=True)
                os._exit(1)
            sys.exit(0)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        print("parent:", store["k"].decode(), flush=True)
    """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "refused: actor 'kvstore memory' belongs to the process this one was forked from: "
        "open the kvstore again in this process",
        "fresh: child",
        "parent: parent",
    ]
