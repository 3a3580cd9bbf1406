"""Virtual actors: one logical actor per key, a live task only while it has work.

The first message for a key *activates* it: the registry creates its state (if
it has none yet) and starts a task reading that key's mailbox. After
``idle_timeout`` seconds without a message the task exits, but the state stays
in the registry, so the next message reactivates the key where it left off.
Millions of keys therefore never mean millions of tasks; with ``max_active``
the number of live tasks has a hard bound (an idle actor then makes way at
once for a key that needs a task).

Subclass :class:`ActorRegistry` with ``new_state`` and ``handle``::

    @attrs.define(eq=False)
    class Counters(ActorRegistry[str, list[int], Add | Total]):
        def new_state(self, key: str) -> list[int]:
            return [0]

        async def handle(self, key: str, state: list[int], message: Add | Total) -> object:
            ...

A message that arrives while a key's task is deciding to exit is never lost:
the exit is decided and published in one step with no checkpoint, after a last
look at the mailbox, so a message is either taken by the old task or sent to a
new activation.
"""

from __future__ import annotations

import abc
import functools
import math
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, Protocol, TypeVar, cast

import attrs
import trio

from ..errors import ActorClosedError
from .mailbox import Envelope, Mailbox, Reply, Request

__all__ = ["ActorRegistry", "RegistryStatistics"]

K = TypeVar("K", bound=Hashable)
S = TypeVar("S")
M = TypeVar("M")
R = TypeVar("R")


class _Spawner(Protocol):
    def __call__(
        self, async_fn: Callable[..., Awaitable[object]], *args: Any, name: object = None
    ) -> None: ...


@attrs.frozen
class RegistryStatistics:
    """A snapshot of a registry's activity, from :meth:`ActorRegistry.statistics`."""

    name: str
    live_actors: int
    """Keys with a running task."""
    idle_actors: int
    """Live tasks waiting for a message (they exit after ``idle_timeout``)."""
    states: int
    """Keys whose state the registry holds (live or not)."""
    activations: int
    deactivations: int
    evictions: int
    messages_handled: int
    asks_failed: int
    asks_abandoned: int
    senders_waiting_for_capacity: int
    """Senders waiting because ``max_active`` tasks are live and busy."""
    max_active: int | None
    closed: bool


@attrs.define(eq=False)
class _Activation(Generic[M]):
    mailbox: Mailbox[M]
    idle_scope: trio.CancelScope | None = None
    retired: bool = False
    """Exited normally; a sender that still reaches it may retry with a new activation."""


@attrs.define(eq=False)
class _Slot(Generic[S, M]):
    state: S
    activation: _Activation[M] | None = None


