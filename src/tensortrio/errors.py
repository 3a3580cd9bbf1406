"""Every exception tensortrio raises.

Each subclasses the built-in a TensorStore user would catch for the same
failure (TensorStore's Python API raises ``ValueError`` for invalid arguments,
``KeyError`` for missing keys, ``IndexError`` for out-of-bounds indices), so
code written against ``tensorstore`` keeps working. Messages say what was wrong
and where: the member, key, dimension or value at fault.
"""

from __future__ import annotations

import errno as _errno

__all__ = [
    "AbortedError",
    "ActorClosedError",
    "AlreadyExistsError",
    "CancelledError",
    "DataLossError",
    "FailedPreconditionError",
    "InvalidArgumentError",
    "InvalidIndexError",
    "KeyNotFoundError",
    "NotFoundError",
    "OutOfRangeError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "StorageIsADirectoryError",
    "StorageNotADirectoryError",
    "StorageOSError",
    "StoragePermissionError",
    "StorageTimeoutError",
    "TensorTrioError",
    "UnavailableError",
    "UnimplementedError",
    "UnknownError",
    "storage_os_error",
]


class TensorTrioError(Exception):
    """Base class of every tensortrio error."""


class InvalidArgumentError(TensorTrioError, ValueError):
    """A spec, argument or JSON member is malformed or inconsistent."""


class InvalidIndexError(InvalidArgumentError, IndexError):
    """An indexing expression that does not apply to what it indexes.

    TensorStore raises ``IndexError`` for every failure while indexing
    (``x[...]``, ``x.oindex[...]``, building a ``ts.d`` expression); this is
    that, and still the ``ValueError`` of any invalid argument.
    """


def index_error(exc: InvalidArgumentError) -> InvalidArgumentError:
    """``exc`` as an indexing entry point raises it: an ``IndexError`` (unchanged if it is one)."""
    if isinstance(exc, IndexError):
        return exc
    return InvalidIndexError(*exc.args).with_traceback(exc.__traceback__)


class OutOfRangeError(TensorTrioError, IndexError, ValueError):
    """An index or interval lies outside the domain it must be within.

    Both an ``IndexError`` and a ``ValueError`` (as NumPy's ``AxisError``):
    TensorStore raises ``IndexError`` when indexing goes out of bounds, and
    ``ValueError`` when a read or write finds an index array's value out of
    bounds.
    """


class KeyNotFoundError(TensorTrioError, KeyError):
    """A key, chunk or stored object does not exist."""

    def __str__(self) -> str:
        # KeyError's str() repr()s its argument; ours are already messages.
        return str(self.args[0]) if self.args else ""


class NotFoundError(TensorTrioError, ValueError):
    """Something an operation needs (e.g. an array's metadata) is not stored.

    A ``ValueError``, as TensorStore raises for ``NOT_FOUND`` when opening.
    """


class AlreadyExistsError(TensorTrioError, ValueError):
    """Creating something that already exists, without permission to open it."""


class FailedPreconditionError(TensorTrioError, ValueError):
    """The stored state does not allow the operation (e.g. a generation mismatch)."""


class AbortedError(TensorTrioError, RuntimeError, ValueError):
    """An operation or transaction was aborted (a ValueError too, as TensorStore's ``ABORTED``)."""


class DataLossError(TensorTrioError, ValueError):
    """Stored data is corrupt or cannot be decoded."""


class UnimplementedError(TensorTrioError, NotImplementedError, ValueError):
    """The driver does not support this operation (e.g. a multi-key atomic commit).

    A ``NotImplementedError``, as TensorStore raises for an UNIMPLEMENTED
    status, and still the ``ValueError`` it has always been here.
    """


class ActorClosedError(TensorTrioError, RuntimeError):
    """An actor stopped (closed, crashed or cancelled) before answering a message."""


class CancelledError(TensorTrioError, ValueError):
    """An operation was cancelled, e.g. committing an aborted transaction (TensorStore's CANCELLED)."""


class ResourceExhaustedError(TensorTrioError, ValueError):
    """A bounded resource would be exceeded, e.g. a transaction staging more than its memory limit."""


class PermissionDeniedError(TensorTrioError, PermissionError, ValueError):
    """A server refused access (HTTP 401, 403): TensorStore's ``PERMISSION_DENIED``."""


class UnavailableError(TensorTrioError, ConnectionError, ValueError):
    """A server or the network failed in a way that may pass (HTTP 503, a refused connection).

    TensorStore's ``UNAVAILABLE``: the ``http`` kvstore tries such requests
    again (``http_request_retries``) before giving up with ``AbortedError``.
    """


class UnknownError(TensorTrioError, ValueError):
    """A failure with no better category, e.g. an unexpected HTTP status: TensorStore's ``UNKNOWN``."""


class StorageOSError(TensorTrioError, OSError, ValueError):
    """A file-system call of a kvstore failed: an ``OSError`` with its ``errno``.

    Also a ``ValueError``, which is what TensorStore raises for these
    (``FAILED_PRECONDITION`` for a key that is a directory, and the like).
    """


class StorageIsADirectoryError(StorageOSError, IsADirectoryError):
    """A key names a directory, not a value."""


class StorageNotADirectoryError(StorageOSError, NotADirectoryError):
    """A key lies under a value, as if that value were a directory."""


class StoragePermissionError(StorageOSError, PermissionError):
    """The file system refused access to a key."""


class StorageTimeoutError(StorageOSError, TimeoutError):
    """A key's lock was not acquired in time (``file_io_locking.acquire_timeout``)."""


_STORAGE_ERRORS: dict[int, type[StorageOSError]] = {
    _errno.EISDIR: StorageIsADirectoryError,
    _errno.ENOTDIR: StorageNotADirectoryError,
    _errno.EACCES: StoragePermissionError,
    _errno.EPERM: StoragePermissionError,
    _errno.ETIMEDOUT: StorageTimeoutError,
}


def storage_os_error(code: int | None, message: str) -> StorageOSError:
    """The :class:`StorageOSError` (of the matching ``OSError`` subclass) for ``code``."""
    if code is None:
        return StorageOSError(message)
    return _STORAGE_ERRORS.get(code, StorageOSError)(code, message)
