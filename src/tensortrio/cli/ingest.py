"""``tensortrio ingest``: append a stream of frames along axis 0 of a zarr3 sharded array.

The destination's shape along axis 0 is the one truth about how many frames
are committed. Frames are grouped into *slabs* that end on shard boundaries
(a whole shard of frames, except the first slab of a resumed run and the last
one), so each write covers whole shards and nothing is re-read.

Commit protocol, per slab ``[n, n + k)`` (the stored shape is ``n``):

1. **Data first.** The frames are written through a second handle on the same
   array opened with ``assume_metadata=True`` and a first dimension of
   ``2**40``: it writes the same chunk keys but never touches the metadata, so
   data past the stored shape is invisible to every reader (zarr ignores data
   past the bounds) and the committed frames ``[0, n)`` it shares a shard with
   are kept by the chunk cache's read-modify-write.
2. **Then the shape.** Only once the slab's ``commit`` future (and those of
   every earlier slab) has resolved, i.e. the shards are durable, the array is
   resized to ``n + k`` with ``expand_only=True``. The resize is a conditional
   write of the metadata (atomic: temp file and rename for ``file``), so the
   shape moves from ``n`` to ``n + k`` in one step or not at all.

A crash (even ``SIGKILL``) at any point leaves shape ``n`` with frames
``[0, n)`` intact, plus perhaps some uncommitted frames past the bounds. Run
again, the ingest reads the shape, skips the first ``n`` frames of the source
(which must replay the same stream: a directory, a file on stdin, the
synthetic generator) and writes from frame ``n`` on, overwriting whatever
uncommitted data was there: no frame is lost or written twice. ``--append``
instead treats the source as new frames to add after the existing ones.

Three tasks form the pipeline: the source fills the next slab (in a worker
thread), a dispatcher starts writes for at most ``in_flight`` slabs not yet
durable, and a committer awaits their commits in order and resizes, one
resize covering every slab already durable. Writes therefore run on while a
resize is being made durable. Memory is bounded by the slab size times
(``in_flight`` + 1), whatever the stream's length. A frame of
the wrong shape or dtype stops the ingest with a clear error after committing
every frame before it; committed data is never touched. One ingest per
destination at a time.
"""

from __future__ import annotations

import collections
import contextlib
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import trio

import tensortrio as ts

from ..errors import InvalidArgumentError, NotFoundError
from .progress import Progress, Throughput
from .sources import FrameSource, NpyDirSource, StdinSource, SyntheticSource

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import IO

    from .target import Target

__all__ = [
    "WRITER_EXTENT",
    "IngestOptions",
    "IngestResult",
    "default_shard_frames",
    "ingest",
    "make_source",
    "parse_shape",
]

WRITER_EXTENT = 2**40
_SHARD_BYTES = 16 * 2**20


@attrs.frozen
class IngestOptions:
    """What the command line asked for; ``None`` means "from the destination or source"."""

    frame_shape: tuple[int, ...] | None = None
    dtype: str | None = None
    shard_frames: int | None = None
    chunk_shape: tuple[int, ...] | None = None
    codec: Any = None
    in_flight: int = 2
    append: bool = False
    rate: float | None = None
    progress: bool = False
    attributes: Any = None


@attrs.frozen
class IngestResult:
    """What an ingest did: frames already there, frames added, final shape, speed."""

    resumed_at: int
    shape: tuple[int, ...]
    shard_frames: int
    throughput: Throughput
    created: bool


