"""The ``vlen-utf8`` and ``vlen-bytes`` array→bytes codecs of zarr-python's variable-length types.

They encode a chunk of ``"string"`` (text) or ``"variable_length_bytes"``
elements in C order as numcodecs does (:mod:`...text_codec`), and take no
configuration (zarr-python writes ``"configuration": {}``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from ....errors import InvalidArgumentError
from ....schema.chunk_json import json_text
from ...text_codec import VLEN_CODECS, decode_vlen, encode_vlen
from ..dtype import data_type_json
from .base import ArrayInfo, Buffer, check_config_members, register_codec

if TYPE_CHECKING:
    import numpy as np

    from .base import ArrayToBytesCodec

__all__ = ["VLenCodec", "vlen_codec_for"]

#: The zarr v3 data type each codec encodes.
_DATA_TYPES: Final = {"vlen-utf8": "string", "vlen-bytes": "variable_length_bytes"}


@attrs.frozen
class VLenCodec:
    """``{"name": "vlen-utf8"}`` or ``{"name": "vlen-bytes"}``."""

    name: str
    kind: Literal["array_to_bytes"] = attrs.field(default="array_to_bytes", init=False)

    def to_json(self) -> dict[str, Any]:
        return {"configuration": {}, "name": self.name}

    def resolve(self, info: ArrayInfo) -> ArrayToBytesCodec:
        """This codec, for chunks of ``info``.

        Raises:
            ValueError: ``info`` is not of the data type this codec encodes.
        """
        if info.data_type != _DATA_TYPES[self.name]:
            raise InvalidArgumentError(
                f"{json_text(self.name)} codec does not support data type "
                f"{json_text(data_type_json(info.data_type))}, only {json_text(_DATA_TYPES[self.name])}"
            )
        return self

    def encode(self, array: np.ndarray, info: ArrayInfo) -> Buffer:
        return encode_vlen(array, VLEN_CODECS[self.name])

    def decode(self, data: Buffer, info: ArrayInfo) -> np.ndarray:
        return decode_vlen(data, VLEN_CODECS[self.name], info.shape)


def vlen_codec_for(data_type: str) -> VLenCodec | None:
    """The codec that encodes ``data_type`` (None: a fixed-size type, which ``bytes`` encodes)."""
    for name, encoded in _DATA_TYPES.items():
        if encoded == data_type:
            return VLenCodec(name)
    return None


def _parser(name: str) -> Any:
    def parse(config: dict[str, Any]) -> VLenCodec:
        check_config_members(config, ())
        return VLenCodec(name)

    return parse


for _name in _DATA_TYPES:
    register_codec(_name, _parser(_name))
