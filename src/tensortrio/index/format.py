"""TensorStore's multi-line string form of an ``IndexTransform``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .interval import c_escape
from .output_map import OutputIndexMethod, format_array

if TYPE_CHECKING:
    from .transform import IndexTransform

__all__ = ["format_transform"]


def format_transform(transform: IndexTransform) -> str:
    """Format as ``str(ts.IndexTransform)`` does (ends with a newline)."""
    lines = [
        f"Rank {transform.input_rank} -> {transform.output_rank} index space transform:",
        "  Input domain:",
    ]
    for i, dim in enumerate(transform.domain.dims):
        label = f' "{c_escape(dim.label)}"' if dim.label else ""
        lines.append(f"    {i}: {dim.bounds_str()}{label}")
    lines.append("  Output index maps:")
    for j, m in enumerate(transform.maps):
        if m.method is OutputIndexMethod.constant:
            lines.append(f"    out[{j}] = {m.offset}")
        elif m.method is OutputIndexMethod.single_input_dimension:
            lines.append(f"    out[{j}] = {m.offset} + {m.stride} * in[{m.input_dimension}]")
        else:
            assert m.index_array is not None
            assert m.index_range is not None
            lines.append(
                f"    out[{j}] = {m.offset} + {m.stride} * bounded({m.index_range.bounds_str()}, "
                "array(in)), where array ="
            )
            lines.append(f"      {format_array(m.index_array)}")
    return "\n".join(lines) + "\n"
