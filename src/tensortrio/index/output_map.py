"""Output index maps: how one output dimension of an ``IndexTransform`` is computed.

Three methods, as TensorStore:

- ``constant``: ``out = offset``
- ``single_input_dimension``: ``out = offset + stride * in[input_dimension]``
- ``array``: ``out = offset + stride * index_array[in]`` where the array values
  must lie in ``index_range``

Inside a transform an index array has the transform's input rank and, per
dimension, either the full input extent or extent 1 with a zero stride (it does
not depend on that input dimension): the compact view of an array broadcast
over the input domain.  ``IndexTransform.index_array_broadcast`` gives the
fully broadcast (zero-stride, read-only) view.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from typing import Any, overload

import attrs
import numpy as np
import numpy.typing as npt

from ..errors import InvalidArgumentError, OutOfRangeError
from .interval import INF, IndexInterval, to_index

__all__ = [
    "OutputIndexMap",
    "OutputIndexMaps",
    "OutputIndexMethod",
    "checked_index",
    "format_array",
    "to_index_array",
]

IndexArray = npt.NDArray[np.int64]

_UNBOUNDED = IndexInterval.make(-INF, INF + 1, False, False)


class OutputIndexMethod(enum.Enum):
    """The output index method of an ``OutputIndexMap``."""

    constant = 0
    single_input_dimension = 1
    array = 2


def to_index_array(value: Any, what: str = "index_array") -> IndexArray:
    """Convert an array-like of integers to a read-only int64 array.

    Raises:
      InvalidArgumentError: the values are not numbers.
    """
    array = np.asarray(value)
    # TensorStore converts bool and float arrays like NumPy's astype (truncating).
    if array.dtype.kind not in "iubf":
        raise InvalidArgumentError(f"{what} must contain integers, got dtype {array.dtype}")
    result = array.astype(np.int64, copy=True)
    result.flags.writeable = False
    return result


def format_array(array: npt.NDArray[Any]) -> str:
    """Format an array as TensorStore prints it: ``{{1, 2}, {3, 4}}``."""
    if array.ndim == 0:
        return str(int(array))
    if array.ndim == 1:
        return "{" + ", ".join(str(int(v)) for v in array.tolist()) + "}"
    return "{" + ", ".join(format_array(sub) for sub in array) + "}"


def _is_index(value: Any) -> bool:
    """An integer scalar (not an array that merely has ``__index__``)."""
    return hasattr(value, "__index__") and np.ndim(value) == 0


def checked_index(value: int, what: str) -> int:
    """``value``, an offset or stride just computed, if it fits in 64 bits (TensorStore's ``Index``).

    Raises:
        OutOfRangeError: ``Integer overflow computing <what>``.
    """
    if not -(2**63) <= value < 2**63:
        raise OutOfRangeError(f"Integer overflow computing {what}")
    return value


def _check_int(value: Any, what: str) -> int:
    return to_index(value, what)


@attrs.frozen(init=False, repr=False, eq=False)
class OutputIndexMap:
    """One output index map (``ts.OutputIndexMap``).

    Constructor forms: ``OutputIndexMap(offset=0)`` (constant),
    ``OutputIndexMap(input_dimension, offset=0, stride=1)`` and
    ``OutputIndexMap(index_array, offset=0, stride=1, index_range=Dim())``.
    """

    method: OutputIndexMethod
    offset: int
    stride: int | None
    input_dimension: int | None
    index_array: IndexArray | None
    index_range: IndexInterval | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names: tuple[str, ...]
        if "index_array" in kwargs or (args and not _is_index(args[0])):
            names = ("index_array", "offset", "stride", "index_range")
        elif "input_dimension" in kwargs or len(args) >= 2:
            names = ("input_dimension", "offset", "stride")
        else:
            names = ("offset",)
        if len(args) > len(names):
            raise TypeError(f"OutputIndexMap() takes at most {len(names)} positional arguments")
        params: dict[str, Any] = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in names:
                raise TypeError(f"OutputIndexMap() got an unexpected keyword argument {key!r}")
            if key in params:
                raise TypeError(f"OutputIndexMap() got multiple values for argument {key!r}")
            params[key] = value
        offset = _check_int(params.get("offset", 0), "offset")
        if names[0] == "offset":
            self.__attrs_init__(OutputIndexMethod.constant, offset, None, None, None, None)
            return
        stride = _check_int(params.get("stride", 1), "stride")
        if names[0] == "input_dimension":
            dim = _check_int(params["input_dimension"], "input_dimension")
            self.__attrs_init__(OutputIndexMethod.single_input_dimension, offset, stride, dim, None, None)
            return
        index_range = params.get("index_range", _UNBOUNDED)
        if not isinstance(index_range, IndexInterval):
            raise TypeError(f"index_range must be a Dim, got {index_range!r}")
        array = to_index_array(params["index_array"])
        self.__attrs_init__(OutputIndexMethod.array, offset, stride, None, array, index_range)

    @classmethod
    def constant(cls, offset: int) -> OutputIndexMap:
        """A constant map (internal fast path)."""
        self = object.__new__(cls)
        self.__attrs_init__(OutputIndexMethod.constant, offset, None, None, None, None)
        return self

    @classmethod
    def single(cls, input_dimension: int, offset: int = 0, stride: int = 1) -> OutputIndexMap:
        """A single-input-dimension map (internal fast path)."""
        self = object.__new__(cls)
        self.__attrs_init__(
            OutputIndexMethod.single_input_dimension, offset, stride, input_dimension, None, None
        )
        return self

    @classmethod
    def array(
        cls,
        index_array: IndexArray,
        offset: int = 0,
        stride: int = 1,
        index_range: IndexInterval = _UNBOUNDED,
    ) -> OutputIndexMap:
        """An index-array map from a read-only int64 array (internal fast path)."""
        self = object.__new__(cls)
        self.__attrs_init__(OutputIndexMethod.array, offset, stride, None, index_array, index_range)
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OutputIndexMap):
            return NotImplemented
        if (self.method, self.offset, self.stride, self.input_dimension, self.index_range) != (
            other.method, other.offset, other.stride, other.input_dimension, other.index_range
        ):
            return False
        if self.index_array is None or other.index_array is None:
            return self.index_array is other.index_array
        return bool(np.array_equal(self.index_array, other.index_array))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if self.method is OutputIndexMethod.constant:
            return f"OutputIndexMap(offset={self.offset})"
        if self.method is OutputIndexMethod.single_input_dimension:
            return (
                f"OutputIndexMap(offset={self.offset}, stride={self.stride}, "
                f"input_dimension={self.input_dimension})"
            )
        assert self.index_array is not None
        assert self.index_range is not None
        return (
            f"OutputIndexMap(offset={self.offset}, stride={self.stride}, "
            f"index_array={format_array(self.index_array)}, "
            f"index_range={self.index_range.bounds_str()})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_map,
            (self.method.value, self.offset, self.stride, self.input_dimension, self.index_array,
             self.index_range),
        )


def _rebuild_map(
    method: int,
    offset: int,
    stride: int | None,
    input_dimension: int | None,
    index_array: IndexArray | None,
    index_range: IndexInterval | None,
) -> OutputIndexMap:
    if method == OutputIndexMethod.constant.value:
        return OutputIndexMap.constant(offset)
    if method == OutputIndexMethod.single_input_dimension.value:
        assert input_dimension is not None
        assert stride is not None
        return OutputIndexMap.single(input_dimension, offset, stride)
    assert index_array is not None
    assert stride is not None
    assert index_range is not None
    return OutputIndexMap.array(to_index_array(index_array), offset, stride, index_range)


class OutputIndexMaps(Sequence[OutputIndexMap]):
    """Read-only view of a transform's output index maps (``transform.output``)."""

    __slots__ = ("_maps",)

    def __init__(self, maps: Sequence[OutputIndexMap]) -> None:
        self._maps = tuple(maps)

    @property
    def rank(self) -> int:
        """The output rank."""
        return len(self._maps)

    def __len__(self) -> int:
        return len(self._maps)

    @overload
    def __getitem__(self, index: int) -> OutputIndexMap: ...

    @overload
    def __getitem__(self, index: slice) -> list[OutputIndexMap]: ...

    def __getitem__(self, index: int | slice) -> OutputIndexMap | list[OutputIndexMap]:
        if isinstance(index, slice):
            from .domain import resolve_dim_selection

            # Dimension-range rules, as TensorStore: bounds outside the rank are errors.
            return [self._maps[j] for j in resolve_dim_selection(index, [""] * len(self._maps))]
        i = to_index(index, "output dimension")
        rank = len(self._maps)
        if not -rank <= i < rank:
            raise IndexError(f"Index {i} is outside valid range [{-rank}, {rank})")
        return self._maps[i]

    def __iter__(self) -> Iterator[OutputIndexMap]:
        return iter(self._maps)

    def __eq__(self, other: object) -> bool:
        try:
            others = list(other)  # type: ignore[call-overload]
        except TypeError:
            return NotImplemented
        return len(others) == len(self._maps) and all(
            a == b for a, b in zip(self._maps, others, strict=True)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "[" + ", ".join(repr(m) for m in self._maps) + "]"

