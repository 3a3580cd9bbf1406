"""New attributes.json as tensorstore writes it, for a table of schema/metadata constraints."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

import tensortrio as ts

if TYPE_CHECKING:
    from pathlib import Path

tensorstore = pytest.importorskip("tensorstore")

_GZIP = {"driver": "n5", "compression": {"type": "gzip"}}
CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("default", {}, {"dtype": "uint16", "shape": [2048, 2048]}),
    ("uint8_bitshuffle", {}, {"dtype": "uint8", "shape": [100, 100, 100]}),
    ("seed_layout", {}, {"dtype": "float32", "shape": [1000, 2000, 3000], "chunk_layout": {"chunk_shape": [10, None, None], "chunk_aspect_ratio": [None, 2, 1], "chunk_elements": 10000000}}),
    ("block_size", {"blockSize": [3, 4]}, {"dtype": "int64", "shape": [10, 10]}),
    ("metadata_only", {"dimensions": [7, 9], "blockSize": [2, 5], "dataType": "float64", "compression": {"type": "raw"}}, {}),
    ("gzip_codec", {}, {"dtype": "int32", "shape": [10], "codec": _GZIP}),
    ("zlib", {"compression": {"type": "gzip", "level": 9, "useZlib": True}}, {"dtype": "int32", "shape": [10]}),
    ("bzip2", {"compression": {"type": "bzip2", "blockSize": 3}}, {"dtype": "int32", "shape": [10]}),
    ("xz", {"compression": {"type": "xz"}}, {"dtype": "uint32", "shape": [10]}),
    ("zstd", {"compression": {"type": "zstd", "level": -5}}, {"dtype": "uint64", "shape": [10]}),
    ("blosc_zstd", {"compression": {"type": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2}}, {"dtype": "int8", "shape": [10]}),
    ("axes", {"axes": ["x", "y"]}, {"dtype": "uint8", "shape": [3, 4]}),
    ("labels", {}, {"dtype": "uint8", "domain": {"labels": ["x", ""], "shape": [3, 4]}}),
    ("units", {"units": ["nm", "s"]}, {"dtype": "uint8", "shape": [3, 4]}),
    ("schema_units", {}, {"dtype": "float64", "shape": [5, 7], "dimension_units": ["4nm", None]}),
    ("resolution_and_units", {"resolution": [2, 3]}, {"dtype": "uint8", "shape": [4, 4], "dimension_units": [None, "3s"]}),
    ("extra_attributes", {"pixelResolution": {"unit": "um", "dimensions": [1, 1]}, "downsamplingFactors": [1, 1]}, {"dtype": "uint16", "shape": [8, 8]}),
    ("rank0", {}, {"dtype": "uint8", "shape": []}),
    ("fortran_order_ok", {}, {"dtype": "uint8", "shape": [4, 4], "chunk_layout": {"inner_order": [1, 0]}}),
]


def _open(module: Any, path: Path, metadata: dict[str, Any], kwargs: dict[str, Any]) -> None:
    kw = dict(kwargs)
    if "chunk_layout" in kw:
        kw["chunk_layout"] = module.ChunkLayout(**kw["chunk_layout"])
    if "codec" in kw:
        kw["codec"] = module.CodecSpec(kw["codec"])
    if "domain" in kw:
        kw["domain"] = module.IndexDomain(**kw["domain"])
    spec = {"driver": "n5", "kvstore": {"driver": "file", "path": str(path)}, "metadata": metadata}
    module.open(spec, create=True, **kw).result()


@pytest.mark.parametrize(("name", "metadata", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_creation_matches_tensorstore(
    tmp_path: Path, name: str, metadata: dict[str, Any], kwargs: dict[str, Any]
) -> None:
    _open(tensorstore, tmp_path / "theirs", metadata, kwargs)
    _open(ts, tmp_path / "mine", metadata, kwargs)
    theirs = (tmp_path / "theirs" / "attributes.json").read_text()
    mine = (tmp_path / "mine" / "attributes.json").read_text()
    assert json.loads(mine) == json.loads(theirs)
    assert mine == theirs  # byte for byte: compact, keys sorted


@pytest.mark.parametrize("index", [2, 11, 14, 16, 17])
def test_spec_and_schema_match_tensorstore(tmp_path: Path, index: int) -> None:
    _, metadata, kwargs = CASES[index]
    _open(tensorstore, tmp_path / "a", metadata, kwargs)
    kvstore = {"driver": "file", "path": str(tmp_path / "a") + "/"}
    mine = ts.open({"driver": "n5", "kvstore": kvstore}).result()
    theirs = tensorstore.open({"driver": "n5", "kvstore": kvstore}).result()
    assert mine.spec().to_json() == theirs.spec().to_json()
    assert mine.schema.to_json() == theirs.schema.to_json()
    assert mine.spec(minimal_spec=True).to_json() == theirs.spec(minimal_spec=True).to_json()
    assert mine.domain.labels == tuple(theirs.domain.labels)
    assert [str(u) if u else None for u in mine.dimension_units] == [
        str(u) if u else None for u in theirs.dimension_units
    ]


# Conflicts between the spec's "metadata" and its schema are found when the spec is parsed.
_CONFLICT = r"^\"n5\" driver members conflict with the spec's constraints: "
_CREATE = r'^n5: Cannot create using specified "metadata" and schema: '
_ERRORS: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    ({}, {"shape": [4]}, _CREATE + r"dtype must be specified$"),
    ({}, {"dtype": "uint8"}, _CREATE + r"domain must be specified$"),
    ({}, {"dtype": "bool", "shape": [4]}, _CREATE + r"bool data type is not one of the supported data types: uint8, uint16, uint32, uint64, int8, int16, int32, int64, float32, float64$"),
    ({}, {"dtype": "uint8", "shape": [4], "fill_value": 3}, _CREATE + r"fill_value not supported by N5 format$"),
    ({"blockSize": [70000, 70000]}, {"dtype": "uint8", "shape": [100000, 100000]}, _CREATE + r'"blockSize" of \{70000, 70000\} with data type of uint8 exceeds maximum chunk size of 2GB$'),
    ({"dimensions": [4, 4]}, {"dtype": "uint8", "shape": [4, 5]}, _CONFLICT + r"Cannot merge index domain \{ \[0, 4\), \[0, 5\) \} with index domain \{ \[0, 4\*\), \[0, 4\*\) \}: Mismatch in dimension 1: Upper bounds do not match$"),
    ({"compression": {"type": "raw"}}, {"dtype": "uint8", "shape": [4], "codec": _GZIP}, _CONFLICT + r'Cannot merge codec spec \{"compression":\{"level":-1,"type":"gzip","useZlib":false\},"driver":"n5"\} with \{"compression":\{"type":"raw"\},"driver":"n5"\}: "compression" does not match$'),
    ({}, {"dtype": "uint8", "shape": [4, 4], "chunk_layout": {"inner_order": [0, 1]}}, _CREATE + r"Error setting inner_order: New hard constraint \(\{1, 0\}\) does not match existing hard constraint \(\{0, 1\}\)$"),
    ({"units": ["nm", "s"]}, {"dtype": "uint8", "shape": [4, 4], "dimension_units": ["4um", None]}, _CONFLICT + r'Cannot merge dimension units \["nm", "s"\] and \["4 um", null\]$'),
    ({"resolution": [2, 3]}, {"dtype": "uint8", "shape": [4, 4], "dimension_units": ["4um", None]}, _CREATE + r'"resolution" from metadata \{2, 3\} does not match dimension units from schema \["4 um", null\]$'),
    ({"dataType": "uint16"}, {"dtype": "uint8", "shape": [4]}, _CONFLICT + r"Specified dtype \(uint16\) does not match existing value \(uint8\)$"),
]


@pytest.mark.parametrize(("metadata", "kwargs", "message"), _ERRORS)
def test_create_errors(metadata: dict[str, Any], kwargs: dict[str, Any], message: str) -> None:
    kw = dict(kwargs)
    if "chunk_layout" in kw:
        kw["chunk_layout"] = ts.ChunkLayout(**kw["chunk_layout"])
    if "codec" in kw:
        kw["codec"] = ts.CodecSpec(kw["codec"])
    spec = {"driver": "n5", "kvstore": {"driver": "memory"}, "metadata": metadata}
    with pytest.raises(ValueError, match=message):
        ts.open(spec, create=True, **kw).result()
