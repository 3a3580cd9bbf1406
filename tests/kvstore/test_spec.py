"""KvStore.Spec: JSON and URL forms, compared with TensorStore's, and errors naming the culprit."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
import tensorstore

import tensortrio as ts
from tensortrio.drivers.kvstore.registry import register_adapter_url_scheme, registered_drivers

SAME_AS_TENSORSTORE: list[Any] = [
    "memory://",
    "memory://a/b",
    "memory://a%2Fb",
    "memory://%20",
    "memory://a//b",
    "file:///tmp/a/",
    "file:///tmp/a b/",
    "file:///tmp/a%20b/",
    "file:///",
    "file://localhost/tmp/x",
    "file:///tmp/a/../b",
    "file:///tmp/./a",
    "file:///tmp//a",
    {"driver": "memory", "path": "p"},
    {"driver": "memory", "context": {"memory_key_value_store": {}}},
    {"driver": "memory", "atomic": False},
    {"driver": "file", "path": "/x", "file_io_sync": False},
    {"driver": "file", "path": "rel/x"},
    {"driver": "file", "path": "x", "context": {"file_io_concurrency": {"limit": 2}}},
    {"driver": "file", "path": "/x", "file_io_concurrency": {"limit": 3}},
]


@pytest.mark.parametrize("spec", SAME_AS_TENSORSTORE)
def test_json_matches_tensorstore(spec: Any) -> None:
    ours = ts.KvStore.Spec(spec)
    theirs = tensorstore.KvStore.Spec(spec)
    assert ours.to_json() == theirs.to_json()
    assert repr(ours) == repr(theirs)
    assert ours.path == theirs.path
    try:
        url = theirs.url
    except ValueError:
        with pytest.raises(ts.InvalidArgumentError):
            ours.url
    else:
        assert ours.url == url


def test_include_defaults() -> None:
    spec = ts.KvStore.Spec({"driver": "file", "path": "/x", "file_io_sync": False})
    assert spec.to_json(include_defaults=True) == {
        "context": {},
        "driver": "file",
        "file_io_concurrency": "file_io_concurrency",
        "file_io_locking": "file_io_locking",
        "file_io_mode": "file_io_mode",
        "file_io_retries": "file_io_retries",
        "file_io_sync": False,
        "path": "/x",
    }
    assert ts.KvStore.Spec(spec.to_json(include_defaults=True)) == spec


def test_path_operators_match_tensorstore() -> None:
    for base in ["memory://a", "memory://a/", "memory://"]:
        ours, theirs = ts.KvStore.Spec(base), tensorstore.KvStore.Spec(base)
        for component in ["b", "/b", "b/"]:
            assert (ours / component).to_json() == (theirs / component).to_json()
            assert (ours + component).to_json() == (theirs + component).to_json()


def test_spec_is_a_value() -> None:
    spec = ts.KvStore.Spec("memory://a/")
    assert spec == ts.KvStore.Spec({"driver": "memory", "path": "a/"})
    assert spec != ts.KvStore.Spec("memory://b/")
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert spec.copy() == spec
    assert spec.copy() is not spec
    assert spec.base is None
    assert type(spec).__qualname__ == "KvStore.Spec"


@pytest.mark.parametrize("library", ["tensortrio", "tensorstore"])
def test_path_is_settable_and_copies_are_apart(library: str) -> None:
    lib: Any = ts if library == "tensortrio" else tensorstore
    spec = lib.KvStore.Spec({"driver": "file", "path": "/tmp/data/"})
    spec.path = "/tmp/data/abc/"
    other = spec.copy()
    other.path = "/tmp/other/"
    assert (spec.path, other.path) == ("/tmp/data/abc/", "/tmp/other/")
    with pytest.raises(TypeError, match=r"unhashable"):
        hash(spec)
    outer = lib.Spec({"driver": "zarr", "kvstore": {"driver": "memory", "path": "a/"}})
    taken = outer.kvstore
    taken.path = "b/"
    assert outer.kvstore.path == "a/"


@pytest.mark.parametrize("library", ["tensortrio", "tensorstore"])
def test_update_strip_context_and_context_binding(library: str) -> None:
    lib: Any = ts if library == "tensortrio" else tensorstore
    spec = lib.KvStore.Spec(
        {"driver": "file", "path": "/tmp/x/", "context": {"file_io_concurrency": {"limit": 3}}}
    )
    spec.update(strip_context=True)
    assert spec.to_json() == {"driver": "file", "path": "/tmp/x/"}
    memory = lib.KvStore.Spec({"driver": "memory", "path": "a/"})
    memory.update(context=lib.Context())
    # Bound to one context: every open of it reaches the same memory store.
    lib.KvStore.open(memory).result().write(b"k", b"v").result()
    assert lib.KvStore.open(memory).result().read(b"k").result().value == b"v"
    memory.update(strip_context=True)
    assert lib.KvStore.open(memory).result().read(b"k").result().state == "missing"


BAD_SPECS = [
    ("memory://a/b?x", r"^kvstore URL 'memory://a/b\?x': query strings are not supported$"),
    ("memory://a#f", r"^kvstore URL 'memory://a#f': fragment identifiers are not supported$"),
    ("relative/path", r"^kvstore URL 'relative/path': the URL scheme must be specified$"),
    ("foo://x", r"^kvstore URL 'foo://x': unsupported URL scheme 'foo'$"),
    ("", r"^kvstore URL must be non-empty$"),
    (
        "file://tmp/a",
        r"^kvstore URL 'file://tmp/a': file: URLs do not support an authority \(host\), got 'tmp'$",
    ),
    ("file://", r"^kvstore URL 'file://': file: URLs need an absolute path$"),
    (
        "memory://|file:///x",
        r"^parsing kvstore URL 'memory://\|file:///x': kvstore URL 'file:///x': 'file' is a "
        r"root kvstore scheme, it can only come first in a URL pipeline$",
    ),
    (
        "memory://x|",
        r"^parsing kvstore URL 'memory://x\|': kvstore URL component must be non-empty$",
    ),
    ({"driver": "memory", "extra": 1}, r"^memory: unknown member\(s\) 'extra' in kvstore spec$"),
    (
        {"driver": "nope"},
        r"^kvstore: 'driver' 'nope' is not a registered KvStore driver \(known: 'file', 'http', 'memory'.*\)$",
    ),
    ({"path": "x"}, r"^kvstore: spec member 'driver' is missing$"),
    ({"driver": 3}, r"^kvstore: 'driver' must be a string, got 3$"),
    ({"driver": "memory", "path": 5}, r"^memory: 'path' must be a string, got 5$"),
    ({"driver": "memory", "atomic": "yes"}, r"^memory: 'atomic' must be a boolean, got 'yes'$"),
    (
        {"driver": "memory", "memory_key_value_store": "cache_pool"},
        r"^memory: 'memory_key_value_store' must reference a 'memory_key_value_store' resource, "
        r"got 'cache_pool'$",
    ),
    (
        {"driver": "file", "path": "/tmp/x/../y"},
        r"^file: invalid 'path' '/tmp/x/\.\./y': it has a '\.\.' path component",
    ),
    (
        {"driver": "file", "path": "/x", "file_io_locking": {"mode": "nfs"}},
        r'^Error parsing object member "file_io_locking": Error parsing object member "mode": '
        r'Expected one of "os", "lockfile", "none", "non_atomic", but received: "nfs"$',
    ),
    (5, r"^kvstore: a spec must be a JSON object or a URL string, got 5$"),
]


@pytest.mark.parametrize(("spec", "message"), BAD_SPECS)
def test_bad_specs(spec: Any, message: str) -> None:
    with pytest.raises(ts.InvalidArgumentError, match=message):
        ts.KvStore.Spec(spec)
    with pytest.raises(ValueError, match=message):
        ts.KvStore.open(spec)


def test_adapter_url_schemes_extend_the_pipeline() -> None:
    seen: list[Any] = []

    def parse_prefixed(text: str, base: ts.KvStore.Spec) -> ts.KvStore.Spec:
        # A stand-in adapter: prefixes the base spec's path with its component.
        seen.append((text, base))
        return base / text.split(":", 1)[1]

    register_adapter_url_scheme("testprefix", parse_prefixed)
    spec = ts.KvStore.Spec("memory://a/|testprefix:b/|testprefix:c")
    assert spec.to_json() == {"driver": "memory", "path": "a/b/c"}
    assert [text for text, _ in seen] == ["testprefix:b/", "testprefix:c"]
    with pytest.raises(
        ts.InvalidArgumentError,
        match=r"^kvstore URL 'testprefix:x': 'testprefix' is an adapter, it cannot come first",
    ):
        ts.KvStore.Spec("testprefix:x")
    assert "memory" in registered_drivers()


_LIMIT = r'Error parsing object member "limit": Expected integer in the range \[1, 18446744073709551615\], but received: -1'


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"driver": "http", "base_url": "http://h/", "http_request_concurrency": {"limit": -1}},
            rf'^Error parsing object member "http_request_concurrency": {_LIMIT}$',
        ),
        (
            {"driver": "http", "base_url": "http://h/", "http_request_concurrency": {"limit": 1, "x": 2}},
            r'^Error parsing object member "http_request_concurrency": Object includes extra members: "x"$',
        ),
        (
            {"driver": "file", "path": "/tmp/x/", "file_io_concurrency": {"limit": -1}},
            rf'^Error parsing object member "file_io_concurrency": {_LIMIT}$',
        ),
        (
            {"driver": "file", "path": "/tmp/x/", "context": {"file_io_concurrency": {"limit": -1}}},
            rf'^Error parsing object member "context": Error parsing object member "file_io_concurrency": {_LIMIT}$',
        ),
        (
            {"driver": "memory", "context": {"memory_key_value_store": {"x": 1}}},
            r'^Error parsing object member "context": Error parsing object member "memory_key_value_store": Object includes extra members: "x"$',
        ),
    ],
)
def test_resources_are_checked_when_the_spec_is_parsed(spec: Any, message: str) -> None:
    # As in tensorstore: a bad resource fails the spec, not the later open.
    with pytest.raises(ValueError, match=r'^Error parsing object member "(context|\w+)"'):
        tensorstore.KvStore.Spec(spec)
    with pytest.raises(ts.errors.InvalidArgumentError, match=message):
        ts.KvStore.Spec(spec)
