"""ts.Spec: JSON and URL forms, common members, update(), driver registry, indexing, errors.

A toy driver ("spec_toy", URL scheme "spec_toy2") stands in for zarr so these
tests do not depend on the zarr driver; where tensorstore's output is compared,
its "zarr" output is renamed to the toy driver.
"""

from __future__ import annotations

import math
import pickle
from typing import Any

import pytest
import tensorstore

import tensortrio as ts
from tensortrio.errors import InvalidArgumentError
from tensortrio.schema.schema import SchemaConstraints
from tensortrio.schema.spec import Spec
from tensortrio.schema.tensorstore_driver import (
    register_tensorstore_driver,
    tensorstore_driver,
)


def _toy_members(members: dict[str, Any]) -> dict[str, Any]:
    extra = [k for k in members if k != "metadata"]
    if extra:
        raise InvalidArgumentError(f'Object includes extra members: "{extra[0]}"')
    return members


def _toy_schema(
    members: dict[str, Any], domain: Any = None, rank: int | None = None
) -> SchemaConstraints:
    metadata = members.get("metadata", {})
    out = SchemaConstraints()
    if "shape" in metadata:
        out = out.with_domain(ts.IndexDomain(shape=metadata["shape"]))
    if "dtype" in metadata:
        out = out.with_dtype(ts.dtype(metadata["dtype"]))
    return out


register_tensorstore_driver("spec_toy", _toy_members, url_scheme="spec_toy2", schema=_toy_schema)
register_tensorstore_driver("spec_array", _toy_members, uses_kvstore=False)

BASE: dict[str, Any] = {"driver": "spec_toy", "kvstore": "memory://"}


def _as_zarr(json: dict[str, Any]) -> dict[str, Any]:
    return {**json, "driver": "zarr"}


def _tensorstore_json(json: dict[str, Any], **update: Any) -> dict[str, Any]:
    spec = tensorstore.Spec(_as_zarr(json))
    if update:
        spec.update(**update)
    out = spec.to_json()
    out["driver"] = "spec_toy"
    return out


@pytest.mark.parametrize(
    "json",
    [
        BASE,
        {**BASE, "path": "x"},
        {"driver": "spec_toy", "kvstore": {"driver": "memory", "path": "a/"}, "path": "x"},
        {**BASE, "context": {"cache_pool": {"total_bytes_limit": 100}}, "cache_pool": "cache_pool"},
        {**BASE, "data_copy_concurrency": {"limit": 2}},
        {**BASE, "fill_missing_data_reads": False, "store_data_equal_to_fill_value": True},
        {**BASE, "transform": {"input_shape": [3]}},
        {**BASE, "rank": 2},
        {**BASE, "dtype": "uint8", "schema": {"dtype": "uint8"}},
        {**BASE, "create": True, "delete_existing": True},
        {**BASE, "open": False},
        {**BASE, "recheck_cached_data": 1.5, "recheck_cached_metadata": 5},
        {**BASE, "recheck_cached_data": math.inf, "recheck_cached_metadata": -math.inf},
        {**BASE, "recheck_cached_data": "open", "recheck_cached_metadata": True},
    ],
)
def test_json_normalised_like_tensorstore(json: dict[str, Any]) -> None:
    spec = Spec(json)
    expected = _tensorstore_json(json)
    assert spec.to_json() == expected
    assert repr(spec) == repr(tensorstore.Spec(_as_zarr(json))).replace("'zarr'", "'spec_toy'")
    assert Spec(spec.to_json()) == spec


