"""The actor base: a task that alone owns its state and reads a bounded mailbox.

Subclass :class:`Actor`, give it state fields and a ``handle`` method::

    @attrs.frozen
    class Add:
        amount: int

    @attrs.frozen
    class Total(Request[int]):
        pass

    @attrs.define(eq=False)
    class Counter(Actor[Add | Total]):
        total: int = 0

        async def handle(self, message: Add | Total) -> object:
            match message:
                case Add(amount):
                    self.total += amount
                case Total():
                    return self.total
            return None

    counter = Counter(name="counter")
    counter.start(nursery)          # or counter.start_service() in production
    await counter.send(Add(2))
    assert await counter.ask(Total()) == 2
    await counter.aclose()

Messages are handled one at a time in arrival order. An exception raised while
handling an ``ask`` is raised in the asker and the actor carries on; one raised
while handling a ``send`` is a bug: the actor crashes, the exception propagates
into its nursery, and queued requests fail with ActorClosedError. When an actor
stops for any reason, pending requests fail with ActorClosedError; none hangs.
"""

from __future__ import annotations

import abc
from typing import Generic, TypeVar, cast

import attrs
import trio

from .mailbox import Envelope, Mailbox, Reply, Request

__all__ = ["Actor", "ActorStatistics"]

M = TypeVar("M")
R = TypeVar("R")


@attrs.frozen
class ActorStatistics:
    """A snapshot of an actor's activity, from :meth:`Actor.statistics`."""

    name: str
    messages_handled: int
    """Messages whose handler ran to completion or raised."""
    asks_failed: int
    """Requests whose handler raised (the error went to the asker)."""
    asks_abandoned: int
    """Requests skipped because the asker was cancelled before they were begun."""
    mailbox_size: int
    mailbox_used: int
    senders_waiting: int
    """Tasks blocked in ``send``/``ask`` because the mailbox is full."""
    running: bool
    closed: bool


@attrs.define(eq=False)
class Actor(abc.ABC, Generic[M]):
    """A task with a bounded mailbox of ``@attrs.frozen`` messages of type ``M``.

    Args:
      name: shown in errors and task names.
      mailbox_size: messages buffered before senders wait (0: every sender
        waits until the actor takes its message).
    """

    name: str = attrs.field(default="actor", kw_only=True)
    mailbox_size: int = attrs.field(default=0, kw_only=True)
    _mailbox: Mailbox[M] = attrs.field(
        init=False,
        default=attrs.Factory(
            lambda self: Mailbox(f"actor {self.name!r}", self.mailbox_size), takes_self=True
        ),
    )
    _started: bool = attrs.field(init=False, default=False)
    _running: bool = attrs.field(init=False, default=False)
    _closing: bool = attrs.field(init=False, default=False)
    _stopped: trio.Event = attrs.field(init=False, factory=trio.Event)
    _task: trio.lowlevel.Task | None = attrs.field(init=False, default=None)
    _handled: int = attrs.field(init=False, default=0)
    _asks_failed: int = attrs.field(init=False, default=0)
    _asks_abandoned: int = attrs.field(init=False, default=0)

    @abc.abstractmethod
    async def handle(self, message: M) -> object:
        """Handle one message; the return value answers an ``ask``."""

    def start(self, nursery: trio.Nursery) -> None:
        """Start the run loop in ``nursery`` (the actor lives as long as that nursery)."""
        self._claim_start()
        nursery.start_soon(self._run, name=f"actor {self.name!r}")

    def start_service(self) -> None:
        """Start the run loop in the runtime's service nursery (production use).

        There a crash is logged and ends only this actor. Call it on the runtime
        thread, like every other method of an actor.
        """
        from ..runtime import get_runtime  # the runtime starts lazily, on first use

        self._claim_start()
        get_runtime().start_service(self._run, name=f"actor {self.name!r}")

    async def run(self) -> None:
        """Run the actor in the calling task until it is closed (alternative to ``start``)."""
        self._claim_start()
        await self._run()

    def _claim_start(self) -> None:
        if self._started:
            raise RuntimeError(f"actor {self.name!r} was already started")
        self._started = True

    async def _run(self) -> None:
        self._task = trio.lowlevel.current_task()
        self._running = True
        reason = f"actor {self.name!r} is closed"
        cause: BaseException | None = None
        try:
            while True:
                try:
                    envelope = await self._mailbox.get()
                except trio.EndOfChannel:
                    break
                await self._deliver(envelope)
        except Exception as exc:
            reason, cause = f"actor {self.name!r} crashed: {exc!r}", exc
            raise
        except BaseException as exc:
            reason, cause = f"actor {self.name!r} was cancelled", exc
            raise
        finally:
            self._closing = True
            self._running = False
            self._mailbox.shut(reason, cause)
            self._stopped.set()

    async def _deliver(self, envelope: Envelope[M]) -> None:
        reply = envelope.reply
        handled = await envelope.deliver_to(self.handle, f"actor {self.name!r}")
        if not handled:
            self._asks_abandoned += 1
            return
        self._handled += 1
        if reply is not None and reply.failed:
            self._asks_failed += 1

    async def send(self, message: M) -> None:
        """Queue a fire-and-forget message, waiting while the mailbox is full.

        Raises:
          ActorClosedError: the actor is closed or stopped.
        """
        self._check_open()
        await self._mailbox.put(Envelope(message))

    def send_nowait(self, message: M) -> None:
        """Queue a fire-and-forget message without waiting.

        Raises:
          trio.WouldBlock: the mailbox is full.
          ActorClosedError: the actor is closed or stopped.
        """
        self._check_open()
        self._mailbox.put_nowait(Envelope(message))

    async def ask(self, message: Request[R]) -> R:
        """Send a request and wait for its reply.

        Raises whatever the handler raised; ActorClosedError if the actor stops
        before answering. If the caller is cancelled before the actor begins the
        request, the actor skips it; once begun, it runs to completion.
        """
        self._check_open()
        reply: Reply[R] = Reply()
        # A request is one of the actor's messages; the type system cannot say both.
        await self._mailbox.put(Envelope(cast("M", message), reply))
        return await reply.wait()

    def _check_open(self) -> None:
        if self._closing:
            raise self._mailbox.closed_error()

    async def aclose(self) -> None:
        """Stop accepting messages, let the actor handle those queued, wait for it to stop.

        Senders still waiting for room fail with ActorClosedError. Safe to call
        more than once, from the actor's own handler (then it does not wait), or
        on an actor that was never started (queued requests then fail).
        """
        if not self._closing:
            self._closing = True
            self._mailbox.close_sending(f"actor {self.name!r} is closed")
        if not self._started:
            self._mailbox.shut(f"actor {self.name!r} was closed before it started")
            await trio.lowlevel.checkpoint()
        elif self._task is trio.lowlevel.current_task():
            await trio.lowlevel.checkpoint()
        else:
            await self._stopped.wait()

    @property
    def closed(self) -> bool:
        """True once the actor stopped accepting messages."""
        return self._closing

    def statistics(self) -> ActorStatistics:
        """Counters and mailbox depth, for tests and monitoring."""
        return ActorStatistics(
            name=self.name,
            messages_handled=self._handled,
            asks_failed=self._asks_failed,
            asks_abandoned=self._asks_abandoned,
            mailbox_size=self.mailbox_size,
            mailbox_used=self._mailbox.used,
            senders_waiting=self._mailbox.senders_waiting,
            running=self._running,
            closed=self._closing,
        )
