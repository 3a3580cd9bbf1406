"""Virtual actors: activation, idle exit with preserved state, the exit/arrival race, bounds."""

from __future__ import annotations

import attrs
import pytest
import trio
import trio.lowlevel
from trio.testing import MockClock, Sequencer, wait_all_tasks_blocked

from tensortrio.actors import ActorRegistry, RegistryStatistics, Request
from tensortrio.errors import ActorClosedError


@attrs.define(eq=False)
class Counter:
    count: int = 0
    begun: int = 0
    finished: int = 0
    dirty: bool = False


@attrs.frozen
class Add:
    amount: int


@attrs.frozen
class Get(Request[int]):
    pass


@attrs.frozen
class Slow(Request[int]):
    """Increments ``begun``, sleeps ``seconds``, increments ``finished``."""

    seconds: float


@attrs.frozen
class Progress(Request[tuple[int, int]]):
    """Replies ``(begun, finished)``."""


@attrs.frozen
class Fail(Request[None]):
    pass


@attrs.frozen
class Crash:
    pass


Message = Add | Get | Slow | Progress | Fail | Crash


@attrs.define(eq=False)
class Counters(ActorRegistry[str, Counter, Message]):
    peak_live: int = 0
    created: list[str] = attrs.field(factory=list)

    def new_state(self, key: str) -> Counter:
        self.created.append(key)
        return Counter()

    async def handle(self, key: str, state: Counter, message: Message) -> object:
        self.peak_live = max(self.peak_live, self.statistics().live_actors)
        match message:
            case Add(amount):
                state.count += amount
                state.dirty = True
            case Get():
                return state.count
            case Slow(seconds):
                state.begun += 1
                await trio.sleep(seconds)
                state.finished += 1
                return state.finished
            case Progress():
                return (state.begun, state.finished)
            case Fail():
                raise KeyError(f"no luck for {key!r}")
            case Crash():
                raise RuntimeError(f"crash in {key!r}")
        return None

    def can_drop(self, key: str, state: Counter) -> bool:
        return not state.dirty


async def test_first_message_activates_and_idle_exit_keeps_state(
    nursery: trio.Nursery, autojump_clock: MockClock
) -> None:
    registry = Counters(name="counters", idle_timeout=10)
    registry.start(nursery)
    assert "a" not in registry
    await registry.send("a", Add(2))
    assert registry.is_active("a")
    assert await registry.ask("a", Get()) == 2
    start = trio.current_time()
    await trio.sleep(9.5)
    assert registry.is_active("a")
    await trio.sleep(1)
    assert trio.current_time() - start == 10.5
    assert not registry.is_active("a")
    assert "a" in registry
    await registry.send("a", Add(3))
    assert await registry.ask("a", Get()) == 5
    assert registry.created == ["a"]
    stats = registry.statistics()
    assert stats == RegistryStatistics(
        name="counters",
        live_actors=1,
        idle_actors=1,
        states=1,
        activations=2,
        deactivations=1,
        evictions=0,
        messages_handled=4,
        asks_failed=0,
        asks_abandoned=0,
        senders_waiting_for_capacity=0,
        max_active=None,
        closed=False,
    )
    await registry.aclose()


async def test_keys_are_independent_and_ordered(
    nursery: trio.Nursery, autojump_clock: MockClock
) -> None:
    registry = Counters(idle_timeout=1)
    registry.start(nursery)
    for i in range(5):
        await registry.send("a", Add(i))
        await registry.send("b", Add(10 * i))
    assert await registry.ask("a", Get()) == 10
    assert await registry.ask("b", Get()) == 100
    assert registry.statistics().live_actors == 2
    await registry.aclose()


async def test_ask_error_goes_to_asker(nursery: trio.Nursery, autojump_clock: MockClock) -> None:
    registry = Counters()
    registry.start(nursery)
    with pytest.raises(KeyError, match=r"^\"no luck for 'k'\"$"):
        await registry.ask("k", Fail())
    assert await registry.ask("k", Get()) == 0
    assert registry.statistics().asks_failed == 1
    await registry.aclose()


