"""Dimension units of a zarr v3 array: ``attributes.dimension_units``, as TensorStore stores them.

TensorStore keeps units in the user attributes as one string (``"4 nm"``,
``"s"``) or ``null`` per dimension; ``ts.Unit`` parses and formats them.
"""

from __future__ import annotations

import json as _json
from typing import Any

from ...errors import InvalidArgumentError
from ...schema.chunk_json import json_text
from ...schema.unit import Unit

__all__ = ["units_from_attributes", "units_into_attributes"]

Units = tuple[Unit | None, ...]


def units_from_attributes(attributes: str | None, rank: int | None) -> Units | None:
    """The units in ``attributes`` (sorted JSON text), or None when absent.

    Raises:
        ValueError: not a list of strings/nulls of length ``rank`` (names the member).
    """
    if attributes is None:
        return None
    json = _json.loads(attributes)
    if "dimension_units" not in json or json["dimension_units"] is None:
        return None
    value = json["dimension_units"]
    prefix = 'Error parsing object member "dimension_units": '
    if not isinstance(value, list):
        raise InvalidArgumentError(f"{prefix}Expected array, but received: {json_text(value)}")
    if rank is not None and len(value) != rank:
        raise InvalidArgumentError(f"{prefix}Array has length {len(value)} but should have length {rank}")
    units: list[Unit | None] = []
    for i, item in enumerate(value):
        if item is not None and not isinstance(item, str):
            raise InvalidArgumentError(
                f"{prefix}Error parsing value at position {i}: Expected string or null, but "
                f"received: {json_text(item)}"
            )
        units.append(None if item is None else Unit(item))
    return tuple(units)


def units_into_attributes(attributes: str | None, units: Units) -> str:
    """``attributes`` (sorted JSON text or None) with ``dimension_units`` set to ``units``."""
    json: dict[str, Any] = {} if attributes is None else _json.loads(attributes)
    json["dimension_units"] = [None if u is None else str(u) for u in units]
    return _json.dumps(json, sort_keys=True)
