"""Key-value store drivers (memory, file) and ``ts.KvStore``."""

from .generation import TimestampedStorageGeneration as TimestampedStorageGeneration
from .key_range import KeyRange as KeyRange
from .kvstore import KvStore as KvStore
from .read_result import ReadResult as ReadResult
from .spec import KvStoreSpec as KvStoreSpec