async def test_message_just_before_idle_deadline_keeps_the_activation(
    nursery: trio.Nursery, autojump_clock: MockClock
) -> None:
    registry = Counters(idle_timeout=1)
    registry.start(nursery)
    await registry.send("a", Add(1))
    await trio.sleep(0.999)
    await registry.send("a", Add(1))
    await trio.sleep(0.999)
    assert registry.statistics().activations == 1
    assert await registry.ask("a", Get()) == 2


async def test_message_delivered_after_deadline_passed_but_before_actor_ran(
    nursery: trio.Nursery, mock_clock: MockClock
) -> None:
    # The clock jumps past the idle deadline, but the message reaches the waiting
    # actor before the run loop notices the deadline: the old activation takes it.
    registry = Counters(idle_timeout=1)
    registry.start(nursery)
    await registry.send("a", Add(1))
    await wait_all_tasks_blocked()
    mock_clock.jump(5)
    registry.send_nowait("a", Add(1))
    await wait_all_tasks_blocked()
    assert registry.statistics().activations == 1
    assert await registry.ask("a", Get()) == 2
    await registry.aclose()
    assert registry.statistics().deactivations == 1


async def test_message_arriving_as_actor_exits_is_never_lost(mock_clock: MockClock) -> None:
    """The sender wakes in the same scheduler batch as the idle deadline fires.

    Trio runs a batch in either order, so repeating covers both interleavings:
    the sender queues first (the exiting actor takes the message on its last
    look at the mailbox) or the actor exits first (the sender activates anew).
    """
    seen_activations: set[int] = set()
    for _ in range(64):
        registry = Counters(idle_timeout=1)
        async with trio.open_nursery() as inner:
            registry.start(inner)
            await registry.send("a", Add(1))
            deadline = trio.current_time() + 1
            await wait_all_tasks_blocked()

            async def sender(deadline: float = deadline, registry: Counters = registry) -> None:
                await trio.sleep_until(deadline)
                await registry.send("a", Add(1))

            inner.start_soon(sender)
            await wait_all_tasks_blocked()
            # Jump exactly to the deadline the actor and the sender share.
            mock_clock.jump(deadline - trio.current_time())
            await trio.lowlevel.checkpoint()
            await wait_all_tasks_blocked()
            assert await registry.ask("a", Get()) == 2
            seen_activations.add(registry.statistics().activations)
            await registry.aclose()
    assert seen_activations == {1, 2}


async def test_asker_cancelled_mid_handling_leaves_state_consistent(
    nursery: trio.Nursery, autojump_clock: MockClock
) -> None:
    registry = Counters(idle_timeout=100)
    registry.start(nursery)
    with trio.move_on_after(1) as scope:
        await registry.ask("a", Slow(5))
    assert scope.cancelled_caught
    assert await registry.ask("a", Progress()) == (1, 1)
    assert trio.current_time() == 5
    await registry.aclose()


async def test_many_keys_bounded_live_tasks(
    nursery: trio.Nursery, autojump_clock: MockClock
) -> None:
    registry = Counters(idle_timeout=60, max_active=4)
    registry.start(nursery)
    results: dict[str, int] = {}

    async def client(key: str) -> None:
        await registry.send(key, Add(1))
        results[key] = await registry.ask(key, Slow(1))

    async with trio.open_nursery() as clients:
        for i in range(100):
            clients.start_soon(client, f"k{i}")
    assert results == {f"k{i}": 1 for i in range(100)}
    stats = registry.statistics()
    assert registry.peak_live == 4
    assert stats.live_actors <= 4
    assert stats.states == 100
    assert stats.senders_waiting_for_capacity == 0
    # Idle actors made way at once for waiting keys instead of idling for 60 s.
    assert trio.current_time() < 60
    await registry.aclose()


async def test_idle_actor_makes_way_for_new_key(
    nursery: trio.Nursery, autojump_clock: MockClock
) -> None:
    registry = Counters(idle_timeout=60, max_active=1)
    registry.start(nursery)
    await registry.send("a", Add(1))
    await wait_all_tasks_blocked()
    assert registry.statistics().idle_actors == 1
    with pytest.raises(trio.WouldBlock):
        registry.send_nowait("b", Add(1))
    await registry.send("b", Add(1))
    assert trio.current_time() == 0
    assert (registry.is_active("a"), registry.is_active("b")) == (False, True)
    assert await registry.ask("a", Get()) == 1
    await registry.aclose()


