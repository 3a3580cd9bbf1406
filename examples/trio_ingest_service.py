"""A trio ingestion service: a camera task streams frames, a writer task appends them.

The camera and the writer talk over a bounded memory channel (so a slow disk
slows the camera instead of filling memory). The writer groups frames into
whole shards and appends each one: grow the array, write the shard, await
its commit. (``tensortrio ingest`` does it the other way round, data first,
so that a crash never exposes frames that were not written; see its module
docstring.) tensortrio futures are awaited directly from trio.

    python examples/trio_ingest_service.py [DIRECTORY]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import numpy as np
import trio
import trio.lowlevel

import tensortrio as ts

FRAME_SHAPE = (128, 128)
SHARD_FRAMES = 16
FRAMES = 96


async def camera(send: trio.MemorySendChannel[np.ndarray]) -> None:
    """Produces FRAMES frames; frame i is filled with i."""
    async with send:
        for i in range(FRAMES):
            await send.send(np.full(FRAME_SHAPE, i, dtype=np.uint16))
            await trio.lowlevel.checkpoint()  # a real camera would wait for its next exposure here


async def writer(store: ts.TensorStore, receive: trio.MemoryReceiveChannel[np.ndarray]) -> int:
    """Appends the frames from ``receive`` a shard at a time; returns how many it wrote."""
    written = 0
    shard: list[np.ndarray] = []
    async with receive:
        async for frame in receive:
            shard.append(frame)
            if len(shard) == SHARD_FRAMES:
                store = await append(store, written, shard)
                written += len(shard)
                shard = []
    if shard:
        store = await append(store, written, shard)
        written += len(shard)
    return written


async def append(store: ts.TensorStore, start: int, frames: list[np.ndarray]) -> ts.TensorStore:
    stop = start + len(frames)
    store = await store.resize(exclusive_max=[stop, None, None], expand_only=True)
    await store[start:stop].write(np.stack(frames))  # awaiting WriteFutures waits for commit
    return store


async def main(directory: str) -> None:
    store = await ts.open(
        {"driver": "zarr3", "kvstore": {"driver": "file", "path": f"{directory}/frames/"}},
        create=True,
        dtype=ts.uint16,
        shape=[0, *FRAME_SHAPE],
        chunk_layout=ts.ChunkLayout(
            read_chunk_shape=[1, *FRAME_SHAPE], write_chunk_shape=[SHARD_FRAMES, *FRAME_SHAPE]
        ),
    )
    send, receive = trio.open_memory_channel[np.ndarray](SHARD_FRAMES)
    began = time.perf_counter()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(camera, send)
        written = await writer(store, receive)
    seconds = time.perf_counter() - began

    reopened = await ts.open({"driver": "zarr3", "kvstore": f"file://{directory}/frames/"})
    column = await reopened[:, 0, 0].read()
    assert (column == np.arange(FRAMES)).all(), column
    print(f"trio service: {written} frames appended in {seconds:.2f} s, shape {reopened.shape}")


if __name__ == "__main__":
    trio.run(main, os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()))
