"""The ``transpose`` array→array codec: store the chunk's dimensions in another order.

``order`` is a permutation (``"C"`` and ``"F"`` are accepted and written as
the identity / reversed permutation).  Encoding and decoding return views;
the ``bytes`` codec makes the one copy that lays the elements out.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs
import numpy as np

from ....errors import InvalidArgumentError
from ....schema.chunk_json import json_text
from .base import (
    ArrayInfo,
    ArrayToArrayCodec,
    check_config_members,
    config_member_error,
    register_codec,
)

__all__ = ["TransposeCodec"]


@attrs.frozen
class TransposeCodec:
    """``{"name": "transpose", "configuration": {"order": [...]}}``; ``order`` may be "C"/"F" until resolved."""

    order: tuple[int, ...] | Literal["C", "F"]
    kind: Literal["array_to_array"] = attrs.field(default="array_to_array", init=False)

    def to_json(self) -> dict[str, Any]:
        order = self.order if isinstance(self.order, str) else list(self.order)
        return {"configuration": {"order": order}, "name": "transpose"}

    @property
    def permutation(self) -> tuple[int, ...]:
        if isinstance(self.order, str):
            raise InvalidArgumentError("transpose: order is not resolved")
        return self.order

    def resolve(self, info: ArrayInfo) -> tuple[ArrayToArrayCodec, ArrayInfo]:
        rank = len(info.shape)
        if self.order == "C":
            order: tuple[int, ...] = tuple(range(rank))
        elif self.order == "F":
            order = tuple(range(rank - 1, -1, -1))
        else:
            order = tuple(self.order)
            if len(order) != rank:
                raise InvalidArgumentError(
                    f"transpose: 'order' {list(order)} must have rank {rank}"
                )
        codec = TransposeCodec(order)
        return codec, info.with_shape(tuple(info.shape[i] for i in order))

    def encode(self, array: np.ndarray) -> np.ndarray:
        return array.transpose(self.permutation)

    def decode(self, array: np.ndarray) -> np.ndarray:
        return array.transpose(np.argsort(self.permutation))


def _parse(config: dict[str, Any]) -> TransposeCodec:
    check_config_members(config, ("order",))
    if "order" not in config:
        raise config_member_error("order", "Expected array, but member is missing")
    order = config["order"]
    if order in ("C", "F"):
        return TransposeCodec("C" if order == "C" else "F")
    if (
        not isinstance(order, list)
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in order)
        or sorted(order) != list(range(len(order)))
    ):
        raise config_member_error(
            "order", f"Expected a permutation of [0, ..., rank-1], but received: {json_text(order)}"
        )
    return TransposeCodec(tuple(order))


register_codec("transpose", _parse)
