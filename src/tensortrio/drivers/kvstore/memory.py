"""The ``memory`` kvstore driver: transient key/value pairs shared through a context resource."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from ...errors import InvalidArgumentError, UnimplementedError
from .context_members import check_no_extra_members, resource_member, resource_member_json
from .driver import DriverSpec, KvStoreDriver
from .memory_storage import MemoryStorage, storage_for_resource
from .registry import register_driver, register_root_url_scheme
from .url import decode_url_path, encode_url_path, split_component

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .generation import TimestampedStorageGeneration
    from .key_range import KeyRange
    from .operations import ReadRequest, WriteRequest
    from .read_result import ReadResult
    from .spec import KvStoreSpec

__all__ = ["MemoryDriver", "MemoryDriverSpec"]

_PROVIDER = "memory_key_value_store"


@register_driver
@attrs.frozen
class MemoryDriverSpec(DriverSpec):
    """Spec members of the ``memory`` driver: ``memory_key_value_store`` and ``atomic``."""

    id: ClassVar[str] = "memory"

    memory_key_value_store: Any = None
    atomic: bool = True

    @classmethod
    def from_json(cls, members: dict[str, Any]) -> MemoryDriverSpec:
        members = dict(members)
        resource = resource_member("memory", members, _PROVIDER)
        atomic = members.pop("atomic", True)
        if not isinstance(atomic, bool):
            raise InvalidArgumentError(f"memory: 'atomic' must be a boolean, got {atomic!r}")
        check_no_extra_members("memory", members)
        return cls(resource, atomic)

    def to_json(self, *, include_defaults: bool) -> dict[str, Any]:
        out = resource_member_json(
            _PROVIDER, self.memory_key_value_store, include_defaults=include_defaults
        )
        if include_defaults or not self.atomic:
            out["atomic"] = self.atomic
        return out

    def strip_context(self) -> MemoryDriverSpec:
        return MemoryDriverSpec(None, self.atomic)

    def to_url(self, path: str) -> str:
        return "memory://" + encode_url_path(path)

    async def open(self, context: Any) -> MemoryDriver:
        resource = context.get_resource(_PROVIDER, self.memory_key_value_store)
        return MemoryDriver(self, resource, storage_for_resource(resource))


@attrs.define(eq=False)
class MemoryDriver(KvStoreDriver):
    """An opened ``memory`` kvstore: operations run inline on the runtime thread."""

    inline: ClassVar[bool] = True
    keeps_written_values: ClassVar[bool] = True

    _spec: MemoryDriverSpec
    resource: object
    """The ``memory_key_value_store`` resource (its identity selects the storage)."""
    storage: MemoryStorage

    @property
    def spec(self) -> MemoryDriverSpec:
        return self._spec

    def bound_json(self) -> dict[str, Any]:
        reference = self._spec.memory_key_value_store
        out: dict[str, Any] = {"driver": "memory"}
        if isinstance(reference, str):
            out["context"] = {reference: {}}
            out[_PROVIDER] = reference
        elif isinstance(reference, dict):
            out[_PROVIDER] = {}
        else:
            out["context"] = {_PROVIDER: {}}
        if not self._spec.atomic:
            out["atomic"] = False
        return out

    def read_now(self, request: ReadRequest, now: float) -> ReadResult | Exception:
        return self.storage.read_one(request, now)

    def write_now(self, request: WriteRequest, now: float) -> TimestampedStorageGeneration:
        return self.storage.write(request, now)

    async def list_keys(self, range_: KeyRange) -> list[bytes]:
        return self.storage.list(range_)

    async def delete_range(self, range_: KeyRange) -> None:
        self.storage.delete_range(range_)

    async def commit_atomic(
        self, writes: Sequence[WriteRequest]
    ) -> list[TimestampedStorageGeneration]:
        if not self._spec.atomic:
            keys = ", ".join(repr(w.key) for w in writes)
            raise UnimplementedError(
                f"memory: cannot commit writes to several keys atomically ({keys}): "
                "the store was opened with 'atomic': false"
            )
        return self.storage.commit_atomic(writes)


def _parse_memory_url(url: str) -> KvStoreSpec:
    from .spec import KvStoreSpec

    component = split_component(url)
    if not component.has_authority:
        raise InvalidArgumentError(f"kvstore URL {url!r}: expected 'memory://<path>'")
    return KvStoreSpec.from_parts(MemoryDriverSpec(), decode_url_path(component.rest))


register_root_url_scheme("memory", _parse_memory_url)
