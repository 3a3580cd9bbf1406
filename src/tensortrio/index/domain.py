"""``IndexDomain``: the cartesian product of ``IndexInterval`` dimensions.

Also resolves TensorStore *dimension selections* (integers, labels, slices of
dimension indices, and sequences of those) to dimension indices, which both
``IndexDomain[...]`` and ``ts.d[...]`` need.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from ..errors import InvalidArgumentError, OutOfRangeError, index_error
from .interval import INF, IndexInterval, to_index
from .shortcut import DimExpressionShortcuts

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from .transform import IndexTransform

__all__ = ["MAX_RANK", "IndexDomain", "check_rank", "check_rank_in_range", "normalize_dim_index", "resolve_dim_selection"]

MAX_RANK = 32
"""TensorStore's ``kMaxRank``."""
_MAX_SIZE = 2**63 - 1
"""The largest ``IndexDomain.size`` (TensorStore's, an ``Index``)."""


def check_rank_in_range(rank: int) -> int:
    """Validate a rank as TensorStore does where a rank is computed: ``0 <= rank <= 32``.

    (:func:`check_rank` says ``Invalid rank: ...`` instead, for ranks given by a caller.)

    Raises:
        ValueError: ``Rank 33 is outside valid range [0, 32]``.
    """
    if not 0 <= rank <= MAX_RANK:
        raise InvalidArgumentError(f"Rank {rank} is outside valid range [0, {MAX_RANK}]")
    return rank


def check_rank(rank: int, what: str = "rank") -> int:
    """Validate a rank against ``[0, MAX_RANK]``."""
    if not 0 <= rank <= MAX_RANK:
        raise InvalidArgumentError(f"Invalid {what}: {rank}")
    return rank


def check_unique_labels(labels: Sequence[str]) -> None:
    """Raise if a non-empty label occurs more than once."""
    seen: set[str] = set()
    for label in labels:
        if label and label in seen:
            raise InvalidArgumentError(f'Dimension label(s) "{label}" not unique')
        seen.add(label)


def normalize_dim_index(index: int, rank: int) -> int:
    """Map a possibly negative dimension index into ``[0, rank)``."""
    if not -rank <= index < rank:
        raise OutOfRangeError(f"Dimension index {index} is outside valid range [{-rank}, {rank})")
    return index + rank if index < 0 else index


def resolve_dim_selection(
    selection: Any, labels: Sequence[str], *, check_unique: bool = True
) -> tuple[int, ...]:
    """Resolve a dimension selection (``DimSelectionLike``: ints, labels, ranges, ``ts.d[...]``).

    The same selection ``ts.d[...]`` takes, with the same rules (TensorStore
    uses one for domains, ``transpose`` and ``transform.output``). Returns the
    selected dimension indices in order.

    Raises:
      OutOfRangeError: an index is out of range or a label does not exist.
      InvalidArgumentError: a dimension is selected more than once (with
        ``check_unique``), or a range is invalid.
      TypeError: an element that selects no dimension.
    """
    from .dim_selection import parse_dim_selection, resolve_selection

    return resolve_selection(parse_dim_selection(selection), labels, check_unique=check_unique)


def _vector(name: str, values: Iterable[Any] | None) -> list[Any] | None:
    """The vector as a list, its element types checked as TensorStore's binding does."""
    if values is None:
        return None
    if isinstance(values, str):
        raise TypeError(f"{name} must be a sequence, got {values!r}")
    result = list(values)
    for i, value in enumerate(result):
        if name.startswith("implicit"):
            ok = value is None or isinstance(value, (bool, int, float, np.number))
        elif name == "labels":
            ok = value is None or isinstance(value, str)
        else:
            ok = not isinstance(value, (str, float)) and hasattr(value, "__index__")
        if not ok:
            raise TypeError(f"{name}[{i}] has the wrong type: {value!r}")
    return [bool(v) for v in result] if name.startswith("implicit") else result


