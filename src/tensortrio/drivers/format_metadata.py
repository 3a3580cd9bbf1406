"""What the zarr, zarr3 and n5 metadata share: JSON bytes, resizing, the domain a shape implies, schema checks.

Each format's metadata module keeps its own members and messages; these are the
steps whose logic and TensorStore messages are the same for all of them.
"""

from __future__ import annotations

import json as _json
import math
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import DataLossError, FailedPreconditionError, InvalidArgumentError
from ..index.domain import IndexDomain
from ..index.interval import INF, IndexInterval
from ..schema.chunk_json import json_text
from ..schema.schema import SchemaConstraints, merge_domains

if TYPE_CHECKING:
    from collections.abc import Callable, Container, Iterable, Mapping, Sequence


__all__ = [
    "add_unknown_members",
    "check_schema_rank_dtype_domain",
    "decode_json_metadata",
    "encode_json_metadata",
    "metadata_domain",
    "metadata_mismatch",
    "resized_shape",
    "unknown_members",
]

MetadataT = TypeVar("MetadataT")


def resized_shape(
    driver_id: str, new_shape: Sequence[int], rank: int, max_index: int
) -> tuple[int, ...]:
    """``new_shape`` as a tuple, checked for a format's ``resize``.

    Raises:
        ValueError: ``<driver_id>: new shape [...] must have rank <rank>``, or
            ``... has an invalid size`` (outside ``[0, max_index]``).
    """
    shape = tuple(int(n) for n in new_shape)
    if len(shape) != rank:
        raise InvalidArgumentError(f"{driver_id}: new shape {list(shape)} must have rank {rank}")
    if any(not 0 <= n <= max_index for n in shape):
        raise InvalidArgumentError(f"{driver_id}: new shape {list(shape)} has an invalid size")
    return shape


def metadata_domain(
    rank: int, shape: Sequence[int] | None, labels: Sequence[str | None] | None = None
) -> IndexDomain:
    """``[0, shape)`` with implicit upper bounds (``[0, +inf)`` if the shape is unknown), labelled."""
    uppers = shape if shape is not None else (INF + 1,) * rank
    names = labels if labels is not None else ("",) * rank
    return IndexDomain.from_dims(
        IndexInterval.make(0, upper, False, True, label or "")
        for upper, label in zip(uppers, names, strict=True)
    )


def check_schema_rank_dtype_domain(
    constraints: SchemaConstraints, rank: int, dtype_name: str, domain: IndexDomain
) -> None:
    """Check stored metadata's rank, dtype and domain against schema constraints (zarr's messages).

    Raises:
        FailedPreconditionError: rank or dtype differ.
        ValueError: the domains do not merge.
    """
    if constraints.rank is not None and constraints.rank != rank:
        raise FailedPreconditionError(
            f"Rank is {rank}, but schema specifies rank of {constraints.rank}"
        )
    if constraints.dtype is not None and constraints.dtype.name != dtype_name:
        raise FailedPreconditionError(
            f"dtype from metadata ({dtype_name}) does not match dtype in schema "
            f"({constraints.dtype.name})"
        )
    if constraints.domain is not None:
        try:
            merge_domains(domain, constraints.domain)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(
                f"domain from metadata does not match domain in schema: {exc}"
            ) from None


def decode_json_metadata(data: bytes, parse: Callable[[Any], MetadataT]) -> MetadataT:
    """Stored metadata bytes parsed as JSON, then by the format's ``parse``.

    Raises:
        DataLossError: ``Invalid JSON``, or ``parse``'s message (naming the member).
    """
    try:
        json = _json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise DataLossError("Invalid JSON") from None
    try:
        return parse(json)
    except InvalidArgumentError as exc:
        raise DataLossError(str(exc)) from None


def encode_json_metadata(json: dict[str, Any], *, sort_keys: bool = False) -> bytes:
    """Compact UTF-8 JSON, as TensorStore writes metadata (``sort_keys`` sorts nested objects too).

    Text is written as it is (``"é"``, not ``"\\u00e9"``), as TensorStore writes it.

    Raises:
        InvalidArgumentError: a NaN or infinite number (JSON has none), named by its member.
    """
    try:
        text = _json.dumps(
            json, separators=(",", ":"), sort_keys=sort_keys, allow_nan=False, ensure_ascii=False
        )
    except ValueError:
        path = _non_finite_path(json) or ["?", float("nan")]
        member = ".".join(map(str, path[:-1]))
        raise InvalidArgumentError(
            f'Error writing metadata: "{member}" is {path[-1]}, which JSON cannot hold'
        ) from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8: keep it escaped
        return _json.dumps(json, separators=(",", ":"), sort_keys=sort_keys, allow_nan=False).encode()


def _non_finite_path(json: Any) -> list[Any] | None:
    """Where in ``json`` a NaN or infinity is: member names and array positions, then the value."""
    items: Iterable[tuple[Any, Any]] = ()
    if isinstance(json, dict):
        items = json.items()
    elif isinstance(json, list | tuple):
        items = enumerate(json)
    elif isinstance(json, float) and not math.isfinite(json):
        return [json]
    for key, value in items:
        found = _non_finite_path(value)
        if found is not None:
            return [key, *found]
    return None


def unknown_members(json: Mapping[str, Any], known: Container[str]) -> tuple[tuple[str, str], ...]:
    """The members of ``json`` outside ``known`` as sorted ``(key, JSON text)`` pairs.

    Kept as text so the frozen metadata value stays hashable; :func:`add_unknown_members`
    puts them back.
    """
    return tuple(sorted((k, _json.dumps(v)) for k, v in json.items() if k not in known))


def add_unknown_members(json: dict[str, Any], members: tuple[tuple[str, str], ...]) -> None:
    """Put members kept by :func:`unknown_members` back into ``json``."""
    for key, text in members:
        json[key] = _json.loads(text)


def metadata_mismatch(name: str, expected: Any, actual: Any) -> FailedPreconditionError:
    """Stored metadata member ``name`` differs from the spec's: TensorStore's message."""
    return FailedPreconditionError(
        f'Expected "{name}" of {json_text(expected)} but received: {json_text(actual)}'
    )
