"""Arrays read over HTTP: zarr v2, sharded zarr3 and n5, written by tensortrio, tensorstore and zarr."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tensorstore

import tensortrio as ts
import zarr
from tensortrio.errors import FailedPreconditionError, NotFoundError, UnimplementedError

if TYPE_CHECKING:
    from .http_server import ServedDirectory

DATA = np.arange(48 * 40, dtype="uint16").reshape(48, 40)

SHARDED = {
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [24, 20]}},
    "codecs": [
        {
            "name": "sharding_indexed",
            "configuration": {
                "chunk_shape": [8, 10],
                "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "gzip"}],
                "index_codecs": [
                    {"name": "bytes", "configuration": {"endian": "little"}},
                    {"name": "crc32c"},
                ],
            },
        }
    ],
}

FORMATS: dict[str, dict[str, Any]] = {
    "zarr2": {"driver": "zarr", "metadata": {"chunks": [16, 16], "compressor": {"id": "zlib"}}},
    "zarr3": {"driver": "zarr3", "metadata": SHARDED},
    "n5": {"driver": "n5", "metadata": {"blockSize": [16, 16], "compression": {"type": "gzip"}}},
}


def write_with_tensortrio(served: ServedDirectory, name: str) -> str:
    spec = {**FORMATS[name], "kvstore": {"driver": "file", "path": f"{served.root}/{name}/"}}
    store = ts.open(spec, create=True, dtype="uint16", shape=DATA.shape).result()
    store.write(DATA).result()
    return f"{served.url}/{name}/"


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_arrays_written_by_tensortrio(served: ServedDirectory, name: str) -> None:
    url = write_with_tensortrio(served, name)
    driver = FORMATS[name]["driver"]
    store = ts.open({"driver": driver, "kvstore": url}).result()
    np.testing.assert_array_equal(store[5:40, 3:33].read().result(), DATA[5:40, 3:33])
    pipeline = ts.open(f"{url}|{name}:").result()
    np.testing.assert_array_equal(pipeline.read().result(), DATA)
    detected = ts.open(url).result()  # the auto driver, over HTTP
    assert detected.spec().to_json()["driver"] == driver
    np.testing.assert_array_equal(detected.read().result(), DATA)
    theirs = tensorstore.open({"driver": driver, "kvstore": url}).result()
    np.testing.assert_array_equal(theirs.read().result(), DATA)


def test_sharded_reads_use_byte_ranges(served: ServedDirectory) -> None:
    url = write_with_tensortrio(served, "zarr3")
    store = ts.open({"driver": "zarr3", "kvstore": url}).result()
    served.clear_requests()
    np.testing.assert_array_equal(store[0:8, 0:10].read().result(), DATA[0:8, 0:10])
    ranges = [q.headers.get("range") for q in served.requests if q.path.endswith("/c/0/0")]
    # The shard index (6 inner chunks x 16 bytes + crc32c) from the end, then one inner chunk.
    assert ranges[0] == "bytes=-100"
    assert len(ranges) == 2
    assert ranges[1] is not None
    assert ranges[1].startswith("bytes=")


def test_arrays_written_by_tensorstore(served: ServedDirectory) -> None:
    for name, spec in FORMATS.items():
        kvstore = {"driver": "file", "path": f"{served.root}/ts-{name}/"}
        written = tensorstore.open(
            {**spec, "kvstore": kvstore}, create=True, dtype="uint16", shape=DATA.shape
        ).result()
        written.write(DATA).result()
        store = ts.open({"driver": spec["driver"], "kvstore": f"{served.url}/ts-{name}/"}).result()
        np.testing.assert_array_equal(store.read().result(), DATA)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_arrays_written_by_zarr_python(served: ServedDirectory, zarr_format: int) -> None:
    array = zarr.create_array(
        store=str(served.root / "zp"),
        shape=DATA.shape,
        chunks=(16, 8),
        dtype="uint16",
        zarr_format=zarr_format,  # type: ignore[arg-type]
    )
    array[...] = DATA
    driver = "zarr" if zarr_format == 2 else "zarr3"
    store = ts.open({"driver": driver, "kvstore": f"{served.url}/zp/"}).result()
    np.testing.assert_array_equal(store.read().result(), DATA)


def test_writing_and_creating_fail(served: ServedDirectory) -> None:
    url = write_with_tensortrio(served, "zarr2")
    store = ts.open({"driver": "zarr", "kvstore": url}).result()
    with pytest.raises(UnimplementedError, match=r"http: KeyValueStore does not support writing"):
        store[0:2, 0:2].write(np.zeros((2, 2), "uint16")).result()
    with pytest.raises(UnimplementedError, match=r"http: KeyValueStore does not support writing"):
        ts.open(
            {"driver": "zarr", "kvstore": f"{served.url}/new/"},
            create=True,
            dtype="uint16",
            shape=[4],
        ).result()
    assert not (served.root / "new").exists()
    np.testing.assert_array_equal(
        ts.open({"driver": "zarr", "kvstore": url}).result().read().result(), DATA
    )


def test_missing_array_is_not_found(served: ServedDirectory) -> None:
    with pytest.raises(
        NotFoundError,
        match=r'^zarr3: Metadata at "/absent/zarr\.json" does not exist; specify create=True to create it$',
    ):
        ts.open({"driver": "zarr3", "kvstore": f"{served.url}/absent/"}).result()
    with pytest.raises(
        FailedPreconditionError, match=r'^auto: Failed to detect format for http key "/absent/"$'
    ):
        ts.open(f"{served.url}/absent/").result()
