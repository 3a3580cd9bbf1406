"""zarr3 codec constraints as given in a spec: what they say, merging them, and matching an array.

A ``codecs`` list in a spec's ``metadata`` or in a ``ts.CodecSpec`` constrains
only what it gives, as in TensorStore: the codecs in order, and of each the
configuration members written out. ``"gzip"`` matches a gzip codec of any
level, and a list without an array -> bytes codec matches any (the chain is
completed with ``bytes``). The constraint is kept as given (shown so by
``to_json``); creating an array resolves it with the defaults.
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidArgumentError
from ...schema.chunk_json import json_text
from .codecs import parse_codec_chain

__all__ = ["codecs_json_shown", "codecs_satisfy", "given_codecs", "merge_given_codecs"]

_NESTED = ("codecs", "index_codecs")


def codecs_json_shown(codecs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Codec JSON as TensorStore shows it in a spec or schema: ``index_location`` always present."""
    return _index_locations(codecs, shown=True)


def codecs_json_stored(codecs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Codec JSON as TensorStore stores it in ``zarr.json``: the default ``index_location`` left out."""
    return _index_locations(codecs, shown=False)


def _index_locations(codecs: list[dict[str, Any]], *, shown: bool) -> list[dict[str, Any]]:
    out = []
    for codec in codecs:
        if codec.get("name") == "sharding_indexed":
            config = dict(codec["configuration"])
            if shown:
                config["index_location"] = config.get("index_location", "end")
            elif config.get("index_location") == "end":
                del config["index_location"]
            for member in ("codecs", "index_codecs"):
                if member in config:
                    config[member] = _index_locations(config[member], shown=shown)
            codec = {**codec, "configuration": dict(sorted(config.items()))}
        out.append(codec)
    return out


def given_codecs(json: Any) -> list[dict[str, Any]]:
    """A (validated) ``codecs`` list as given: names as ``{"name": ...}``, configuration as written.

    Raises:
        ValueError: not a valid codec chain (as ``parse_codec_chain`` says).
    """
    parse_codec_chain(json)
    return _given(json)


def _given(json: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in json:
        if isinstance(item, str):
            out.append({"name": item})
            continue
        codec: dict[str, Any] = {"name": item["name"]}
        if "configuration" in item:
            config = dict(item["configuration"])
            if item["name"] == "sharding_indexed":
                for member in _NESTED:
                    if member in config:
                        config[member] = _given(config[member])
            codec["configuration"] = config
        out.append(codec)
    return out


def _complete(given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``given`` with ``bytes`` where it leaves the array -> bytes codec out."""
    chain = parse_codec_chain(given)
    if chain.array_to_bytes is not None:
        return given
    at = len(chain.array_to_array)
    return [*given[:at], {"name": "bytes"}, *given[at:]]


def codecs_satisfy(given: list[dict[str, Any]], stored: list[dict[str, Any]]) -> bool:
    """Whether the stored chain (its JSON with defaults shown) has what ``given`` says."""
    given = _complete(given)
    if len(given) != len(stored):
        return False
    for want, have in zip(given, stored, strict=True):
        if want["name"] != have["name"]:
            return False
        actual = have.get("configuration", {})
        for key, value in want.get("configuration", {}).items():
            if want["name"] == "sharding_indexed" and key in _NESTED:
                if not codecs_satisfy(value, actual.get(key, [])):
                    return False
            elif actual.get(key) != value:
                return False
    return True


def merge_given_codecs(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One constraint that says what ``a`` and ``b`` both say (their members together).

    Raises:
        InvalidArgumentError: they name other codecs, or give a member different values.
    """
    merged = _merge(a, b)
    if merged is None:
        raise InvalidArgumentError(
            f"Cannot merge zarr3 codec constraints {json_text(a)} and {json_text(b)}"
        )
    return merged


def _merge(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    if len(a) != len(b):
        a, b = _complete(a), _complete(b)
        if len(a) != len(b):
            return None
    out: list[dict[str, Any]] = []
    for x, y in zip(a, b, strict=True):
        if x["name"] != y["name"]:
            return None
        config = dict(x.get("configuration", {}))
        for key, value in y.get("configuration", {}).items():
            if key not in config:
                config[key] = value
            elif x["name"] == "sharding_indexed" and key in _NESTED:
                nested = _merge(config[key], value)
                if nested is None:
                    return None
                config[key] = nested
            elif config[key] != value:
                return None
        codec: dict[str, Any] = {"name": x["name"]}
        if config or "configuration" in x or "configuration" in y:
            codec["configuration"] = config
        out.append(codec)
    return out
