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
    """One constraint that says what ``a`` and ``b`` both say, merged as TensorStore merges codec specs.

    Codec by codec, members given on one side only are taken; one side may
    leave out the array -> bytes codec, or have one more ``transpose`` at the
    end of its array -> array codecs; a chain that is only a sharding codec
    takes a chain of fewer sharding levels as its inner chunks' codecs.

    Raises:
        InvalidArgumentError: they name other codecs, another number of
            bytes -> bytes codecs, or give a member different values.
    """
    try:
        return _merge(a, b)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(
            f"Cannot merge zarr3 codec constraints {json_text(a)} and {json_text(b)}: {exc}"
        ) from None


def _split(
    chain: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, list[dict[str, Any]]]:
    """``chain``'s array -> array codecs, array -> bytes codec (None: left out), bytes -> bytes codecs."""
    parsed = parse_codec_chain(chain)
    at = len(parsed.array_to_array)
    if parsed.array_to_bytes is None:
        return chain[:at], None, chain[at:]
    return chain[:at], chain[at], chain[at + 1 :]


def _sharding_height(chain: list[dict[str, Any]] | None) -> int:
    if chain is None:
        return 0
    codec = _split(chain)[1]
    if codec is None or codec["name"] != "sharding_indexed":
        return 0
    return 1 + _sharding_height(codec.get("configuration", {}).get("codecs"))


def _merge(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    a_arrays, a_codec, a_bytes = _split(a)
    b_arrays, b_codec, b_bytes = _split(b)
    a_height, b_height = _sharding_height(a), _sharding_height(b)
    if a_height > b_height and not a_arrays and not a_bytes:
        assert a_codec is not None
        return [_with_inner_codecs(a_codec, b)]
    if a_height < b_height and not b_arrays and not b_bytes:
        assert b_codec is not None
        return [_with_inner_codecs(b_codec, a)]
    arrays = _merge_array_codecs(a_arrays, b_arrays)
    if a_codec is None or b_codec is None:
        codec = a_codec or b_codec
    else:
        codec = _merge_codec(a_codec, b_codec)
    if len(a_bytes) != len(b_bytes):
        raise InvalidArgumentError(
            f"Mismatch in number of bytes -> bytes codecs ({len(a_bytes)} vs {len(b_bytes)})"
        )
    return [
        *arrays,
        *([] if codec is None else [codec]),
        *(_merge_codec(x, y) for x, y in zip(a_bytes, b_bytes, strict=True)),
    ]


def _merge_array_codecs(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Array -> array codecs pairwise; either side may have one more ``transpose`` at the end."""
    if len(b) == len(a) + 1 and b[-1]["name"] == "transpose":
        return [*_merge_array_codecs(a, b[:-1]), b[-1]]
    if len(a) == len(b) + 1 and a[-1]["name"] == "transpose":
        return [*_merge_array_codecs(a[:-1], b), a[-1]]
    if len(a) != len(b):
        raise InvalidArgumentError(
            f"Mismatch in number of array -> array codecs ({len(a)} vs {len(b)})"
        )
    return [_merge_codec(x, y) for x, y in zip(a, b, strict=True)]


def _with_inner_codecs(sharding: dict[str, Any], inner: list[dict[str, Any]]) -> dict[str, Any]:
    """``sharding`` with ``inner`` merged into (or as) the codecs of its inner chunks."""
    config = dict(sharding.get("configuration", {}))
    config["codecs"] = inner if "codecs" not in config else _merge(config["codecs"], inner)
    return {"name": sharding["name"], "configuration": config}


def _merge_codec(x: dict[str, Any], y: dict[str, Any]) -> dict[str, Any]:
    if x["name"] != y["name"]:
        raise InvalidArgumentError(f"Cannot merge {json_text(x)} with {json_text(y)}")
    config = dict(x.get("configuration", {}))
    for key, value in y.get("configuration", {}).items():
        if key not in config:
            config[key] = value
        elif x["name"] == "sharding_indexed" and key in _NESTED:
            config[key] = _merge(config[key], value)
        elif config[key] != value:
            raise InvalidArgumentError(
                f"Incompatible {json_text(key)}: {json_text(config[key])} vs {json_text(value)}"
            )
    codec: dict[str, Any] = {"name": x["name"]}
    if config or "configuration" in x or "configuration" in y:
        codec["configuration"] = config
    return codec
