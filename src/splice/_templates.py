"""Per-connection placeholders in URLs: ``https://{config.subdomain}.acme.test/api``.

A deliberately tiny formatter instead of ``str.format`` or Jinja2: only dotted lookups
into ``config`` and ``credentials`` are allowed, so an integration's URL can never call
methods or reach attributes of the values it is given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from splice.errors import InvalidInput

_PLACEHOLDER = re.compile(r"\{(config|credentials)\.([A-Za-z_][A-Za-z0-9_.]*)\}")


def has_placeholders(template: str) -> bool:
    return bool(_PLACEHOLDER.search(template))


def render(template: str, *, config: Mapping[str, Any], credentials: Mapping[str, Any]) -> str:
    """Fill ``{config.x}`` / ``{credentials.y}``; a missing value is an ``INVALID_CONFIG`` error."""
    sources = {"config": config, "credentials": credentials}

    def fill(match: re.Match[str]) -> str:
        value: Any = sources[match.group(1)]
        for part in match.group(2).split("."):
            if not isinstance(value, Mapping) or value.get(part) in (None, ""):
                raise InvalidInput(
                    f"{match.group(0)} in {template!r} has no value on this connection",
                    code="INVALID_CONFIG",
                    hint=f"set {match.group(1)} field {match.group(2)!r} on the connection",
                )
            value = value[part]
        return str(value).rstrip("/")

    return _PLACEHOLDER.sub(fill, template)
