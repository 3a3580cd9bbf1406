"""Fixtures for the chunk cache tests: stores, a gated kvstore wrapper, cache factories."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import pytest
import trio

import tensortrio as ts
from tensortrio.actors.cache_pool import CachePool
from tensortrio.actors.chunk_cache import ChunkCache
from tensortrio.drivers.raw_chunk_codec import RawChunkCodec

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path


@attrs.define(eq=False)
class GatedKvStore:
    """Forwards to a real ``ts.KvStore``; hooks run (in the caller's trio run) before each op.

    ``before_write(key)`` / ``before_read(key)`` may await events to force an
    interleaving; ``fail_writes`` makes writes raise.
    """

    store: ts.KvStore
    before_write: Callable[[str], Awaitable[None]] | None = None
    before_read: Callable[[str], Awaitable[None]] | None = None
    fail_writes: Exception | None = None
    reads: list[tuple[str, bytes | None]] = attrs.field(factory=list)
    writes: list[tuple[str, bytes | None]] = attrs.field(factory=list)

    def read_many_nowait(self, keys: Any, if_not_equal: Any) -> Any:
        # Every read goes through ``read``, where the test can hold it.
        raise trio.WouldBlock

    def worker_reads(self) -> None:
        return None  # as above

    @property
    def keeps_written_values(self) -> bool:
        return self.store.keeps_written_values

    def read(
        self, key: str, *, if_not_equal: bytes | None = None, staleness_bound: float | None = None
    ) -> Awaitable[Any]:
        self.reads.append((key, if_not_equal))

        async def run() -> Any:
            if self.before_read is not None:
                await self.before_read(key)
            return await self.store.read(key, if_not_equal=if_not_equal)

        return run()

    def write(
        self, key: str, value: bytes | None, *, if_equal: bytes | None = None
    ) -> Awaitable[Any]:
        self.writes.append((key, if_equal))

        async def run() -> Any:
            if self.before_write is not None:
                await self.before_write(key)
            if self.fail_writes is not None:
                raise self.fail_writes
            return await self.store.write(key, value, if_equal=if_equal)

        return run()

    def write_owned(
        self, key: str, value: bytes | memoryview | None, *, if_equal: bytes = b""
    ) -> Awaitable[Any]:
        return self.write(key, None if value is None else bytes(value), if_equal=if_equal)

    def write_owned_nowait(
        self, key: str, value: bytes | memoryview | None, *, if_equal: bytes = b""
    ) -> Any:
        # Every write goes through ``write``, where the test can hold it.
        raise trio.WouldBlock


@pytest.fixture(params=["memory", "file"])
async def kvstore(request: pytest.FixtureRequest, tmp_path: Path) -> ts.KvStore:
    if request.param == "memory":
        return await ts.KvStore.open({"driver": "memory"})
    return await ts.KvStore.open({"driver": "file", "path": f"{tmp_path}/"})


@pytest.fixture
async def memory_kvstore() -> ts.KvStore:
    return await ts.KvStore.open({"driver": "memory"})


def make_cache(
    kvstore: Any,
    chunk_shape: tuple[int, ...] = (4, 5),
    dtype: Any = np.int32,
    *,
    limit: int = 0,
    fill_value: Any = None,
    **options: Any,
) -> ChunkCache:
    codec = RawChunkCodec(chunk_shape, dtype, fill_value=fill_value)
    return ChunkCache(kvstore, codec, CachePool(limit), trio.CapacityLimiter(2), **options)


@pytest.fixture
def cache_factory() -> Callable[..., ChunkCache]:
    return make_cache


@pytest.fixture
def gated() -> type[GatedKvStore]:
    return GatedKvStore


def now() -> float:
    return time.time()
