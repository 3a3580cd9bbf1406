"""The bounded mailbox every actor reads, and the envelopes that travel through it.

A message is any ``@attrs.frozen`` value. Fire-and-forget messages travel alone;
a request (``ask``) travels with a one-shot :class:`Reply` on which the actor
delivers the handler's return value or the exception it raised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import attrs
import trio

from ..errors import ActorClosedError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["Envelope", "Mailbox", "Reply", "Request"]

R = TypeVar("R")
M = TypeVar("M")
R_co = TypeVar("R_co", covariant=True)


class Request(Generic[R_co]):
    """Base of messages answered with a reply of type ``R_co`` (used with ``ask``).

    Subclass it from an ``@attrs.frozen`` message class so ``ask`` is typed::

        @attrs.frozen
        class Get(Request[bytes]):
            key: str
    """

    __slots__ = ()


@attrs.define(eq=False)
class Reply(Generic[R]):
    """One-shot slot on which an actor answers one request."""

    _done: trio.Event = attrs.field(init=False, factory=trio.Event)
    _value: R | None = attrs.field(init=False, default=None)
    _error: BaseException | None = attrs.field(init=False, default=None)
    abandoned: bool = attrs.field(init=False, default=False)
    """True once the asker stopped waiting (it was cancelled)."""

    @property
    def failed(self) -> bool:
        """True once the answer is an error."""
        return self._error is not None

    def set_value(self, value: R) -> None:
        if not self._done.is_set():
            self._value = value
            self._done.set()

    def set_error(self, error: BaseException) -> None:
        if not self._done.is_set():
            self._error = error
            self._done.set()

    async def wait(self) -> R:
        """Wait for the answer; return it or raise the error the actor delivered."""
        try:
            await self._done.wait()
        except BaseException:
            # Cancelled: the actor skips this request if it has not begun it.
            self.abandoned = True
            raise
        if self._error is not None:
            raise self._error
        return cast("R", self._value)


@attrs.frozen
class Envelope(Generic[M]):
    """A message in a mailbox, with the reply slot of its asker if any."""

    message: M
    reply: Reply[Any] | None = None

    async def deliver_to(self, handler: Callable[[M], Awaitable[object]], owner: str) -> bool:
        """Run ``handler`` on the message and answer the asker.

        Returns False when the request was skipped because its asker gave up.
        An exception raised by the handler of an ``ask`` goes to the asker; one
        raised for a fire-and-forget message propagates (the actor crashes).
        Cancellation while handling an ``ask`` fails it with ActorClosedError.
        """
        reply = self.reply
        if reply is None:
            await handler(self.message)
            return True
        if reply.abandoned:
            return False
        try:
            value = await handler(self.message)
        except Exception as exc:
            reply.set_error(exc)
        except BaseException as exc:
            reply.set_error(_closed(f"{owner} was cancelled while handling {self.message!r}", exc))
            raise
        else:
            reply.set_value(value)
        return True


def _closed(message: str, cause: BaseException | None) -> ActorClosedError:
    error = ActorClosedError(message)
    error.__cause__ = cause
    return error


@attrs.define(eq=False)
class Mailbox(Generic[M]):
    """A bounded queue of envelopes with one reader, the actor that owns it.

    ``size`` is the buffer: with 0 (the default) a sender waits until the actor
    takes its message, which is the tightest backpressure.
    """

    owner: str
    size: int = 0
    _send: trio.MemorySendChannel[Envelope[M]] = attrs.field(init=False)
    _receive: trio.MemoryReceiveChannel[Envelope[M]] = attrs.field(init=False)
    _failure: str | None = attrs.field(init=False, default=None)
    _cause: BaseException | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise ValueError(
                f"{self.owner}: mailbox size must be an integer >= 0, got {self.size!r}"
            )
        self._send, self._receive = trio.open_memory_channel[Envelope[M]](self.size)

    def closed_error(self) -> ActorClosedError:
        return _closed(self._failure or f"{self.owner} is closed", self._cause)

    async def put(self, envelope: Envelope[M]) -> None:
        """Queue ``envelope``, waiting for room; raise ActorClosedError if closed."""
        try:
            await self._send.send(envelope)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise self.closed_error() from None

    def put_nowait(self, envelope: Envelope[M]) -> None:
        """Queue ``envelope`` or raise ``trio.WouldBlock`` when full."""
        try:
            self._send.send_nowait(envelope)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise self.closed_error() from None

    async def get(self) -> Envelope[M]:
        """Take the next envelope; raise ``trio.EndOfChannel`` after ``close_sending``."""
        return await self._receive.receive()

    def get_nowait(self) -> Envelope[M]:
        """Take the next envelope or raise ``trio.WouldBlock``/``trio.EndOfChannel``."""
        return self._receive.receive_nowait()

    def close_sending(self, reason: str) -> None:
        """Accept no more messages; queued ones are still read, then EndOfChannel.

        Senders still waiting for room fail with ActorClosedError(``reason``).
        """
        if self._failure is None:
            self._failure = reason
        self._send.close()

    def shut(self, reason: str, cause: BaseException | None = None) -> int:
        """Close for good: fail every queued request and every waiting sender.

        Must be called by the owner, synchronously, when it stops reading. Returns
        the number of queued messages dropped.
        """
        if self._failure is None or cause is not None:
            self._failure = reason
            self._cause = cause
        dropped = 0
        while True:
            try:
                envelope = self._receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
            dropped += 1
            if envelope.reply is not None:
                envelope.reply.set_error(self.closed_error())
        self._send.close()
        self._receive.close()
        return dropped

    @property
    def used(self) -> int:
        """Messages buffered, not counting senders waiting for room."""
        return self._receive.statistics().current_buffer_used

    @property
    def senders_waiting(self) -> int:
        return self._receive.statistics().tasks_waiting_send
