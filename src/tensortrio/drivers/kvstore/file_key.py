"""Keys of the ``file`` driver: which ones name a file under the root, and which do not.

A key is appended to the store's ``path`` without a separator and the result
is a filesystem path. TensorStore's file driver accepts it only when it
consists of ``/``-separated (or ``\\``-separated) components that are
non-empty, not ``.`` or ``..``, contain no NUL, and do not end in the lock
suffix ``.__lock``; it must not end in a separator either. These rules keep
every key inside the root directory and distinct from the driver's own lock
files, so a bad key is refused before anything on disk is touched.
"""

from __future__ import annotations

import re

from ...errors import InvalidArgumentError

__all__ = ["LOCK_SUFFIX", "validate_file_key", "validate_file_path", "validate_range_directory"]

LOCK_SUFFIX = b".__lock"
_SEPARATORS = (b"/", b"\\")
# Anything _problem() would refuse: an empty, "." or ".." component, a NUL, a
# component ending in the lock suffix. Searched first, because most keys are fine.
_SUSPECT = re.compile(rb"(?:^|[/\\])(?:\.\.?)?(?:[/\\]|$)|\x00|\.__lock(?:[/\\]|$)")


def _problem(full_path: bytes) -> str | None:
    """Why ``full_path`` is not a valid key path, or None when it is."""
    if b"\x00" in full_path:
        return "it contains a NUL byte"
    if not full_path:
        return "it is empty"
    if full_path.endswith(_SEPARATORS):
        return "it ends with a path separator (a key names a file, not a directory)"
    rest = full_path[1:] if full_path.startswith(_SEPARATORS) else full_path
    if not rest:
        return "it names the filesystem root"
    for component in rest.replace(b"\\", b"/").split(b"/"):
        if not component:
            return "it has an empty path component ('//', or a key starting with '/')"
        if component in (b".", b".."):
            return f"it has a {component.decode()!r} path component, which could escape the root"
        if component.endswith(LOCK_SUFFIX):
            return f"a path component ends with {LOCK_SUFFIX.decode()!r}, reserved for lock files"
    return None


def validate_file_key(root: bytes, key: bytes) -> bytes:
    """Return the filesystem path for ``key`` under ``root``.

    Raises:
        InvalidArgumentError: naming the key, when it could escape ``root``, is
            empty or ends with ``/``, has an empty, ``.`` or ``..`` component, a
            NUL byte, or a component ending in ``.__lock``.
    """
    full_path = root + key
    # The root was checked when the spec was parsed; only the key, joined to
    # the root's last component, can add a problem.
    tail = key if not root or root.endswith(_SEPARATORS) else root[root.rfind(b"/") + 1 :] + key
    if _SUSPECT.search(tail) is None:
        return full_path
    if not root and key.startswith(_SEPARATORS):
        problem: str | None = "it is an absolute path, but keys are relative to the store's root"
    else:
        problem = _problem(full_path)
    if problem is not None:
        raise InvalidArgumentError(f"file: invalid key {key!r} (path {full_path!r}): {problem}")
    return full_path


def validate_range_directory(directory: bytes) -> None:
    """Check the directory a listing or range deletion starts from (the range's common prefix).

    Raises:
        InvalidArgumentError: naming the directory when it is not a valid key path.
    """
    problem = _problem(directory)
    if problem is not None:
        raise InvalidArgumentError(
            f"file: invalid key range: its common prefix {directory!r} is not a valid path: {problem}"
        )


def validate_file_path(path: str) -> None:
    """Check the ``path`` member of a ``file`` spec, as TensorStore does.

    Raises:
        InvalidArgumentError: naming the path when it has a ``.``/``..``/empty
            component or a NUL byte.
    """
    raw = path.encode("utf-8", "surrogateescape")
    if raw in (b"", b"/"):
        return
    trimmed = raw[:-1] if raw.endswith(_SEPARATORS) else raw
    problem = _problem(trimmed)
    if problem is not None:
        raise InvalidArgumentError(f"file: invalid 'path' {path!r}: {problem}")
