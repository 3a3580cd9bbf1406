"""The ``file`` kvstore driver: each key is a file under a root directory.

Blocking I/O runs in worker threads, one batch of operations per thread hop,
under the context's ``file_io_concurrency`` limit; see ``file_io`` for how a
write is made durable and atomic and ``file_lock`` for the locking protocol
shared with TensorStore.
"""

from __future__ import annotations

import posixpath
import time
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, cast

import attrs
import trio

from ...errors import InvalidArgumentError
from ...schema.file_io_resources import FileIoLockingConfig, FileIoModeConfig, FileIoRetriesConfig
from . import file_io
from .context_members import (
    check_no_extra_members,
    resource_member,
    resource_member_json,
)
from .driver import DriverSpec, KvStoreDriver
from .file_key import validate_file_key, validate_file_path, validate_range_directory
from .file_retry import call_with_retries, run_with_retries
from .registry import register_driver, register_root_url_scheme
from .url import decode_url_path, encode_url_path, split_component

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .driver import BatchOperation, BatchOutcome
    from .key_range import KeyRange
    from .operations import ReadRequest
    from .read_result import ReadResult
    from .spec import KvStoreSpec

__all__ = ["FileDriver", "FileDriverSpec"]

_SETTINGS = ("file_io_locking", "file_io_mode", "file_io_retries")


