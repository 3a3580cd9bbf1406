"""Reads of one array issued together, run as one operation.

Small reads issued faster than the runtime takes them (``[store[b].read()
for b in boxes]``) pay mostly per-operation costs: a task, a cancel scope,
a metadata check, a pass over the chunk cache per read, and several
scheduler passes while each waits for a shared chunk load. A
:class:`ReadBurst` gathers them instead:

- the first read of a burst is an ordinary runtime operation; reads issued
  before that operation starts join its burst and get a future of their own;
- when the operation starts it closes the burst; alone, it reads as any other
  read does; with company it reads them all through ``driver.read_many``
  (chunks they share are loaded once) and settles every future;
- if the operation fails as a whole (cancelled, the metadata check failed)
  or never starts, the reads that joined it run as operations of their own,
  so each still gets its own outcome.

Cancelling the future of a read that joined a burst marks it cancelled; the
shared work goes on for the others (as a read of a ``ts.Batch``).

Reads of a ``ts.Batch`` start as operations of their own, all in one step of
the runtime; :meth:`ReadBurst.gathered` gathers those of one step the same
way: the first waits one scheduler pass for the others, reads them all with
``read_many`` and hands each its outcome. A gathered read whose leader is
cancelled or fails as a whole reads on its own.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Protocol

import attrs
import numpy as np
import trio

from ..runtime import Future, Promise, get_runtime

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..index import IndexTransform
    from .chunked_io import ReadOutcome

__all__ = ["BurstDriver", "ReadBurst"]


class BurstDriver(Protocol):
    """What a driver offers to read a burst."""

    async def resolve(self, transform: IndexTransform) -> IndexTransform: ...

    async def read(self, transform: IndexTransform) -> np.ndarray: ...

    async def read_many(self, transforms: Sequence[IndexTransform]) -> list[ReadOutcome]: ...


@attrs.frozen
class _Joined:
    """A read that joined a burst: its view, order, and its future with the promise settling it."""

    transform: IndexTransform
    order: str
    promise: Promise[np.ndarray]
    future: Future[np.ndarray]


@attrs.define(eq=False)
class _Burst:
    joined: list[_Joined] = attrs.field(factory=list)
    taken: bool = False
    """The burst's operation took ``joined``: it settles them."""
    settled: bool = False
    """Every read of ``joined`` has its outcome, or an operation of its own."""
    pid: int = attrs.field(factory=os.getpid)
    """The process whose runtime runs the burst's operation."""


@attrs.define(eq=False)
class _Slot:
    """A gathered read: its view, then its outcome (None: read it alone)."""

    transform: IndexTransform
    outcome: ReadOutcome | None = None


@attrs.define(eq=False)
class _Gathering:
    slots: list[_Slot] = attrs.field(factory=list)
    done: trio.Event = attrs.field(factory=trio.Event)