@pytest.mark.parametrize(
    ("json", "message"),
    [
        ({}, r'Error parsing object member "driver": Expected string, but member is missing'),
        (
            {"driver": "no_such_driver"},
            r'Error parsing object member "driver": "no_such_driver" is not a registered '
            r"TensorStore driver",
        ),
        (3, r"Expected object, but received: 3"),
        (
            {**BASE, "fill_missing_data_reads": 1},
            r'Error parsing object member "fill_missing_data_reads": Expected boolean, but '
            r"received: 1",
        ),
        (
            {**BASE, "create": 1},
            r'Error parsing object member "create": Expected boolean, but received: 1',
        ),
        (
            {**BASE, "transform": {"input_shape": [3]}, "rank": 2},
            r'Error parsing object member "rank": Specified rank \(2\) does not match input '
            r"rank of transform \(1\)",
        ),
        (
            {**BASE, "dtype": "uint8", "schema": {"dtype": "int8"}},
            r'Error parsing object member "schema": Specified dtype \(int8\) does not match '
            r"existing value \(uint8\)",
        ),
        (
            {**BASE, "recheck_cached_data": "foo"},
            r'Error parsing object member "recheck_cached_data": Expected boolean, number, or '
            r'"open", but received: "foo"',
        ),
        (
            {**BASE, "recheck_cached": True},
            r'Object includes extra members: "recheck_cached"',
        ),
        (
            {**BASE, "metadata": {"shape": [2, 3]}, "rank": 3},
            r'"spec_toy" driver members conflict with the spec\'s constraints: Rank specified '
            r"by rank \(2\) does not match existing rank specified by schema \(3\)",
        ),
        (
            {**BASE, "cache_pool": "data_copy_concurrency"},
            r'Error parsing object member "cache_pool": Invalid spec or reference to '
            r'"cache_pool" resource: .*',
        ),
        (
            {"driver": "spec_toy", "path": "x"},
            r'Error parsing object member "path": "path" requires "kvstore" to be specified',
        ),
    ],
)
def test_json_errors_name_the_member(json: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        Spec(json)


def test_unregistered_driver_matches_tensorstore_message() -> None:
    with pytest.raises(ValueError, match=r"is not a registered TensorStore driver$") as theirs:
        tensorstore.Spec({"driver": "no_such_driver"})
    with pytest.raises(ValueError, match=r"^Error parsing object member") as ours:
        Spec({"driver": "no_such_driver"})
    assert str(ours.value) == str(theirs.value)


def test_properties_of_a_minimal_spec() -> None:
    spec = Spec(BASE)
    assert spec.dtype is None
    assert spec.rank is None
    assert spec.domain is None
    assert spec.transform is None
    assert spec.open_mode == ts.OpenMode(open=True)
    assert spec.kvstore == ts.KvStore.Spec({"driver": "memory"})
    assert spec.url == "memory://|spec_toy2:"
    assert spec.schema == ts.Schema()
    assert spec.fill_value is None
    with pytest.raises(
        ValueError, match=r"^Cannot perform indexing operations on Spec with unspecified rank$"
    ):
        spec[0]


def test_update_schema_keywords() -> None:
    spec = Spec(BASE)
    spec.update(dtype=ts.uint8, shape=[3, 4], fill_value=7, dimension_units=["nm", None])
    assert spec.dtype == ts.uint8
    assert spec.rank == 2
    assert spec.shape == (3, 4)
    assert spec.domain == ts.IndexDomain(shape=[3, 4])
    assert spec.dimension_units == (ts.Unit("nm"), None)
    fill = spec.fill_value
    assert fill is not None
    assert fill.tolist() == 7
    assert spec.to_json()["schema"]["fill_value"] == 7
    with pytest.raises(ValueError, match=r"^Invalid dtype: Specified dtype \(int8\) does not match"):
        spec.update(dtype=ts.int8)
    assert spec.dtype == ts.uint8


@pytest.mark.parametrize(
    "updates",
    [
        [{"create": True}, {"open": True}],
        [{"open": True}, {"create": True}],
        [{"create": True, "open": True}, {"delete_existing": True}],
        [{"create": True, "delete_existing": True}, {"open": True}],
        [{"create": True, "delete_existing": True}, {"open_mode": "create"}],
        [{"open": True}, {"assume_metadata": True}],
        [{"create": True}, {"delete_existing": True, "open_mode": "open"}],
    ],
)
def test_update_open_mode_replaces_as_tensorstore_does(updates: list[dict[str, Any]]) -> None:
    # A mode with open or create replaces the spec's; modifiers alone are added to it.
    zarr = {"driver": "zarr", "kvstore": "memory://"}
    ours, theirs = ts.Spec(zarr), tensorstore.Spec(zarr)
    for update in updates:
        mode = update.pop("open_mode", None)
        ours.update(**update, **({} if mode is None else {"open_mode": ts.OpenMode(**{mode: True})}))
        theirs.update(
            **update, **({} if mode is None else {"open_mode": tensorstore.OpenMode(**{mode: True})})
        )
    assert repr(ours.open_mode) == repr(theirs.open_mode)
    assert ours.to_json() == theirs.to_json()


def test_update_open_mode_only_sets_flags() -> None:
    spec = Spec(BASE)
    spec.update(open_mode=ts.OpenMode(open=True, create=True))
    spec.update(create=False)
    assert spec.open_mode == ts.OpenMode(open=True, create=True)
    assert spec.to_json() == _tensorstore_json(
        BASE, open_mode=tensorstore.OpenMode(open=True, create=True)
    )
    spec.update(assume_metadata=True)
    assert spec.open_mode == ts.OpenMode(open=True, create=True, assume_metadata=True)
    with pytest.raises(TypeError, match=r"^open_mode must be a ts\.OpenMode"):
        spec.update(open_mode=True)


@pytest.mark.parametrize(
    "update",
    [
        {"recheck_cached": False},
        {"recheck_cached_data": "open", "recheck_cached_metadata": 5},
        {"recheck_cached_data": True},
        {"recheck_cached": True, "recheck_cached_data": False},
    ],
)
def test_update_recheck_like_tensorstore(update: dict[str, Any]) -> None:
    spec = Spec(BASE)
    spec.update(**update)
    assert spec.to_json() == _tensorstore_json(BASE, **update)


def test_update_errors() -> None:
    spec = Spec(BASE)
    with pytest.raises(TypeError, match=r"^Invalid recheck_cached$"):
        spec.update(recheck_cached="foo")
    with pytest.raises(TypeError, match=r"^Spec\.update\(\) got an unexpected keyword argument 'foo'$"):
        spec.update(foo=1)
    with pytest.raises(TypeError, match=r"^context must be a ts\.Context"):
        spec.update(context={})
    array = Spec({"driver": "spec_array"})
    with pytest.raises(
        ValueError, match=r'^kvstore: the "spec_array" driver does not use a key-value store$'
    ):
        array.update(kvstore="memory://")


def test_update_kvstore_and_context() -> None:
    spec = Spec({"driver": "spec_toy"})
    spec.update(kvstore=ts.KvStore.Spec("file:///tmp/x"))
    assert spec.url == "file:///tmp/x/|spec_toy2:"
    for lib in (ts, tensorstore):  # as tensorstore: one kvstore, not replaced
        with pytest.raises(ValueError, match=r'"kvstore" is already specified$'):
            lib.Spec({"driver": "zarr", "kvstore": "memory://"}).update(kvstore=lib.KvStore.Spec("memory://b/"))
    context = ts.Context()
    spec.update(context=context)
    assert spec.value.context is context
    spec.update(unbind_context=True)
    assert spec.value.context is None
    with_context = Spec({**BASE, "context": {"cache_pool": {"total_bytes_limit": 1}}})
    with_context.update(strip_context=True)
    assert "context" not in with_context.to_json()


def test_url_forms() -> None:
    spec = Spec("memory://a|spec_toy2:sub")
    assert spec.to_json() == {"driver": "spec_toy", "kvstore": {"driver": "memory", "path": "a/sub/"}}
    assert Spec("memory://a|spec_toy2:").url == "memory://a/|spec_toy2:"
    with pytest.raises(
        ValueError,
        match=r'^Parsing spec from url: "memory://a\|zz:": unsupported URL scheme: "zz"$',
    ):
        Spec("memory://a|zz:")
    # A bare KvStore URL is the array there, its format detected when opened ("auto").
    assert Spec("memory://a").to_json() == {"driver": "auto", "kvstore": {"driver": "memory", "path": "a"}}
    with pytest.raises(ValueError, match=r'^Parsing spec from url: "spec_toy2:\|memory://a": a TensorStore URL'):
        Spec("spec_toy2:|memory://a")
    with pytest.raises(ValueError, match=r'^url: the "spec_array" driver has no URL representation$'):
        _ = Spec({"driver": "spec_array"}).url


def test_transform_and_indexing() -> None:
    spec = Spec(BASE)
    spec.update(shape=[3, 4])
    sliced = spec[1:2]
    transform = sliced.transform
    assert transform is not None
    assert transform.domain == ts.IndexDomain(inclusive_min=[1, 0], exclusive_max=[2, 4])
    assert sliced.domain == transform.domain
    assert spec.transform is None  # indexing returns a new spec
    assert sliced.base is None  # not an adapter (as tensorstore)
    assert spec.T.domain == ts.IndexDomain(shape=[4, 3])
    assert spec.oindex[[0, 2]].shape == (2, 4)
    # As tensorstore: a domain given to a spec with a transform is carried through it to the
    # stored array's space, as a schema constraint; the transform stays as it is.
    with_transform = Spec({**BASE, "transform": {"input_shape": [3]}})
    with_transform.update(shape=[4])
    assert with_transform.to_json()["schema"] == {"domain": {"exclusive_max": [4], "inclusive_min": [0]}}
    with pytest.raises(
        ValueError,
        match=r"^Cannot merge index domain \{ \[0, 4\) \} with index domain "
        r"\{ \[0, 5\) \}: Mismatch in dimension 0: Upper bounds do not match$",
    ):
        with_transform.update(shape=[5])
    with_transform.update(domain=ts.IndexDomain(labels=["x"]))
    assert with_transform.domain == ts.IndexDomain(shape=[3])
    assert with_transform.to_json()["schema"]["domain"]["labels"] == ["x"]


def test_driver_schema_feeds_properties() -> None:
    spec = Spec({**BASE, "metadata": {"shape": [2, 3], "dtype": "uint16"}})
    assert spec.dtype == ts.uint16
    assert spec.rank == 2
    assert spec.domain == ts.IndexDomain(shape=[2, 3])


def test_equality_copy_and_pickle() -> None:
    spec = Spec({**BASE, "dtype": "uint8", "metadata": {"shape": [2]}})
    assert pickle.loads(pickle.dumps(spec)) == spec
    copy = spec.copy()
    copy.update(create=True)
    assert copy != spec
    assert Spec(spec) == spec
    with pytest.raises(TypeError):
        hash(spec)


def test_registry() -> None:
    assert tensorstore_driver("spec_toy").url_scheme == "spec_toy2"
    register_tensorstore_driver("spec_toy", _toy_members, url_scheme="spec_toy2", schema=_toy_schema)
    with pytest.raises(ValueError, match=r'^TensorStore driver "spec_toy" is already registered$'):
        register_tensorstore_driver("spec_toy", _toy_schema)  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=r'^URL scheme "spec_toy2" is already registered for driver "spec_toy"$'
    ):
        register_tensorstore_driver("spec_other", _toy_members, url_scheme="spec_toy2")


def test_spec_is_exported() -> None:
    assert ts.Spec is Spec
