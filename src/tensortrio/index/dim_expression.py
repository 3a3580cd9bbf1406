"""Dimension expressions: ``ts.d[...]`` and ``DimExpression`` (TensorStore's API).

``ts.d[sel]`` selects input dimensions by index, label or index range
(``ts.d[0, 'x', 2:4]``); chained operations then transform just those
dimensions: ``translate_to``/``translate_by``/``translate_backward_by``,
``stride``, ``label``, ``mark_bounds_implicit``, ``diagonal``, ``transpose``
and NumPy-style indexing (``[...]``, ``.oindex[...]``, ``.vindex[...]``).  An
expression is a plain value: it compares equal by content, pickles, and its
repr (``d['x','y'].translate_by[5]``) evaluates back to an equal expression
given ``d``, ``array`` and ``int64``.  Applying it (``transform[expr]``,
``domain[expr]``) runs the operations in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from ..errors import InvalidArgumentError, index_error
from .dim_expression_ops import (
    Selection,
    apply_diagonal,
    apply_label,
    apply_mark_bounds_implicit,
    apply_stride,
    apply_translate,
    apply_transpose,
)
from .dim_index_op import IndexOp, parse_index_op
from .dim_selection import (
    DimSpec,
    format_selection,
    parse_dim_selection,
    quote_label,
    resolve_selection,
)
from .interval import to_index

if TYPE_CHECKING:
    from .transform import IndexTransform

__all__ = ["DimExpression", "DimSelection", "d"]

IndexVector = int | None | tuple[int | None, ...]


def _index_or_none(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) or not hasattr(value, "__index__"):
        raise TypeError(f"{what} must be an integer or None, got {value!r}")
    return to_index(value, what)


def _parse_vector(key: Any, what: str) -> IndexVector:
    """An index, ``None``, or a sequence of those (TensorStore's index vector or scalar)."""
    if key is None or (hasattr(key, "__index__") and not hasattr(key, "__len__")):
        return _index_or_none(key, what)
    if isinstance(key, (str, bytes)) or not isinstance(key, Iterable):
        raise TypeError(f"{what} must be an integer, None, or a sequence of those, got {key!r}")
    return tuple(_index_or_none(v, what) for v in key)


def _format_vector(values: IndexVector) -> str:
    if not isinstance(values, tuple):
        return "None" if values is None else str(values)
    if not values:
        return "()"
    text = ",".join("None" if v is None else str(v) for v in values)
    return text + "," if len(values) == 1 else text


@attrs.frozen
class _TranslateOp:
    kind: str  # "to", "by" or "backward_by"
    values: IndexVector

    def __repr__(self) -> str:
        return f".translate_{self.kind}[{_format_vector(self.values)}]"

    def apply(self, transform: IndexTransform, dims: Selection) -> tuple[IndexTransform, Selection]:
        return apply_translate(transform, dims, self.values, self.kind), dims


@attrs.frozen
class _StrideOp:
    values: IndexVector

    def __repr__(self) -> str:
        return f".stride[{_format_vector(self.values)}]"

    def apply(self, transform: IndexTransform, dims: Selection) -> tuple[IndexTransform, Selection]:
        return apply_stride(transform, dims, self.values), dims


@attrs.frozen
class _LabelOp:
    labels: tuple[str, ...]

    def __repr__(self) -> str:
        if not self.labels:
            return ".label[()]"
        return ".label[" + ",".join(quote_label(label) for label in self.labels) + "]"

    def apply(self, transform: IndexTransform, dims: Selection) -> tuple[IndexTransform, Selection]:
        return apply_label(transform, dims, self.labels), dims


@attrs.frozen
class _DiagonalOp:
    def __repr__(self) -> str:
        return ".diagonal"

    def apply(self, transform: IndexTransform, dims: Selection) -> tuple[IndexTransform, Selection]:
        return apply_diagonal(transform, dims)


@attrs.frozen
class _TransposeOp:
    target: tuple[DimSpec, ...]

    def __repr__(self) -> str:
        return f".transpose[{format_selection(self.target)}]"

    def apply(self, transform: IndexTransform, dims: Selection) -> tuple[IndexTransform, Selection]:
        if len(self.target) == 1 and isinstance(self.target[0], int):
            return apply_transpose(transform, dims, self.target[0])
        if any(isinstance(t, str) for t in self.target):
            raise InvalidArgumentError("Target dimensions cannot be specified by label")
        targets = resolve_selection(self.target, [""] * transform.input_rank, check_unique=False)
        return apply_transpose(transform, dims, targets)


@attrs.frozen
class _MarkBoundsImplicitOp:
    lower: bool | None
    upper: bool | None

    def __repr__(self) -> str:
        def show(value: bool | None) -> str:
            return "" if value is None else str(value)

        if self.lower == self.upper and self.lower is not None:
            return f".mark_bounds_implicit[{self.lower}]"
        return f".mark_bounds_implicit[{show(self.lower)}:{show(self.upper)}]"

    def apply(self, transform: IndexTransform, dims: Selection) -> tuple[IndexTransform, Selection]:
        return apply_mark_bounds_implicit(transform, dims, self.lower, self.upper), dims


_Op = (
    _TranslateOp
    | _StrideOp
    | _LabelOp
    | _DiagonalOp
    | _TransposeOp
    | _MarkBoundsImplicitOp
    | IndexOp
)


def _optional_bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool) or (hasattr(value, "__index__") and int(value) in (0, 1)):
        return bool(value)
    raise TypeError(f"mark_bounds_implicit values must be True, False or None, got {value!r}")


