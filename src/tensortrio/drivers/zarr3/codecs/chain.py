"""``CodecChain``: a zarr v3 ``codecs`` list, parsed, resolved against an array, applied.

Parsing checks the order (array→array codecs, then at most one array→bytes
codec, then bytes→bytes codecs).  :meth:`CodecChain.resolve` fills what the
array decides (a missing array→bytes codec becomes ``bytes``, blosc's
``typesize``, the ``bytes`` endianness) and records the array each codec sees,
so :meth:`encode` / :meth:`decode` need nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from ....errors import InvalidArgumentError
from ....schema.chunk_json import expect_object, json_text
from ....schema.json_member import member_error
from .base import ArrayInfo, codec_parser
from .bytes_codec import BytesCodec
from .vlen_codec import vlen_codec_for

if TYPE_CHECKING:
    import numpy as np

    from .base import ArrayToArrayCodec, ArrayToBytesCodec, Buffer, BytesToBytesCodec

__all__ = ["CodecChain", "parse_codec", "parse_codec_chain"]


@attrs.frozen
class CodecChain:
    """The codecs of an array (or of a shard's inner chunks / index).

    ``infos`` is empty until resolved; resolved, it holds the array seen by
    each array→array codec and, last, the one the array→bytes codec sees.
    """

    array_to_array: tuple[ArrayToArrayCodec, ...] = ()
    array_to_bytes: ArrayToBytesCodec | None = None
    bytes_to_bytes: tuple[BytesToBytesCodec, ...] = ()
    infos: tuple[ArrayInfo, ...] = attrs.field(default=(), eq=False)

    @property
    def codecs(self) -> tuple[Any, ...]:
        head = () if self.array_to_bytes is None else (self.array_to_bytes,)
        return (*self.array_to_array, *head, *self.bytes_to_bytes)

    def to_json(self) -> list[dict[str, Any]]:
        return [codec.to_json() for codec in self.codecs]

    @property
    def resolved(self) -> bool:
        return bool(self.infos)

    def resolve(self, info: ArrayInfo) -> CodecChain:
        """This chain with every codec fixed for encoding ``info``.

        Raises:
            ValueError: a codec does not fit the array (message names the codec).
        """
        infos = [info]
        a2a = []
        for codec in self.array_to_array:
            resolved, info = codec.resolve(info)
            a2a.append(resolved)
            infos.append(info)
        a2b = (self.array_to_bytes or vlen_codec_for(info.data_type) or BytesCodec()).resolve(info)
        b2b = tuple(codec.resolve(info) for codec in self.bytes_to_bytes)
        return CodecChain(tuple(a2a), a2b, b2b, tuple(infos))

    def encode(self, array: np.ndarray) -> Buffer:
        """Encode ``array`` (of the resolved shape and dtype) into bytes."""
        assert self.array_to_bytes is not None, "encode needs a resolved chain"
        for codec in self.array_to_array:
            array = codec.encode(array)
        data = self.array_to_bytes.encode(array, self.infos[-1])
        for b2b in self.bytes_to_bytes:
            data = b2b.encode(data)
        return data

    def decode(self, data: Buffer) -> np.ndarray:
        """Decode bytes into an array of the resolved shape (possibly a read-only view).

        Raises:
            DataLossError: corrupt data (the message names the codec).
        """
        assert self.array_to_bytes is not None, "decode needs a resolved chain"
        for b2b in reversed(self.bytes_to_bytes):
            data = b2b.decode(data)
        array = self.array_to_bytes.decode(data, self.infos[-1])
        for codec in reversed(self.array_to_array):
            array = codec.decode(array)
        return array

    def inner_permutation(self, rank: int | None = None) -> tuple[int, ...]:
        """The storage order of dimensions the array→array codecs produce.

        ``rank``: needed for an unresolved chain (a resolved one knows it).

        Raises:
            InvalidArgumentError: a ``transpose`` order is still ``"C"``/``"F"``.
        """
        if rank is None:
            rank = len(self.infos[0].shape)
        order = tuple(range(rank))
        for codec in self.array_to_array:
            perm = codec.permutation  # type: ignore[attr-defined]
            order = tuple(order[i] for i in perm)
        return order


def parse_codec(json: Any) -> Any:
    """Parse one codec: ``"name"`` or ``{"name": ..., "configuration": {...}}``.

    Raises:
        ValueError: an unknown codec or bad configuration.
    """
    if isinstance(json, str):
        json = {"name": json}
    json = expect_object(json, ("name", "configuration"))
    if "name" not in json:
        raise InvalidArgumentError('Error parsing object member "name": Expected string, but member is missing')
    parse = codec_parser(json["name"])
    config = json.get("configuration", {})
    if not isinstance(config, dict):
        raise InvalidArgumentError(
            f'Error parsing object member "configuration": Expected object, but received: '
            f"{json_text(config)}"
        )
    try:
        return parse(config)
    except InvalidArgumentError as exc:
        raise member_error("configuration", exc) from None


def parse_codec_chain(json: Any) -> CodecChain:
    """Parse a ``codecs`` list (unresolved; the array→bytes codec may be missing).

    Raises:
        ValueError: not a list, a bad codec (names its position), or codecs out of order.
    """
    if not isinstance(json, list):
        raise InvalidArgumentError(f"Expected array, but received: {json_text(json)}")
    a2a: list[Any] = []
    a2b: Any = None
    b2b: list[Any] = []
    for i, item in enumerate(json):
        try:
            codec = parse_codec(item)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Error parsing value at position {i}: {exc}") from None
        if codec.kind == "array_to_array":
            if a2b is not None or b2b:
                raise InvalidArgumentError(
                    f"Error parsing value at position {i}: array -> array codec "
                    f"{json_text(codec.to_json()['name'])} must come before the array -> bytes codec"
                )
            a2a.append(codec)
        elif codec.kind == "array_to_bytes":
            if a2b is not None:
                raise InvalidArgumentError(
                    f"Error parsing value at position {i}: only one array -> bytes codec is allowed"
                )
            if b2b:
                raise InvalidArgumentError(
                    f"Error parsing value at position {i}: array -> bytes codec "
                    f"{json_text(codec.to_json()['name'])} must come before bytes -> bytes codecs"
                )
            a2b = codec
        else:
            b2b.append(codec)
    return CodecChain(tuple(a2a), a2b, tuple(b2b))
