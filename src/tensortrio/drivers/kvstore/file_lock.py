"""Per-key write locks of the ``file`` driver, compatible with TensorStore's.

Writers of ``key`` serialise on an exclusive lock of the file ``key.__lock``,
which is also the temporary file the new value is written to before it is
renamed over ``key``. The lock is an open-file-description lock
(``F_OFD_SETLKW``, Linux 3.15+; ``flock`` elsewhere), the kind TensorStore's
``AcquireFileLock`` takes, so tensortrio and TensorStore processes writing the
same directory exclude each other. OFD locks belong to the open file, not the
process, so two threads of one process exclude each other too.

Only the owner of the lock on the file that *currently* has the lock path may
remove it or rename it into place; after acquiring the lock we therefore
``stat`` the path and check it is still the same inode, retrying otherwise.

OFD locks do not detect deadlock: a thread that holds several locks at once
must take them in one global order (``file_io`` takes them sorted by path).

That is ``file_io_locking`` mode ``"os"``, the default. The others, as in
TensorStore: ``"lockfile"`` holds the lock by creating ``key.__lock`` with
``O_CREAT | O_EXCL`` (for filesystems without working advisory locks),
waiting up to ``acquire_timeout`` for another writer's to go; ``"none"``
writes through ``key.__lock`` without a lock (writers in one process are
still ordered by the kvstore actor, but other processes are not excluded);
``"non_atomic"`` writes the value into ``key`` itself (``file_io``), so a
crash can leave it torn.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import struct
import time

import attrs

__all__ = ["FileLock", "acquire_file_lock"]

_OPEN_FLAGS = os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC
#: Longest wait between two attempts to create a ``lockfile`` lock.
_LOCKFILE_POLL = 0.05
# struct flock on 64-bit Linux: short l_type, short l_whence, off_t l_start,
# off_t l_len, pid_t l_pid, padded to 32 bytes. Zero length locks the whole file.
_WHOLE_FILE_WRITE_LOCK = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
_F_OFD_SETLKW: int | None = getattr(fcntl, "F_OFD_SETLKW", None)


def _lock_fd(fd: int) -> None:
    if _F_OFD_SETLKW is not None:
        try:
            fcntl.fcntl(fd, _F_OFD_SETLKW, _WHOLE_FILE_WRITE_LOCK)
        except OSError as exc:
            # Filesystems without OFD lock support fall back to flock, as TensorStore does.
            if exc.errno not in (22, 95):  # EINVAL, ENOTSUP
                raise
        else:
            return
    fcntl.flock(fd, fcntl.LOCK_EX)


@attrs.define(eq=False)
class FileLock:
    """An acquired lock on ``lock_path``; ``fd`` is open for writing the new value."""

    lock_path: bytes
    fd: int
    stat: os.stat_result
    in_place: bool = False
    """The file is the key's value itself (mode ``"non_atomic"``): nothing to rename or remove."""

    def delete(self) -> None:
        """Remove the lock file and release the lock (the write did not happen); idempotent.

        A lock file that cannot be removed stays: it is never listed, and the
        next writer of the key reuses it.
        """
        if self.fd < 0:
            return
        if not self.in_place:
            with contextlib.suppress(OSError):
                os.unlink(self.lock_path)
        self.release()

    def release(self) -> None:
        """Release the lock, keeping the file (it was renamed into place); idempotent."""
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)


def acquire_file_lock(lock_path: bytes, mode: str = "os", timeout: float = 60.0) -> FileLock:
    """Block until this thread holds the write lock of ``lock_path`` (``mode``: see the module docstring).

    The returned ``stat`` is taken while holding the lock, so its size is
    what a writer killed mid-write left in the file.

    Raises:
        OSError: if the lock file cannot be created or locked.
        IsADirectoryError: if ``lock_path`` exists and is not a regular file.
        TimeoutError: mode ``"lockfile"``: another writer's lock file stayed
            for ``timeout`` seconds.
    """
    if mode == "lockfile":
        return _create_lock_file(lock_path, timeout)
    fd = os.open(lock_path, _OPEN_FLAGS, 0o666)
    if mode == "none":
        return FileLock(lock_path, fd, os.fstat(fd))
    try:
        while True:
            _lock_fd(fd)
            st = os.fstat(fd)
            try:
                current = os.stat(lock_path)
            except FileNotFoundError:
                pass
            else:
                if (current.st_ino, current.st_dev) == (st.st_ino, st.st_dev):
                    return FileLock(lock_path, fd, st)
            # The previous owner renamed or removed the file we locked: lock the new one.
            os.close(fd)
            fd = -1
            fd = os.open(lock_path, _OPEN_FLAGS, 0o666)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        raise


def _create_lock_file(lock_path: bytes, timeout: float) -> FileLock:
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            fd = os.open(lock_path, _OPEN_FLAGS | os.O_EXCL, 0o666)
        except FileExistsError:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    errno.ETIMEDOUT,
                    f"the lock file {os.fsdecode(lock_path)!r} of another writer stayed for "
                    f"{timeout:g} s (file_io_locking.acquire_timeout)",
                ) from None
            time.sleep(min(pause, left))
            pause = min(2 * pause, _LOCKFILE_POLL)
            continue
        return FileLock(lock_path, fd, os.fstat(fd))
