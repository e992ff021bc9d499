"""Admitting a webhook before its trigger runs: size, signature, then the connection it names.

Each refusal raises before a run is stored, so a flood of unsigned or oversized requests
leaves nothing behind but the server's access log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from splice.errors import InvalidInput, NotFound
from splice.integration import Script
from splice.triggers import WebhookRequest

if TYPE_CHECKING:
    from splice.store import Connection, Store


def body_too_large(limit: int, size: int | None = None) -> InvalidInput:
    """The refusal of a webhook body over ``limit`` bytes (``size`` when known: a server that
    stops reading at the limit does not know it)."""
    said = f"{size:,} bytes" if size is not None else f"over {limit:,} bytes"
    return InvalidInput(
        f"the webhook body is {said}; at most {limit:,} are accepted",
        code="PAYLOAD_TOO_LARGE",
        details={"limit": limit, **({"size": size} if size is not None else {})},
        hint="raise [runtime] max_webhook_body_kb in splice.toml",
    )


async def admit(script: Script, request: WebhookRequest, store: Store, max_body: int) -> Connection | None:
    """The connection the webhook runs for (None when the trigger names none), or a refusal."""
    if len(request.body) > max_body:
        raise body_too_large(max_body, len(request.body))
    if script.signature is not None:
        script.signature.verify(request, await store.env.all())
    return await _route(script, request, store)


async def _route(script: Script, request: WebhookRequest, store: Store) -> Connection | None:
    source = script.connection_from
    if source is None:
        return None
    value = source.value(request)
    if value is None:
        raise InvalidInput(
            f"the webhook has no {source.describe()} naming the connection it is for",
            code="ROUTING_VALUE_MISSING",
            details={"from": source.describe()},
        )
    integration = script.integration.name
    try:
        return await store.connections.get(integration, value)
    except NotFound:
        raise NotFound(
            f"no {integration} connection {value!r} (named by the webhook's {source.describe()})",
            details={"integration": integration, "id": value},
        ) from None


def secret_headers(script: Script) -> list[str]:
    """Headers of this trigger's requests that are masked wherever the run is stored or logged."""
    return [script.signature.header] if script.signature is not None else []
