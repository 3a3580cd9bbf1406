"""Waking the KvStore actor from its own thread: one message per burst, never a lost wake."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tensortrio.actors.kvstore import KvStoreActor, ReadOp, WriteOp
from tensortrio.drivers.kvstore.memory import MemoryDriverSpec
from tensortrio.drivers.kvstore.operations import ReadRequest, WriteRequest
from tensortrio.runtime import Future
from tensortrio.schema.context import Context


async def _memory_actor(mailbox_size: int) -> KvStoreActor:
    driver = await MemoryDriverSpec().open(Context())
    return KvStoreActor(driver=driver, name="wake test", mailbox_size=mailbox_size)


def _write(actor: KvStoreActor, key: bytes, value: bytes) -> object:
    future: Future[object] = Future._pending()
    actor.submit(WriteOp(WriteRequest(key, value), future))
    return future


def _read(actor: KvStoreActor, key: bytes) -> object:
    future: Future[object] = Future._pending()
    actor.submit(ReadOp(ReadRequest(key), future))
    return future


async def test_ops_submitted_before_the_actor_runs_are_served_once_it_does() -> None:
    actor = await _memory_actor(mailbox_size=1)
    async with trio.open_nursery() as nursery:
        # Not yet waiting for mail: the wake waits in the mailbox until it is.
        written = _write(actor, b"k", b"v")
        nursery.start_soon(actor.serve)
        assert (await written).generation  # type: ignore[attr-defined]
        assert (await _read(actor, b"k")).value == b"v"  # type: ignore[attr-defined]
        await actor.aclose()


async def test_a_burst_from_the_actors_thread_is_one_message() -> None:
    actor = await _memory_actor(mailbox_size=1)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(actor.serve)
        await trio.testing.wait_all_tasks_blocked()
        before = actor.statistics()
        futures = [_write(actor, b"k%d" % i, b"v") for i in range(100)]
        for future in futures:
            await future  # type: ignore[misc]
        after = actor.statistics()
        assert after.messages_handled - before.messages_handled == 1
        assert after.writes - before.writes == 100
        # Drained: the next submit wakes the actor again.
        assert (await _read(actor, b"k7")).value == b"v"  # type: ignore[attr-defined]
        await actor.aclose()


async def test_an_unbuffered_mailbox_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^KvStoreActor 'wake test': mailbox_size must be at least 1, got 0 "):
        await _memory_actor(mailbox_size=0)
