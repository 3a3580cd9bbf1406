"""The context resources TensorStore defines and we support, and their JSON.

Each resource type ("provider") parses its JSON into a frozen config and makes
live resources from it:

- ``cache_pool``: ``{"total_bytes_limit": integer[0, 2**64-1] = 0}``
- ``data_copy_concurrency``: ``{"limit": integer[1, 2**64-1] | "shared" = "shared"}``
  ("shared": one process-wide limit equal to the number of CPU cores)
- ``file_io_concurrency``: same, "shared" meaning ``max(4, CPU cores)``
- ``memory_key_value_store``: ``{}`` (an identity: each resource is a separate store)
- ``file_io_sync``: ``true`` (default) or ``false``: whether file writes are fsync-ed
- ``file_io_locking``, ``file_io_mode``, ``file_io_retries``: the ``file``
  kvstore's other settings (``file_io_resources``)
- ``http_request_concurrency``: as ``file_io_concurrency``, "shared" meaning 32
- ``http_request_retries``: the ``http`` kvstore's retries (``http_resources``)
- ``s3_request_concurrency``: as ``file_io_concurrency``, "shared" meaning
  ``TENSORSTORE_S3_REQUEST_CONCURRENCY`` or 32
- ``s3_request_retries``: the ``s3`` kvstore's retries, as ``http_request_retries``
- ``aws_credentials``: where the ``s3`` kvstore finds credentials (``s3_resources``)

A live resource is what drivers receive from ``Context.get_resource``; the
same object is the ``Context.Resource`` handle Python users see.
"""

from __future__ import annotations

import abc
import functools
import json as _json
import math
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import attrs
import trio

from ..errors import InvalidArgumentError
from .file_io_resources import FileIoLockingConfig, FileIoModeConfig, FileIoRetriesConfig
from .http_resources import HttpRequestRetriesConfig
from .json_member import member_error
from .json_pretty import pretty_repr
from .s3_resources import AwsCredentialsConfig

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "AwsCredentialsResource",
    "CachePoolConfig",
    "CachePoolResource",
    "ConcurrencyConfig",
    "ConcurrencyResource",
    "ContextResource",
    "FileIoSettingResource",
    "FileIoSyncConfig",
    "FileIoSyncResource",
    "HttpRequestRetriesResource",
    "MemoryKeyValueStoreConfig",
    "MemoryKeyValueStoreResource",
    "ResourceConfig",
    "ResourceProvider",
    "S3RequestRetriesResource",
    "get_provider",
    "json_text",
    "provider_names",
]

_UINT64_MAX = 2**64 - 1


def json_text(value: Any) -> str:
    """``value`` as compact JSON, as TensorStore quotes it in error messages."""
    try:
        return _json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        return "null"  # nan/inf: nlohmann::json prints them as null
    except TypeError:
        return repr(value)


