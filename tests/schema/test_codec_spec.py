"""ts.CodecSpec and the codec driver registry (messages as tensorstore's)."""

from __future__ import annotations

import pickle
import re
from typing import TYPE_CHECKING, Any

import pytest

import tensortrio as ts
from tensortrio.schema import codec_spec as codec_module
from tensortrio.schema.codec_spec import CodecDriver, CodecSpec, register_codec_driver

if TYPE_CHECKING:
    from collections.abc import Iterator


def _toy_from_json(members: dict[str, Any]) -> dict[str, Any]:
    """A zarr-like toy: "compressor" (object or null) and "filters" (default null)."""
    extra = sorted(set(members) - {"compressor", "filters"})
    if extra:
        raise ValueError(f'Object includes extra members: "{extra[0]}"')
    compressor = members.get("compressor")
    if compressor is not None and not isinstance(compressor, dict):
        raise ValueError('Error parsing object member "compressor": Expected object')
    out: dict[str, Any] = {"filters": members.get("filters")}
    if "compressor" in members:
        out["compressor"] = compressor
    return out


@pytest.fixture(autouse=True)
def toy_driver() -> Iterator[None]:
    saved = dict(codec_module._DRIVERS)
    register_codec_driver(CodecDriver("toy", from_json=_toy_from_json))
    yield
    codec_module._DRIVERS.clear()
    codec_module._DRIVERS.update(saved)


def test_round_trip_repr_pickle() -> None:
    spec = CodecSpec({"driver": "toy", "compressor": None})
    assert spec.driver == "toy"
    assert spec.to_json() == {"compressor": None, "driver": "toy", "filters": None}
    assert repr(spec) == "CodecSpec({'compressor': None, 'driver': 'toy', 'filters': None})"
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert CodecSpec(json={"driver": "toy"}).to_json() == {"driver": "toy", "filters": None}
    assert spec != CodecSpec({"driver": "toy"})
    assert len({spec, CodecSpec({"driver": "toy", "compressor": None})}) == 1


@pytest.mark.parametrize(
    ("json", "message"),
    [
        ({"driver": "foo"}, 'Error parsing object member "driver": "foo" is not registered'),
        ({}, 'Error parsing object member "driver": Expected string, but member is missing'),
        ({"driver": 5}, 'Error parsing object member "driver": Expected string, but received: 5'),
        (5, "Expected object, but received: 5"),
        (None, "Expected object, but received: null"),
        ({"driver": "toy", "x": 1}, 'Object includes extra members: "x"'),
    ],
)
def test_errors(json: Any, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        CodecSpec(json)


def test_merge() -> None:
    a = CodecSpec({"driver": "toy", "compressor": {"id": "zlib"}})
    assert a.merge(CodecSpec({"driver": "toy"})) == a
    with pytest.raises(
        ValueError,
        match=r'^Cannot merge codec member "compressor": \{"id":"zlib"\} does not match null$',
    ):
        a.merge(CodecSpec({"driver": "toy", "compressor": None}))
    register_codec_driver(CodecDriver("toy2", from_json=_toy_from_json))
    with pytest.raises(
        ValueError,
        match=r'^Cannot merge codec spec with driver "toy" and codec spec with driver "toy2"$',
    ):
        a.merge(CodecSpec({"driver": "toy2"}))


def test_registry_refuses_a_second_driver_of_the_same_name() -> None:
    register_codec_driver(CodecDriver("toy", from_json=_toy_from_json))  # same: fine
    with pytest.raises(ValueError, match=r'^codec driver "toy" is already registered$'):
        register_codec_driver(CodecDriver("toy", from_json=lambda members: members))


def test_exported() -> None:
    assert ts.CodecSpec is CodecSpec
