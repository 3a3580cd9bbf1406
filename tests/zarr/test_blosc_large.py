"""``blosc_large``: blosc frames of large chunks built in NumPy buffers, readable by numcodecs."""

from __future__ import annotations

import json
import threading
from typing import Any

import numcodecs.blosc
import numpy as np
import pytest

from tensortrio.drivers.blosc_format import blosc_header_sizes
from tensortrio.drivers.zarr import ZARR_FORMAT, blosc_large

pytestmark = pytest.mark.skipif(not blosc_large.AVAILABLE, reason="numcodecs hides c-blosc")


def _chunk(shape: tuple[int, ...], dtype: str = "<f4") -> np.ndarray:
    return (np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape) * 37 % 101).astype(dtype)


@pytest.mark.parametrize("shuffle", [0, 1, 2])
@pytest.mark.parametrize("cname", ["lz4", "zstd", "blosclz"])
def test_frame_decodes_with_numcodecs(cname: str, shuffle: int) -> None:
    array = _chunk((256, 512))
    frame = blosc_large.compress_array(array, cname=cname, clevel=5, shuffle=shuffle, typesize=4)
    assert frame.readonly
    assert blosc_header_sizes(frame) == (array.nbytes, frame.nbytes)
    assert numcodecs.blosc.decompress(frame) == array.tobytes()


def test_same_frame_as_numcodecs_in_a_worker_thread() -> None:
    # Outside the main thread numcodecs also calls blosc_compress_ctx single-threaded.
    array = _chunk((300, 700))
    expected: list[bytes] = []
    thread = threading.Thread(
        target=lambda: expected.append(numcodecs.blosc.Blosc("lz4", 5, 1).encode(array))
    )
    thread.start()
    thread.join()
    assert bytes(blosc_large.compress_array(array, cname="lz4", clevel=5, shuffle=1, typesize=4)) == expected[0]


@pytest.mark.parametrize(
    "view",
    [
        lambda a: a[:, 100:400],
        lambda a: a[::2],
        lambda a: a.T,
        lambda a: a[10:20, ::-1],
    ],
    ids=["columns", "every-other-row", "transposed", "reversed"],
)
def test_strided_views_are_compressed_in_c_order(view: Any) -> None:
    source = _chunk((512, 600))
    part = view(source)
    frame = blosc_large.compress_array(part, cname="lz4", clevel=5, shuffle=1, typesize=4)
    assert numcodecs.blosc.decompress(frame) == np.ascontiguousarray(part).tobytes()


def test_staging_reuse_leaves_earlier_frames_intact() -> None:
    source = _chunk((512, 600))
    frames = [
        blosc_large.compress_array(source[:, i : i + 300], cname="lz4", clevel=5, shuffle=1, typesize=4)
        for i in (0, 300, 0)
    ]
    for i, frame in zip((0, 300, 0), frames, strict=True):
        assert numcodecs.blosc.decompress(frame) == np.ascontiguousarray(source[:, i : i + 300]).tobytes()


@pytest.mark.usefixtures("empty_warm_pool")  # a full pool would not take the block back
def test_a_transient_frame_is_the_same_frame_in_reused_memory() -> None:
    array = _chunk((1024, 512))  # 2 MiB: its buffer comes from the warm pool
    kept = blosc_large.compress_array(array, cname="lz4", clevel=5, shuffle=1, typesize=4)
    frame = blosc_large.compress_array(array, cname="lz4", clevel=5, shuffle=1, typesize=4, transient=True)
    assert frame.readonly
    assert bytes(frame) == bytes(kept)
    address = np.frombuffer(frame, np.uint8).ctypes.data
    del frame  # its buffer goes back to the pool...
    again = blosc_large.compress_array(array, cname="lz4", clevel=5, shuffle=1, typesize=4, transient=True)
    assert np.frombuffer(again, np.uint8).ctypes.data == address  # ...and is reused
    assert numcodecs.blosc.decompress(again) == array.tobytes()


def test_unknown_compressor_raises() -> None:
    with pytest.raises(RuntimeError, match=r"^blosc: cannot compress with cname 'nope' \(c-blosc returned -\d+\)$"):
        blosc_large.compress_array(_chunk((128, 256)), cname="nope", clevel=5, shuffle=1, typesize=4)


@pytest.mark.parametrize("order", ["C", "F"])
def test_codec_encodes_large_strided_chunks_through_it(order: str) -> None:
    metadata = {
        "zarr_format": 2,
        "shape": [512, 1024],
        "chunks": [256, 512],
        "dtype": "<f4",
        "compressor": {"id": "blosc"},
        "fill_value": None,
        "order": order,
        "filters": None,
    }
    codec = ZARR_FORMAT.chunk_codec(ZARR_FORMAT.decode_metadata(json.dumps(metadata).encode()))
    source = _chunk((512, 1024))
    part = source[256:, :512]  # a full overwrite's view of the writer's source
    encoded = codec.encode(part)
    assert isinstance(encoded, memoryview)
    np.testing.assert_array_equal(codec.decode(encoded), part)
    assert bytes(codec.encode_transient(part)) == bytes(encoded)
