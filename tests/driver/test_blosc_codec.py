"""drivers/blosc_codec: the same frames as numcodecs, and corrupt frames refused by name."""

from __future__ import annotations

import numcodecs
import numpy as np
import pytest

from tensortrio.drivers.blosc_codec import SMALL, compress, decompress_checked
from tensortrio.errors import DataLossError


def _data(nbytes: int, dtype: str) -> np.ndarray:
    count = nbytes // np.dtype(dtype).itemsize
    return (np.arange(count) % 251).astype(dtype)


@pytest.mark.parametrize("nbytes", [0, 8192, SMALL - 16, SMALL, 4 * SMALL])
@pytest.mark.parametrize(
    ("cname", "clevel", "shuffle", "dtype"),
    [
        ("lz4", 5, 1, "<u2"),
        ("zstd", 3, 2, "|u1"),
        ("blosclz", 9, 0, "<f8"),
        ("lz4hc", 1, 1, "<i4"),
        ("zlib", 4, 2, "<u2"),
    ],
)
def test_frames_equal_numcodecs_and_round_trip(
    nbytes: int, cname: str, clevel: int, shuffle: int, dtype: str
) -> None:
    data = _data(nbytes, dtype)
    typesize = data.dtype.itemsize
    ours = compress(data, cname=cname, clevel=clevel, shuffle=shuffle, typesize=typesize)
    theirs = numcodecs.Blosc(cname=cname, clevel=clevel, shuffle=shuffle).encode(data)
    assert ours == bytes(theirs)
    out = np.empty_like(data)
    decompress_checked(ours, out)
    np.testing.assert_array_equal(out, data)
    decompress_checked(memoryview(ours), out.view(np.uint8))
    np.testing.assert_array_equal(out, data)


def test_blocksize_goes_through_numcodecs() -> None:
    data = _data(8192, "<u2")
    ours = compress(data, cname="lz4", clevel=5, shuffle=1, typesize=2, blocksize=1024)
    theirs = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=1, blocksize=1024).encode(data)
    assert ours == bytes(theirs)


def test_corrupt_frames_are_refused() -> None:
    data = _data(8192, "<u2")
    frame = compress(data, cname="lz4", clevel=5, shuffle=1, typesize=2)
    out = np.empty_like(data)
    with pytest.raises(DataLossError, match=r"^inner: 10 bytes is too short for a blosc header$"):
        decompress_checked(frame[:10], out, "inner")
    with pytest.raises(
        DataLossError, match=rf"^blosc: header says {len(frame)} compressed bytes, got {len(frame) - 1}$"
    ):
        decompress_checked(frame[:-1], out)
    with pytest.raises(DataLossError, match=r"^blosc: header says 8192 decoded bytes, expected 4096$"):
        decompress_checked(frame, out[:2048])
    garbled = bytearray(frame)
    garbled[16:] = bytes(len(garbled) - 16)
    with pytest.raises(DataLossError, match=r"^blosc: "):
        decompress_checked(bytes(garbled), out)
    with pytest.raises(ValueError, match=r"^blosc: the output buffer is read-only$"):
        decompress_checked(frame, bytes(8192))


def test_repeated_small_compressions_give_the_same_frames() -> None:
    # The first call with a parameter set is checked by python-blosc; later ones call c-blosc directly.
    data = _data(8192, "<u2")
    frames = [compress(data, cname="lz4", clevel=7, shuffle=1, typesize=2) for _ in range(3)]
    theirs = numcodecs.Blosc(cname="lz4", clevel=7, shuffle=1).encode(data)
    assert frames == [bytes(theirs)] * 3


def test_bad_parameters_are_refused_after_good_ones() -> None:
    data = _data(8192, "<u2")
    compress(data, cname="lz4", clevel=5, shuffle=1, typesize=2)
    with pytest.raises(ValueError, match=r"^clevel can only be in the 0-9 range"):
        compress(data, cname="lz4", clevel=10, shuffle=1, typesize=2)
    with pytest.raises(ValueError, match=r"^cname can only be one of"):
        compress(data, cname="nope", clevel=5, shuffle=1, typesize=2)
