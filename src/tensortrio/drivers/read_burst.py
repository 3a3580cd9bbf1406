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

Reads of a ``ts.Batch`` form a burst per batch the same way: the first is
deferred to the batch's submit and the others join it until it starts. A
read joined to a first read that is cancelled before its burst started is
deferred to the batch (or started, once it is submitted) on its own.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import numpy as np

from ..runtime import Future, get_runtime

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..batch import Batch
    from ..index import IndexTransform
    from .chunked_io import ReadOutcome

__all__ = ["BurstDriver", "ReadBurst", "in_read_order"]



def in_read_order(array: np.ndarray, order: str) -> np.ndarray:
    """``array`` in the memory order ``read(order=)`` asks for (``"F"``: Fortran).

    A rank-0 array stays as it is: NumPy's ``asfortranarray`` would make it rank 1.
    """
    return np.asfortranarray(array) if order == "F" and array.ndim else array

class BurstDriver(Protocol):
    """What a driver offers to read a burst."""

    async def resolve(self, transform: IndexTransform) -> IndexTransform: ...

    async def read(self, transform: IndexTransform) -> np.ndarray: ...

    async def read_many(self, transforms: Sequence[IndexTransform]) -> list[ReadOutcome]: ...


@attrs.frozen
class _Joined:
    """A read that joined a burst: its view, order, and the pending future the burst settles.

    No ``Promise``: one object (and one finaliser) less per read. Every path
    below settles the future, including the ones where the burst fails.
    """

    transform: IndexTransform
    order: str
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
    batch: weakref.ref[Any] | None = None
    """The ``ts.Batch`` whose submit starts the burst (None: the runtime starts it)."""


@attrs.define(eq=False)
class ReadBurst:
    """The burst of one driver still open for reads to join (see the module docstring)."""

    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)
    _open: _Burst | None = attrs.field(init=False, default=None)
    _in_batch: weakref.WeakKeyDictionary[Any, _Burst] = attrs.field(
        init=False, factory=weakref.WeakKeyDictionary
    )
    """The open burst of each ``ts.Batch`` not submitted yet (weak: a dropped batch submits itself)."""

    def submit(
        self, driver: BurstDriver, transform: IndexTransform, order: str, batch: Batch | None = None
    ) -> Future[np.ndarray]:
        """Read ``transform`` of ``driver`` (C or F ``order``) as part of the open burst, or a new one.

        With ``batch``: the burst of that batch, started when it is submitted.
        """
        with self._lock:
            burst = self._open if batch is None else self._in_batch.get(batch)
            if burst is not None:
                future: Future[np.ndarray] = Future._pending()
                burst.joined.append(_Joined(transform, order, future))
                return future
            if batch is None:
                burst = self._open = _Burst()
            else:
                burst = self._in_batch[batch] = _Burst(batch=weakref.ref(batch))
        if batch is None:
            first = get_runtime().submit(self._run, driver, transform, order, burst, name="read")
        else:
            first = batch.defer(self._run, driver, transform, order, burst, name="read")
        first._on_done(lambda done: self._strand_check(driver, burst, done))
        return first

    def _take(self, burst: _Burst) -> list[_Joined] | None:
        """Close ``burst`` and hand over its reads, once (None: already taken)."""
        with self._lock:
            if burst.batch is None:
                if self._open is burst:
                    self._open = None
            else:
                batch = burst.batch()
                if batch is not None and self._in_batch.get(batch) is burst:
                    del self._in_batch[batch]
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
                item.future._set_exception(outcome)
            else:
                item.future._set_result(in_read_order(outcome, item.order))
        burst.settled = True
        first = outcomes[0]
        if isinstance(first, Exception):
            raise first
        return in_read_order(first, order)

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
                item.future._set_exception(
                    RuntimeError(str(error or "the operation was cancelled"))
                )
            return
        if burst.taken:
            return  # cancelled while running: the operation settles them as it ends
        joined = self._take(burst)
        burst.settled = True
        if joined:
            _run_alone(driver, joined, None if burst.batch is None else burst.batch())


async def _read(driver: BurstDriver, transform: IndexTransform, order: str) -> np.ndarray:
    resolved = await driver.resolve(transform)
    array = await driver.read(resolved)
    return in_read_order(array, order)


def _run_alone(driver: BurstDriver, joined: list[_Joined], batch: Batch | None = None) -> None:
    """Run each of ``joined`` as its own operation (deferred to ``batch``), its outcome forwarded."""
    for item in joined:
        if item.future.done():
            continue  # cancelled by its caller, or already settled
        try:
            if batch is None:
                future = get_runtime().submit(
                    _read, driver, item.transform, item.order, name="read"
                )
            else:
                future = batch.defer(_read, driver, item.transform, item.order, name="read")
        except Exception as exc:  # e.g. the runtime is stopping: fail the read, strand none
            item.future._set_exception(exc)
            continue
        future._on_done(lambda done, item=item: _forward(done, item))  # type: ignore[misc]


def _forward(done: Future[np.ndarray], item: _Joined) -> None:
    if done.cancelled():
        item.future.cancel()
        return
    error = done.exception()
    if error is not None:
        item.future._set_exception(error)
    else:
        item.future._set_result(done.result())

