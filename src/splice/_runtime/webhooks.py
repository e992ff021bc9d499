"""Admitting a webhook before its trigger runs: size, signature, the connection it names, replay.

Each refusal raises before a run is stored, so a flood of unsigned or oversized requests
leaves nothing behind but the server's access log. A timestamped delivery is recorded last,
once nothing else refuses it, so a request refused for an unknown connection can be sent
again after the connection exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from splice.errors import InvalidInput, NotFound, PayloadTooLarge, Unauthorized
from splice.integration import Script
from splice.triggers import WebhookRequest
from splice.triggers._signature import SignedDelivery

if TYPE_CHECKING:
    from splice.store import Connection, Store


def body_too_large(limit: int, size: int | None = None) -> PayloadTooLarge:
    """The refusal of a webhook body over ``limit`` bytes (``size`` when known: a server that
    stops reading at the limit does not know it)."""
    said = f"{size:,} bytes" if size is not None else f"over {limit:,} bytes"
    return PayloadTooLarge(
        f"the webhook body is {said}; at most {limit:,} are accepted",
        details={"limit": limit, **({"size": size} if size is not None else {})},
        hint="raise [runtime] max_webhook_body_kb in splice.toml",
    )


async def admit(script: Script, request: WebhookRequest, store: Store, max_body: int) -> Connection | None:
    """The connection the webhook runs for (None when the trigger names none), or a refusal."""
    if len(request.body) > max_body:
        raise body_too_large(max_body, len(request.body))
    delivery = None
    if script.signature is not None:
        delivery = script.signature.verify(request, await store.env.all())
    connection = await _route(script, request, store)
    if delivery is not None:
        await _refuse_replay(script, delivery, store)
    return connection


async def _refuse_replay(script: Script, delivery: SignedDelivery, store: Store) -> None:
    if await store.webhook_deliveries.accept(delivery.replay_key(script.qualname), delivery.expires_at):
        return
    raise Unauthorized(
        f"this signed webhook was already delivered to {script.qualname}; each signed delivery is accepted once",
        code="WEBHOOK_REPLAYED",
        hint="the sender must sign each delivery anew, with a fresh timestamp; if it resends identical "
        "requests on purpose, declare the trigger's HmacSignature with replay_window=False",
    )


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
