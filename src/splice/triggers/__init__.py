"""Webhook triggers: the request a trigger script sees, the answer it gives, and what guards it.

A trigger is ``async def fn(ctx, request)``; splice calls it for ``ANY /webhooks/{integration}/{name}``::

    from splice.triggers import Header, HmacSignature, Response

    @acme.trigger(
        signature=HmacSignature(
            header="X-Acme-Signature", secret_env="ACME_WEBHOOK_SECRET",
            timestamp_header="X-Acme-Timestamp", signed_payload="{header:X-Acme-Account}|{timestamp}.{body}",
        ),
        connection_from=Header("X-Acme-Account"),  # it picks the tenant, so it must be signed
    )
    async def contact_events(ctx, request):
        event = request.json()
        await ctx.state.put(f"event:{event['id']}", event)
        return Response(status=202, body="queued")

Returning ``None`` answers ``200 {"ok": true}``; a dict or a list answers 200 with it as JSON.
A script that raises or runs out of time answers 500 / 504 with the run's id, never a traceback.
A routing value the signature does not sign is refused when the trigger is declared, unless
the source says ``trusted=True``; a timestamped delivery is accepted once.
Everything here is I/O-free: the runtime, the server and tests share it.
"""

from splice.triggers._request import WebhookRequest
from splice.triggers._response import Response, WebhookResponse
from splice.triggers._routing import Body, ConnectionSource, Header, Query
from splice.triggers._signature import HmacSignature

__all__ = [
    "Body",
    "ConnectionSource",
    "Header",
    "HmacSignature",
    "Query",
    "Response",
    "WebhookRequest",
    "WebhookResponse",
]