def _parse_labels(key: Any) -> tuple[str, ...]:
    items = (key,) if isinstance(key, str) else key
    if not isinstance(items, Iterable):
        raise TypeError(f"labels must be a string or a sequence of strings, got {key!r}")
    labels = tuple(items)
    for label in labels:
        if not isinstance(label, str):
            raise TypeError(f"labels must be strings, got {label!r}")
    return labels


class DimExpression:
    """A dimension selection followed by operations on the selected dimensions.

    Build one from ``ts.d[...]``; apply it with ``transform[expr]`` or
    ``domain[expr]`` (or a ``TensorStore``/``Spec`` indexed the same way).
    """

    __slots__ = ("_ops", "_selection")
    __hash__: ClassVar[None] = None  # type: ignore[assignment]

    _selection: tuple[DimSpec, ...]
    _ops: tuple[_Op, ...]

    def __init__(self) -> None:
        raise TypeError("DimExpression cannot be constructed directly; use ts.d[...]")

    @classmethod
    def _make(cls, selection: tuple[DimSpec, ...], ops: tuple[_Op, ...]) -> DimExpression:
        self = object.__new__(DimSelection if not ops else DimExpression)
        object.__setattr__(self, "_selection", selection)
        object.__setattr__(self, "_ops", ops)
        return self

    def _then(self, op: _Op) -> DimExpression:
        return DimExpression._make(self._selection, (*self._ops, op))

    # -- operations --------------------------------------------------------------------------

    @property
    def translate_to(self) -> _OpSubscript:
        """``expr.translate_to[origins]``: move the domains' origins (``None`` keeps one)."""
        return _OpSubscript(self, "translate_to")

    @property
    def translate_by(self) -> _OpSubscript:
        """``expr.translate_by[offsets]``: shift the domains by offsets (``None`` = 0)."""
        return _OpSubscript(self, "translate_by")

    @property
    def translate_backward_by(self) -> _OpSubscript:
        """``expr.translate_backward_by[offsets]``: shift the domains by minus offsets."""
        return _OpSubscript(self, "translate_backward_by")

    @property
    def stride(self) -> _OpSubscript:
        """``expr.stride[strides]``: keep ``x`` where ``x * stride`` is in the old domain."""
        return _OpSubscript(self, "stride")

    @property
    def label(self) -> _OpSubscript:
        """``expr.label[labels]``: set the labels of the selected dimensions."""
        return _OpSubscript(self, "label")

    @property
    def mark_bounds_implicit(self) -> _OpSubscript:
        """``expr.mark_bounds_implicit[True | False | None | lower:upper]``."""
        return _OpSubscript(self, "mark_bounds_implicit")

    @property
    def transpose(self) -> _OpSubscript:
        """``expr.transpose[target]``: move the selected dimensions to target indices."""
        return _OpSubscript(self, "transpose")

    @property
    def diagonal(self) -> DimExpression:
        """Replace the selected dimensions by their diagonal, as the new first dimension."""
        return self._then(_DiagonalOp())

    @property
    def oindex(self) -> _OpSubscript:
        """``expr.oindex[...]``: NumPy-style indexing with outer-indexing array semantics."""
        return _OpSubscript(self, "oindex")

    @property
    def vindex(self) -> _OpSubscript:
        """``expr.vindex[...]``: NumPy-style indexing with vectorized array semantics."""
        return _OpSubscript(self, "vindex")

    def __getitem__(self, key: Any) -> DimExpression:
        """NumPy-style indexing of the selected dimensions (all must be consumed)."""
        try:
            return self._then(parse_index_op(key, "default", chained=bool(self._ops)))
        except InvalidArgumentError as exc:
            raise index_error(exc) from None

    # -- application ---------------------------------------------------------------------------

    def _apply_to_transform(self, transform: IndexTransform) -> IndexTransform:
        """Apply the operations in order (the hook ``IndexTransform.__getitem__`` calls).

        Raises:
          InvalidArgumentError / OutOfRangeError: naming the dimension and value at fault.
        """
        if not self._ops:
            raise InvalidArgumentError(
                "Must specify at least one operation in dimension expression"
            )
        ops = self._ops
        first = ops[0]
        if isinstance(first, IndexOp):
            transform, dims = first.apply_initial(transform, self._selection)
            ops = ops[1:]
        else:
            dims = resolve_selection(self._selection, transform.domain.labels)
        for op in ops:
            transform, dims = op.apply(transform, dims)
        return transform

    # -- value semantics -----------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DimExpression):
            return NotImplemented
        return self._selection == other._selection and self._ops == other._ops

    def __repr__(self) -> str:
        return f"d[{format_selection(self._selection)}]" + "".join(repr(op) for op in self._ops)

    def __reduce__(self) -> tuple[Any, ...]:
        return (DimExpression._make, (self._selection, self._ops))


