"""URLs of the ``http`` kvstore: ``base_url`` and ``path``, as TensorStore splits and joins them.

A spec's ``base_url`` keeps the scheme, the authority, the query string and
any leading part of the URL path up to a percent-encoded reserved character
(``/a%2Fb`` must stay encoded); the rest of its path, decoded, moves to the
spec's ``path``. A key's URL is the base URL's path, ``/``, then the percent-
encoded ``path + key``, then the query string: ``{"base_url":
"https://example.com:8080?query=value", "path": "/path/to/data base"}`` is
``"https://example.com:8080/path/to/data%20base?query=value"``.
"""

from __future__ import annotations

import functools
import re
import urllib.parse

import attrs

from ...errors import InvalidArgumentError
from .spec import join_path_component

__all__ = ["ParsedUrl", "join_url", "normalize_base_url", "parse_url", "validate_base_url"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+\-._]*:")
# RFC 3986 reserved characters: those percent-encoded in a base URL's path keep it in the base.
_RESERVED = frozenset(":/?#[]@!$&'()*+,;=")
_ENCODED = re.compile(r"%([0-9A-Fa-f]{2})")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# What TensorStore leaves unencoded in a kvstore URL path (unreserved, sub-delims, ":" and "/").
_PATH_SAFE = "!$&'()*+,;=:/"


@attrs.frozen
class ParsedUrl:
    """A URL split as TensorStore's ``ParseGenericUri`` does (no validation)."""

    scheme: str
    authority: str
    path: str
    query: str
    fragment: str
    has_authority: bool

    @property
    def authority_and_path(self) -> str:
        return self.authority + self.path


def parse_url(text: str) -> ParsedUrl:
    """Split ``text`` into scheme, authority, path, query string and fragment."""
    scheme = ""
    rest = text
    match = _SCHEME.match(text)
    if match is not None:
        scheme = match.group()[:-1]
        rest = text[match.end() :]
    rest, hash_, fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    if not rest.startswith("//"):
        return ParsedUrl(scheme, "", rest, query, fragment if hash_ else "", False)
    authority, slash, path = rest[2:].partition("/")
    return ParsedUrl(scheme, authority, slash + path, query, fragment if hash_ else "", True)


def validate_base_url(text: str) -> ParsedUrl:
    """Parse a ``base_url`` and check it is an ``http``/``https`` URL with a host and no fragment.

    Raises:
        InvalidArgumentError: saying what is wrong (the caller names the member or URL).
    """
    parsed = parse_url(text)
    if parsed.scheme not in ("http", "https"):
        raise InvalidArgumentError(
            f'Expected scheme of "http" or "https" but received: "{parsed.scheme}"'
        )
    if parsed.fragment or "#" in text:
        raise InvalidArgumentError("Fragment identifier not supported")
    if not parsed.has_authority or not parsed.authority:
        # TensorStore accepts these and fails later, on the first request.
        raise InvalidArgumentError(
            f"Expected a URL of the form '{parsed.scheme}://host[:port]/path', got {text!r}"
        )
    return parsed


def _decode(text: str) -> str:
    bad = _BAD_PERCENT.search(text)
    if bad is not None:
        raise InvalidArgumentError(
            f"Invalid percent-encoding at position {bad.start()}: {text!r}"
        )
    try:
        return urllib.parse.unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgumentError(f"Invalid UTF-8 percent-encoding sequence: {text!r}") from None


def _kept_prefix(path: str) -> str:
    """The leading part of ``path`` that stays encoded: up to the ``/`` after its last encoded reserved character."""
    last = None
    for match in _ENCODED.finditer(path):
        if chr(int(match.group(1), 16)) in _RESERVED:
            last = match
    if last is None:
        return ""
    cut = path.find("/", last.end())
    return path if cut < 0 else path[:cut]


def normalize_base_url(base_url: str, path: str) -> tuple[str, str]:
    """Move the decodable part of ``base_url``'s path into ``path`` (TensorStore's ``NormalizeSpec``).

    A relative ``path`` is joined to it; an absolute one is allowed only
    when ``base_url`` has no path of its own.

    Raises:
        InvalidArgumentError: bad percent-encoding, or an absolute ``path``
            with a ``base_url`` that has a path.
    """
    parsed = validate_base_url(base_url)
    prefix = _kept_prefix(parsed.path)
    suffix = _decode(parsed.path[len(prefix) :])
    query = "?" + parsed.query if parsed.query else ""
    base = f"{parsed.scheme}://{parsed.authority}{prefix.removesuffix('/')}{query}"
    if not path or path == "/":
        return base, suffix
    if not path.startswith("/"):
        return base, join_path_component(suffix, path)
    if suffix and suffix != "/":
        raise InvalidArgumentError(
            f'Cannot specify absolute path "{path}" in conjunction with base URL '
            f'"{base_url}" which already includes the path component "{suffix}"'
        )
    return base, path


def join_url(base_url: str, path: str) -> str:
    """The URL of ``path`` (a spec's path plus a key) under ``base_url`` (TensorStore's ``GetUrl``)."""
    if not path:
        return base_url
    prefix, query = _join_parts(base_url)
    encoded = urllib.parse.quote(path.removeprefix("/"), safe=_PATH_SAFE, errors="surrogateescape")
    return f"{prefix}{encoded}{query}"


@functools.lru_cache(maxsize=64)
def _join_parts(base_url: str) -> tuple[str, str]:
    # Cached: a store joins every key to the same base URL.
    parsed = parse_url(base_url)
    query = "?" + parsed.query if parsed.query else ""
    return f"{parsed.scheme}://{parsed.authority_and_path.removesuffix('/')}/", query
