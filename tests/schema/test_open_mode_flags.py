"""ts.OpenMode, open-mode JSON members, validation and ts.CacheRevalidationBound."""

from __future__ import annotations

import math
import pickle
from typing import Any

import pytest

import tensortrio as ts
from tensortrio.schema.cache_revalidation import (
    DEFAULT_RECHECK_CACHED_DATA,
    DEFAULT_RECHECK_CACHED_METADATA,
    CacheRevalidationBound,
)
from tensortrio.schema.open_mode import (
    OpenMode,
    effective_open_mode,
    open_mode_from_json_members,
    validate_open_mode,
)


def test_open_mode_repr_lists_set_flags_in_tensorstore_order() -> None:
    assert repr(OpenMode()) == "OpenMode()"
    assert repr(OpenMode(create=True, open=True)) == "OpenMode(open=True, create=True)"
    assert (
        repr(OpenMode(open=True, assume_cached_metadata=True, assume_metadata=True))
        == "OpenMode(open=True, assume_metadata=True, assume_cached_metadata=True)"
    )


def test_open_mode_is_mutable_unhashable_and_pickles() -> None:
    mode = OpenMode(open=1)  # type: ignore[arg-type]
    mode.create = 1  # type: ignore[assignment]
    assert mode.open is True
    assert mode.create is True
    assert mode == OpenMode(open=True, create=True)
    assert mode != OpenMode(open=True)
    with pytest.raises(TypeError):
        hash(mode)
    assert pickle.loads(pickle.dumps(mode)) == mode


def test_open_mode_takes_keywords_only() -> None:
    with pytest.raises(TypeError):
        OpenMode(True)  # type: ignore[misc]


def test_combine_sets_flags_and_never_clears() -> None:
    assert OpenMode(open=True) | OpenMode(create=True) == OpenMode(open=True, create=True)
    assert OpenMode(open=True).combine(OpenMode()) == OpenMode(open=True)


def test_effective_open_mode_defaults_to_open() -> None:
    assert effective_open_mode(OpenMode()) == OpenMode(open=True)
    assert effective_open_mode(OpenMode(assume_metadata=True)) == OpenMode(
        open=True, assume_metadata=True
    )
    assert effective_open_mode(OpenMode(create=True)) == OpenMode(create=True)


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        (OpenMode(delete_existing=True), "`delete_existing` without `create`"),
        (OpenMode(open=True, delete_existing=True), "`delete_existing` without `create`"),
        (
            OpenMode(open=True, create=True, delete_existing=True),
            "`delete_existing` with `open`",
        ),
        (
            OpenMode(create=True, delete_existing=True, assume_metadata=True),
            "`delete_existing` with `assume_metadata`",
        ),
        (
            OpenMode(create=True, delete_existing=True, assume_cached_metadata=True),
            "`delete_existing` with `assume_cached_metadata`",
        ),
        (OpenMode(create=True, assume_metadata=True), "`assume_metadata` without `open`"),
        (
            OpenMode(create=True, assume_cached_metadata=True),
            "`assume_cached_metadata` without `open`",
        ),
    ],
)
def test_validate_open_mode_names_the_flags(mode: OpenMode, message: str) -> None:
    with pytest.raises(ValueError, match=f"^Cannot specify an open mode of {message}$"):
        validate_open_mode(effective_open_mode(mode))


@pytest.mark.parametrize(
    "mode",
    [
        OpenMode(open=True),
        OpenMode(create=True),
        OpenMode(open=True, create=True),
        OpenMode(create=True, delete_existing=True),
        OpenMode(open=True, create=True, assume_metadata=True),
        OpenMode(open=True, assume_cached_metadata=True),
    ],
)
def test_valid_open_modes(mode: OpenMode) -> None:
    validate_open_mode(mode)


def test_open_mode_json_members() -> None:
    assert open_mode_from_json_members({"create": True, "open": False}) == OpenMode(create=True)
    with pytest.raises(
        ValueError,
        match=r'^Error parsing object member "create": Expected boolean, but received: 1$',
    ):
        open_mode_from_json_members({"create": 1})
    with pytest.raises(
        ValueError,
        match=r'^Error parsing object member "open": Expected boolean, but received: "x"$',
    ):
        open_mode_from_json_members({"open": "x"})


@pytest.mark.parametrize(
    ("json", "normalised"),
    [
        (True, True),
        (False, False),
        ("open", "open"),
        (5, 5.0),
        (0, 0.0),
        (-1, -1.0),
        (1.5, 1.5),
        (math.inf, True),
        (-math.inf, False),
    ],
)
def test_cache_revalidation_json_normalises_like_tensorstore(
    json: object, normalised: object
) -> None:
    bound = CacheRevalidationBound.from_json(json)
    assert bound.to_json() == normalised
    assert type(bound.to_json()) is type(normalised)


@pytest.mark.parametrize("json", ["foo", None, [1], math.nan, {"a": 1}])
def test_cache_revalidation_json_errors(json: object) -> None:
    with pytest.raises(ValueError, match=r'^Expected boolean, number, or "open", but received: '):
        CacheRevalidationBound.from_json(json)


def test_cache_revalidation_options_and_staleness() -> None:
    assert CacheRevalidationBound.from_option(True, "x").staleness_bound(10.0) == math.inf
    assert CacheRevalidationBound.from_option(False, "x").staleness_bound(10.0) == -math.inf
    assert CacheRevalidationBound.from_option("open", "x").staleness_bound(10.0) == 10.0
    assert CacheRevalidationBound.from_option(3, "x").staleness_bound(10.0) == 3.0
    with pytest.raises(TypeError, match=r"^Invalid recheck_cached$"):
        CacheRevalidationBound.from_option("foo", "recheck_cached")
    with pytest.raises(TypeError, match=r"^Invalid recheck_cached_data$"):
        CacheRevalidationBound.from_option(None, "recheck_cached_data")
    assert DEFAULT_RECHECK_CACHED_DATA.to_json() is True
    assert DEFAULT_RECHECK_CACHED_METADATA.to_json() == "open"


def test_open_mode_is_exported() -> None:
    assert ts.OpenMode is OpenMode


@pytest.mark.parametrize("library", ["tensortrio", "tensorstore"])
def test_false_read_or_write_is_not_asking_and_create_needs_write(library: str) -> None:
    lib: Any = pytest.importorskip(library)
    spec = lib.array([1, 2], dtype="int32").spec()
    for flags in ({"read": False}, {"write": False}, {"read": False, "write": False}):
        assert lib.open(spec, **flags).result().mode == "rw"
    zarr = {"driver": "zarr3", "kvstore": {"driver": "memory"}, "dtype": "int32", "schema": {"domain": {"shape": [4]}}}
    with pytest.raises(ValueError, match="Cannot specify an open mode of `create` without `write`"):
        lib.open(zarr, create=True, read=True).result()
    assert lib.open(zarr, create=True, write=True).result().mode == "w"