class DimSelection(DimExpression):
    """A dimension selection with no operations yet (``ts.d[...]``)."""

    __slots__ = ()


@attrs.frozen(repr=False)
class _OpSubscript:
    """The object behind ``expr.translate_to`` etc., subscripted with the operation's argument."""

    expr: DimExpression
    name: str

    def __repr__(self) -> str:
        return f"{self.expr!r}.{self.name}"

    def __getitem__(self, key: Any) -> DimExpression:
        try:
            return self.expr._then(self._op(key))
        except InvalidArgumentError as exc:
            raise index_error(exc) from None

    def _op(self, key: Any) -> _Op:
        name = self.name
        op: _Op
        if name.startswith("translate_"):
            op = _TranslateOp(name.removeprefix("translate_"), _parse_vector(key, name))
        elif name == "stride":
            op = _StrideOp(_parse_vector(key, name))
        elif name == "label":
            op = _LabelOp(_parse_labels(key))
        elif name == "transpose":
            op = _TransposeOp(parse_dim_selection(key))
        elif name == "mark_bounds_implicit":
            if isinstance(key, slice):
                if key.step is not None:
                    raise TypeError(f"mark_bounds_implicit takes no slice step, got {key!r}")
                op = _MarkBoundsImplicitOp(_optional_bool(key.start), _optional_bool(key.stop))
            else:
                value = _optional_bool(key)
                op = _MarkBoundsImplicitOp(value, value)
        else:
            op = parse_index_op(key, name, chained=bool(self.expr._ops))
        return op


@attrs.frozen(repr=False)
class _DimSelectionFactory:
    """The type of ``ts.d``: subscript it to select dimensions."""

    __iter__ = None  # ``d`` is not iterable, even though it has ``__getitem__``.

    def __getitem__(self, key: Any) -> DimSelection:
        try:
            selection = parse_dim_selection(key)
        except InvalidArgumentError as exc:
            raise index_error(exc) from None
        result = DimExpression._make(selection, ())
        assert isinstance(result, DimSelection)
        return result

    def __repr__(self) -> str:
        return "d"

    def __reduce__(self) -> str:
        return "d"


d = _DimSelectionFactory()
"""``ts.d``: ``ts.d[0, 'x', 2:4]`` starts a dimension expression."""
