"""``domain.translate_to[...]`` and friends: dimension expressions over all dimensions.

TensorStore offers ``translate_to``, ``translate_by``, ``translate_backward_by``,
``label`` and ``mark_bounds_implicit`` directly on ``IndexDomain`` and
``IndexTransform``; each is ``x[ts.d[:].<operation>[key]]``.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["DimExpressionShortcut"]


@attrs.frozen
class DimExpressionShortcut:
    """Subscriptable that applies ``ts.d[:].<operation>[key]`` to ``target``."""

    target: Any
    operation: str

    def __getitem__(self, key: Any) -> Any:
        from .dim_expression import d

        return self.target[getattr(d[:], self.operation)[key]]
