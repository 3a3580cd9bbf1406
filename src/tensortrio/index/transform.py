"""``IndexTransform``: an input ``IndexDomain`` plus one ``OutputIndexMap`` per output dim.

Construction normalizes output maps the way TensorStore does: index arrays are
validated against the input domain and kept in compact form (extent 1 where
they do not depend on an input dimension), a zero stride turns a map into a
constant, and index arrays over an empty domain become the constant 0.

``transform[...]`` accepts another ``IndexTransform`` (composition), an
``IndexDomain`` (slicing by domain), a dimension expression (any object with
``_apply_to_transform(transform) -> IndexTransform``, see ``tensortrio.index``)
or a NumPy-style indexing expression (see ``tensortrio.index.indexing``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np

from ..errors import InvalidArgumentError, index_error
from .domain import IndexDomain, build_intervals, resolve_dim_selection
from .interval import MAX_FINITE_INDEX, MIN_FINITE_INDEX, IndexInterval, to_index
from .output_map import IndexArray, OutputIndexMap, OutputIndexMaps, OutputIndexMethod
from .shortcut import DimExpressionShortcuts

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

__all__ = ["IndexTransform", "normalize_output_maps"]

_COMPONENT_KEYWORDS = (
    "input_inclusive_min", "implicit_lower_bounds", "input_exclusive_max", "input_inclusive_max",
    "input_shape", "implicit_upper_bounds", "input_labels",
)


def _normalize_array_map(domain: IndexDomain, j: int, m: OutputIndexMap) -> OutputIndexMap:
    array = m.index_array
    index_range = m.index_range
    assert array is not None
    assert index_range is not None
    assert m.stride is not None
    shape = domain.shape
    if array.ndim != domain.rank:
        raise InvalidArgumentError(
            f"Index array for output dimension {j} has rank {array.ndim} but must have rank "
            f"{domain.rank}"
        )
    if any(a != 1 and a != n for a, n in zip(array.shape, shape, strict=True)):
        raise InvalidArgumentError(
            f"Index array for output dimension {j} has shape "
            f"{{{', '.join(map(str, array.shape))}}} which does not match input_shape "
            f"{{{', '.join(map(str, shape))}}}"
        )
    if m.stride == 0:
        return OutputIndexMap.constant(m.offset)
    # Compact form: extent 1 wherever the array does not vary along an input dimension.
    compact = array[
        tuple(slice(0, 1) if (a == 1 or (s == 0 and array.size)) else slice(None)
              for a, s in zip(array.shape, array.strides, strict=True))
    ]
    for d, dim in enumerate(domain.dims):
        if compact.shape[d] == 1:
            continue
        if dim.implicit_lower or dim.implicit_upper:
            raise InvalidArgumentError(
                f"Index array for output dimension {j} depends on input dimension {d} with "
                "implicit bounds"
            )
        if not dim.finite:
            raise InvalidArgumentError(
                f"Index array for output dimension {j} depends on input dimension {d} with "
                "infinite bounds"
            )
    if any(d.empty and not d.implicit_lower and not d.implicit_upper for d in domain.dims):
        # No index of an (explicitly) empty domain is ever mapped: TensorStore drops the array.
        return OutputIndexMap.constant(0)
    if compact.flags.writeable:
        # Our own arrays are read-only already; copy only what callers could still mutate.
        compact = np.array(compact, dtype=np.int64)
        compact.flags.writeable = False
    plain_range = IndexInterval.make(index_range.inclusive_min, index_range.exclusive_max)
    return OutputIndexMap.array(compact, m.offset, m.stride, plain_range)


def normalize_output_maps(
    domain: IndexDomain, maps: Iterable[OutputIndexMap]
) -> tuple[OutputIndexMap, ...]:
    """Validate output maps against ``domain`` and bring them to canonical form.

    Raises:
      InvalidArgumentError: an input dimension is out of range, or an index array
        has the wrong rank/shape or depends on a dimension with implicit bounds.
    """
    result = []
    for j, m in enumerate(maps):
        if not isinstance(m, OutputIndexMap):
            raise TypeError(f"output[{j}] must be an OutputIndexMap, got {m!r}")
        if m.method is OutputIndexMethod.single_input_dimension:
            assert m.input_dimension is not None
            if not 0 <= m.input_dimension < domain.rank:
                raise InvalidArgumentError(
                    f"Input dimension {m.input_dimension} specified for output dimension {j} is "
                    f"outside valid range [0, {domain.rank})"
                )
            if m.stride == 0:
                m = OutputIndexMap.constant(m.offset)
        elif m.method is OutputIndexMethod.array:
            m = _normalize_array_map(domain, j, m)
        result.append(m)
    return tuple(result)


def identity_maps(rank: int) -> tuple[OutputIndexMap, ...]:
    """Identity output maps ``out[i] = in[i]``."""
    return tuple(OutputIndexMap.single(i) for i in range(rank))


@attrs.frozen(init=False, repr=False, eq=False)
class IndexTransform(DimExpressionShortcuts):
    """A transform from an input index space to an output index space (``ts.IndexTransform``).

    Constructor forms (as TensorStore): ``IndexTransform(input_rank=None, *,
    input_inclusive_min=None, implicit_lower_bounds=None, input_exclusive_max=None,
    input_inclusive_max=None, input_shape=None, implicit_upper_bounds=None,
    input_labels=None, output=None)``, ``IndexTransform(domain, output=None)`` and
    ``IndexTransform(json=...)``.  Without ``output`` the transform is the identity.
    """

    domain: IndexDomain
    maps: tuple[OutputIndexMap, ...]
    # Indexing is not element access: without this, ``list(t)`` would index 0, 1, ... forever.
    __iter__: ClassVar[None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "json" in kwargs:
            if args or len(kwargs) != 1:
                raise TypeError("IndexTransform(json=...) takes no other arguments")
            from .json import transform_from_json

            parsed = transform_from_json(kwargs["json"])
            self.__attrs_init__(parsed.domain, parsed.maps)
            return
        first = args[0] if args else kwargs.get("domain")
        if first is not None and not hasattr(first, "__index__"):
            if len(args) > 2 or set(kwargs) - {"domain", "output"}:
                raise TypeError(
                    "IndexTransform(domain, output=None) takes no other arguments"
                )
            domain = first if isinstance(first, IndexDomain) else IndexDomain(first)
            output = args[1] if len(args) > 1 else kwargs.get("output")
        else:
            if len(args) > 1:
                raise TypeError("IndexTransform() takes at most one positional argument")
            unknown = set(kwargs) - {"input_rank", "output", *_COMPONENT_KEYWORDS}
            if unknown:
                raise TypeError(f"IndexTransform() got an unexpected keyword argument {sorted(unknown)[0]!r}")
            rank = args[0] if args else kwargs.get("input_rank")
            components = {
                key.removeprefix("input_"): kwargs[key] for key in _COMPONENT_KEYWORDS if key in kwargs
            }
            domain = IndexDomain.from_dims(build_intervals(rank, prefix="input_", **components))
            output = kwargs.get("output")
        maps = identity_maps(domain.rank) if output is None else normalize_output_maps(domain, output)
        self.__attrs_init__(domain, maps)

    @classmethod
    def make(cls, domain: IndexDomain, maps: Sequence[OutputIndexMap]) -> IndexTransform:
        """Build from a domain and already-normalized maps (internal fast path)."""
        self = object.__new__(cls)
        self.__attrs_init__(domain, tuple(maps))
        return self

    # -- accessors -------------------------------------------------------------------------

    @property
    def input_rank(self) -> int:
        """Rank of the input space."""
        return self.domain.rank

    @property
    def ndim(self) -> int:
        """Alias for ``input_rank``."""
        return self.domain.rank

    @property
    def output_rank(self) -> int:
        """Rank of the output space."""
        return len(self.maps)

    @property
    def input_origin(self) -> tuple[int, ...]:
        """Inclusive lower bounds of the input domain."""
        return self.domain.origin

    @property
    def input_inclusive_min(self) -> tuple[int, ...]:
        """Alias for ``input_origin``."""
        return self.domain.origin

    @property
    def input_exclusive_max(self) -> tuple[int, ...]:
        """Exclusive upper bounds of the input domain."""
        return self.domain.exclusive_max

    @property
    def input_inclusive_max(self) -> tuple[int, ...]:
        """Inclusive upper bounds of the input domain."""
        return self.domain.inclusive_max

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of the input domain."""
        return self.domain.shape

    @property
    def input_labels(self) -> tuple[str, ...]:
        """Labels of the input dimensions."""
        return self.domain.labels

    @property
    def implicit_lower_bounds(self) -> tuple[bool, ...]:
        """Whether each input lower bound is implicit."""
        return self.domain.implicit_lower_bounds

    @property
    def implicit_upper_bounds(self) -> tuple[bool, ...]:
        """Whether each input upper bound is implicit."""
        return self.domain.implicit_upper_bounds

    @property
    def origin(self) -> tuple[int, ...]:
        """Alias for ``domain.origin``."""
        return self.domain.origin

    @property
    def shape(self) -> tuple[int, ...]:
        """Alias for ``domain.shape``."""
        return self.domain.shape

    @property
    def size(self) -> int:
        """Alias for ``domain.size``."""
        return self.domain.size

    @property
    def output(self) -> OutputIndexMaps:
        """The output index maps."""
        return OutputIndexMaps(self.maps)

    def index_array_broadcast(self, output_dim: int) -> IndexArray:
        """The index array of an ``array`` map broadcast (zero strides) to the input shape."""
        array = self.maps[output_dim].index_array
        if array is None:
            raise InvalidArgumentError(f"Output dimension {output_dim} is not an index array map")
        return np.broadcast_to(array, self.domain.shape)

    # -- operations ------------------------------------------------------------------------

    def __call__(self, indices: Iterable[Any]) -> tuple[int, ...]:
        """Map an input index vector to the output index vector.

        Raises:
          InvalidArgumentError: wrong length, an index outside the domain, or an index
            array value outside its ``index_range``.
        """
        vector = [to_index(v, "index") for v in indices]
        if len(vector) != self.input_rank:
            raise InvalidArgumentError(
                f"input indices vector of length {len(vector)} cannot be used with index transform "
                f"with input rank {self.input_rank}"
            )
        for d, (x, dim) in enumerate(zip(vector, self.domain.dims, strict=True)):
            # Only explicit bounds bind (as TensorStore); any index must still be finite.
            lo = MIN_FINITE_INDEX if dim.implicit_lower else max(dim.inclusive_min, MIN_FINITE_INDEX)
            hi = MAX_FINITE_INDEX + 1 if dim.implicit_upper else min(dim.exclusive_max, MAX_FINITE_INDEX + 1)
            if not lo <= x < hi:
                raise InvalidArgumentError(
                    f"OUT_OF_RANGE: Index {x} is not contained in the domain {dim.bounds_str()} "
                    f"for input dimension {d}"
                )
        out = []
        for j, m in enumerate(self.maps):
            if m.method is OutputIndexMethod.constant:
                out.append(m.offset)
                continue
            assert m.stride is not None
            if m.method is OutputIndexMethod.single_input_dimension:
                assert m.input_dimension is not None
                out.append(m.offset + m.stride * vector[m.input_dimension])
                continue
            assert m.index_array is not None
            assert m.index_range is not None
            position = tuple(
                0 if extent == 1 else x - lo
                for x, lo, extent in zip(vector, self.domain.origin, m.index_array.shape, strict=True)
            )
            value = int(m.index_array[position])
            if value not in m.index_range:
                raise InvalidArgumentError(
                    f"OUT_OF_RANGE: Computing index for output dimension {j}: Checking result of "
                    f"index array output index map: Index {value} is outside valid range "
                    f"{m.index_range.bounds_str()}"
                )
            out.append(m.offset + m.stride * value)
        return tuple(out)

    def __getitem__(self, key: Any) -> IndexTransform:
        """Compose with a transform, slice by a domain, apply a dim expression or NumPy index.

        Raises:
          IndexError: the key does not apply to this transform (an
            ``InvalidIndexError`` or ``OutOfRangeError``, as TensorStore).
        """
        try:
            if type(key) is tuple:
                # The everyday key (``t[a:b, c:d]``) first: no other kind is a tuple.
                basic = _basic_indexing(self, key)
                if basic is not None:
                    return basic
            if isinstance(key, IndexTransform):
                from .compose import compose

                return compose(self, key)
            if isinstance(key, IndexDomain):
                from .compose import slice_by_domain

                return slice_by_domain(self, key)
            if hasattr(key, "_apply_to_transform"):
                result: IndexTransform = key._apply_to_transform(self)
                return result
            from .indexing import IndexingMode, apply_numpy_indexing

            return apply_numpy_indexing(self, key, IndexingMode.DEFAULT)
        except InvalidArgumentError as exc:
            raise index_error(exc) from None

    @property
    def oindex(self) -> _ModeIndexer:
        """Outer indexing: each index array indexes its own dimension independently."""
        from .indexing import IndexingMode

        return _ModeIndexer(self, IndexingMode.OINDEX)

    @property
    def vindex(self) -> _ModeIndexer:
        """Vectorized indexing: index array dimensions come first in the result."""
        from .indexing import IndexingMode

        return _ModeIndexer(self, IndexingMode.VINDEX)

    @property
    def T(self) -> IndexTransform:
        """View with the input dimension order reversed."""
        return self.transpose()

    def transpose(self, axes: Any = None) -> IndexTransform:
        """Reorder input dimensions: ``axes[i]`` is the existing dimension placed at ``i``.

        Raises:
          InvalidArgumentError: ``axes`` is not a permutation of all input dimensions.
        """
        from .compose import permute_input_dims

        if axes is None:
            return permute_input_dims(self, tuple(range(self.input_rank - 1, -1, -1)))
        self.domain.transpose(axes)  # validates that axes is a permutation
        return permute_input_dims(self, resolve_dim_selection(axes, self.domain.labels))

    def to_json(self) -> dict[str, Any]:
        """The JSON representation (``input_inclusive_min``, ..., ``output``)."""
        from .json import transform_to_json

        return transform_to_json(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IndexTransform):
            return NotImplemented
        if self.domain != other.domain or len(self.maps) != len(other.maps):
            return False
        for a, b in zip(self.maps, other.maps, strict=True):
            if a.index_array is None or b.index_array is None:
                if a != b:
                    return False
                continue
            if (a.offset, a.stride, a.index_range) != (b.offset, b.stride, b.index_range):
                return False
            # Compact arrays (extent 1 where they do not vary) compare over the dimensions
            # either varies along, never spread over the whole (possibly unbounded) domain.
            shape = np.broadcast_shapes(a.index_array.shape, b.index_array.shape)
            if not np.array_equal(
                np.broadcast_to(a.index_array, shape), np.broadcast_to(b.index_array, shape)
            ):
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        from .format import format_transform

        return format_transform(self)

    def __repr__(self) -> str:
        return str(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (IndexTransform.make, (self.domain, self.maps))


@attrs.frozen
class _ModeIndexer:
    """The object behind ``transform.oindex`` / ``transform.vindex``."""

    transform: IndexTransform
    mode: Any

    def __getitem__(self, key: Any) -> IndexTransform:
        from .indexing import apply_numpy_indexing

        try:
            return apply_numpy_indexing(self.transform, key, self.mode)
        except InvalidArgumentError as exc:
            raise index_error(exc) from None


def _basic_indexing(transform: IndexTransform, key: tuple[Any, ...]) -> IndexTransform | None:
    global _basic_indexing_impl
    if _basic_indexing_impl is None:
        from .indexing import _basic_indexing as imported

        _basic_indexing_impl = imported
    return _basic_indexing_impl(transform, key)


_basic_indexing_impl: Callable[[IndexTransform, Any], IndexTransform | None] | None = None
"""``indexing._basic_indexing``, imported on first use (indexing imports this module)."""
