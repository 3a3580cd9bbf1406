"""Helpers for the sharding tests: sharded zarr3 specs, the cache behind a store, a gated kvstore."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import trio

from tensortrio.actors.shard_cache import ShardCache

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import tensortrio as ts
    from tensortrio.drivers.zarr3.shard_io import ShardIO


def sharded_spec(
    kvstore: dict[str, Any],
    *,
    shape: tuple[int, ...] = (64, 64),
    shard: tuple[int, ...] = (32, 32),
    inner: tuple[int, ...] = (8, 8),
    dtype: str = "uint16",
    inner_codecs: list[dict[str, Any]] | None = None,
    index_location: str | None = None,
    fill_value: int = 0,
) -> dict[str, Any]:
    """A zarr3 spec whose chunks are shards of ``inner`` chunks (4x4 grid by default)."""
    config: dict[str, Any] = {
        "chunk_shape": list(inner),
        "codecs": inner_codecs or [{"name": "bytes", "configuration": {"endian": "little"}}],
        "index_codecs": [
            {"name": "bytes", "configuration": {"endian": "little"}},
            {"name": "crc32c"},
        ],
    }
    if index_location is not None:
        config["index_location"] = index_location
    return {
        "driver": "zarr3",
        "kvstore": kvstore,
        "metadata": {
            "shape": list(shape),
            "data_type": dtype,
            "fill_value": fill_value,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(shard)}},
            "chunk_key_encoding": {"name": "default"},
            "codecs": [{"name": "sharding_indexed", "configuration": config}],
        },
    }


def cache_of(store: Any) -> ShardCache:
    cache = store._driver.cache
    assert isinstance(cache, ShardCache)
    return cache


def shard_io(**spec: Any) -> ShardIO:
    """The ShardIO of a new [32, 32] array in one shard (``sharded_spec`` options) on a memory store."""
    import tensortrio as ts

    options: dict[str, Any] = {"shape": (32, 32), "shard": (32, 32), **spec}
    store = ts.open(sharded_spec({"driver": "memory"}, **options), create=True, context=ts.Context())
    return cache_of(store.result())._io


def pattern(shape: tuple[int, ...], dtype: str = "uint16", seed: int = 0) -> np.ndarray:
    """Data with no inner chunk equal to the fill value (0)."""
    rng = np.random.default_rng(seed)
    return rng.integers(1, 1000, size=shape).astype(dtype)


@attrs.define(eq=False)
class GatedKvStore:
    """Forwards to a ``ts.KvStore`` (byte ranges too); ``before_read``/``before_write`` may block."""

    store: ts.KvStore
    before_read: Callable[[str, slice | None], Awaitable[None]] | None = None
    before_write: Callable[[str], Awaitable[None]] | None = None
    reads: list[tuple[str, slice | None]] = attrs.field(factory=list)
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
        self,
        key: str,
        *,
        if_not_equal: bytes | None = None,
        staleness_bound: float | None = None,
        byte_range: slice | None = None,
    ) -> Awaitable[Any]:
        self.reads.append((key, byte_range))

        async def run() -> Any:
            if self.before_read is not None:
                await self.before_read(key, byte_range)
            return await self.store.read(key, if_not_equal=if_not_equal, byte_range=byte_range)

        return run()

    def write(
        self, key: str, value: bytes | None, *, if_equal: bytes | None = None
    ) -> Awaitable[Any]:
        self.writes.append((key, if_equal))

        async def run() -> Any:
            if self.before_write is not None:
                await self.before_write(key)
            return await self.store.write(key, value, if_equal=if_equal)

        return run()

    def write_owned(
        self, key: str, value: bytes | memoryview | None, *, if_equal: bytes = b""
    ) -> Awaitable[Any]:
        return self.write(key, None if value is None else bytes(value), if_equal=if_equal)

    def write_owned_nowait(
        self, key: str, value: bytes | memoryview | None, *, if_equal: bytes = b""
    ) -> Any:
        raise trio.WouldBlock  # every write goes through ``write``, where the test holds it


class Gate:
    """Holds every call at the gate until opened; ``reached`` is set by the first."""

    def __init__(self) -> None:
        self.reached = trio.Event()
        self.open = trio.Event()

    async def __call__(self, *args: object) -> None:
        self.reached.set()
        await self.open.wait()