@attrs.define(eq=False)
class ActorRegistry(abc.ABC, Generic[K, S, M]):
    """Virtual actors keyed by ``K``, with state ``S`` per key, reading messages ``M``.

    Args:
      name: shown in errors and task names.
      idle_timeout: seconds a key's task waits for a message before exiting.
      mailbox_size: per-key mailbox buffer (0: senders wait for the actor).
      max_active: bound on live tasks (None: bounded only by the idle timeout).
    """

    name: str = attrs.field(default="registry", kw_only=True)
    idle_timeout: float = attrs.field(default=1.0, kw_only=True)
    mailbox_size: int = attrs.field(default=0, kw_only=True)
    max_active: int | None = attrs.field(default=None, kw_only=True)
    _spawn: _Spawner | None = attrs.field(init=False, default=None)
    _slots: dict[K, _Slot[S, M]] = attrs.field(init=False, factory=dict)
    # Insertion order is idle order: the first entry has been idle longest.
    _idle: dict[K, _Activation[M]] = attrs.field(init=False, factory=dict)
    _exited: trio.lowlevel.ParkingLot = attrs.field(init=False, factory=trio.lowlevel.ParkingLot)
    _closing: bool = attrs.field(init=False, default=False)
    _live: int = attrs.field(init=False, default=0)
    _waiting: int = attrs.field(init=False, default=0)
    _activations: int = attrs.field(init=False, default=0)
    _deactivations: int = attrs.field(init=False, default=0)
    _evictions: int = attrs.field(init=False, default=0)
    _handled: int = attrs.field(init=False, default=0)
    _asks_failed: int = attrs.field(init=False, default=0)
    _asks_abandoned: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        if not self.idle_timeout >= 0:
            raise ValueError(f"{self.name}: idle_timeout must be >= 0, got {self.idle_timeout!r}")
        if self.max_active is not None and self.max_active < 1:
            raise ValueError(f"{self.name}: max_active must be >= 1, got {self.max_active!r}")
        # Validates mailbox_size with the same message an Actor gives.
        Mailbox[M](self.name, self.mailbox_size)

    @abc.abstractmethod
    def new_state(self, key: K) -> S:
        """Create the state of a key seen for the first time (or after eviction)."""

    @abc.abstractmethod
    async def handle(self, key: K, state: S, message: M) -> object:
        """Handle one message for ``key``; the return value answers an ``ask``."""

    def can_drop(self, key: K, state: S) -> bool:
        """Whether ``evict`` may discard this (inactive) state; override to keep dirty state."""
        return True

    def start(self, nursery: trio.Nursery) -> None:
        """Activate keys as tasks in ``nursery``; a crashing key crashes the nursery."""
        self._set_spawner(nursery.start_soon)

    def start_service(self) -> None:
        """Activate keys as services of the runtime (production use).

        There a crashing key's task is logged and ends alone. The registry must
        then be used from the runtime thread only.
        """
        from ..runtime import get_runtime  # the runtime starts lazily, on first use

        self._set_spawner(get_runtime().start_service)

    def _set_spawner(self, spawn: _Spawner) -> None:
        if self._spawn is not None:
            raise RuntimeError(f"{self.name}: registry was already started")
        self._spawn = spawn

    async def send(self, key: K, message: M) -> None:
        """Queue a fire-and-forget message for ``key``, activating it if needed.

        Raises:
          ActorClosedError: the registry is closed, or the key's actor stopped.
        """
        await self._deliver(key, Envelope(message))

    def send_nowait(self, key: K, message: M) -> None:
        """Queue a message for ``key`` without waiting.

        Raises:
          trio.WouldBlock: the key's mailbox is full (with ``mailbox_size=0``:
            its task is not waiting for a message), or ``max_active`` tasks
            are live.
          ActorClosedError: the registry is closed.
        """
        activation = self._activation_for(key)
        if activation is None:
            raise trio.WouldBlock
        activation.mailbox.put_nowait(Envelope(message))

    async def ask(self, key: K, message: Request[R]) -> R:
        """Send a request to ``key`` and wait for its reply (see :meth:`Actor.ask`)."""
        reply: Reply[R] = Reply()
        # A request is one of the actor's messages; the type system cannot say both.
        await self._deliver(key, Envelope(cast("M", message), reply))
        return await reply.wait()

    async def _deliver(self, key: K, envelope: Envelope[M]) -> None:
        while True:
            activation = self._activation_for(key)
            if activation is None:
                await self._wait_for_capacity()
                continue
            try:
                await activation.mailbox.put(envelope)
            except ActorClosedError:
                if activation.retired and not self._closing:
                    continue
                raise
            return

    def _activation_for(self, key: K) -> _Activation[M] | None:
        """The live activation of ``key``, started now if needed; None when at capacity."""
        slot = self._slots.get(key)
        if slot is not None and slot.activation is not None:
            return slot.activation
        if self._closing:
            raise ActorClosedError(f"{self.name}: registry is closed")
        if self._spawn is None:
            raise RuntimeError(f"{self.name}: registry was not started")
        if self.max_active is not None and self._live >= self.max_active:
            return None
        if slot is None:
            slot = _Slot(self.new_state(key))
            self._slots[key] = slot
        activation = _Activation(Mailbox[M](f"{self.name} actor {key!r}", self.mailbox_size))
        # The task runs only after we yield, so publishing after a successful
        # spawn is still race-free, and a failed spawn publishes nothing.
        self._spawn(self._activation_main, key, slot, activation, name=f"{self.name} actor {key!r}")
        slot.activation = activation
        self._live += 1
        self._activations += 1
        return activation

    async def _wait_for_capacity(self) -> None:
        # Make the longest-idle task exit now; busy tasks see _waiting and exit
        # as soon as their mailbox is empty instead of idling.
        for activation in self._idle.values():
            scope = activation.idle_scope
            if scope is not None and not scope.cancel_called:
                scope.cancel()
                break
        self._waiting += 1
        try:
            await self._exited.park()
        finally:
            self._waiting -= 1

    async def _activation_main(self, key: K, slot: _Slot[S, M], activation: _Activation[M]) -> None:
        owner = f"{self.name} actor {key!r}"
        handler = functools.partial(self.handle, key, slot.state)
        reason = f"{owner} is closed"
        cause: BaseException | None = None
        retired = False
        try:
            while not retired:
                retired = await self._serve(key, activation, handler, owner)
        except Exception as exc:
            reason, cause = f"{owner} crashed: {exc!r}", exc
            raise
        except BaseException as exc:
            reason, cause = f"{owner} was cancelled", exc
            raise
        finally:
            # One synchronous step: unpublish, then fail whatever is still queued.
            activation.retired = retired and not self._closing
            if slot.activation is activation:
                slot.activation = None
            activation.mailbox.shut(reason, cause)
            self._live -= 1
            self._deactivations += 1
            self._exited.unpark_all()

    async def _serve(
        self,
        key: K,
        activation: _Activation[M],
        handler: Callable[[M], Awaitable[object]],
        owner: str,
    ) -> bool:
        """Handle messages until idle too long or asked to exit; return whether to exit.

        One cancel scope serves many messages (entering one per message would
        cost a quarter of a message's time): its deadline is the idle deadline
        while waiting and infinite while handling, so a handler is never cut short.
        """
        mailbox = activation.mailbox
        pending: Envelope[M] | None = None
        with trio.CancelScope() as scope:
            activation.idle_scope = scope
            while True:
                try:
                    envelope = mailbox.get_nowait()
                except trio.EndOfChannel:
                    return True
                except trio.WouldBlock:
                    if self._waiting:
                        return True
                    scope.deadline = trio.current_time() + self.idle_timeout
                    self._idle[key] = activation
                    try:
                        envelope = await mailbox.get()
                    except trio.EndOfChannel:
                        return True
                    finally:
                        del self._idle[key]
                    if scope.cancel_called:
                        # The idle deadline (or a request to make way) struck as
                        # this message arrived: handle it outside the doomed scope.
                        pending = envelope
                        break
                    scope.deadline = math.inf
                await self._handle(envelope, handler, owner)
        activation.idle_scope = None
        if pending is None:
            # Idle too long or asked to make way; a sender may have queued meanwhile.
            try:
                pending = mailbox.get_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                return True
        await self._handle(pending, handler, owner)
        return False

    async def _handle(
        self, envelope: Envelope[M], handler: Callable[[M], Awaitable[object]], owner: str
    ) -> None:
        reply = envelope.reply
        if not await envelope.deliver_to(handler, owner):
            self._asks_abandoned += 1
            return
        self._handled += 1
        if reply is not None and reply.failed:
            self._asks_failed += 1

    def evict(self, key: K) -> bool:
        """Discard the state of ``key`` if it has no live task and ``can_drop`` allows.

        Returns whether the state was discarded (False also for unknown keys).
        """
        slot = self._slots.get(key)
        if slot is None or slot.activation is not None or not self.can_drop(key, slot.state):
            return False
        del self._slots[key]
        self._evictions += 1
        return True

    def is_active(self, key: K) -> bool:
        """Whether ``key`` has a live task."""
        slot = self._slots.get(key)
        return slot is not None and slot.activation is not None

    def __contains__(self, key: object) -> bool:
        """Whether the registry holds state for ``key``."""
        return key in self._slots

    def __len__(self) -> int:
        return len(self._slots)

    async def aclose(self) -> None:
        """Stop accepting messages, let every live task finish its queue, wait for them.

        Must not be awaited from one of this registry's handlers (it would wait
        for itself).
        """
        if not self._closing:
            self._closing = True
            for slot in self._slots.values():
                if slot.activation is not None:
                    slot.activation.mailbox.close_sending(f"{self.name}: registry is closed")
            self._exited.unpark_all()
        await trio.lowlevel.checkpoint()
        while self._live:
            await self._exited.park()

    def statistics(self) -> RegistryStatistics:
        """Counters, for tests and monitoring."""
        return RegistryStatistics(
            name=self.name,
            live_actors=self._live,
            idle_actors=len(self._idle),
            states=len(self._slots),
            activations=self._activations,
            deactivations=self._deactivations,
            evictions=self._evictions,
            messages_handled=self._handled,
            asks_failed=self._asks_failed,
            asks_abandoned=self._asks_abandoned,
            senders_waiting_for_capacity=self._waiting,
            max_active=self.max_active,
            closed=self._closing,
        )
