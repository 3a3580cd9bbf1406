"""``tensortrio info``: an array's spec, schema, chunk layout, codec and stored chunks.

Stored chunks are counted by listing the kvstore keys under the array's path
(zarr3 ``c/...`` keys, zarr v2 ``0.0``-style keys): every key except the
format's metadata keys. One stored key is one shard for a sharded zarr3
array, so the count is compared with the number of cells of the write-chunk
(shard) grid.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..drivers.kvstore import KvStore
    from .target import Target

__all__ = ["METADATA_KEYS", "describe", "info"]

METADATA_KEYS = frozenset(
    {"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata", "attributes.json"}
)


def _json(value: Any) -> Any:
    return None if value is None else value.to_json()


def _schema_json(schema: Any) -> dict[str, Any]:
    """The schema's JSON; a char or byte fill value, which has none, as the repr of its bytes."""
    try:
        json: dict[str, Any] = schema.to_json()
    except ValueError:
        json = schema.constraints.to_json()
        json["fill_value"] = repr(np.asarray(schema.fill_value).tobytes())
    return json


def _grid_cells(shape: tuple[int, ...], chunk: tuple[int | None, ...]) -> int:
    return math.prod(
        -(-extent // (size or extent or 1)) for extent, size in zip(shape, chunk, strict=True)
    )


async def info(target: Target) -> dict[str, Any]:
    """Opens TARGET and gathers what ``info`` prints, as JSON-able values."""
    store = await target.open_existing(read=True)
    layout = store.chunk_layout
    write_chunk = tuple(layout.write_chunk.shape or store.shape)
    read_chunk = tuple(layout.read_chunk.shape or write_chunk)
    report: dict[str, Any] = {
        "spec": store.spec().to_json(),
        "schema": _schema_json(store.schema),
        "chunk_layout": layout.to_json(),
        "codec": _json(store.codec),
        "dtype": str(store.dtype.name),
        "shape": list(store.shape),
        # Text and other object elements have no fixed size: None (shown as variable).
        "nbytes": None
        if store.dtype.numpy_dtype.kind == "O"
        else store.size * store.dtype.numpy_dtype.itemsize,
        "read_chunk_shape": list(read_chunk),
        "write_chunk_shape": list(write_chunk),
        "grid_cells": _grid_cells(tuple(store.shape), write_chunk),
    }
    kvstore = store.kvstore
    if kvstore is not None:
        keys = [key.decode("utf-8", "replace") for key in await kvstore.list()]
        chunk_keys = [key for key in keys if key.rsplit("/", 1)[-1] not in METADATA_KEYS]
        report["kvstore"] = _kvstore_name(kvstore)
        report["stored_chunks"] = len(chunk_keys)
        report["chunk_key_examples"] = chunk_keys[:3]
    return report


def _kvstore_name(kvstore: KvStore) -> str:
    """The kvstore's URL, or its spec JSON where it has none (an s3 store with an ``endpoint``)."""
    try:
        return kvstore.url
    except ValueError:
        return json.dumps(kvstore.spec().to_json(), sort_keys=True)


def _size_text(nbytes: int | None) -> str:
    return "variable-length elements" if nbytes is None else f"{nbytes / 1e6:.1f} MB"


def describe(report: dict[str, Any]) -> str:
    """The text ``info`` prints for ``report``."""
    sharded = report["read_chunk_shape"] != report["write_chunk_shape"]
    unit = "shards" if sharded else "chunks"
    lines = [
        f"driver:      {report['spec'].get('driver')}",
        f"kvstore:     {report.get('kvstore', '(none)')}",
        f"dtype:       {report['dtype']}",
        f"shape:       {report['shape']}  ({_size_text(report['nbytes'])})",
        f"chunk:       {report['read_chunk_shape']}"
        + (f"  in shards of {report['write_chunk_shape']}" if sharded else ""),
    ]
    if "stored_chunks" in report:
        examples = ", ".join(report["chunk_key_examples"])
        lines.append(
            f"stored:      {report['stored_chunks']} of {report['grid_cells']} {unit}"
            + (f"  (keys like {examples})" if examples else "")
        )
    for title in ("codec", "chunk_layout", "schema", "spec"):
        lines.append(f"{title}:")
        text = json.dumps(report[title], indent=2, sort_keys=True)
        lines.extend("  " + line for line in text.splitlines())
    return "\n".join(lines)
