"""Frame sources for ``tensortrio ingest``: a directory of ``.npy`` files, raw stdin, a generator.

A source is a replayable stream of equally shaped frames. ``skip(n)`` moves
past the first ``n`` frames (a resumed ingest skips what is already
committed); ``fill(slab)`` copies the next frames into ``slab`` (a
``[k, *frame_shape]`` array) and returns how many it copied, ``0`` at the end
of the stream. Both block (files, pipes, a rate limit) and run in a worker
thread. A frame of the wrong shape or dtype ends the frames ``fill`` returns;
the *next* call raises the error, so every good frame before it is still
committed.
"""

from __future__ import annotations

import os
import time
from typing import IO, TYPE_CHECKING, Any

import attrs
import numpy as np

from ..errors import InvalidArgumentError, NotFoundError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["FrameSource", "NpyDirSource", "StdinSource", "SyntheticSource", "check_frame"]


def check_frame(
    frame: np.ndarray, shape: tuple[int, ...], dtype: np.dtype[Any], where: str
) -> None:
    """Raises ``InvalidArgumentError`` naming ``where`` unless ``frame`` has ``shape`` and ``dtype``."""
    if frame.shape != shape:
        raise InvalidArgumentError(f"{where} has shape {list(frame.shape)}, expected {list(shape)}")
    # Byte order is no reason to reject a frame; anything else that needs a cast is.
    if not np.can_cast(frame.dtype, dtype, casting="equiv"):
        raise InvalidArgumentError(f"{where} has dtype {frame.dtype}, expected {dtype}")


@attrs.define(eq=False)
class FrameSource:
    """Base of the frame sources: shape, dtype, length if known, and the deferred error."""

    frame_shape: tuple[int, ...]
    dtype: np.dtype[Any]
    _error: Exception | None = attrs.field(init=False, default=None)

    @property
    def total(self) -> int | None:
        """Frames in the whole stream, when known up front."""
        return None

    @property
    def description(self) -> str:
        """What the source is, for progress and summaries."""
        return type(self).__name__

    @property
    def frame_bytes(self) -> int:
        """Bytes in one frame."""
        return int(np.prod(self.frame_shape, dtype=np.int64)) * self.dtype.itemsize

    def skip(self, count: int) -> None:
        """Moves past the next ``count`` frames (at most to the end of the stream)."""
        scratch = np.empty((1, *self.frame_shape), self.dtype)
        for _ in range(count):
            if self.fill(scratch) == 0:
                return

    def fill(self, slab: np.ndarray) -> int:
        """Copies the next frames into ``slab``; returns how many (``0``: end of stream)."""
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        count = 0
        try:
            while count < len(slab) and self._next_into(slab, count):
                count += 1
        except InvalidArgumentError as exc:
            if count == 0:
                raise
            self._error = exc
        return count

    def _next_into(self, slab: np.ndarray, index: int) -> bool:
        """Copies one frame into ``slab[index]``; ``False`` at the end of the stream."""
        raise TypeError(f"{type(self).__name__} does not produce frames")


@attrs.define(eq=False)
class SyntheticSource(FrameSource):
    """``synthetic:N``: ``N`` frames, frame ``i`` filled with the value ``i`` (cast to ``dtype``).

    ``rate`` (frames per second, optional) paces the stream like a camera.
    """

    count: int = 0
    rate: float | None = None
    _position: int = attrs.field(init=False, default=0)
    _started: float = attrs.field(init=False, factory=time.monotonic)
    _paced_from: int = attrs.field(init=False, default=0)

    @property
    def total(self) -> int | None:
        return self.count

    @property
    def description(self) -> str:
        return f"synthetic:{self.count}"

    def skip(self, count: int) -> None:
        self._position = min(self.count, self._position + count)
        self._paced_from = self._position
        self._started = time.monotonic()

    def _next_into(self, slab: np.ndarray, index: int) -> bool:
        if self._position >= self.count:
            return False
        if self.rate:
            due = self._started + (self._position - self._paced_from + 1) / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        slab[index] = np.asarray(self._position).astype(self.dtype)
        self._position += 1
        return True