async def test_evict_respects_activity_and_can_drop(
    nursery: trio.Nursery, autojump_clock: MockClock
) -> None:
    registry = Counters(idle_timeout=1)
    registry.start(nursery)
    await registry.send("dirty", Add(1))
    assert await registry.ask("clean", Get()) == 0
    assert not registry.evict("clean")  # still active
    await trio.sleep(2)
    assert not registry.evict("dirty")
    assert not registry.evict("unknown")
    assert registry.evict("clean")
    assert "clean" not in registry
    assert len(registry) == 1
    assert await registry.ask("clean", Get()) == 0
    assert registry.created == ["dirty", "clean", "clean"]
    assert registry.statistics().evictions == 1


async def test_sequenced_senders_to_one_key_keep_their_order(
    nursery: trio.Nursery, autojump_clock: MockClock
) -> None:
    registry = Counters(idle_timeout=0)
    registry.start(nursery)
    seq = Sequencer()
    log: list[int] = []

    async def step(i: int) -> None:
        async with seq(i):
            await registry.send("k", Add(i))
            log.append(await registry.ask("k", Get()))

    async with trio.open_nursery() as clients:
        for i in reversed(range(4)):
            clients.start_soon(step, i)
    assert log == [0, 1, 3, 6]


async def test_aclose_finishes_queued_work_and_rejects_new(
    nursery: trio.Nursery, autojump_clock: MockClock
) -> None:
    registry = Counters(name="counters", idle_timeout=100, mailbox_size=2)
    registry.start(nursery)
    nursery.start_soon(registry.ask, "a", Slow(1))
    await wait_all_tasks_blocked()
    registry.send_nowait("a", Add(5))
    await registry.aclose()
    assert trio.current_time() == 1
    stats = registry.statistics()
    assert (stats.live_actors, stats.closed, stats.messages_handled) == (0, True, 2)
    with pytest.raises(ActorClosedError, match=r"^counters: registry is closed$"):
        await registry.send("a", Add(1))
    with pytest.raises(ActorClosedError, match=r"^counters: registry is closed$"):
        registry.send_nowait("b", Add(1))


async def test_crash_in_send_handler_fails_queued_asks(autojump_clock: MockClock) -> None:
    registry = Counters(name="counters", mailbox_size=2)
    errors: list[str] = []

    async def asker() -> None:
        try:
            await registry.ask("a", Get())
        except ActorClosedError as exc:
            errors.append(str(exc))

    with pytest.RaisesGroup(pytest.RaisesExc(RuntimeError, match=r"^crash in 'a'$")):
        async with trio.open_nursery() as nursery:
            registry.start(nursery)
            nursery.start_soon(registry.ask, "a", Slow(1))
            await wait_all_tasks_blocked()
            await registry.send("a", Crash())
            nursery.start_soon(asker)
    assert errors == ["counters actor 'a' crashed: RuntimeError(\"crash in 'a'\")"]
    assert not registry.is_active("a")


async def test_registry_must_be_started_and_arguments_are_checked() -> None:
    registry = Counters(name="counters")
    with pytest.raises(RuntimeError, match=r"^counters: registry was not started$"):
        await registry.send("a", Add(1))
    with pytest.raises(ValueError, match=r"^counters: idle_timeout must be >= 0, got -1$"):
        Counters(name="counters", idle_timeout=-1)
    with pytest.raises(ValueError, match=r"^counters: max_active must be >= 1, got 0$"):
        Counters(name="counters", max_active=0)
    with pytest.raises(
        ValueError, match=r"^counters: mailbox size must be an integer >= 0, got 1.5$"
    ):
        Counters(name="counters", mailbox_size=1.5)  # type: ignore[arg-type]


