"""runtime.concurrently: independent steps at once, failing as the first failed step did."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tensortrio.runtime import concurrently


async def test_the_first_failed_steps_error_is_raised_and_the_others_finish(autojump_clock: trio.testing.MockClock) -> None:
    finished: list[int] = []

    async def step(i: int) -> None:
        await trio.sleep(0.01 * (3 - i))
        if i in (1, 2):
            raise ValueError(f"step {i}")
        finished.append(i)

    with pytest.raises(ValueError, match=r"^step 1$"):
        await concurrently([lambda i=i: step(i) for i in range(4)])  # type: ignore[misc]
    assert sorted(finished) == [0, 3]


async def test_no_steps_and_no_errors() -> None:
    await concurrently([])
    done: list[int] = []

    async def step() -> None:
        done.append(1)

    await concurrently([step, step])
    assert done == [1, 1]
