"""Parsing the context-resource members of driver specs (``"file_io_concurrency": ...``).

A member is a reference string (``"file_io_concurrency"``,
``"file_io_concurrency#a"``), an inline resource spec (a JSON object, or a
value such as ``true`` for ``file_io_sync``), or absent (the default resource).
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidArgumentError

__all__ = ["check_inline_resource", "check_no_extra_members", "resource_member", "resource_member_json"]


def resource_member(
    driver: str, members: dict[str, Any], provider: str, *, value_types: tuple[type, ...] = ()
) -> Any:
    """Pop and check ``members[provider]``; None when absent.

    Raises:
        InvalidArgumentError: naming the member when it is not a reference to
            ``provider``, an object, or one of ``value_types``, or when an
            inline value is not a valid ``provider`` resource (checked now, as
            TensorStore checks it when the spec is parsed).
    """
    value = members.pop(provider, None)
    if value is None:
        return None
    if isinstance(value, (dict, *value_types)):
        check_inline_resource(provider, value)
        return value
    if isinstance(value, str):
        if value == provider:
            return None  # the default resource, however it is spelled
        if value.startswith(provider + "#"):
            return value
        raise InvalidArgumentError(
            f"{driver}: {provider!r} must reference a {provider!r} resource, got {value!r}"
        )
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        # TensorStore's bound-resource form ["file_io_concurrency"] (retain_context).
        return None if value[0] == provider else value[0]
    raise InvalidArgumentError(
        f"{driver}: {provider!r} must be a resource reference string or object, got {value!r}"
    )


def check_inline_resource(provider: str, value: Any) -> None:
    """Parse an inline resource spec (an object, or a value such as ``true``) now, so that a bad
    one fails with the kvstore spec.

    Raises:
        InvalidArgumentError: naming the member ``provider``.
    """
    from ...schema.context_resources import get_provider
    from ...schema.json_member import member_error

    parser = get_provider(provider)
    if parser is not None:
        try:
            parser.parse(value)
        except InvalidArgumentError as exc:
            raise member_error(provider, exc) from exc


def resource_member_json(provider: str, value: Any, *, include_defaults: bool) -> dict[str, Any]:
    """The JSON member for a resource spec value (omitted when default, unless asked)."""
    if value is None:
        return {provider: provider} if include_defaults else {}
    return {provider: value}


def check_no_extra_members(driver: str, members: dict[str, Any]) -> None:
    """Raise InvalidArgumentError naming any member left unparsed."""
    if members:
        names = ", ".join(repr(m) for m in sorted(members))
        raise InvalidArgumentError(f"{driver}: unknown member(s) {names} in kvstore spec")
