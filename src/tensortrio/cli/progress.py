"""Progress display and throughput figures for the ``tensortrio`` commands.

The bar (``rich``) shows items done, items/s and MB/s (10**6 bytes). It is
drawn only when stdout is a terminal and ``--no-progress`` was not given, so
pipes and logs get the one-line summaries alone.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["Progress", "Throughput", "progress_wanted"]


def progress_wanted(no_progress: bool) -> bool:
    """Whether to draw a bar: stdout is a terminal and the user did not turn it off."""
    return not no_progress and sys.stdout.isatty()


@attrs.frozen
class Throughput:
    """``items`` of ``item_bytes`` each, moved in ``seconds``."""

    items: int
    nbytes: int
    seconds: float

    @property
    def items_per_second(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0

    @property
    def mb_per_second(self) -> float:
        return self.nbytes / 1e6 / self.seconds if self.seconds > 0 else 0.0

    def describe(self, unit: str) -> str:
        """E.g. ``'512 frames, 134.2 MB in 1.20 s: 426.7 frames/s, 111.8 MB/s'``."""
        return (
            f"{self.items} {unit}, {self.nbytes / 1e6:.1f} MB in {self.seconds:.2f} s: "
            f"{self.items_per_second:.1f} {unit}/s, {self.mb_per_second:.1f} MB/s"
        )


@attrs.define(eq=False)
class Progress:
    """A context manager counting items (and their bytes), with an optional live bar."""

    label: str
    unit: str
    item_bytes: int
    total: int | None = None
    enabled: bool = False
    start_count: int = 0
    _done: int = attrs.field(init=False, default=0)
    _bytes: int = attrs.field(init=False, default=0)
    _started: float = attrs.field(init=False, default=0.0)
    _bar: Any = attrs.field(init=False, default=None)
    _task: Any = attrs.field(init=False, default=None)
    _rate: Any = attrs.field(init=False, default=None)

    def __enter__(self) -> Progress:
        self._started = time.perf_counter()
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as Bar

            unit, item_bytes = self.unit, self.item_bytes

            def rate(task: Any) -> str:
                speed = task.speed or 0.0
                return f"{speed:,.0f} {unit}/s  {speed * item_bytes / 1e6:,.1f} MB/s"

            self._bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(unit),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(
                self.label, total=self.total, completed=self.start_count, rate=""
            )
            self._rate = rate
        return self

    def advance(self, count: int, nbytes: int | None = None) -> None:
        """Counts ``count`` more items done (``nbytes``: their size, if not ``item_bytes`` each)."""
        self._done += count
        self._bytes += count * self.item_bytes if nbytes is None else nbytes
        if self._bar is not None:
            self._bar.advance(self._task, count)
            task = self._bar.tasks[0]
            self._bar.update(self._task, rate=self._rate(task))

    @property
    def done(self) -> int:
        """Items counted so far (not including ``start_count``)."""
        return self._done

    def throughput(self) -> Throughput:
        """What was counted so far, over the time since entering."""
        seconds = time.perf_counter() - self._started
        return Throughput(self._done, self._bytes, seconds)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)
            self._bar = None
