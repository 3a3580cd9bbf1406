"""An asyncio application: tensortrio futures awaited from asyncio, tiles written concurrently.

The array is written as 16 tiles, all in flight at once with
``asyncio.gather``; the work runs on tensortrio's runtime thread, so the
asyncio loop stays free. A done-callback hands the read's completion back to the loop.

    python examples/asyncio_app.py [DIRECTORY]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile

import numpy as np

import tensortrio as ts


async def main(directory: str) -> None:
    store = await ts.open(
        {"driver": "zarr3", "kvstore": {"driver": "file", "path": f"{directory}/tiles/"}},
        create=True,
        dtype=ts.float32,
        shape=[256, 256],
        chunk_layout=ts.ChunkLayout(read_chunk_shape=[32, 32], write_chunk_shape=[64, 64]),
    )
    image = np.random.default_rng(0).random((256, 256), dtype=np.float32)

    async def write_tile(row: int, col: int) -> None:
        region = np.s_[row : row + 64, col : col + 64]
        await store[region].write(image[region])

    await asyncio.gather(*(write_tile(r, c) for r in range(0, 256, 64) for c in range(0, 256, 64)))

    # Done-callbacks run on whichever thread finishes the future (as in
    # tensorstore): hand the event back to the loop thread-safely.
    loop = asyncio.get_running_loop()
    finished = asyncio.Event()
    future = store[100:110, 5].read()
    future.add_done_callback(lambda _: loop.call_soon_threadsafe(finished.set))
    column = await future
    await finished.wait()
    assert np.array_equal(column, image[100:110, 5])
    everything = await store.read()
    assert np.array_equal(everything, image)
    print(f"asyncio app: 16 tiles written concurrently, read back {everything.nbytes} bytes intact")


if __name__ == "__main__":
    asyncio.run(main(os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())))