def test_start_service_activates_keys_in_the_runtime() -> None:
    from tensortrio.runtime import run_async

    async def scenario() -> tuple[int, int]:
        registry = Counters(name="svc", idle_timeout=0)
        registry.start_service()
        for i in range(3):
            await registry.send(f"k{i % 2}", Add(i))
        total = await registry.ask("k0", Get()) + await registry.ask("k1", Get())
        await registry.aclose()
        return total, registry.statistics().live_actors

    assert run_async(scenario) == (3, 0)


async def test_idle_timeout_bounds_live_tasks_over_time(
    nursery: trio.Nursery, autojump_clock: MockClock
) -> None:
    registry = Counters(idle_timeout=0.1)
    registry.start(nursery)
    for i in range(1000):
        await registry.send(f"k{i}", Add(1))
        await trio.sleep(0.01)
    assert registry.peak_live <= 11
    await trio.sleep(0.2)
    stats = registry.statistics()
    assert (stats.live_actors, stats.states, stats.deactivations) == (0, 1000, 1000)


async def test_message_for_a_key_made_to_make_way_is_never_lost(mock_clock: MockClock) -> None:
    """A sender for the idle key and a sender needing its slot run in either order."""
    for _ in range(32):
        registry = Counters(idle_timeout=60, max_active=1)
        async with trio.open_nursery() as nursery:
            registry.start(nursery)
            await registry.send("a", Add(1))
            await wait_all_tasks_blocked()
            nursery.start_soon(registry.send, "b", Add(1))
            nursery.start_soon(registry.send, "a", Add(1))
            await wait_all_tasks_blocked()
            assert registry.is_active("b")
            assert await registry.ask("a", Get()) == 2
            assert await registry.ask("b", Get()) == 1
            await registry.aclose()
        assert registry.statistics().messages_handled == 5


async def test_activation_in_a_closed_nursery_fails_cleanly() -> None:
    registry = Counters(name="counters")
    async with trio.open_nursery() as nursery:
        registry.start(nursery)
    with pytest.raises(RuntimeError, match=r"^Nursery is closed to new arrivals$"):
        await registry.send("a", Add(1))
    stats = registry.statistics()
    assert (stats.live_actors, stats.activations) == (0, 0)
    assert not registry.is_active("a")


async def test_handler_of_a_message_racing_the_deadline_is_not_cut_short(
    nursery: trio.Nursery, mock_clock: MockClock
) -> None:
    registry = Counters(idle_timeout=1)
    registry.start(nursery)
    await registry.send("a", Add(1))
    await wait_all_tasks_blocked()
    mock_clock.jump(5)  # past the idle deadline, which the run loop has not yet seen
    registry.send_nowait("a", Slow(1))
    await wait_all_tasks_blocked()
    mock_clock.jump(1)
    await wait_all_tasks_blocked()
    assert await registry.ask("a", Progress()) == (1, 1)
    assert registry.statistics().activations == 1


async def test_handler_of_a_message_racing_make_way_is_not_cut_short(
    mock_clock: MockClock,
) -> None:
    for _ in range(16):
        registry = Counters(idle_timeout=60, max_active=1)
        async with trio.open_nursery() as nursery:
            registry.start(nursery)
            await registry.send("a", Add(1))
            await wait_all_tasks_blocked()
            registry.send_nowait("a", Slow(1))  # handed straight to the waiting task
            nursery.start_soon(registry.send, "b", Add(1))  # wants "a" to make way
            await wait_all_tasks_blocked()
            mock_clock.jump(1)
            await wait_all_tasks_blocked()
            assert registry.is_active("b")
            assert await registry.ask("a", Progress()) == (1, 1)
            await registry.aclose()


def test_key_crashed_under_the_runtime_reactivates_with_its_state() -> None:
    from tensortrio.runtime import run_async

    async def scenario() -> tuple[int, int]:
        registry = Counters(name="svc", idle_timeout=10)
        registry.start_service()
        await registry.send("a", Add(2))
        await registry.send("a", Crash())
        await wait_all_tasks_blocked()  # the crash is logged; other services live on
        assert not registry.is_active("a")
        # The next message activates the key again, on the state it had.
        count = await registry.ask("a", Get())
        await registry.aclose()
        return count, registry.statistics().activations

    assert run_async(scenario) == (2, 2)