@attrs.define(eq=False)
class StdinSource(FrameSource):
    """Raw frames on a byte stream: each frame is ``frame_bytes`` bytes in C order."""

    stream: IO[bytes] | None = None
    _index: int = attrs.field(init=False, default=0)

    @property
    def description(self) -> str:
        return "stdin"

    def _read_exactly(self, view: memoryview) -> int:
        assert self.stream is not None
        got = 0
        while got < len(view):
            n = self.stream.readinto(view[got:])  # type: ignore[attr-defined]
            if not n:
                break
            got += n
        return got

    def skip(self, count: int) -> None:
        scratch = bytearray(self.frame_bytes)
        for _ in range(count):
            if not self._next_frame(memoryview(scratch)):
                return

    def _next_frame(self, view: memoryview) -> bool:
        got = self._read_exactly(view)
        if got == 0:
            return False
        if got < len(view):
            raise InvalidArgumentError(
                f"stdin ended inside frame {self._index}: got {got} of {len(view)} bytes"
            )
        self._index += 1
        return True

    def _next_into(self, slab: np.ndarray, index: int) -> bool:
        frame: Any = slab[index]
        return self._next_frame(memoryview(frame).cast("B"))


@attrs.define(eq=False)
class NpyDirSource(FrameSource):
    """The ``.npy`` files of a directory in name order; a file holds one frame or a stack of them."""

    files: Sequence[str] = ()
    _file: int = attrs.field(init=False, default=0)
    _offset: int = attrs.field(init=False, default=0)
    _current: np.ndarray | None = attrs.field(init=False, default=None)
    _index: int = attrs.field(init=False, default=0)

    @property
    def description(self) -> str:
        folder = os.path.dirname(self.files[0]) if self.files else "?"
        return f"{len(self.files)} .npy files in {folder}"

    def _load(self) -> np.ndarray | None:
        while self._file < len(self.files):
            if self._current is None:
                path = self.files[self._file]
                try:
                    array = np.load(path, mmap_mode="r", allow_pickle=False)
                except (OSError, ValueError) as exc:
                    raise InvalidArgumentError(f"{path}: not a readable .npy file ({exc})") from exc
                if array.ndim == len(self.frame_shape):
                    array = array[np.newaxis]
                self._current = array
                self._offset = 0
            if self._offset < len(self._current):
                return self._current
            self._current = None
            self._file += 1
        return None

    def _next_into(self, slab: np.ndarray, index: int) -> bool:
        stack = self._load()
        if stack is None:
            return False
        where = f"frame {self._index} ({self.files[self._file]})"
        check_frame(stack[self._offset], self.frame_shape, self.dtype, where)
        slab[index] = stack[self._offset]
        self._offset += 1
        self._index += 1
        return True

    @staticmethod
    def list_files(directory: str) -> list[str]:
        """The ``.npy`` files in ``directory``, sorted by name.

        Raises:
            NotFoundError: the directory is missing or holds no ``.npy`` file.
        """
        if not os.path.isdir(directory):
            raise NotFoundError(f"source directory {directory!r} does not exist")
        names = sorted(n for n in os.listdir(directory) if n.endswith(".npy"))
        if not names:
            raise NotFoundError(f"source directory {directory!r} holds no .npy files")
        return [os.path.join(directory, n) for n in names]

    @staticmethod
    def first_frame(files: Sequence[str], rank: int | None) -> np.ndarray:
        """The first frame of the first file (a stack when ``rank`` says one more dimension)."""
        try:
            array = np.load(files[0], mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InvalidArgumentError(f"{files[0]}: not a readable .npy file ({exc})") from exc
        if rank is not None and array.ndim == rank + 1:
            return np.asarray(array[0])
        return np.asarray(array)
