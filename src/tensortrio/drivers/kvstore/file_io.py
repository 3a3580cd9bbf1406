"""The ``file`` driver's blocking I/O: what one worker thread does for a batch of operations.

A committed write is durable and atomic (unless ``file_io_locking`` mode
``"non_atomic"`` asks to write values in place): the value is written to the key's
lock file ``key.__lock`` (while holding its lock, see ``file_lock``),
``fsync``-ed, renamed over ``key``, and the directory is ``fsync``-ed before
the write is acknowledged. A crash therefore leaves either the old or the new
value under ``key``, never a torn one; at worst a stale ``.__lock`` file,
which is never listed and is reused by the next write.

A batch's writes go in phases rather than one after the other: take the
locks (in path order: OFD locks do not detect deadlock) and write every
value, then ``fsync`` every value, then rename every one into place, then
``fsync`` each directory once. Writing everything before the first
``fsync`` lets the filesystem flush several files per journal commit. Every
value is still ``fsync``-ed before its rename, and every rename before the
write is acknowledged. A key written twice in one batch is written in two
rounds, in order, never holding its lock twice.

Storage generations encode (device, inode, mtime) exactly as TensorStore's
file driver does, so they are comparable between the two libraries. Each
write gets a fresh inode, but inode numbers are recycled and kernel
timestamps are coarse (one clock tick), so (inode, mtime) alone could repeat
an old generation within a tick, and a conditional write holding that old
generation would wrongly succeed. While holding the key's lock we therefore
set the new file's mtime to ``max(now_ns, previous mtime + 1)``: the
generations of one key strictly increase in their mtime part.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import struct
import time
from stat import S_ISREG
from typing import TYPE_CHECKING, Any

from ...errors import storage_os_error
from ...schema.duration import seconds
from ...schema.file_io_resources import FileIoLockingConfig
from .byte_range import FULL
from .driver import ReadGroup
from .file_key import LOCK_SUFFIX
from .file_lock import FileLock, acquire_file_lock
from .file_writeback import AVAILABLE as WRITEBACK_AVAILABLE
from .file_writeback import PIECE_BYTES, start_writeback
from .generation import NO_VALUE, UNKNOWN, TimestampedStorageGeneration
from .operations import ReadRequest, WriteRequest, answer_reads
from .read_result import ReadResult
from .value_buffer import LARGE_VALUE, new_buffer

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .driver import BatchOperation, BatchOutcome
    from .key_range import KeyRange

__all__ = [
    "delete_range",
    "file_generation",
    "list_keys",
    "read_group",
    "read_one",
    "run_batch",
    "write_batch",
]

_READ_FLAGS = os.O_RDONLY | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_DIRECTORY", 0)
_MAX_WRITE_CHUNK = 1 << 26
_OS_LOCKING = FileIoLockingConfig()


_GENERATION = struct.Struct("<xQQQ")


def file_generation(st: os.stat_result) -> bytes:
    """The storage generation of a value file with status ``st`` (TensorStore's encoding).

    Equal to ``generation_from_values(st_dev, st_ino, st_mtime_ns)``.
    """
    return _GENERATION.pack(st.st_dev, st.st_ino, st.st_mtime_ns & 0xFFFFFFFFFFFFFFFF)


def _os_error(exc: OSError, action: str, path: bytes) -> OSError:
    return storage_os_error(exc.errno, f"file: cannot {action} {os.fsdecode(path)!r}: {exc.strerror}")


def _parent(path: bytes) -> bytes:
    return os.path.dirname(path) or b"."


# --- reads


def read_group(group: ReadGroup, now: float) -> list[ReadResult | Exception]:
    """Answer every read of ``group`` (its key is the file's path) from one open, stat and read.

    ``now`` is the time stamped on the results: a time before the read began.
    """
    return _read_file(group.key, group.requests, now)


def read_one(request: ReadRequest, now: float) -> ReadResult | Exception:
    """Answer a read alone (its key is the file's path), as :func:`read_group` does."""
    return _read_file(request.key, (request,), now)[0]


def _read_file(
    path: bytes, requests: Sequence[ReadRequest], now: float
) -> list[ReadResult | Exception]:
    try:
        fd = os.open(path, _READ_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return _missing(requests, now)
    except OSError as exc:
        return [_os_error(exc, "read", path)] * len(requests)
    try:
        st = os.fstat(fd)
        if not S_ISREG(st.st_mode):
            return _missing(requests, now)
        stamp = TimestampedStorageGeneration._make(file_generation(st), now)
        size = st.st_size
        if len(requests) == 1:
            request = requests[0]
            if (
                request.byte_range is FULL
                and not request.if_equal
                and request.if_not_equal != stamp.generation
            ):
                return [ReadResult._make("value", _read_all(fd, size, path), stamp)]

        def fetch(start: int, stop: int) -> bytes:
            return _pread_exactly(fd, start, stop, path)

        return answer_reads(requests, stamp, size, fetch)
    except OSError as exc:
        return [_os_error(exc, "read", path)] * len(requests)
    finally:
        os.close(fd)


def _missing(requests: Sequence[ReadRequest], now: float) -> list[ReadResult | Exception]:
    return answer_reads(
        requests, TimestampedStorageGeneration._make(NO_VALUE, now), None, _no_fetch
    )


def _no_fetch(start: int, stop: int) -> bytes:
    raise AssertionError("a missing value has no bytes")


def _truncated(path: bytes) -> OSError:
    # Values are replaced by rename, never modified in place, so a short read
    # means the file was truncated by something outside the protocol.
    return storage_os_error(errno.EIO, f"file: unexpected end of file reading {os.fsdecode(path)!r}")


def _read_all(fd: int, size: int, path: bytes) -> bytes | memoryview:
    """The whole value of ``size`` bytes (a NumPy buffer if large: see ``value_buffer``)."""
    if size < LARGE_VALUE:
        data = os.read(fd, size)
        return data if len(data) == size else _pread_exactly(fd, 0, size, path)
    buffer = new_buffer(size)
    have = os.preadv(fd, [buffer], 0)
    while have < size:
        more = os.preadv(fd, [buffer[have:]], have)
        if not more:
            raise _truncated(path)
        have += more
    return buffer.toreadonly()


def _pread_exactly(fd: int, start: int, stop: int, path: bytes) -> bytes:
    data = os.read(fd, stop) if start == 0 else os.pread(fd, stop - start, start)
    if len(data) == stop - start:
        return data
    parts = [data]
    have = len(data)
    while have < stop - start:
        more = os.pread(fd, stop - start - have, start + have)
        if not more:
            raise _truncated(path)
        parts.append(more)
        have += len(more)
    return b"".join(parts)


# --- writes


#: Most locks (open lock files) one batch holds at once; more writes go in further groups.
MAX_HELD_LOCKS = 64


def _stat_value(path: bytes) -> os.stat_result | None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st if S_ISREG(st.st_mode) else None


def _make_parents(path: bytes, dirs_to_sync: set[bytes]) -> None:
    missing = []
    parent = os.path.dirname(path)
    while parent and not os.path.isdir(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o777)
        # The new directory's own entry must reach the disk too.
        dirs_to_sync.add(_parent(directory))


def _opening(path: bytes, dirs_to_sync: set[bytes], open_file: Callable[[], FileLock]) -> FileLock:
    """``open_file()`` (which creates ``path``), again after making its missing parent directories."""
    try:
        return open_file()
    except FileNotFoundError:
        _make_parents(path, dirs_to_sync)
        return open_file()


def _lock(path: bytes, dirs_to_sync: set[bytes], locking: FileIoLockingConfig) -> FileLock:
    lock_path = path + LOCK_SUFFIX
    timeout = seconds(locking.acquire_timeout)
    acquire = functools.partial(acquire_file_lock, lock_path, locking.mode, timeout)
    return _opening(lock_path, dirs_to_sync, acquire)


def _open_in_place(path: bytes, dirs_to_sync: set[bytes]) -> FileLock:
    """Open the value file ``path`` itself to write a new value (mode ``"non_atomic"``)."""

    def open_file() -> FileLock:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        return FileLock(path, fd, os.fstat(fd), in_place=True)

    return _opening(path, dirs_to_sync, open_file)


def _write_all(fd: int, value: bytes | memoryview, sync: bool) -> None:
    """Write ``value`` to ``fd``; a large one with ``sync`` starts each piece's writeback as it goes.

    The ``fsync`` that follows then waits only for the last piece (see
    ``file_writeback``). A small value is left to the ``fsync``: starting it
    early costs a call per value and did not pay (W2's 8 KiB chunks).
    """
    view = memoryview(value)
    start_early = sync and WRITEBACK_AVAILABLE and view.nbytes > PIECE_BYTES
    step = PIECE_BYTES if start_early else _MAX_WRITE_CHUNK
    offset = 0
    while view:
        written = os.write(fd, view[:step])
        if start_early:
            start_writeback(fd, offset, written)
        offset += written
        view = view[written:]


def _rounds(writes: Sequence[tuple[int, WriteRequest]]) -> list[list[tuple[int, WriteRequest]]]:
    """Split ``writes`` into rounds of distinct keys: round ``n`` has each key's ``n``-th write."""
    rounds: list[list[tuple[int, WriteRequest]]] = []
    seen: dict[bytes, int] = {}
    for write in writes:
        key = write[1].key
        n = seen.get(key, 0)
        seen[key] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(write)
    return rounds


def write_batch(
    writes: Sequence[tuple[int, WriteRequest]],
    outcomes: list[Any],
    *,
    sync: bool,
    dirs_to_sync: set[bytes],
    locking: FileIoLockingConfig = _OS_LOCKING,
) -> None:
    """Apply ``writes`` (position, request) in order per key; set ``outcomes[position]`` of each.

    An outcome is the new generation, ``b""`` (unknown) when ``if_equal``
    did not match, ``b"\\x02"`` after a delete, or an ``OSError`` naming the
    key. The caller ``fsync``s ``dirs_to_sync`` before acknowledging them.

    Writes of distinct keys go in groups: every lock taken (sorted by path,
    so that holders of several locks cannot deadlock), then every value
    written, then every value ``fsync``-ed, then every file renamed into place.
    A key's later writes go in later groups.
    """
    for round_ in _rounds(writes):
        round_.sort(key=_write_path)
        for start in range(0, len(round_), MAX_HELD_LOCKS):
            group = round_[start : start + MAX_HELD_LOCKS]
            _write_group(group, outcomes, sync, dirs_to_sync, locking)


def _write_path(write: tuple[int, WriteRequest]) -> bytes:
    return write[1].key


# A value written to its locked lock file, waiting for fsync and rename:
# (position, request, lock, its generation once renamed).
_Staged = tuple[int, WriteRequest, FileLock, bytes]


def _write_group(
    group: Sequence[tuple[int, WriteRequest]],
    outcomes: list[Any],
    sync: bool,
    dirs_to_sync: set[bytes],
    locking: FileIoLockingConfig,
) -> None:
    start = time.time()
    staged: list[_Staged | None] = []
    try:
        for position, request in group:
            try:
                entry = _stage(position, request, start, outcomes, sync, dirs_to_sync, locking)
            except OSError as exc:
                outcomes[position] = _os_error(exc, _action(request), request.key)
                continue
            if entry is not None:
                staged.append(entry)
        if sync:
            for slot, entry in enumerate(staged):
                assert entry is not None
                try:
                    os.fsync(entry[2].fd)
                except OSError as exc:
                    _abandon(entry, exc, outcomes)
                    staged[slot] = None
        for slot, entry in enumerate(staged):
            if entry is None:
                continue
            position, request, lock, generation = entry
            try:
                if not lock.in_place:
                    os.rename(lock.lock_path, request.key)
            except OSError as exc:
                _abandon(entry, exc, outcomes)
                staged[slot] = None
                continue
            staged[slot] = None
            lock.release()
            outcomes[position] = TimestampedStorageGeneration(generation, start)
            if sync:
                dirs_to_sync.add(_parent(request.key))
    finally:
        # Only after an unexpected exception: the writes not renamed did not happen.
        for entry in staged:
            if entry is not None:
                entry[2].delete()


def _action(request: WriteRequest) -> str:
    return "write" if request.value is not None else "delete"


def _abandon(entry: _Staged, exc: OSError, outcomes: list[Any]) -> None:
    position, request, lock, _ = entry
    outcomes[position] = _os_error(exc, _action(request), request.key)
    lock.delete()


def _stage(
    position: int,
    request: WriteRequest,
    start: float,
    outcomes: list[Any],
    sync: bool,
    dirs_to_sync: set[bytes],
    locking: FileIoLockingConfig,
) -> _Staged | None:
    """Lock ``request``'s key and check its condition; write its value to the lock file.

    (Mode ``"non_atomic"``: check the condition, then write the value file
    itself.) Returns the staged write, or ``None`` once its outcome is set
    (a delete, or a condition that did not match).
    """
    path = request.key
    lock = None if locking.mode == "non_atomic" else _lock(path, dirs_to_sync, locking)
    try:
        current = _stat_value(path)
        if request.if_equal:
            generation = NO_VALUE if current is None else file_generation(current)
            if generation != request.if_equal:
                outcomes[position] = TimestampedStorageGeneration(UNKNOWN, start)
                if lock is not None:
                    lock.delete()
                return None
        if request.value is None:
            if current is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                if sync:
                    dirs_to_sync.add(_parent(path))
            elif os.path.isdir(path):
                # As TensorStore: a directory is not a value to delete (nor "missing").
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
            outcomes[position] = TimestampedStorageGeneration(NO_VALUE, start)
            if lock is not None:
                lock.delete()
            return None
        if lock is None:
            lock = _open_in_place(path, dirs_to_sync)
        elif lock.stat.st_size:
            # A writer killed mid-write left its partial value here.
            os.ftruncate(lock.fd, 0)
        _write_all(lock.fd, request.value, sync)
        mtime = time.time_ns()
        if current is not None and mtime <= current.st_mtime_ns:
            mtime = current.st_mtime_ns + 1
        os.utime(lock.fd, ns=(mtime, mtime))
        # The filesystem may store a coarser mtime than asked: the generation is what it stored.
        generation = file_generation(os.fstat(lock.fd))
    except BaseException:
        if lock is not None:
            lock.delete()
        raise
    return position, request, lock, generation


def sync_directories(directories: set[bytes]) -> dict[bytes, OSError]:
    """``fsync`` each directory; return the errors by directory."""
    errors: dict[bytes, OSError] = {}
    for directory in sorted(directories):
        try:
            fd = os.open(directory, _DIR_FLAGS)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            errors[directory] = exc
    return errors


def run_batch(
    operations: Sequence[BatchOperation],
    *,
    sync: bool,
    locking: FileIoLockingConfig = _OS_LOCKING,
) -> list[BatchOutcome]:
    """Execute a batch on this thread; writes are acknowledged after their directories are synced.

    Operations apply in order: each run of writes goes through
    ``write_batch`` before the reads that follow it.

    Returns one outcome per operation: a result or an exception for a
    ``ReadRequest``, a list of read outcomes for a ``ReadGroup``, a
    generation or an exception for a ``WriteRequest``.
    """
    outcomes: list[Any] = [None] * len(operations)
    dirs_to_sync: set[bytes] = set()
    writes: list[tuple[int, WriteRequest]] = []
    now = time.time()
    for position, operation in enumerate(operations):
        if type(operation) is WriteRequest:
            writes.append((position, operation))
            continue
        if writes:
            write_batch(writes, outcomes, sync=sync, dirs_to_sync=dirs_to_sync, locking=locking)
            writes = []
        if type(operation) is ReadGroup:
            outcomes[position] = read_group(operation, now)
        else:
            assert isinstance(operation, ReadRequest)
            outcomes[position] = read_one(operation, now)
    if writes:
        write_batch(writes, outcomes, sync=sync, dirs_to_sync=dirs_to_sync, locking=locking)
    if dirs_to_sync:
        failures = sync_directories(dirs_to_sync)
        if failures:
            for index, operation in enumerate(operations):
                if isinstance(operation, WriteRequest):
                    failure = failures.get(_parent(operation.key))
                    if failure is not None and not isinstance(outcomes[index], Exception):
                        outcomes[index] = _os_error(failure, "sync the directory of", operation.key)
    return outcomes


# --- listing and deleting ranges


def _walk(range_: KeyRange, *, directories: bool) -> list[tuple[bytes, bool]]:
    """Paths in ``range_`` (a range of full paths): files, then (post-order) directories."""
    prefix = range_.longest_prefix()
    cut = prefix.rfind(b"/")
    start = b"/" if cut == 0 else prefix[:cut] if cut > 0 else b""
    found: list[tuple[bytes, bool]] = []

    def visit(directory: bytes) -> None:
        base = directory if directory.endswith(b"/") or not directory else directory + b"/"
        try:
            entries = os.scandir(directory or b".")
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise _os_error(exc, "list", directory or b".") from exc
        with entries:
            children = list(entries)
        for entry in children:
            full = base + entry.name
            if entry.is_dir(follow_symlinks=False):
                if range_.intersects_prefix(full + b"/"):
                    visit(full)
                    if directories and range_.contains_prefix(full + b"/"):
                        found.append((full, True))
            elif range_.contains(full):
                found.append((full, False))

    visit(start)
    return found


def list_keys(range_: KeyRange) -> list[tuple[bytes, int]]:
    """The value files in ``range_`` (full paths) with their sizes, sorted, lock files excluded."""
    out: list[tuple[bytes, int]] = []
    for path, _ in _walk(range_, directories=False):
        if path.endswith(LOCK_SUFFIX):
            continue
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            continue  # deleted while listing
        out.append((path, size))
    out.sort()
    return out


def delete_range(range_: KeyRange, *, sync: bool) -> None:
    """Delete every file in ``range_`` and the directories it wholly contains.

    Raises:
        OSError: the first deletion the filesystem refused (the others are still attempted).
    """
    first_error: OSError | None = None
    dirs_to_sync: set[bytes] = set()
    for path, is_dir in _walk(range_, directories=True):
        try:
            if is_dir:
                os.rmdir(path)
            else:
                os.unlink(path)
        except (FileNotFoundError, OSError) as exc:
            if isinstance(exc, FileNotFoundError) or (is_dir and exc.errno == errno.ENOTEMPTY):
                continue
            if first_error is None:
                first_error = _os_error(exc, "delete", path)
            continue
        if is_dir:
            dirs_to_sync.discard(path)
        dirs_to_sync.add(_parent(path))
    if sync:
        failures = sync_directories(dirs_to_sync)
        if failures and first_error is None:
            directory, failure = next(iter(failures.items()))
            first_error = _os_error(failure, "sync the directory", directory)
    if first_error is not None:
        raise first_error
