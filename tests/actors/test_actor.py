"""The Actor base: ordering, request/reply, backpressure, errors, closing, cancellation."""

from __future__ import annotations

import re

import attrs
import pytest
import trio
from trio.testing import wait_all_tasks_blocked

from tensortrio.actors import Actor, ActorStatistics, Request
from tensortrio.errors import ActorClosedError


@attrs.frozen
class Append:
    item: str


@attrs.frozen
class Items(Request[tuple[str, ...]]):
    pass


@attrs.frozen
class Fail(Request[None]):
    message: str


@attrs.frozen
class Crash:
    message: str


@attrs.frozen
class Block(Request[str]):
    """Appends ``before``, waits for ``gate``, then appends ``after``."""

    gate: trio.Event
    before: str
    after: str


Message = Append | Items | Fail | Crash | Block


@attrs.define(eq=False)
class Recorder(Actor[Message]):
    items: list[str] = attrs.field(factory=list)

    async def handle(self, message: Message) -> object:
        match message:
            case Append(item):
                self.items.append(item)
            case Items():
                return tuple(self.items)
            case Fail(text):
                raise ValueError(text)
            case Crash(text):
                raise RuntimeError(text)
            case Block(gate, before, after):
                self.items.append(before)
                await gate.wait()
                self.items.append(after)
                return after
        return None


async def test_messages_are_handled_in_order(nursery: trio.Nursery) -> None:
    actor = Recorder(name="rec")
    actor.start(nursery)
    for i in range(10):
        await actor.send(Append(str(i)))
    assert await actor.ask(Items()) == tuple(str(i) for i in range(10))
    stats = actor.statistics()
    assert stats == ActorStatistics(
        name="rec",
        messages_handled=11,
        asks_failed=0,
        asks_abandoned=0,
        mailbox_size=0,
        mailbox_used=0,
        senders_waiting=0,
        running=True,
        closed=False,
    )
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        stats.messages_handled = 0  # type: ignore[misc]
    await actor.aclose()


async def test_ask_error_surfaces_in_asker_and_actor_carries_on(nursery: trio.Nursery) -> None:
    actor = Recorder()
    actor.start(nursery)
    with pytest.raises(ValueError, match=r"^bad request$"):
        await actor.ask(Fail("bad request"))
    await actor.send(Append("a"))
    assert await actor.ask(Items()) == ("a",)
    assert actor.statistics().asks_failed == 1
    await actor.aclose()


async def test_bounded_mailbox_applies_backpressure(nursery: trio.Nursery) -> None:
    actor = Recorder(mailbox_size=1)
    actor.start(nursery)
    gate = trio.Event()
    nursery.start_soon(actor.ask, Block(gate, "b0", "b1"))
    await wait_all_tasks_blocked()
    # The actor is busy with Block: one message fits in the mailbox, then senders wait.
    actor.send_nowait(Append("x"))
    with pytest.raises(trio.WouldBlock):
        actor.send_nowait(Append("y"))
    nursery.start_soon(actor.send, Append("z"))
    await wait_all_tasks_blocked()
    stats = actor.statistics()
    assert (stats.mailbox_used, stats.senders_waiting) == (1, 1)
    gate.set()
    assert await actor.ask(Items()) == ("b0", "b1", "x", "z")
    await actor.aclose()


async def test_unbuffered_mailbox_send_nowait_needs_a_waiting_actor(nursery: trio.Nursery) -> None:
    actor = Recorder()
    with pytest.raises(trio.WouldBlock):
        actor.send_nowait(Append("early"))
    actor.start(nursery)
    await wait_all_tasks_blocked()
    actor.send_nowait(Append("a"))
    assert await actor.ask(Items()) == ("a",)
    await actor.aclose()


async def test_crash_in_send_handler_fails_queued_asks_and_propagates() -> None:
    actor = Recorder(name="rec", mailbox_size=4)
    errors: list[BaseException] = []

    async def asker() -> None:
        try:
            await actor.ask(Items())
        except ActorClosedError as exc:
            errors.append(exc)

    with pytest.RaisesGroup(pytest.RaisesExc(RuntimeError, match=r"^boom$")):
        async with trio.open_nursery() as nursery:
            gate = trio.Event()
            nursery.start_soon(actor.ask, Block(gate, "b0", "b1"))
            await wait_all_tasks_blocked()
            actor.start(nursery)
            await wait_all_tasks_blocked()
            await actor.send(Crash("boom"))
            nursery.start_soon(asker)
            await wait_all_tasks_blocked()
            gate.set()
    assert len(errors) == 1
    assert str(errors[0]) == "actor 'rec' crashed: RuntimeError('boom')"
    assert isinstance(errors[0].__cause__, RuntimeError)
    assert actor.statistics().closed
    with pytest.raises(ActorClosedError, match=r"^actor 'rec' crashed: RuntimeError\('boom'\)$"):
        await actor.send(Append("late"))


async def test_cancelled_actor_fails_current_and_queued_asks() -> None:
    actor = Recorder(name="rec", mailbox_size=2)
    outcomes: list[str] = []

    async def asker(message: Request[object]) -> None:
        try:
            await actor.ask(message)
        except ActorClosedError as exc:
            outcomes.append(str(exc))

    async with trio.open_nursery() as callers, trio.open_nursery() as home:
        actor.start(home)
        callers.start_soon(asker, Block(trio.Event(), "b0", "b1"))
        await wait_all_tasks_blocked()
        callers.start_soon(asker, Items())
        await wait_all_tasks_blocked()
        home.cancel_scope.cancel()
    # Both askers wake in one scheduler batch, in either order.
    queued, current = sorted(outcomes)
    assert queued == "actor 'rec' was cancelled"
    assert re.fullmatch(
        r"actor 'rec' was cancelled while handling Block\(gate=.*, before='b0', after='b1'\)",
        current,
    )
    assert actor.items == ["b0"]


