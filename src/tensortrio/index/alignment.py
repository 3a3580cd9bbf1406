"""Aligning a source domain to a target domain, as TensorStore aligns a write or copy source.

TensorStore's ``AlignDimensionsTo``: a subset of the source's dimensions is
matched to the target's, then checked.

- If either domain is entirely unlabeled, the last ``min(source rank,
  target rank)`` dimensions of each match in order (NumPy's broadcasting).
- Otherwise dimensions with equal labels match; the unlabeled ones of each
  then match right to left as above; other labeled dimensions stay unmatched.
- A match between dimensions of different sizes is dropped if the source
  dimension has size 1 (it broadcasts) and is an error otherwise.
- An unmatched source dimension must have size 1; unmatched target
  dimensions are broadcast over.

Matched dimensions are translated: only their sizes need agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InvalidArgumentError
from .interval import c_escape

if TYPE_CHECKING:
    from .domain import IndexDomain

__all__ = ["align_dimensions"]


def align_dimensions(source: IndexDomain, target: IndexDomain) -> list[int]:
    """For each source dimension, the target dimension it matches, or -1 (it broadcasts).

    Raises:
        InvalidArgumentError: ``"Error aligning dimensions: ..."``, naming each
            source dimension that cannot be aligned, with its bounds.
    """
    source_labels, target_labels = list(source.labels), list(target.labels)
    matches = [-1] * source.rank
    if any(source_labels) and any(target_labels):
        by_label = {label: j for j, label in enumerate(target_labels) if label}
        for i, label in enumerate(source_labels):
            if label:
                matches[i] = by_label.get(label, -1)
        free_source = [i for i, label in enumerate(source_labels) if not label]
        free_target = [j for j, label in enumerate(target_labels) if not label]
    else:
        free_source, free_target = list(range(source.rank)), list(range(target.rank))
    common = min(len(free_source), len(free_target))
    for k in range(1, common + 1):
        matches[free_source[-k]] = free_target[-k]
    errors: list[str] = []
    source_shape, target_shape = source.shape, target.shape
    for i, j in enumerate(matches):
        size = source_shape[i]
        if j >= 0 and size != target_shape[j]:
            if size != 1:
                errors.append(
                    f"source dimension {_describe(source, i)} mismatch with target dimension "
                    f"{_describe(target, j)}"
                )
            matches[i] = -1
        elif j < 0 and size != 1:
            errors.append(f"unmatched source dimension {_describe(source, i)} does not have a size of 1")
    if errors:
        raise InvalidArgumentError("Error aligning dimensions: " + ", ".join(errors))
    return matches


def _describe(domain: IndexDomain, i: int) -> str:
    # As TensorStore, which aligns resolved domains: bounds without implicit markers.
    dim = domain[i]
    label = f'"{c_escape(dim.label)}": ' if dim.label else ""
    return f"{i} {label}[{dim.inclusive_min}, {dim.exclusive_max})"
