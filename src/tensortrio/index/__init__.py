"""Index space: ``IndexInterval`` (``Dim``), ``IndexDomain``, ``OutputIndexMap``, ``IndexTransform``.

Pure values, no I/O.  Contracts for the other index modules:

- A dimension expression is any object with ``_apply_to_transform(transform)
  -> IndexTransform``; ``IndexTransform[...]`` and ``IndexDomain[...]`` call it.
- ``indexing.apply_index_terms(transform, dims, terms, mode)`` applies NumPy-style
  index terms to a selected subset of input dimensions and returns the new
  transform plus the new positions of the selected dimensions (for ``ts.d[...]``).
- ``domain.resolve_dim_selection(selection, labels)`` resolves ints/labels/slices.
"""

from __future__ import annotations

from .domain import IndexDomain as IndexDomain
from .interval import INF as INF
from .interval import Dim as Dim
from .interval import IndexInterval as IndexInterval
from .interval import inf as inf
from .output_map import OutputIndexMap as OutputIndexMap
from .output_map import OutputIndexMaps as OutputIndexMaps
from .output_map import OutputIndexMethod as OutputIndexMethod
from .transform import IndexTransform as IndexTransform
