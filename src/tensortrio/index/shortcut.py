"""``domain.translate_to[...]`` and friends: dimension expressions over all dimensions.

TensorStore offers ``translate_to``, ``translate_by``, ``translate_backward_by``,
``label`` and ``mark_bounds_implicit`` directly on ``IndexDomain``,
``IndexTransform`` and ``TensorStore``; each is ``x[ts.d[:].<operation>[key]]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    from .transform import IndexTransform

__all__ = ["DimExpressionShortcut", "DimExpressionShortcuts", "TransformIndexable", "TransformIndexer"]


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


class _Indexes(Protocol):
    """What a :class:`TransformIndexable` defines."""

    def _indexable(self) -> IndexTransform:
        """The transform the value is seen through (indexing operations apply to it)."""
        ...

    def _with_transform(self, transform: IndexTransform) -> Any:
        """The value seen through ``transform`` instead."""
        ...


class TransformIndexable(DimExpressionShortcuts):
    """Mixin giving a value that carries an index transform TensorStore's indexing operations.

    ``x[...]``, ``x.oindex[...]``, ``x.vindex[...]``, ``x.T``, ``x.transpose()``
    and the shortcuts index ``x._indexable()`` (the transform the value is
    seen through) and return ``x._with_transform(result)``: ``Spec`` and
    ``Schema`` share this.
    """

    __slots__ = ()

    def __getitem__(self: _Indexes, key: Any) -> Any:
        """Apply an indexing expression (or transform, or dim expression)."""
        return self._with_transform(self._indexable()[key])

    @property
    def oindex(self: _Indexes) -> TransformIndexer:
        """Outer indexing (``x.oindex[...]``)."""
        return TransformIndexer(self, "oindex")

    @property
    def vindex(self: _Indexes) -> TransformIndexer:
        """Vectorized indexing (``x.vindex[...]``)."""
        return TransformIndexer(self, "vindex")

    @property
    def T(self: _Indexes) -> Any:
        """With the dimensions reversed."""
        return self._with_transform(self._indexable().T)

    def transpose(self: _Indexes, axes: Any = None) -> Any:
        """With the dimensions permuted (default: reversed)."""
        return self._with_transform(self._indexable().transpose(axes))


@attrs.frozen
class TransformIndexer:
    """``x.oindex`` / ``x.vindex`` of a :class:`TransformIndexable`."""

    target: _Indexes
    mode: str

    def __getitem__(self, key: Any) -> Any:
        indexer = getattr(self.target._indexable(), self.mode)
        return self.target._with_transform(indexer[key])
