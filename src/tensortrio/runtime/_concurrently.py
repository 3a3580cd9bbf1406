"""Running an operation's independent steps at once, failing as the first of them failed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

__all__ = ["concurrently"]


async def concurrently(calls: Sequence[Callable[[], Awaitable[None]]]) -> None:
    """Run ``calls`` in a nursery of their own; raise the first failed one's error (in order).

    A caller sees the error of the step that failed (a layer's, a slab's), as a
    sequential loop would raise it, not a nursery's exception group; the
    other steps still run to their end, so none is left half done.
    """
    errors: list[Exception | None] = [None] * len(calls)

    async def run(i: int) -> None:
        try:
            await calls[i]()
        except Exception as exc:
            errors[i] = exc

    async with trio.open_nursery() as nursery:
        for i in range(len(calls)):
            nursery.start_soon(run, i)
    for error in errors:
        if error is not None:
            raise error