def _expect_object(json: Any, members: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(json, dict):
        raise InvalidArgumentError(f"Expected object, but received: {json_text(json)}")
    extra = sorted(k for k in json if k not in members)
    if extra:
        names = ",".join(json_text(k) for k in extra)
        raise InvalidArgumentError(f"Object includes extra members: {names}")
    return json


def _integral(value: Any) -> int | None:
    """``value`` as an int if it is a JSON integer (or integral number), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None



class ResourceConfig(Protocol):
    """The parsed JSON of one resource: ``to_json`` gives it back."""

    def to_json(self, include_defaults: bool = False) -> Any: ...


@attrs.frozen
class CachePoolConfig:
    """Parsed ``cache_pool`` JSON."""

    total_bytes_limit: int = 0

    @classmethod
    def from_json(cls, json: Any) -> CachePoolConfig:
        members = _expect_object(json, ("total_bytes_limit",))
        if "total_bytes_limit" not in members:
            return cls()
        value = members["total_bytes_limit"]
        limit = _integral(value)
        if limit is None or not 0 <= limit <= _UINT64_MAX:
            raise member_error(
                "total_bytes_limit",
                f"Expected 64-bit unsigned integer, but received: {json_text(value)}",
            )
        return cls(limit)

    def to_json(self, include_defaults: bool = False) -> dict[str, Any]:
        if include_defaults or self.total_bytes_limit != 0:
            return {"total_bytes_limit": self.total_bytes_limit}
        return {}


@attrs.frozen
class ConcurrencyConfig:
    """Parsed ``data_copy_concurrency`` / ``file_io_concurrency`` JSON (``limit=None``: "shared")."""

    limit: int | None = None

    @classmethod
    def from_json(cls, json: Any) -> ConcurrencyConfig:
        members = _expect_object(json, ("limit",))
        value = members.get("limit", "shared")
        if value == "shared":
            return cls()
        limit = _integral(value)
        if limit is None or not 1 <= limit <= _UINT64_MAX:
            raise member_error(
                "limit",
                f"Expected integer in the range [1, {_UINT64_MAX}], but received: {json_text(value)}",
            )
        return cls(limit)

    def to_json(self, include_defaults: bool = False) -> dict[str, Any]:
        if self.limit is not None:
            return {"limit": self.limit}
        return {"limit": "shared"} if include_defaults else {}


@attrs.frozen
class MemoryKeyValueStoreConfig:
    """Parsed ``memory_key_value_store`` JSON (always ``{}``)."""

    @classmethod
    def from_json(cls, json: Any) -> MemoryKeyValueStoreConfig:
        _expect_object(json, ())
        return cls()

    def to_json(self, include_defaults: bool = False) -> dict[str, Any]:
        return {}


@attrs.frozen
class FileIoSyncConfig:
    """Parsed ``file_io_sync`` JSON: a boolean (whether file writes are fsync-ed)."""

    value: bool = True

    @classmethod
    def from_json(cls, json: Any) -> FileIoSyncConfig:
        if not isinstance(json, bool):
            raise InvalidArgumentError(f"Expected boolean, but received: {json_text(json)}")
        return cls(json)

    def to_json(self, include_defaults: bool = False) -> Any:
        return self.value


@attrs.define(eq=False, repr=False)
class ContextResource(abc.ABC):
    """Handle to a context resource (``ts.Context.Resource``).

    Compared by identity: two handles are the same resource only if they are
    the same object. Subclasses are the live resources drivers use.
    """

    _PROVIDER: ClassVar[str] = ""

    @property
    def provider(self) -> str:
        """The resource type, e.g. ``"cache_pool"``."""
        return self._PROVIDER

    def to_json(self, include_defaults: bool = False) -> Any:
        """Return the JSON representation of the context resource."""
        return self._config().to_json(include_defaults)

    @abc.abstractmethod
    def _config(self) -> ResourceConfig:
        """The parsed JSON this resource was made from."""

    def __repr__(self) -> str:
        return pretty_repr(self.to_json(), "Context.Resource(", ")")


@attrs.define(eq=False, repr=False)
class CachePoolResource(ContextResource):
    """A cache pool: chunk caches sharing it stay under ``total_bytes_limit`` bytes."""

    _PROVIDER: ClassVar[str] = "cache_pool"
    config: CachePoolConfig = attrs.field(factory=CachePoolConfig)

    @property
    def total_bytes_limit(self) -> int:
        return self.config.total_bytes_limit

    def _config(self) -> ResourceConfig:
        return self.config


@functools.cache
def _cpu_count() -> int:
    # Asked once: os.cpu_count() reads /sys each time (6 µs here), and the
    # file driver's concurrency is looked up on every batch it dispatches.
    return os.cpu_count() or 1


# "shared" limits are process-wide: one limiter per provider for every context.
_SHARED_LIMITS: dict[str, Callable[[], int]] = {
    "data_copy_concurrency": _cpu_count,
    "file_io_concurrency": lambda: max(4, _cpu_count()),
    "http_request_concurrency": lambda: 32,  # as TensorStore's
    "s3_request_concurrency": lambda: _env_limit("TENSORSTORE_S3_REQUEST_CONCURRENCY", 32),
}


def _env_limit(variable: str, default: int) -> int:
    # As TensorStore: a positive integer in the environment replaces the default.
    try:
        value = int(os.environ.get(variable, ""))
    except ValueError:
        return default
    return value if value > 0 else default


_shared_limiters: dict[str, trio.CapacityLimiter] = {}
_limiter_lock = threading.Lock()
_resources_with_limiters: weakref.WeakSet[ConcurrencyResource] = weakref.WeakSet()


def _forget_limiters_in_child() -> None:
    # A forked child has a fresh runtime; limiter tokens held by the parent's
    # tasks would never be released there.
    _shared_limiters.clear()
    for resource in list(_resources_with_limiters):
        resource._limiter = None
    _resources_with_limiters.clear()


os.register_at_fork(after_in_child=_forget_limiters_in_child)


@attrs.define(eq=False, repr=False)
class ConcurrencyResource(ContextResource):
    """A bound on concurrent work: ``data_copy_concurrency``, ``file_io_concurrency`` or ``http_request_concurrency``.

    ``limiter`` is a ``trio.CapacityLimiter`` created on first access; use it
    from the runtime thread only. All "shared" resources of one provider share
    one process-wide limiter.
    """

    kind: str = attrs.field()
    config: ConcurrencyConfig = attrs.field(factory=ConcurrencyConfig)
    _limiter: trio.CapacityLimiter | None = attrs.field(init=False, default=None)

    @kind.validator
    def _check_kind(self, _: attrs.Attribute[str], value: str) -> None:
        if value not in _SHARED_LIMITS:
            raise ValueError(f"not a concurrency resource: {value!r}")

    @property
    def provider(self) -> str:
        return self.kind

    @property
    def shared(self) -> bool:
        """True for the "shared" limit (one process-wide limiter)."""
        return self.config.limit is None

    @property
    def limit(self) -> int:
        """The maximum number of concurrent operations."""
        if self.config.limit is None:
            return _SHARED_LIMITS[self.kind]()
        return self.config.limit

    @property
    def limiter(self) -> trio.CapacityLimiter:
        """The ``trio.CapacityLimiter`` enforcing ``limit`` (runtime thread only)."""
        limiter = self._limiter
        if limiter is None:
            with _limiter_lock:
                limiter = self._limiter
                if limiter is None:
                    if self.shared:
                        limiter = _shared_limiters.get(self.kind)
                        if limiter is None:
                            limiter = trio.CapacityLimiter(self.limit)
                            _shared_limiters[self.kind] = limiter
                    else:
                        limiter = trio.CapacityLimiter(self.limit)
                    self._limiter = limiter
                    _resources_with_limiters.add(self)
        return limiter

    def _config(self) -> ResourceConfig:
        return self.config

    def __reduce__(self) -> tuple[Any, ...]:
        # The limiter belongs to this process's runtime; an unpickled copy makes its own.
        return (ConcurrencyResource, (self.kind, self.config))


@attrs.define(eq=False, repr=False)
class MemoryKeyValueStoreResource(ContextResource):
    """The storage identity of ``memory`` kvstores: stores sharing it share their data.

    It holds no data; the memory driver keys its storage on this object.
    """

    _PROVIDER: ClassVar[str] = "memory_key_value_store"
    config: MemoryKeyValueStoreConfig = attrs.field(factory=MemoryKeyValueStoreConfig)

    def _config(self) -> ResourceConfig:
        return self.config


@attrs.define(eq=False, repr=False)
class FileIoSyncResource(ContextResource):
    """Whether the ``file`` kvstore fsyncs data before acknowledging a write."""

    _PROVIDER: ClassVar[str] = "file_io_sync"
    config: FileIoSyncConfig = attrs.field(factory=FileIoSyncConfig)

    @property
    def value(self) -> bool:
        return self.config.value

    def _config(self) -> ResourceConfig:
        return self.config


_FileIoSetting = FileIoLockingConfig | FileIoModeConfig | FileIoRetriesConfig


@attrs.define(eq=False, repr=False)
class FileIoSettingResource(ContextResource):
    """A ``file`` kvstore setting: ``file_io_locking``, ``file_io_mode`` or ``file_io_retries``.

    ``config`` is its parsed JSON, which the driver reads.
    """

    kind: str
    config: _FileIoSetting

    @property
    def provider(self) -> str:
        return self.kind

    def _config(self) -> ResourceConfig:
        return self.config


@attrs.define(eq=False, repr=False)
class HttpRequestRetriesResource(ContextResource):
    """How the ``http`` kvstore retries requests failing with transient errors."""

    _PROVIDER: ClassVar[str] = "http_request_retries"
    config: HttpRequestRetriesConfig = attrs.field(factory=HttpRequestRetriesConfig)

    def _config(self) -> ResourceConfig:
        return self.config


@attrs.define(eq=False, repr=False)
class S3RequestRetriesResource(HttpRequestRetriesResource):
    """How the ``s3`` kvstore retries requests failing with transient errors."""

    _PROVIDER: ClassVar[str] = "s3_request_retries"


@attrs.define(eq=False, repr=False)
class AwsCredentialsResource(ContextResource):
    """Where the ``s3`` kvstore gets its credentials (``config.type``)."""

    _PROVIDER: ClassVar[str] = "aws_credentials"
    config: AwsCredentialsConfig = attrs.field(factory=AwsCredentialsConfig)

    def _config(self) -> ResourceConfig:
        return self.config


@attrs.frozen
class ResourceProvider:
    """One resource type: how to parse its JSON and make a live resource."""

    name: str
    expected: str
    """What its JSON must be, for messages: "object" or "boolean"."""
    parse: Callable[[Any], ResourceConfig]
    """JSON (an object) to config; raises InvalidArgumentError."""
    create: Callable[[Any], ContextResource]
    """Config (from ``parse``) to a new live resource."""
    default: ResourceConfig
    """The config of ``{}``."""


def _provider(
    name: str,
    config_cls: type[
        CachePoolConfig
        | ConcurrencyConfig
        | MemoryKeyValueStoreConfig
        | FileIoSyncConfig
        | _FileIoSetting
        | HttpRequestRetriesConfig
        | AwsCredentialsConfig
    ],
    create: Callable[[Any], ContextResource],
    expected: str = "object",
) -> ResourceProvider:
    return ResourceProvider(name, expected, config_cls.from_json, create, config_cls())


_PROVIDERS: dict[str, ResourceProvider] = {
    p.name: p
    for p in (
        _provider("cache_pool", CachePoolConfig, CachePoolResource),
        _provider(
            "data_copy_concurrency",
            ConcurrencyConfig,
            lambda config: ConcurrencyResource("data_copy_concurrency", config),
        ),
        _provider(
            "file_io_concurrency",
            ConcurrencyConfig,
            lambda config: ConcurrencyResource("file_io_concurrency", config),
        ),
        _provider(
            "http_request_concurrency",
            ConcurrencyConfig,
            lambda config: ConcurrencyResource("http_request_concurrency", config),
        ),
        _provider("http_request_retries", HttpRequestRetriesConfig, HttpRequestRetriesResource),
        _provider(
            "s3_request_concurrency",
            ConcurrencyConfig,
            lambda config: ConcurrencyResource("s3_request_concurrency", config),
        ),
        _provider("s3_request_retries", HttpRequestRetriesConfig, S3RequestRetriesResource),
        _provider("aws_credentials", AwsCredentialsConfig, AwsCredentialsResource),
        _provider("memory_key_value_store", MemoryKeyValueStoreConfig, MemoryKeyValueStoreResource),
        _provider("file_io_sync", FileIoSyncConfig, FileIoSyncResource, "boolean"),
        *(
            _provider(name, config_cls, functools.partial(FileIoSettingResource, name))
            for name, config_cls in (
                ("file_io_locking", FileIoLockingConfig),
                ("file_io_mode", FileIoModeConfig),
                ("file_io_retries", FileIoRetriesConfig),
            )
        ),
    )
}


def get_provider(name: str) -> ResourceProvider | None:
    """The provider called ``name``, or None if there is none."""
    return _PROVIDERS.get(name)


def provider_names() -> tuple[str, ...]:
    """Every supported resource type."""
    return tuple(_PROVIDERS)
