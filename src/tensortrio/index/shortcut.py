"""``domain.translate_to[...]`` and friends: dimension expressions over all dimensions.

TensorStore offers ``translate_to``, ``translate_by``, ``translate_backward_by``,
``label`` and ``mark_bounds_implicit`` directly on ``IndexDomain``,
``IndexTransform`` and ``TensorStore``; each is ``x[ts.d[:].<operation>[key]]``.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["DimExpressionShortcut", "DimExpressionShortcuts"]


@attrs.frozen
class DimExpressionShortcut:
    """Subscriptable that applies ``ts.d[:].<operation>[key]`` to ``target``."""

    target: Any
    operation: str

    def __getitem__(self, key: Any) -> Any:
        from .dim_expression import d

        return self.target[getattr(d[:], self.operation)[key]]


class DimExpressionShortcuts:
    """Mixin giving a subscriptable class TensorStore's all-dimension shortcut properties.

    ``IndexDomain``, ``IndexTransform`` and ``TensorStore`` share these so the five
    shortcuts mean the same thing everywhere.
    """

    # Empty slots keep the attrs-slotted subclasses free of an instance ``__dict__``.
    __slots__ = ()

    @property
    def translate_to(self) -> DimExpressionShortcut:
        """``x.translate_to[origins]``: same as ``x[ts.d[:].translate_to[origins]]``."""
        return DimExpressionShortcut(self, "translate_to")

    @property
    def translate_by(self) -> DimExpressionShortcut:
        """``x.translate_by[offsets]``: same as ``x[ts.d[:].translate_by[offsets]]``."""
        return DimExpressionShortcut(self, "translate_by")

    @property
    def translate_backward_by(self) -> DimExpressionShortcut:
        """``x.translate_backward_by[offsets]``: same as ``x[ts.d[:].translate_backward_by[...]]``."""
        return DimExpressionShortcut(self, "translate_backward_by")

    @property
    def label(self) -> DimExpressionShortcut:
        """``x.label[labels]``: same as ``x[ts.d[:].label[labels]]``."""
        return DimExpressionShortcut(self, "label")

    @property
    def mark_bounds_implicit(self) -> DimExpressionShortcut:
        """``x.mark_bounds_implicit[flags]``: same as ``x[ts.d[:].mark_bounds_implicit[...]]``."""
        return DimExpressionShortcut(self, "mark_bounds_implicit")