@attrs.define(eq=False)
class ReadBurst:
    """The burst of one driver still open for reads to join (see the module docstring)."""

    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)
    _open: _Burst | None = attrs.field(init=False, default=None)
    _gathering: _Gathering | None = attrs.field(init=False, default=None)
    """Reads started in this step of the runtime (runtime thread only)."""

    async def gathered(self, driver: BurstDriver, transform: IndexTransform, order: str) -> np.ndarray:
        """Read ``transform`` with the other reads started in the same runtime step (a batch's)."""
        gathering = self._gathering
        if gathering is not None:
            slot = _Slot(transform)
            gathering.slots.append(slot)
            await gathering.done.wait()
            outcome = slot.outcome
            if outcome is None:
                return await _read(driver, transform, order)
        else:
            gathering = self._gathering = _Gathering()
            try:
                await trio.lowlevel.checkpoint()  # reads started in this step join meanwhile
            except BaseException:
                self._gathering = None
                gathering.done.set()  # the others read alone
                raise
            self._gathering = None
            slots = gathering.slots
            try:
                if slots:
                    outcomes = await driver.read_many([transform, *(s.transform for s in slots)])
                else:
                    outcomes = [await _read_outcome(driver, transform)]
                for slot, other in zip(slots, outcomes[1:], strict=True):
                    slot.outcome = other
            finally:
                gathering.done.set()
            outcome = outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        return np.asfortranarray(outcome) if order == "F" else outcome

    def submit(self, driver: BurstDriver, transform: IndexTransform, order: str) -> Future[np.ndarray]:
        """Read ``transform`` of ``driver`` (C or F ``order``) as part of the open burst, or a new one."""
        with self._lock:
            burst = self._open
            if burst is not None:
                promise: Promise[np.ndarray]
                future: Future[np.ndarray]
                promise, future = Promise.new()
                burst.joined.append(_Joined(transform, order, promise, future))
                return future
            burst = self._open = _Burst()
        first = get_runtime().submit(self._run, driver, transform, order, burst, name="read")
        first.add_done_callback(lambda done: self._strand_check(driver, burst, done))
        return first

    def _take(self, burst: _Burst) -> list[_Joined] | None:
        """Close ``burst`` and hand over its reads, once (None: already taken)."""
        with self._lock:
            if self._open is burst:
                self._open = None
            if burst.taken:
                return None
            burst.taken = True
            return burst.joined

    async def _run(
        self, driver: BurstDriver, transform: IndexTransform, order: str, burst: _Burst
    ) -> np.ndarray:
        joined = self._take(burst)
        if not joined:
            burst.settled = True
            return await _read(driver, transform, order)
        try:
            outcomes = await driver.read_many([transform, *(j.transform for j in joined)])
        except BaseException:
            burst.settled = True
            _run_alone(driver, joined)
            raise
        for item, outcome in zip(joined, outcomes[1:], strict=True):
            if isinstance(outcome, Exception):
                item.promise.set_exception(outcome)
            else:
                item.promise.set_result(np.asfortranarray(outcome) if item.order == "F" else outcome)
        burst.settled = True
        first = outcomes[0]
        if isinstance(first, Exception):
            raise first
        return np.asfortranarray(first) if order == "F" else first

    def _strand_check(self, driver: BurstDriver, burst: _Burst, first: Future[np.ndarray]) -> None:
        # The first read finished without its operation settling the burst (it was
        # cancelled before it started, the runtime stopped, or this is a child
        # process forked meanwhile): its reads must not wait forever.
        if burst.settled:
            return
        if burst.pid != os.getpid():
            # The operation ran in the parent: its reads fail here as it did.
            burst.settled = True
            error = first.exception() if not first.cancelled() else None
            for item in burst.joined:
                item.promise.set_exception(RuntimeError(str(error or "the operation was cancelled")))
            return
        if burst.taken:
            return  # cancelled while running: the operation settles them as it ends
        joined = self._take(burst)
        burst.settled = True
        if joined:
            _run_alone(driver, joined)


async def _read_outcome(driver: BurstDriver, transform: IndexTransform) -> ReadOutcome:
    try:
        resolved = await driver.resolve(transform)
        return await driver.read(resolved)
    except Exception as exc:
        return exc


async def _read(driver: BurstDriver, transform: IndexTransform, order: str) -> np.ndarray:
    resolved = await driver.resolve(transform)
    array = await driver.read(resolved)
    return np.asfortranarray(array) if order == "F" else array


def _run_alone(driver: BurstDriver, joined: list[_Joined]) -> None:
    """Run each of ``joined`` as its own operation, its outcome forwarded to its promise."""
    for item in joined:
        if item.future.done():
            continue  # cancelled by its caller, or already settled
        future = get_runtime().submit(_read, driver, item.transform, item.order, name="read")
        future.add_done_callback(lambda done, item=item: _forward(done, item))  # type: ignore[misc]


def _forward(done: Future[np.ndarray], item: _Joined) -> None:
    promise = item.promise
    if done.cancelled():
        item.future.cancel()
        return
    error = done.exception()
    if error is not None:
        promise.set_exception(error)
    else:
        promise.set_result(done.result())

