"""``KvStore.KeyRange``: a half-open interval of byte-string keys."""

from __future__ import annotations

import attrs

__all__ = ["KeyRange", "as_key", "prefix_exclusive_max"]


def as_key(key: object, what: str = "key") -> bytes:
    """Return ``key`` as bytes (a ``str`` key is UTF-8 encoded), as TensorStore accepts both.

    ``what`` names the argument in the error (a ``"value"`` goes through here too).
    """
    if type(key) is bytes:
        return key
    if isinstance(key, str):
        return key.encode("utf-8", "surrogateescape")
    if isinstance(key, bytes | bytearray | memoryview):
        return bytes(key)
    raise TypeError(f"kvstore: {what} must be str or bytes, got {type(key).__name__}: {key!r}")


def prefix_exclusive_max(prefix: bytes) -> bytes:
    """Return the smallest key greater than every key that starts with ``prefix``.

    ``b""`` (no upper bound) when ``prefix`` is empty or all ``0xff``.
    """
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return b""
    return stripped[:-1] + bytes([stripped[-1] + 1])


@attrs.frozen(repr=False)
class KeyRange:
    """Half-open interval of byte string keys, according to lexicographical order.

    An empty ``inclusive_min`` means no lower bound; an empty ``exclusive_max``
    means no upper bound.
    """

    inclusive_min: bytes = attrs.field(default=b"", converter=as_key)
    exclusive_max: bytes = attrs.field(default=b"", converter=as_key)

    @classmethod
    def prefix(cls, prefix: str | bytes) -> KeyRange:
        """The range of every key that starts with ``prefix``."""
        p = as_key(prefix)
        return cls(p, prefix_exclusive_max(p))

    @classmethod
    def singleton(cls, key: str | bytes) -> KeyRange:
        """The range holding exactly ``key``."""
        k = as_key(key)
        return cls(k, k + b"\x00")

    @property
    def empty(self) -> bool:
        """Indicates if the range contains no keys."""
        return bool(self.exclusive_max) and self.inclusive_min >= self.exclusive_max

    @property
    def full(self) -> bool:
        """Whether the range holds every key."""
        return not self.inclusive_min and not self.exclusive_max

    def copy(self) -> KeyRange:
        """Returns a copy of the range (ranges are immutable; this is ``self``)."""
        return self

    def __copy__(self) -> KeyRange:
        return self

    def __deepcopy__(self, memo: object) -> KeyRange:
        return self

    def contains(self, key: bytes) -> bool:
        """Whether ``key`` lies in the range."""
        return self.inclusive_min <= key and (not self.exclusive_max or key < self.exclusive_max)

    def contains_prefix(self, prefix: bytes) -> bool:
        """Whether every key starting with ``prefix`` lies in the range."""
        if prefix < self.inclusive_min:
            return False
        if not self.exclusive_max:
            return True
        upper = prefix_exclusive_max(prefix)
        return bool(upper) and upper <= self.exclusive_max

    def intersects_prefix(self, prefix: bytes) -> bool:
        """Whether some key starting with ``prefix`` lies in the range."""
        if self.exclusive_max and prefix >= self.exclusive_max:
            return False
        upper = prefix_exclusive_max(prefix)
        return not upper or self.inclusive_min < upper

    def longest_prefix(self) -> bytes:
        """The longest prefix shared by every key in the range."""
        lo, hi = self.inclusive_min, self.exclusive_max
        n = 0
        if not hi:
            # Unbounded above: only a leading run of 0xff bytes is forced.
            while n < len(lo) and lo[n] == 0xFF:
                n += 1
            return lo[:n]
        limit = min(len(lo), len(hi))
        while n < limit and lo[n] == hi[n]:
            n += 1
        # [b"a/", b"a0") is the prefix range of b"a/": when hi ends one byte
        # after the shared part with lo's next byte plus one, that byte is shared too.
        if n + 1 == len(hi) and n < len(lo) and lo[n] != 0xFF and lo[n] + 1 == hi[n]:
            n += 1
            while n < len(lo) and lo[n] == 0xFF:
                n += 1
        return lo[:n]

    def with_prefix(self, prefix: bytes) -> KeyRange:
        """The range shifted under ``prefix`` (TensorStore's ``AddPrefix``)."""
        if not prefix:
            return self
        upper = prefix + self.exclusive_max if self.exclusive_max else prefix_exclusive_max(prefix)
        return KeyRange(prefix + self.inclusive_min, upper)

    def __repr__(self) -> str:
        return f"KvStore.KeyRange({self.inclusive_min!r}, {self.exclusive_max!r})"