@register_driver
@attrs.frozen
class FileDriverSpec(DriverSpec):
    """Spec members of the ``file`` driver (context resources; ``path`` is the root directory).

    ``file_io_locking`` and ``file_io_retries`` work as in TensorStore;
    ``file_io_mode`` is accepted for compatibility: reads always use ``pread``.
    """

    id: ClassVar[str] = "file"

    file_io_concurrency: Any = None
    file_io_sync: Any = None
    file_io_locking: Any = None
    file_io_mode: Any = None
    file_io_retries: Any = None

    @classmethod
    def from_json(cls, members: dict[str, Any]) -> FileDriverSpec:
        members = dict(members)
        concurrency = resource_member("file", members, "file_io_concurrency")
        sync = resource_member("file", members, "file_io_sync", value_types=(bool,))
        locking = resource_member("file", members, "file_io_locking")
        mode = resource_member("file", members, "file_io_mode")
        retries = resource_member("file", members, "file_io_retries")
        check_no_extra_members("file", members)
        return cls(concurrency, sync, locking, mode, retries)

    def to_json(self, *, include_defaults: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for member in (
            "file_io_concurrency",
            "file_io_locking",
            "file_io_mode",
            "file_io_retries",
            "file_io_sync",
        ):
            out.update(
                resource_member_json(
                    member, getattr(self, member), include_defaults=include_defaults
                )
            )
        return out

    def strip_context(self) -> FileDriverSpec:
        return FileDriverSpec()

    def normalize_path(self, path: str) -> str:
        validate_file_path(path)
        return path

    def to_url(self, path: str) -> str:
        if not path.startswith("/"):
            raise InvalidArgumentError(
                f"file: a relative path has no URL representation (file: URLs are absolute), got {path!r}"
            )
        return "file://" + encode_url_path(path)

    async def open(self, context: Any) -> FileDriver:
        concurrency = context.get_resource("file_io_concurrency", self.file_io_concurrency)
        sync = self.file_io_sync
        if not isinstance(sync, bool):
            sync = _resolve_sync(context, sync)
        locking, mode, retries = (
            context.get_resource(member, getattr(self, member)).config for member in _SETTINGS
        )
        return FileDriver(self, concurrency, sync, locking, mode, retries)


def _resolve_sync(context: Any, reference: Any) -> bool:
    try:
        resource = context.get_resource("file_io_sync", reference)
    except (KeyError, ValueError):
        # Contexts that do not know file_io_sync get TensorStore's default.
        return True
    value = getattr(resource, "value", resource)
    return value if isinstance(value, bool) else True


@attrs.define(eq=False)
class FileDriver(KvStoreDriver):
    """An opened ``file`` kvstore."""

    threaded: ClassVar[bool] = True
    worker_reads: ClassVar[bool] = True

    _spec: FileDriverSpec
    concurrency_resource: Any
    """The bound ``file_io_concurrency`` resource (``.limit``, ``.limiter``)."""
    sync: bool
    """Whether writes are ``fsync``-ed before they are acknowledged."""
    locking: FileIoLockingConfig = attrs.field(factory=FileIoLockingConfig)
    """How writers of a key exclude each other (``file_lock``)."""
    mode: FileIoModeConfig = attrs.field(factory=FileIoModeConfig)
    retries: FileIoRetriesConfig = attrs.field(factory=FileIoRetriesConfig)
    """How often an operation failing with a transient error is tried again (``file_retry``)."""

    @property
    def spec(self) -> FileDriverSpec:
        return self._spec

    @property
    def concurrency(self) -> int:
        return int(self.concurrency_resource.limit)

    @property
    def _limiter(self) -> trio.CapacityLimiter:
        limiter: trio.CapacityLimiter = self.concurrency_resource.limiter
        return limiter

    def bound_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "driver": "file",
            "file_io_locking": self.locking.to_json(),
            "file_io_mode": self.mode.to_json(),
            "file_io_retries": self.retries.to_json(),
            "file_io_sync": self.sync,
        }
        resource = self.concurrency_resource
        if getattr(resource, "shared", True):
            out["context"] = {"file_io_concurrency": {}}
        else:
            out["file_io_concurrency"] = {"limit": resource.limit}
        return out

    @property
    def io_limiter(self) -> trio.CapacityLimiter:
        return self._limiter

    def validate_key(self, prefix: bytes, key: bytes) -> None:
        validate_file_key(prefix, key)

    def read_now(self, request: ReadRequest, now: float) -> ReadResult | Exception:
        # Worker threads only: a read of a cached file is a few system calls.
        if not self.retries.max_retries:
            return file_io.read_one(request, now)
        outcome = run_with_retries([request], _read_each, self.retries)[0]
        return cast("ReadResult | Exception", outcome)

    def run_batch_blocking(self, operations: Sequence[BatchOperation]) -> list[BatchOutcome]:
        # A full key is the file's path, so the driver's requests go to file_io as they are.
        return run_with_retries(operations, self._run_batch, self.retries)

    def _run_batch(self, operations: Sequence[BatchOperation]) -> list[BatchOutcome]:
        return file_io.run_batch(operations, sync=self.sync, locking=self.locking)

    async def list_keys(self, range_: KeyRange) -> list[bytes]:
        self.validate_range(range_)
        entries = await trio.to_thread.run_sync(
            call_with_retries, partial(file_io.list_keys, range_), self.retries, limiter=self._limiter
        )
        return [path for path, _ in entries]

    async def delete_range(self, range_: KeyRange) -> None:
        self.validate_range(range_)
        delete = partial(file_io.delete_range, range_, sync=self.sync)
        await trio.to_thread.run_sync(call_with_retries, delete, self.retries, limiter=self._limiter)

    def validate_range(self, range_: KeyRange) -> None:
        # Only the directory part of the range's common prefix is ever opened.
        prefix = range_.longest_prefix()
        cut = prefix.rfind(b"/")
        if cut > 0:
            validate_range_directory(prefix[:cut])


def _read_each(requests: Sequence[BatchOperation]) -> list[BatchOutcome]:
    now = time.time()
    return [file_io.read_one(cast("ReadRequest", r), now) for r in requests]


def _parse_file_url(url: str) -> KvStoreSpec:
    from .spec import KvStoreSpec

    component = split_component(url)
    if not component.has_authority:
        raise InvalidArgumentError(f"kvstore URL {url!r}: expected 'file://<absolute path>'")
    authority, slash, rest = component.rest.partition("/")
    if authority not in ("", "localhost"):
        raise InvalidArgumentError(
            f"kvstore URL {url!r}: file: URLs do not support an authority (host), got {authority!r}"
        )
    if not slash:
        raise InvalidArgumentError(f"kvstore URL {url!r}: file: URLs need an absolute path")
    path = decode_url_path("/" + rest)
    trailing = path.endswith("/")
    normalized = posixpath.normpath(path)
    if normalized.startswith("//"):
        normalized = normalized[1:]
    if trailing and not normalized.endswith("/"):
        normalized += "/"
    return KvStoreSpec.from_parts(FileDriverSpec(), normalized)


register_root_url_scheme("file", _parse_file_url)
