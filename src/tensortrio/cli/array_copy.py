"""``tensortrio copy``: copy any openable array into a new zarr or zarr3 array.

The copy walks the destination's write-chunk (shard) grid: each cell is read
from the source and written whole to the destination, so no destination
chunk is ever read back or merged. ``jobs`` cells are in flight at once (one
task each, pulling from a shared iterator), which bounds memory to about
``jobs`` cells plus the caches' own limits, whatever the array's size.

Without ``--chunk-shape``/``--shard-shape``/``--codec`` the new array keeps
the source's chunk layout and, for the same driver, its codecs. The source's
domain is translated to start at 0, as zarr arrays do.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import attrs
import trio

import tensortrio as ts

from ..errors import AlreadyExistsError, InvalidArgumentError
from .progress import Progress, Throughput

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .target import Target

__all__ = ["CopyOptions", "CopyResult", "codec_spec", "copy_array"]


@attrs.frozen
class CopyOptions:
    """What the command line asked for; ``None`` means "as the source"."""

    driver: str | None = None
    chunk_shape: tuple[int, ...] | None = None
    shard_shape: tuple[int, ...] | None = None
    codec: Any = None
    jobs: int = 4
    progress: bool = False


@attrs.frozen
class CopyResult:
    """The new array's driver, shape and chunking, and how fast the copy was."""

    driver: str
    shape: tuple[int, ...]
    chunk_shape: tuple[int, ...]
    shard_shape: tuple[int, ...]
    throughput: Throughput


def codec_spec(codec: Any, driver: str) -> dict[str, Any]:
    """``--codec`` JSON as a codec spec for ``driver``: a list is a zarr3 codec chain."""
    if isinstance(codec, list):
        if driver != "zarr3":
            raise InvalidArgumentError(
                f"--codec as a list of codecs needs --driver zarr3, not {driver}"
            )
        return {"driver": driver, "codecs": codec}
    if not isinstance(codec, dict):
        raise InvalidArgumentError(f"--codec must be a JSON object or list, got {codec!r}")
    given = codec.get("driver", driver)
    if given != driver:
        raise InvalidArgumentError(f"--codec is for driver {given!r}, the new array is {driver!r}")
    return {**codec, "driver": driver}


def _check_rank(shape: tuple[int, ...] | None, rank: int, what: str) -> None:
    if shape is not None and len(shape) != rank:
        raise InvalidArgumentError(f"{what} must have rank {rank}, got {list(shape)}")


def _sizes(chunk: tuple[int | None, ...] | None, fallback: tuple[int, ...]) -> tuple[int, ...]:
    """A chunk shape with unconstrained sizes (``None``/``0``) taken from ``fallback``."""
    if chunk is None:
        return tuple(max(1, n) for n in fallback)
    return tuple(max(1, n or f) for n, f in zip(chunk, fallback, strict=True))


def _cells(shape: tuple[int, ...], cell: tuple[int, ...]) -> Iterator[tuple[slice, ...]]:
    ranges = [range(0, extent, size) for extent, size in zip(shape, cell, strict=True)]
    for corner in itertools.product(*ranges):
        yield tuple(
            slice(start, min(start + size, extent))
            for start, size, extent in zip(corner, cell, shape, strict=True)
        )


async def _create(
    source: ts.TensorStore, target: Target, options: CopyOptions
) -> tuple[ts.TensorStore, str]:
    src_driver = source.spec().to_json().get("driver")
    driver = options.driver or (src_driver if src_driver in ("zarr", "zarr3") else "zarr3")
    rank = source.rank
    _check_rank(options.chunk_shape, rank, "--chunk-shape")
    _check_rank(options.shard_shape, rank, "--shard-shape")
    if options.shard_shape is not None and driver != "zarr3":
        raise InvalidArgumentError(f"--shard-shape needs the zarr3 driver, not {driver}")
    layout = source.chunk_layout
    rechunk = options.chunk_shape is not None or options.shard_shape is not None
    read: tuple[int, ...] = _sizes(layout.read_chunk.shape, source.shape)
    write: tuple[int, ...] = _sizes(layout.write_chunk.shape, source.shape)
    if rechunk:
        read = options.chunk_shape or options.shard_shape or read
        write = options.shard_shape or options.chunk_shape or write
    if driver == "zarr":
        write = read
    spec = target.array_spec(driver)
    spec = dict(ts.Spec(spec).to_json() if isinstance(spec, str) else spec)
    if spec.get("driver") != driver:
        raise InvalidArgumentError(
            f"destination spec names driver {spec.get('driver')!r}, not {driver!r}"
        )
    if options.codec is not None:
        spec["schema"] = {"codec": codec_spec(options.codec, driver)}
    elif not rechunk and src_driver == driver and source.codec is not None:
        spec["schema"] = {"codec": source.codec.to_json()}
    try:
        created = await ts.open(
            spec,
            create=True,
            dtype=source.dtype,
            shape=list(source.shape),
            chunk_layout=ts.ChunkLayout(
                read_chunk_shape=[max(1, n) for n in read],
                write_chunk_shape=[max(1, n) for n in write],
            ),
            fill_value=source.fill_value,
        )
    except AlreadyExistsError as exc:
        raise AlreadyExistsError(f"destination {target.text!r} already holds an array") from exc
    return created, driver


async def copy_array(
    source_target: Target, dest_target: Target, options: CopyOptions
) -> CopyResult:
    """Copies the array SRC names into a new array at DST (see the module docstring)."""
    if options.jobs < 1:
        raise InvalidArgumentError(f"--jobs must be at least 1, got {options.jobs}")
    source = await source_target.open_existing(read=True)
    if any(source.origin):
        source = source.translate_to[0]
    dest, driver = await _create(source, dest_target, options)
    shape = tuple(int(n) for n in source.shape)
    write = _sizes(dest.chunk_layout.write_chunk.shape, shape)
    read = _sizes(dest.chunk_layout.read_chunk.shape, write)
    cells = _cells(shape, write) if all(shape) else iter(())
    cell_bytes = source.dtype.numpy_dtype.itemsize
    for n in write:
        cell_bytes *= n
    total = 1
    for extent, size in zip(shape, write, strict=True):
        total *= -(-extent // size)

    with Progress("copy", "chunks", cell_bytes, total=total, enabled=options.progress) as progress:

        async def worker() -> None:
            for region in cells:
                data = await source[region].read()
                await dest[region].write(data).commit
                progress.advance(1, data.nbytes)

        async with trio.open_nursery() as nursery:
            for _ in range(options.jobs):
                nursery.start_soon(worker)
        throughput = progress.throughput()
    return CopyResult(driver, shape, read, write, throughput)
