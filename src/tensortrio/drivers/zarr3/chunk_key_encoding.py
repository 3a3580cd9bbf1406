"""The zarr v3 ``chunk_key_encoding``: ``default`` (``c/1/2``) and ``v2`` (``1.2``).

``default`` prefixes ``c`` and joins with its ``separator`` (``"/"`` unless
configured ``"."``); ``v2`` joins with ``"."`` unless configured ``"/"``, and
names the single chunk of a rank-0 array ``"0"``.  TensorStore writes the
configuration only when the separator is not the encoding's default.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from ...errors import InvalidArgumentError
from ...schema.chunk_json import expect_object, json_text

__all__ = ["ChunkKeyEncoding", "parse_chunk_key_encoding"]

_DEFAULT_SEPARATOR = {"default": "/", "v2": "."}


@attrs.frozen
class ChunkKeyEncoding:
    """How grid cells map to keys."""

    name: Literal["default", "v2"] = "default"
    separator: Literal["/", "."] = "/"

    def key(self, cell: tuple[int, ...]) -> str:
        """The key of grid cell ``cell`` relative to the array's path."""
        if self.name == "default":
            return self.separator.join(("c", *map(str, cell)))
        if not cell:
            return "0"
        return self.separator.join(map(str, cell))

    def to_json(self) -> dict[str, Any]:
        json: dict[str, Any] = {"name": self.name}
        if self.separator != _DEFAULT_SEPARATOR[self.name]:
            json["configuration"] = {"separator": self.separator}
        return dict(sorted(json.items()))


def parse_chunk_key_encoding(json: Any) -> ChunkKeyEncoding:
    """Parse ``{"name": "default"|"v2", "configuration": {"separator": "/"|"."}}``.

    Raises:
        ValueError: naming the offending member.
    """
    if isinstance(json, str):
        json = {"name": json}
    json = expect_object(json, ("name", "configuration"))
    name = json.get("name")
    if not isinstance(name, str) or name not in _DEFAULT_SEPARATOR:
        raise InvalidArgumentError(
            f'Error parsing object member "name": Expected one of "default", "v2", but '
            f"received: {json_text(name)}"
        )
    config = json.get("configuration", {})
    if not isinstance(config, dict):
        raise InvalidArgumentError(
            f'Error parsing object member "configuration": Expected object, but received: '
            f"{json_text(config)}"
        )
    extra = [k for k in config if k != "separator"]
    if extra:
        raise InvalidArgumentError(
            f'Error parsing object member "configuration": Object includes extra members: '
            f"{', '.join(map(json_text, extra))}"
        )
    separator = config.get("separator", _DEFAULT_SEPARATOR[name])
    if separator not in ("/", "."):
        raise InvalidArgumentError(
            'Error parsing object member "configuration": Error parsing object member '
            f'"separator": Expected one of "/", ".", but received: {json_text(separator)}'
        )
    return ChunkKeyEncoding("default" if name == "default" else "v2", "/" if separator == "/" else ".")
