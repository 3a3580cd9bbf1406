"""Where ``s3`` requests get their AWS credentials, as the ``aws_credentials`` resource says.

- ``anonymous``: none; requests are not signed.
- ``environment``: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and
  ``AWS_SESSION_TOKEN``.
- ``profile``: a profile (the member, else ``AWS_PROFILE``, else ``default``)
  of the shared credentials file (the member, else
  ``AWS_SHARED_CREDENTIALS_FILE``, else ``~/.aws/credentials``), or of the
  config file (``[profile <name>]`` sections; ``AWS_CONFIG_FILE``, else
  ``~/.aws/config``).
- ``default``: the environment, then the profile, then anonymous access —
  TensorStore's chain without its EC2/ECS metadata steps.
- ``imds`` and ``ecs`` (metadata services) are not supported: opening fails
  with ``UnimplementedError``.
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import FailedPreconditionError, NotFoundError, UnimplementedError
from .s3_signing import AwsCredentials

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ...schema.s3_resources import AwsCredentialsConfig

__all__ = ["check_supported", "load_credentials"]


def check_supported(config: AwsCredentialsConfig) -> None:
    """Refuse the credential types that need a metadata service.

    Raises:
        UnimplementedError: naming the type.
    """
    if config.type in ("imds", "ecs"):
        raise UnimplementedError(
            f"s3: aws_credentials of type {config.type!r} (a metadata service) are not "
            "supported; use 'default', 'environment', 'profile' or 'anonymous'"
        )


def from_environment(environ: Mapping[str, str]) -> AwsCredentials | None:
    """Credentials from ``AWS_ACCESS_KEY_ID`` and friends, or None when it is not set."""
    key = environ.get("AWS_ACCESS_KEY_ID", "")
    if not key:
        return None
    return AwsCredentials(
        key, environ.get("AWS_SECRET_ACCESS_KEY", ""), environ.get("AWS_SESSION_TOKEN", "")
    )


def _section(path: Path, name: str) -> Mapping[str, str] | None:
    parser = configparser.RawConfigParser(default_section="\x00none")
    try:
        with path.open(encoding="utf-8") as file:
            parser.read_file(file)
    except FileNotFoundError:
        return None
    except (OSError, configparser.Error) as exc:
        raise FailedPreconditionError(
            f"s3: cannot read AWS credentials from {path}: {exc}"
        ) from exc
    if parser.has_section(name):
        return dict(parser.items(name))
    return None


def from_profile(
    config: AwsCredentialsConfig, environ: Mapping[str, str], home: Path
) -> AwsCredentials | None:
    """Credentials of the configured profile, or None when no file has that profile."""
    profile = config.get("profile") or environ.get("AWS_PROFILE") or "default"
    credentials_file = Path(
        config.get("credentials_file")
        or environ.get("AWS_SHARED_CREDENTIALS_FILE")
        or home / ".aws" / "credentials"
    )
    config_file = Path(
        config.get("config_file") or environ.get("AWS_CONFIG_FILE") or home / ".aws" / "config"
    )
    candidates = [(credentials_file, profile), (config_file, f"profile {profile}")]
    if profile == "default":
        candidates.append((config_file, "default"))
    for path, name in candidates:
        section = _section(path, name)
        if section is not None and section.get("aws_access_key_id"):
            return AwsCredentials(
                section["aws_access_key_id"],
                section.get("aws_secret_access_key", ""),
                section.get("aws_session_token", ""),
            )
    return None


def load_credentials(
    config: AwsCredentialsConfig,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> AwsCredentials | None:
    """The credentials ``config`` selects (None: anonymous). Reads files: not on the runtime thread.

    Raises:
        NotFoundError: ``environment`` or ``profile`` credentials are not there.
        UnimplementedError: ``imds`` / ``ecs``.
    """
    check_supported(config)
    environ = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    if config.type == "anonymous":
        return None
    if config.type == "environment":
        found = from_environment(environ)
        if found is None:
            raise NotFoundError(
                "s3: aws_credentials {'type': 'environment'}: AWS_ACCESS_KEY_ID is not set"
            )
        return found
    if config.type == "profile":
        found = from_profile(config, environ, home)
        if found is None:
            profile = config.get("profile") or environ.get("AWS_PROFILE") or "default"
            raise NotFoundError(
                f"s3: aws_credentials {config.to_json()}: no credentials for profile "
                f"{profile!r} in the AWS credentials or config file"
            )
        return found
    # "default": the environment, the shared files, then anonymous access.
    return from_environment(environ) or from_profile(config, environ, home)