def build_intervals(
    rank: int | None,
    *,
    inclusive_min: Iterable[Any] | None = None,
    implicit_lower_bounds: Iterable[bool] | None = None,
    exclusive_max: Iterable[Any] | None = None,
    inclusive_max: Iterable[Any] | None = None,
    shape: Iterable[Any] | None = None,
    implicit_upper_bounds: Iterable[bool] | None = None,
    labels: Iterable[str | None] | None = None,
    prefix: str = "",
) -> tuple[IndexInterval, ...]:
    """Build dimensions from component vectors (the ``IndexDomain``/``IndexTransform`` form).

    ``prefix`` is ``"input_"`` when the names come from ``IndexTransform``.
    """
    if rank is not None and (isinstance(rank, (str, float)) or not hasattr(rank, "__index__")):
        raise TypeError(f"{prefix}rank must be an integer, got {rank!r}")
    vectors = {
        "inclusive_min": _vector("inclusive_min", inclusive_min),
        "implicit_lower_bounds": _vector("implicit_lower_bounds", implicit_lower_bounds),
        "exclusive_max": _vector("exclusive_max", exclusive_max),
        "inclusive_max": _vector("inclusive_max", inclusive_max),
        "shape": _vector("shape", shape),
        "implicit_upper_bounds": _vector("implicit_upper_bounds", implicit_upper_bounds),
        "labels": _vector("labels", labels),
    }

    def shown(name: str) -> str:
        return name if name.startswith("implicit") else prefix + name

    upper_given = [n for n in ("exclusive_max", "inclusive_max", "shape") if vectors[n] is not None]
    if len(upper_given) > 1:
        raise InvalidArgumentError(
            f"Cannot specify both `{shown(upper_given[0])}` and `{shown(upper_given[1])}`"
        )
    rank_source: str | None = None
    if rank is not None:
        rank = check_rank(to_index(rank, prefix + "rank"), prefix + "rank")
        rank_source = prefix + "rank"
    for name in ("inclusive_min", "implicit_lower_bounds", "exclusive_max", "inclusive_max", "shape",
                 "implicit_upper_bounds", "labels"):
        vec = vectors[name]
        if vec is None:
            continue
        if rank is None:
            rank, rank_source = check_rank(len(vec), prefix + "rank"), shown(name)
        elif len(vec) != rank:
            raise InvalidArgumentError(
                f"Rank specified by `{shown(name)}` ({len(vec)}) does not match rank specified by "
                f"`{rank_source}` ({rank})"
            )
    if rank is None:
        raise InvalidArgumentError(f"Must specify `{prefix}rank`")
    lo_vec, hi_vec = vectors["inclusive_min"], None
    upper_kind = upper_given[0] if upper_given else None
    if upper_kind is not None:
        hi_vec = vectors[upper_kind]
    lower_flags = vectors["implicit_lower_bounds"]
    upper_flags = vectors["implicit_upper_bounds"]
    label_vec = vectors["labels"]
    dims = []
    for i in range(rank):
        lo = to_index(lo_vec[i], shown("inclusive_min")) if lo_vec is not None else (
            0 if upper_kind == "shape" else -INF)
        if hi_vec is None:
            hi = INF + 1
        elif upper_kind == "shape":
            size = to_index(hi_vec[i], shown("shape"))
            hi = lo + size
            if size < 0 or not (-INF <= lo < INF and hi <= INF + 1):
                raise InvalidArgumentError(
                    f"({lo}, {size}) do not specify a valid sized index interval for dimension {i}"
                )
        elif upper_kind == "inclusive_max":
            hi = to_index(hi_vec[i], shown("inclusive_max")) + 1
        else:
            hi = to_index(hi_vec[i], shown("exclusive_max"))
        implicit_lower = bool(lower_flags[i]) if lower_flags is not None else (
            lo_vec is None and upper_kind != "shape")
        implicit_upper = bool(upper_flags[i]) if upper_flags is not None else hi_vec is None
        label = label_vec[i] if label_vec is not None else ""
        if label is None:
            label = ""
        if not isinstance(label, str):
            raise TypeError(f"label for dimension {i} must be a str, got {label!r}")
        try:
            dim = IndexInterval.checked(lo, hi, implicit_lower, implicit_upper, label)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"{exc} for dimension {i}") from None
        dims.append(dim)
    check_unique_labels([d.label for d in dims])
    return tuple(dims)


