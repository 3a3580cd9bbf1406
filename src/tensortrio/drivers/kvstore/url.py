"""KvStore URLs: ``|``-separated pipelines such as ``"file:///tmp/data/|zip:a/b"``.

The first component names a root kvstore (``scheme://...``); each further
component names an adapter (``scheme:...``) over the spec on its left. Query
strings and fragments are not part of any kvstore URL but ``http``'s, whose
query string is sent with every request.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import TYPE_CHECKING

from ...errors import InvalidArgumentError
from .registry import adapter_url_parser, root_url_parser

if TYPE_CHECKING:
    from .spec import KvStoreSpec

__all__ = ["UrlComponent", "decode_url_path", "encode_url_path", "parse_url", "split_component"]

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
# Characters kept literally in a URL path, as TensorStore's percent-encoder keeps them.
_SAFE = "/-_.!~*'();:@&=+$,"


class UrlComponent:
    """One ``|``-separated component: its scheme and what follows ``scheme:`` (or ``scheme://``)."""

    __slots__ = ("has_authority", "rest", "scheme", "text")

    def __init__(self, text: str, scheme: str, rest: str, has_authority: bool) -> None:
        self.text = text
        self.scheme = scheme
        self.rest = rest
        self.has_authority = has_authority


def split_component(text: str) -> UrlComponent:
    """Split one component into scheme and remainder, refusing queries and fragments.

    Raises:
        InvalidArgumentError: naming the component.
    """
    match = _SCHEME.match(text)
    if match is None:
        raise InvalidArgumentError(f"kvstore URL {text!r}: the URL scheme must be specified")
    scheme = match.group(1)
    rest = text[match.end() :]
    if "?" in rest:
        raise InvalidArgumentError(f"kvstore URL {text!r}: query strings are not supported")
    if "#" in rest:
        raise InvalidArgumentError(f"kvstore URL {text!r}: fragment identifiers are not supported")
    has_authority = rest.startswith("//")
    return UrlComponent(text, scheme, rest[2:] if has_authority else rest, has_authority)


def parse_url(url: str) -> KvStoreSpec:
    """Parse a KvStore URL pipeline into a spec.

    Raises:
        InvalidArgumentError: naming the URL and the component at fault.
    """
    if not url:
        raise InvalidArgumentError("kvstore URL must be non-empty")
    components = url.split("|")
    try:
        match = _SCHEME.match(components[0])
        if match is None:
            raise InvalidArgumentError(
                f"kvstore URL {components[0]!r}: the URL scheme must be specified"
            )
        # The root driver's parser judges the rest (http URLs may have a query string).
        scheme = match.group(1)
        root = root_url_parser(scheme)
        if root is None:
            if adapter_url_parser(scheme) is not None:
                raise InvalidArgumentError(
                    f"kvstore URL {components[0]!r}: {scheme!r} is an adapter, "
                    "it cannot come first in a URL pipeline"
                )
            raise InvalidArgumentError(
                f"kvstore URL {components[0]!r}: unsupported URL scheme {scheme!r}"
            )
        spec = root(components[0])
        for text in components[1:]:
            if not text:
                raise InvalidArgumentError("kvstore URL component must be non-empty")
            component = split_component(text)
            adapter = adapter_url_parser(component.scheme)
            if adapter is None:
                if root_url_parser(component.scheme) is not None:
                    raise InvalidArgumentError(
                        f"kvstore URL {text!r}: {component.scheme!r} is a root kvstore scheme, "
                        "it can only come first in a URL pipeline"
                    )
                raise InvalidArgumentError(
                    f"kvstore URL {text!r}: unsupported URL scheme {component.scheme!r}"
                )
            spec = adapter(text, spec)
    except InvalidArgumentError as exc:
        if len(components) == 1:
            raise
        raise InvalidArgumentError(f"parsing kvstore URL {url!r}: {exc}") from exc
    return spec


def encode_url_path(path: str) -> str:
    """Percent-encode ``path`` for a URL (``/`` and sub-delimiters kept)."""
    return urllib.parse.quote(path, safe=_SAFE)


def decode_url_path(text: str) -> str:
    """Undo ``encode_url_path``.

    Raises:
        InvalidArgumentError: a ``%`` not followed by two hex digits.
    """
    bad = _BAD_PERCENT.search(text)
    if bad is not None:
        raise InvalidArgumentError(
            f"Invalid percent-encoding in {text!r} at position {bad.start()}"
        )
    return urllib.parse.unquote(text, errors="surrogateescape")


_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
