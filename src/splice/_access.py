"""Which integration owns a resource, and which integrations' resources a script may reach.

A script's ``ctx.engine`` reaches its own integration's resources; ``splice.toml`` grants
more (``[engine] grants = {acme = ["crm"]}``, ``"*"`` for all). Resources are named by global
ids: an integration by its name, everything else ``integration.name`` (``acme.onboard``,
``acme.skus``, a connection ``acme.c1``), so the owner is what comes before the first dot.

:data:`OWNERS` maps a resource type to a function ``id -> owning integration | None``; a new
kind of resource registers its own there.

>>> owner_of("flows", "acme.onboard")
'acme'
>>> check_reach("crm", "lookup_caches", "acme.skus", {})
Traceback (most recent call last):
splice.errors.Forbidden: ctx.engine of integration 'crm' may not reach lookup cache 'acme.skus' ...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from splice.errors import Forbidden, InvalidInput

Owner = Callable[[str], str | None]


def dotted(resource_id: str) -> str | None:
    """``"acme.skus"`` → ``"acme"``; None for an id without an integration part."""
    integration, dot, rest = resource_id.partition(".")
    return integration if dot and integration and rest else None


def itself(resource_id: str) -> str | None:
    """An integration owns itself."""
    return resource_id or None


#: resource type → the integration owning an id of it
OWNERS: dict[str, Owner] = {
    "integrations": itself,
    "connections": dotted,
    "flows": dotted,
    "exports": dotted,
    "imports": dotted,
    "lookup_caches": dotted,
    "async_helpers": dotted,
    "file_definitions": dotted,
}


def singular(resource_type: str) -> str:
    """``"lookup_caches"`` → ``"lookup cache"``, for messages."""
    return resource_type.removesuffix("s").replace("_", " ")


def owner_of(resource_type: str, resource_id: str) -> str:
    """The integration owning ``resource_id``, or :class:`InvalidInput` for an unknown type or a malformed id."""
    owner = OWNERS.get(resource_type)
    if owner is None:
        raise InvalidInput(
            f"resource type must be one of {', '.join(OWNERS)}, not {resource_type!r}",
            details={"field": "resource_type", "accepted": list(OWNERS)},
        )
    found = owner(resource_id) if isinstance(resource_id, str) else None
    if found is None:
        raise InvalidInput(
            f"{singular(resource_type)} id {resource_id!r} must name its integration: integration.name",
            details={"field": "id"},
        )
    return found


def reaches(integration: str, owner: str, grants: Mapping[str, Sequence[str]]) -> bool:
    """Whether ``integration``'s scripts may reach a resource of ``owner``."""
    granted = grants.get(integration, ())
    return owner == integration or "*" in granted or owner in granted


def check_reach(integration: str, resource_type: str, resource_id: str, grants: Mapping[str, Sequence[str]]) -> None:
    """Refuse (``ENGINE_NOT_ALLOWED``) a resource of another integration that ``grants`` does not open."""
    owner = owner_of(resource_type, resource_id)
    if reaches(integration, owner, grants):
        return
    line = f'[engine] grants = {{{integration} = ["{owner}"]}}'
    raise Forbidden(
        f"ctx.engine of integration {integration!r} may not reach {singular(resource_type)} {resource_id!r}: "
        f"it belongs to integration {owner!r}",
        code="ENGINE_NOT_ALLOWED",
        details={"integration": integration, "resource_type": resource_type, "id": resource_id, "owner": owner},
        hint=f"a script reaches its own integration's resources only; to grant more, add to splice.toml: {line}",
    )