@attrs.frozen(init=False, repr=False, eq=True)
class IndexDomain(DimExpressionShortcuts):
    """Domain (bounds and optional labels) of an N-dimensional index space.

    Constructor forms (as TensorStore): ``IndexDomain(rank=None, *, inclusive_min=None,
    implicit_lower_bounds=None, exclusive_max=None, inclusive_max=None, shape=None,
    implicit_upper_bounds=None, labels=None)``, ``IndexDomain(dimensions)`` from a
    sequence of ``Dim``, and ``IndexDomain(json=...)``.
    """

    dims: tuple[IndexInterval, ...]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "json" in kwargs:
            if args or len(kwargs) != 1:
                raise TypeError("IndexDomain(json=...) takes no other arguments")
            from .json import domain_from_json

            self.__attrs_init__(domain_from_json(kwargs["json"]).dims)
            return
        if len(args) == 1 and not kwargs and not hasattr(args[0], "__index__") and args[0] is not None:
            dims = tuple(args[0])
            for i, dim in enumerate(dims):
                if not isinstance(dim, IndexInterval):
                    raise TypeError(f"dimension {i} must be a Dim, got {dim!r}")
            check_rank(len(dims))
            check_unique_labels([d.label for d in dims])
            self.__attrs_init__(dims)
            return
        if len(args) > 1:
            raise TypeError("IndexDomain() takes at most one positional argument")
        rank = args[0] if args else kwargs.pop("rank", None)
        self.__attrs_init__(build_intervals(rank, **kwargs))

    @classmethod
    def from_dims(cls, dims: Iterable[IndexInterval]) -> IndexDomain:
        """Build from already-validated dimensions (internal fast path)."""
        self = object.__new__(cls)
        self.__attrs_init__(tuple(dims))
        return self

    @property
    def rank(self) -> int:
        """Number of dimensions."""
        return len(self.dims)

    @property
    def ndim(self) -> int:
        """Alias for ``rank``."""
        return len(self.dims)

    @property
    def origin(self) -> tuple[int, ...]:
        """Inclusive lower bounds."""
        return tuple(d.inclusive_min for d in self.dims)

    @property
    def inclusive_min(self) -> tuple[int, ...]:
        """Inclusive lower bounds, alias of ``origin``."""
        return self.origin

    @property
    def exclusive_max(self) -> tuple[int, ...]:
        """Exclusive upper bounds."""
        return tuple(d.exclusive_max for d in self.dims)

    @property
    def inclusive_max(self) -> tuple[int, ...]:
        """Inclusive upper bounds."""
        return tuple(d.inclusive_max for d in self.dims)

    @property
    def shape(self) -> tuple[int, ...]:
        """Size of each dimension."""
        return tuple(d.size for d in self.dims)

    @property
    def size(self) -> int:
        """Total number of elements (at most ``2**63 - 1``, as TensorStore caps it)."""
        return min(math.prod(self.shape), _MAX_SIZE)

    @property
    def labels(self) -> tuple[str, ...]:
        """Dimension labels (``""`` for unlabeled)."""
        return tuple(d.label for d in self.dims)

    @property
    def implicit_lower_bounds(self) -> tuple[bool, ...]:
        """Whether each lower bound is implicit."""
        return tuple(d.implicit_lower for d in self.dims)

    @property
    def implicit_upper_bounds(self) -> tuple[bool, ...]:
        """Whether each upper bound is implicit."""
        return tuple(d.implicit_upper for d in self.dims)

    @property
    def index_exp(self) -> tuple[slice, ...]:
        """NumPy index expression of ``slice`` objects (``None`` for infinite bounds).

        Raises:
          InvalidArgumentError: a finite bound is negative.
        """
        for dim in self.dims:
            if (dim.inclusive_min != -INF and dim.inclusive_min < 0) or (
                dim.exclusive_max != INF + 1 and dim.exclusive_max < 0
            ):
                raise InvalidArgumentError(
                    f"Cannot convert domain {self} with negative bounds to index expression"
                )
        return tuple(
            slice(
                None if d.inclusive_min == -INF else d.inclusive_min,
                None if d.exclusive_max == INF + 1 else d.exclusive_max,
            )
            for d in self.dims
        )

    def __len__(self) -> int:
        return len(self.dims)

    def __iter__(self) -> Iterator[IndexInterval]:
        return iter(self.dims)

    def __contains__(self, item: object) -> bool:
        return item in self.dims

    def __getitem__(self, key: Any) -> Any:
        """``Dim`` by index/label; sub-domain by selection; or apply a domain/transform/expr."""
        from .dim_expression import DimSelection
        from .transform import IndexTransform

        try:
            if isinstance(key, str) or (hasattr(key, "__index__") and not isinstance(key, bool)):
                return self.dims[resolve_dim_selection(key, self.labels)[0]]
            if isinstance(key, (IndexDomain, IndexTransform)) or (
                hasattr(key, "_apply_to_transform") and not isinstance(key, DimSelection)
            ):
                return IndexTransform(self)[key].domain
            dims = resolve_dim_selection(key, self.labels)
            return IndexDomain.from_dims(self.dims[i] for i in dims)
        except InvalidArgumentError as exc:
            raise index_error(exc) from None

    def intersect(self, other: IndexDomain) -> IndexDomain:
        """Per-dimension intersection; labels must match where both are non-empty."""
        return self._combine(other, "intersect")

    def hull(self, other: IndexDomain) -> IndexDomain:
        """Per-dimension hull (minimum containing box)."""
        return self._combine(other, "hull")

    def _combine(self, other: IndexDomain, op: str) -> IndexDomain:
        if not isinstance(other, IndexDomain):
            raise TypeError(f"{op}() argument must be an IndexDomain, not {type(other).__name__}")
        if self.rank != other.rank:
            raise InvalidArgumentError(
                f"Cannot {op} index domain {self} with index domain {other}: Ranks do not match"
            )
        dims = []
        for i, (a, b) in enumerate(zip(self.dims, other.dims, strict=True)):
            try:
                dims.append(getattr(a, op)(b))
            except InvalidArgumentError as exc:
                raise InvalidArgumentError(
                    f"Cannot {op} index domain {self} with index domain {other}: "
                    f"Mismatch in dimension {i}: {exc}"
                ) from None
        return IndexDomain.from_dims(dims)

    @property
    def T(self) -> IndexDomain:
        """View with the dimension order reversed."""
        return IndexDomain.from_dims(reversed(self.dims))

    def transpose(self, axes: Any = None) -> IndexDomain:
        """Reorder dimensions: ``axes[i]`` names the existing dimension placed at ``i``.

        Raises:
          InvalidArgumentError: ``axes`` is not a permutation of all dimensions.
        """
        if axes is None:
            return self.T
        order = resolve_dim_selection(axes, self.labels, check_unique=False)
        if sorted(order) != list(range(self.rank)):
            raise InvalidArgumentError(
                f"Source dimension list {{{', '.join(map(str, order))}}} is not a valid dimension "
                f"permutation for rank {self.rank}"
            )
        return IndexDomain.from_dims(self.dims[i] for i in order)

    def to_json(self) -> dict[str, Any]:
        """The JSON representation (``inclusive_min``, ``exclusive_max``, ``labels``)."""
        from .json import domain_to_json

        return domain_to_json(self)

    def __str__(self) -> str:
        return "{ " + ", ".join(str(d) for d in self.dims) + " }"

    def __repr__(self) -> str:
        return str(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_domain_from_json, (self.to_json(),))

    def identity_transform(self) -> IndexTransform:
        """The identity transform over this domain."""
        from .transform import IndexTransform

        return IndexTransform(self)


def _domain_from_json(json: Any) -> IndexDomain:
    return IndexDomain(json=json)
