"""The ``s3`` kvstore's credentials resource: ``aws_credentials``, as TensorStore parses it.

``{"type": "default" | "anonymous" | "environment" | "imds" | "profile" | "ecs", ...}``:

- ``default``: ``{"profile"?}`` — the environment, then the shared
  credentials file, then anonymous access.
- ``anonymous``, ``environment``, ``imds``: no other member.
- ``profile``: ``{"profile"?, "credentials_file"?, "config_file"?}``.
- ``ecs``: ``{"endpoint"?, "auth_token_file"?}`` (a token file needs an endpoint).

The default resource is ``{"type": "default"}``; ``{}`` is refused, as in
TensorStore. (``s3_request_concurrency`` is a concurrency limit, "shared"
meaning ``TENSORSTORE_S3_REQUEST_CONCURRENCY`` or 32; ``s3_request_retries``
has the members of ``http_request_retries``.)
"""

from __future__ import annotations

import urllib.parse
from typing import Any, Final

import attrs

from ..errors import InvalidArgumentError
from .chunk_json import check_known_members, json_text
from .json_member import member_error

__all__ = ["AWS_CREDENTIAL_TYPES", "AwsCredentialsConfig"]

#: Each credentials type and the members it takes besides ``type``.
AWS_CREDENTIAL_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "default": ("profile",),
    "anonymous": (),
    "environment": (),
    "imds": (),
    "profile": ("profile", "credentials_file", "config_file"),
    "ecs": ("endpoint", "auth_token_file"),
}

_PREFIX: Final = "Failed to parse AWS credentials spec: "


@attrs.frozen
class AwsCredentialsConfig:
    """Parsed ``aws_credentials`` JSON: the provider ``type`` and its string members."""

    type: str = "default"
    members: tuple[tuple[str, str], ...] = ()
    """The type's members that were given, in the order ``AWS_CREDENTIAL_TYPES`` lists them."""

    @classmethod
    def from_json(cls, json: Any) -> AwsCredentialsConfig:
        if not isinstance(json, dict):
            raise InvalidArgumentError(f"Expected object, but received: {json_text(json)}")
        if "type" not in json:
            raise InvalidArgumentError(
                _PREFIX + str(member_error("type", "Expected string, but member is missing"))
            )
        kind = json["type"]
        if not isinstance(kind, str):
            raise InvalidArgumentError(
                _PREFIX
                + str(member_error("type", f"Expected string, but received: {json_text(kind)}"))
            )
        if kind not in AWS_CREDENTIAL_TYPES:
            names = ", ".join(AWS_CREDENTIAL_TYPES)
            raise InvalidArgumentError(
                f"{_PREFIX}Failed to parse tag name, expected one of: {names}, but received: {kind}"
            )
        allowed = AWS_CREDENTIAL_TYPES[kind]
        check_known_members(json, ("type", *allowed))
        members: list[tuple[str, str]] = []
        for name in allowed:
            if name not in json:
                continue
            value = json[name]
            if not isinstance(value, str):
                raise InvalidArgumentError(
                    _PREFIX
                    + str(member_error(name, f"Expected string, but received: {json_text(value)}"))
                )
            if value:
                members.append((name, value))
        config = cls(kind, tuple(members))
        if kind == "ecs":
            _check_ecs(config)
        return config

    def get(self, name: str) -> str:
        """The member ``name`` ("" when not given)."""
        return dict(self.members).get(name, "")

    def to_json(self, include_defaults: bool = False) -> dict[str, Any]:
        return {"type": self.type, **dict(self.members)}


def _check_ecs(config: AwsCredentialsConfig) -> None:
    endpoint = config.get("endpoint")
    if not endpoint and config.get("auth_token_file"):
        raise InvalidArgumentError(
            f"{_PREFIX}EcsRole must specify an endpoint when auth_token_file is specified."
        )
    if endpoint:
        try:
            parsed = urllib.parse.urlsplit(endpoint)
            parsed.port  # noqa: B018 -- raises ValueError for a malformed port
        except ValueError:
            raise InvalidArgumentError(f'{_PREFIX}Invalid endpoint: "{endpoint}"') from None