async def test_aclose_handles_queued_messages_then_rejects(nursery: trio.Nursery) -> None:
    actor = Recorder(name="rec", mailbox_size=2)
    actor.start(nursery)
    gate = trio.Event()
    nursery.start_soon(actor.ask, Block(gate, "b0", "b1"))
    await wait_all_tasks_blocked()
    actor.send_nowait(Append("q1"))
    actor.send_nowait(Append("q2"))
    rejected: list[str] = []

    async def blocked_sender() -> None:
        try:
            await actor.send(Append("never"))
        except ActorClosedError as exc:
            rejected.append(str(exc))

    nursery.start_soon(blocked_sender)
    await wait_all_tasks_blocked()
    async with trio.open_nursery() as inner:
        inner.start_soon(actor.aclose)
        await wait_all_tasks_blocked()
        assert rejected == ["actor 'rec' is closed"]
        assert actor.statistics().running
        gate.set()
    assert actor.items == ["b0", "b1", "q1", "q2"]
    stats = actor.statistics()
    assert (stats.running, stats.closed) == (False, True)
    with pytest.raises(ActorClosedError, match=r"^actor 'rec' is closed$"):
        await actor.ask(Items())
    with pytest.raises(ActorClosedError, match=r"^actor 'rec' is closed$"):
        actor.send_nowait(Append("x"))
    await actor.aclose()  # idempotent


async def test_aclose_before_start_and_from_own_handler() -> None:
    never = Recorder(name="idle")
    await never.aclose()
    with pytest.raises(ActorClosedError, match=r"^actor 'idle' is closed$"):
        await never.send(Append("x"))

    @attrs.frozen
    class Stop(Request[str]):
        pass

    @attrs.define(eq=False)
    class SelfClosing(Actor[Stop]):
        async def handle(self, message: Stop) -> object:
            await self.aclose()
            return "bye"

    async with trio.open_nursery() as nursery:
        actor = SelfClosing(name="self")
        actor.start(nursery)
        assert await actor.ask(Stop()) == "bye"
    assert not actor.statistics().running


async def test_asker_cancelled_before_handling_is_skipped(nursery: trio.Nursery) -> None:
    actor = Recorder(mailbox_size=4)
    actor.start(nursery)
    gate = trio.Event()
    nursery.start_soon(actor.ask, Block(gate, "b0", "b1"))
    await wait_all_tasks_blocked()
    scope = trio.CancelScope()

    async def impatient_asker() -> None:
        with scope:
            await actor.ask(Block(trio.Event(), "never", "never"))

    nursery.start_soon(impatient_asker)
    await wait_all_tasks_blocked()
    assert actor.statistics().mailbox_used == 1
    scope.cancel()
    await actor.send(Append("kept"))
    gate.set()
    assert await actor.ask(Items()) == ("b0", "b1", "kept")
    assert actor.statistics().asks_abandoned == 1
    await actor.aclose()


async def test_asker_cancelled_while_handling_leaves_state_consistent(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    actor = Recorder()
    actor.start(nursery)
    gate = trio.Event()
    with trio.move_on_after(1) as scope:
        await actor.ask(Block(gate, "begin", "end"))
    assert scope.cancelled_caught
    assert actor.items == ["begin"]
    gate.set()
    # The handler ran to completion although nobody waits for its reply.
    assert await actor.ask(Items()) == ("begin", "end")
    assert actor.statistics().asks_abandoned == 0
    await actor.aclose()


async def test_run_in_calling_task_and_single_start(nursery: trio.Nursery) -> None:
    actor = Recorder(name="rec")
    nursery.start_soon(actor.run)
    await wait_all_tasks_blocked()
    with pytest.raises(RuntimeError, match=r"^actor 'rec' was already started$"):
        actor.start(nursery)
    await actor.send(Append("a"))
    await actor.aclose()
    assert actor.items == ["a"]


def test_mailbox_size_is_validated() -> None:
    with pytest.raises(
        ValueError, match=r"^actor 'rec': mailbox size must be an integer >= 0, got -1$"
    ):
        Recorder(name="rec", mailbox_size=-1)


def test_start_service_runs_in_the_runtime() -> None:
    from tensortrio.runtime import run_async

    async def scenario() -> tuple[tuple[str, ...], bool]:
        actor = Recorder(name="svc")
        actor.start_service()
        await actor.send(Append("a"))
        items = await actor.ask(Items())
        await actor.aclose()
        return items, actor.statistics().running

    assert run_async(scenario) == (("a",), False)


def test_crash_under_the_runtime_ends_only_that_actor() -> None:
    from tensortrio.runtime import run_async

    async def scenario() -> tuple[str, tuple[str, ...]]:
        doomed, healthy = Recorder(name="doomed"), Recorder(name="healthy")
        doomed.start_service()
        healthy.start_service()
        await doomed.send(Crash("boom"))
        with pytest.raises(ActorClosedError) as info:
            await doomed.ask(Items())
        await healthy.send(Append("still here"))
        items = await healthy.ask(Items())
        await healthy.aclose()
        return str(info.value), items

    assert run_async(scenario) == ("actor 'doomed' crashed: RuntimeError('boom')", ("still here",))