def default_shard_frames(frame_bytes: int) -> int:
    """Frames per shard: about 16 MiB of frames, at least 1 and at most 1024."""
    return max(1, min(1024, _SHARD_BYTES // max(1, frame_bytes)))


def make_source(
    text: str,
    frame_shape: tuple[int, ...] | None,
    dtype: np.dtype[Any] | None,
    *,
    rate: float | None = None,
    stdin: IO[bytes] | None = None,
) -> FrameSource:
    """Builds the source SOURCE names: ``synthetic:N``, ``-`` (stdin) or a ``.npy`` directory.

    Raises:
        InvalidArgumentError: ``--frame-shape``/``--dtype`` missing where needed.
        NotFoundError: the directory is missing or empty.
    """
    if text.startswith("synthetic:"):
        count_text = text.removeprefix("synthetic:")
        if not count_text.isdigit():
            raise InvalidArgumentError(
                f"synthetic source needs a frame count, e.g. synthetic:100, got {text!r}"
            )
        shape, kind = _need_layout(text, frame_shape, dtype)
        return SyntheticSource(shape, kind, count=int(count_text), rate=rate)
    if text == "-":
        shape, kind = _need_layout("stdin", frame_shape, dtype)
        return StdinSource(shape, kind, stream=stdin)
    files = NpyDirSource.list_files(text)
    if frame_shape is None or dtype is None:
        first = NpyDirSource.first_frame(files, None if frame_shape is None else len(frame_shape))
        frame_shape = frame_shape or first.shape
        dtype = dtype or first.dtype
    return NpyDirSource(tuple(frame_shape), np.dtype(dtype), files=files)


def _need_layout(
    what: str, frame_shape: tuple[int, ...] | None, dtype: np.dtype[Any] | None
) -> tuple[tuple[int, ...], np.dtype[Any]]:
    if frame_shape is None or dtype is None:
        missing = " and ".join(
            name for name, v in (("--frame-shape", frame_shape), ("--dtype", dtype)) if v is None
        )
        raise InvalidArgumentError(f"{what} needs {missing} (or an existing destination)")
    return frame_shape, dtype


def _check_options(options: IngestOptions) -> None:
    for name, value in (
        ("--in-flight", options.in_flight),
        ("--shard-frames", options.shard_frames),
    ):
        if value is not None and value < 1:
            raise InvalidArgumentError(f"{name} must be at least 1, got {value}")
    if options.rate is not None and not options.rate > 0:
        raise InvalidArgumentError(f"--rate must be positive, got {options.rate}")


async def _open_destination(target: Target) -> ts.TensorStore | None:
    try:
        return await target.open_existing(write=True)
    except NotFoundError:
        return None


async def _create_destination(
    target: Target, frame_shape: tuple[int, ...], dtype: np.dtype[Any], options: IngestOptions
) -> ts.TensorStore:
    rank = len(frame_shape) + 1
    frame_bytes = int(np.prod(frame_shape, dtype=np.int64)) * dtype.itemsize
    shard = options.shard_frames or default_shard_frames(frame_bytes)
    chunk = options.chunk_shape or (1, *frame_shape)
    if len(chunk) != rank:
        raise InvalidArgumentError(
            f"--chunk-shape must have rank {rank} (frame axis first), got {list(chunk)}"
        )
    given = target.array_spec("zarr3")
    spec: dict[str, Any] = dict(ts.Spec(given).to_json() if isinstance(given, str) else given)
    if options.codec is not None:
        codec = options.codec
        if isinstance(codec, list):
            codec = {"codecs": codec}
        spec["schema"] = {
            **spec.get("schema", {}),
            "codec": {**codec, "driver": spec.get("driver")},
        }
    if options.attributes is not None:
        spec["metadata"] = {**spec.get("metadata", {}), "attributes": options.attributes}
    layout = ts.ChunkLayout(read_chunk_shape=list(chunk), write_chunk_shape=[shard, *frame_shape])
    opened: ts.TensorStore = await ts.open(
        spec,
        create=True,
        dtype=ts.dtype(dtype.name),
        shape=[0, *frame_shape],
        chunk_layout=layout,
    )
    return opened


def _check_destination(
    store: ts.TensorStore, frame_shape: tuple[int, ...] | None, dtype: np.dtype[Any] | None
) -> None:
    if store.rank < 1 or store.origin[0] != 0:
        raise InvalidArgumentError(
            f"destination domain {store.domain} has no frame axis starting at 0"
        )
    if frame_shape is not None and tuple(store.shape[1:]) != tuple(frame_shape):
        raise InvalidArgumentError(
            f"destination frames have shape {list(store.shape[1:])}, the source's have {list(frame_shape)}"
        )
    stored = np.dtype(store.dtype.numpy_dtype)
    if dtype is not None and stored != dtype:
        raise InvalidArgumentError(f"destination dtype is {stored}, the source's is {dtype}")


async def _open_writer(store: ts.TensorStore) -> ts.TensorStore:
    """A handle writing the array's chunks past its stored shape without touching its metadata."""
    spec = store.spec().to_json()
    metadata = spec.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("shape"), list):
        raise InvalidArgumentError(
            f"ingest needs a zarr or zarr3 destination, got driver {spec.get('driver')!r}"
        )
    metadata["shape"][0] = WRITER_EXTENT
    spec.pop("transform", None)
    writer: ts.TensorStore = await ts.open(spec, open=True, assume_metadata=True)
    return writer


@attrs.frozen
class _Slab:
    start: int
    frames: np.ndarray


async def ingest(
    source_text: str,
    target: Target,
    options: IngestOptions,
    *,
    stdin: IO[bytes] | None = None,
    on_commit: Any = None,
) -> IngestResult:
    """Runs the ingest (see the module docstring).

    ``on_commit(frames)`` is called with the committed frame count once the
    destination is open and after each resize.

    Raises:
        InvalidArgumentError: bad options, or a frame of the wrong shape or dtype.
        NotFoundError: the source does not exist.
    """
    _check_options(options)
    want_dtype = None if options.dtype is None else np.dtype(ts.dtype(options.dtype).numpy_dtype)
    store = await _open_destination(target)
    created = store is None
    if store is not None:
        _check_destination(store, options.frame_shape, want_dtype)
        frame_shape: tuple[int, ...] | None = tuple(store.shape[1:])
        want_dtype = np.dtype(store.dtype.numpy_dtype)
    else:
        frame_shape = options.frame_shape
    source = make_source(source_text, frame_shape, want_dtype, rate=options.rate, stdin=stdin)
    if store is None:
        store = await _create_destination(target, source.frame_shape, source.dtype, options)
    _check_destination(store, source.frame_shape, source.dtype)
    committed = int(store.shape[0])
    if on_commit is not None:
        on_commit(committed)
    write_chunk = store.chunk_layout.write_chunk.shape
    shard_frames = int(write_chunk[0] or 1) if write_chunk else 1
    writer = await _open_writer(store)
    current: ts.TensorStore = store
    if not options.append:
        await trio.to_thread.run_sync(source.skip, committed)
    if source.total is None:
        total = None
    else:
        total = committed + source.total if options.append else max(source.total, committed)

    resumed_at = committed
    failure: list[BaseException] = []
    send, receive = trio.open_memory_channel[_Slab](0)

    async def produce() -> None:
        position = committed
        async with send:
            while True:
                size = shard_frames - position % shard_frames
                slab = np.empty((size, *source.frame_shape), source.dtype)
                try:
                    count = await trio.to_thread.run_sync(source.fill, slab)
                except InvalidArgumentError as exc:
                    failure.append(exc)
                    return
                if count == 0:
                    return
                try:
                    await send.send(_Slab(position, slab[:count]))
                except trio.BrokenResourceError:
                    # The dispatcher stopped first (interrupted, or failed): its error
                    # is the one to report, not this one.
                    return
                position += count

    with Progress(
        "ingest",
        "frames",
        source.frame_bytes,
        total=total,
        enabled=options.progress,
        start_count=committed,
    ) as progress:
        # Writes run ahead of the resizes: ``in_flight`` slabs may be written
        # while the committer is still moving the shape over earlier ones.
        slots = trio.Semaphore(options.in_flight)
        written_send, written_receive = trio.open_memory_channel[tuple[int, ts.WriteFutures]](
            options.in_flight
        )

        async def dispatch() -> None:
            async with written_send, receive:
                async for slab in receive:
                    await slots.acquire()
                    stop = slab.start + len(slab.frames)
                    await written_send.send((stop, writer[slab.start : stop].write(slab.frames)))

        async def commit() -> None:
            nonlocal current, committed
            pending: collections.deque[tuple[int, ts.WriteFutures]] = collections.deque()

            def take_waiting() -> None:
                with contextlib.suppress(trio.WouldBlock, trio.EndOfChannel):
                    while True:
                        pending.append(written_receive.receive_nowait())

            async with written_receive:
                while True:
                    if not pending:
                        try:
                            pending.append(await written_receive.receive())
                        except trio.EndOfChannel:
                            return
                    end, futures = pending.popleft()
                    await futures.commit
                    slots.release()
                    # Coalesce: every slab already durable moves the shape in one resize.
                    take_waiting()
                    while pending and pending[0][1].commit.done():
                        end, futures = pending.popleft()
                        await futures.commit
                        slots.release()
                        take_waiting()
                    current = await current.resize(
                        exclusive_max=[end, *([None] * (current.rank - 1))], expand_only=True
                    )
                    progress.advance(end - committed)
                    committed = end
                    if on_commit is not None:
                        on_commit(end)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce)
            nursery.start_soon(dispatch)
            nursery.start_soon(commit)
        if failure:
            raise failure[0]
        throughput = progress.throughput()
    return IngestResult(resumed_at, tuple(current.shape), shard_frames, throughput, created)


def parse_shape(text: str, what: str) -> tuple[int, ...]:
    """``'512,512'`` (or ``'512x512'``) as a tuple of positive ints."""
    parts: Sequence[str] = text.replace("x", ",").split(",")
    try:
        shape = tuple(int(p) for p in parts if p.strip())
    except ValueError as exc:
        raise InvalidArgumentError(f"{what} must be integers like 512,512, got {text!r}") from exc
    if not shape or any(n <= 0 for n in shape):
        raise InvalidArgumentError(f"{what} must be positive integers like 512,512, got {text!r}")
    return shape
