"""Index space: ``IndexInterval`` (``Dim``), ``IndexDomain``, ``OutputIndexMap``, ``IndexTransform``.

Pure values, no I/O.  Contracts for the other index modules:

- A dimension expression is any object with ``_apply_to_transform(transform)
  -> IndexTransform``; ``IndexTransform[...]`` and ``IndexDomain[...]`` call it.
- ``indexing.apply_index_terms(transform, selection, key, mode)`` applies NumPy-style
  index terms to a selected subset of input dimensions and returns the new
  transform plus the new positions of the selected dimensions (for ``ts.d[...]``).
- ``apply.transform_array(transform, array, origin=None)`` views a NumPy array
  through a transform (the array spans the transform's output space).
- ``domain.resolve_dim_selection(selection, labels)`` resolves ints/labels/slices.
"""

from __future__ import annotations

from .domain import IndexDomain as IndexDomain
from .indexing import newaxis as newaxis
from .interval import INF as INF
from .interval import Dim as Dim
from .interval import IndexInterval as IndexInterval
from .interval import inf as inf
from .output_map import OutputIndexMap as OutputIndexMap
from .output_map import OutputIndexMaps as OutputIndexMaps
from .output_map import OutputIndexMethod as OutputIndexMethod
from .transform import IndexTransform as IndexTransform
