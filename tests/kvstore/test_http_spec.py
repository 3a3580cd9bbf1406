"""The ``http`` kvstore's specs, URLs and context resources, against tensorstore's."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
import tensorstore

import tensortrio as ts
from tensortrio.errors import InvalidArgumentError

SPECS: list[Any] = [
    "http://example.com",
    "http://example.com/",
    "https://example.com:8080/path/to/data%20base?query=value",
    "http://example.com/a/b/",
    "http://example.com/a%2Fb/c",
    "http://example.com/a%2Fb/c/d%3Fe/f",
    "http://example.com/a?x=1&y=2",
    "http://example.com/a b",
    "http://example.com/a@b",
    "http://user:pw@example.com/a",
    {"driver": "http", "base_url": "https://example.com/my/path/?query=value", "path": "to/my data"},
    {"driver": "http", "base_url": "https://example.com/my/path?query=value", "path": "to/my data"},
    {"driver": "http", "base_url": "https://example.com?query=value", "path": "/my/path/to/my data"},
    {"driver": "http", "base_url": "https://example.com/", "path": "/my/path"},
    {"driver": "http", "base_url": "https://example.com/x/", "path": "/"},
    {"driver": "http", "base_url": "http://example.com", "path": "/"},
    {"driver": "http", "base_url": "https://example.com/x/"},
    {"driver": "http", "base_url": "http://example.com/a/", "path": "b/"},
    {"driver": "http", "base_url": "http://example.com/a", "path": "b//c"},
    {"driver": "http", "base_url": "https://example.com/a%2Fb", "path": "c"},
    {"driver": "http", "base_url": "https://example.com/a%2Fb/x", "path": "c"},
    {"driver": "http", "base_url": "https://example.com/a", "path": "b%20c"},
    {"driver": "http", "base_url": "https://example.com/", "path": "é@[]?#"},
    {"driver": "http", "base_url": "https://e.com", "headers": ["X-A: b", "Authorization:  t  "]},
    {"driver": "http", "base_url": "https://e.com", "http_request_concurrency": {"limit": 4}},
    {"driver": "http", "base_url": "https://e.com", "http_request_retries": {"max_retries": 0}},
    {"driver": "http", "base_url": "https://e.com", "http_request_retries": {"initial_delay": "10ms"}},
]


@pytest.mark.parametrize("spec", SPECS)
def test_spec_and_url_as_tensorstore(spec: Any) -> None:
    ours = ts.KvStore.Spec(spec)
    theirs = tensorstore.KvStore.Spec(spec)
    assert ours.to_json() == theirs.to_json()
    assert ours.url == theirs.url
    # Parsed again (TensorStore's own parse turns a path "/" into "" then).
    again = tensorstore.KvStore.Spec(theirs.to_json()).to_json()
    assert ts.KvStore.Spec(ours.to_json()).to_json() == again


def test_path_changes_as_tensorstore() -> None:
    ours = ts.KvStore.Spec("http://example.com/x/")
    theirs = tensorstore.KvStore.Spec("http://example.com/x/")
    assert (ours / "y").to_json() == (theirs / "y").to_json()
    assert (ours + "z").url == (theirs + "z").url
    ours.path = "rel"
    theirs.path = "rel"
    assert (ours.to_json(), ours.url) == (theirs.to_json(), theirs.url)
    escaped = {"driver": "http", "base_url": "http://example.com/a%2Fb"}
    assert (ts.KvStore.Spec(escaped) / "k").url == "http://example.com/a%2Fb/k"


def test_include_defaults() -> None:
    spec = ts.KvStore.Spec({"driver": "http", "base_url": "https://example.com"})
    assert spec.to_json(include_defaults=True) == {
        "base_url": "https://example.com",
        "context": {},
        "driver": "http",
        "headers": [],
        "http_request_concurrency": "http_request_concurrency",
        "http_request_retries": "http_request_retries",
        "path": "",
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"driver": "http"}, r'^Error parsing object member "base_url": Expected string, but member is missing$'),
        ({"driver": "http", "base_url": 5}, r'^Error parsing object member "base_url": Expected string, but received: 5$'),
        (
            {"driver": "http", "base_url": "ftp://e.com/x/"},
            r'^Error parsing object member "base_url": Expected scheme of "http" or "https" but received: "ftp"$',
        ),
        (
            {"driver": "http", "base_url": "https://e.com/x#y"},
            r'^Error parsing object member "base_url": Fragment identifier not supported$',
        ),
        (
            {"driver": "http", "base_url": "https:e.com"},
            r"^Error parsing object member \"base_url\": Expected a URL of the form 'https://host\[:port\]/path', got 'https:e.com'$",
        ),
        (
            {"driver": "http", "base_url": "https://e.com/x", "path": "/my/path"},
            r'^Cannot specify absolute path "/my/path" in conjunction with base URL "https://e.com/x" which already includes the path component "/x"$',
        ),
        (
            {"driver": "http", "base_url": "https://e.com/a%zz"},
            r"^Invalid percent-encoding at position 2: '/a%zz'$",
        ),
        (
            {"driver": "http", "base_url": "https://e.com/a%FF"},
            r"^Invalid UTF-8 percent-encoding sequence: '/a%FF'$",
        ),
        (
            {"driver": "http", "base_url": "https://e.com", "headers": "a: b"},
            r"^Error parsing object member \"headers\": Expected array, but received: 'a: b'$",
        ),
        (
            {"driver": "http", "base_url": "https://e.com", "headers": ["bad header"]},
            r'^Error parsing object member "headers": Error parsing value at position 0: Invalid HTTP header: "bad header"$',
        ),
        (
            {"driver": "http", "base_url": "https://e.com", "headers": ["ok: 1", "b d: x"]},
            r"^Error parsing object member \"headers\": Error parsing value at position 1: Invalid HTTP char ' ' in header field name: \"b d\"$",
        ),
        (
            {"driver": "http", "base_url": "https://e.com", "headers": ["a: x\ny"]},
            r"^Error parsing object member \"headers\": Error parsing value at position 0: Invalid HTTP header field value: ' x\\ny'$",
        ),
        (
            # A final newline (where a regex's "$" still matches) would end the request's headers.
            {"driver": "http", "base_url": "https://e.com", "headers": ["a: b\n"]},
            r"^Error parsing object member \"headers\": Error parsing value at position 0: Invalid HTTP header field value: ' b\\n'$",
        ),
        (
            {"driver": "http", "base_url": "https://e.com", "headers": ["a\n: b"]},
            r"^Error parsing object member \"headers\": Error parsing value at position 0: Invalid HTTP char '\\n' in header field name: \"a\n\"$",
        ),
        (
            {"driver": "http", "base_url": "https://e.com", "headers": [5]},
            r'^Error parsing object member "headers": Error parsing value at position 0: Expected string, but received: 5$',
        ),
        (
            {"driver": "http", "base_url": "https://e.com", "http_request_retries": {"max_retries": -1}},
            r'^Error parsing object member "http_request_retries": Error parsing object member "max_retries": Expected integer in the range \[0, 9223372036854775807\], but received: -1$',
        ),
        (
            {"driver": "http", "base_url": "https://e.com", "http_request_retries": {"initial_delay": 5}},
            r'^Error parsing object member "http_request_retries": Error parsing object member "initial_delay": Expected Duration formatted as a string',
        ),
        (
            {"driver": "http", "base_url": "https://e.com", "extra": 5},
            r"^http: unknown member\(s\) 'extra' in kvstore spec$",
        ),
    ],
)
def test_spec_errors_name_the_member(spec: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        ts.KvStore.Spec(spec)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://example.com/a/b#frag",
            r"^kvstore URL 'http://example.com/a/b#frag': Fragment identifier not supported$",
        ),
        ("http://example.com/%zz", r"^Invalid percent-encoding at position 1: '/%zz'$"),
        (
            "http:example.com/a",
            r"^kvstore URL 'http:example.com/a': Expected a URL of the form 'http://host\[:port\]/path', got 'http:example.com/a'$",
        ),
        ("http://", r"^kvstore URL 'http://': Expected a URL of the form"),
    ],
)
def test_url_errors(url: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        ts.KvStore.Spec(url)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"http_request_concurrency": {"limit": 0}},
            r'^Error parsing object member "http_request_concurrency": Error parsing object member "limit": Expected integer in the range \[1, 18446744073709551615\], but received: 0$',
        ),
        (
            {"http_request_concurrency": 3},
            r'^Error parsing object member "http_request_concurrency": Expected object, but received: 3$',
        ),
        (
            {"http_request_retries": {"max_delay": "x"}},
            r'^Error parsing object member "http_request_retries": Error parsing object member "max_delay": Expected Duration',
        ),
        (
            {"http_request_retries": {"max_retries": 1.5}},
            r'^Error parsing object member "http_request_retries": Error parsing object member "max_retries": Expected integer in the range \[0, 9223372036854775807\], but received: 1.5$',
        ),
    ],
)
def test_context_resource_errors(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ts.Context(context)
    with pytest.raises(ValueError, match=r"Expected "):
        tensorstore.Context(context)


def test_context_resource_defaults_as_tensorstore() -> None:
    context = ts.Context()
    assert context["http_request_concurrency"].limit == 32
    assert context["http_request_concurrency"].to_json(include_defaults=True) == {"limit": "shared"}
    theirs = tensorstore.Context()["http_request_retries"].to_json(include_defaults=True)
    assert context["http_request_retries"].to_json(include_defaults=True) == theirs
    assert theirs == {"initial_delay": "1s", "max_delay": "32s", "max_retries": 32}


def test_spec_pickles() -> None:
    spec = ts.KvStore.Spec(
        {"driver": "http", "base_url": "https://e.com/a?q=1", "path": "b", "headers": ["a: b"]}
    )
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert pickle.loads(pickle.dumps(spec)).url == "https://e.com/a/b?q=1"


def test_pipeline_urls_name_http_kvstores() -> None:
    spec = ts.Spec("http://127.0.0.1:8000/a.zarr/|zarr2:")
    assert spec.to_json()["kvstore"] == {
        "base_url": "http://127.0.0.1:8000",
        "driver": "http",
        "path": "/a.zarr/",
    }
    theirs = tensorstore.Spec("http://127.0.0.1:8000/a.zarr/|zarr2:").to_json()["kvstore"]
    assert spec.to_json()["kvstore"] == theirs
    nested = ts.Spec({"driver": "zarr", "kvstore": "http://127.0.0.1:8000/a.zarr/"})
    assert nested.to_json()["kvstore"] == spec.to_json()["kvstore"]
