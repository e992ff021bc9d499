"""``ANY /webhooks/{integration}/{trigger}``: a third party's webhook runs the trigger script.

No bearer token (third parties cannot send one); a trigger that needs to trust its caller
declares a signature (``splice.triggers.HmacSignature``). The body is read in chunks and refused
with 413 as soon as it passes the limit, before any script runs; the answer is whatever the
script returned (default ``200 {"ok": true}``), or, with the run id, the status its error's class
gives a failed run (``run_status``: 500 a crash, 502 the third party, 504 a time-out, …), with
the request id like every other error.

A path that names no trigger is a plain 404, the same whether the integration, the script or
its kind is what is missing: the caller has no token, so it learns nothing of the project's
scripts (the runtime's own errors list them, for the operator).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.routing import Route

from splice._runtime.webhooks import body_too_large
from splice.errors import NotFound
from splice.runtime import Runtime
from splice.server._errors import ERROR_RESPONSES
from splice.triggers import WebhookRequest

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=ERROR_RESPONSES)
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


async def receive_webhook(integration: str, trigger: str, request: Request) -> Response:
    rt: Runtime = request.app.state.runtime  # not a dependency: FAST_ROUTE calls this directly
    _known_trigger(rt, integration, trigger)
    limit = rt.webhook_body_limit
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise body_too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise body_too_large(limit)
    incoming = WebhookRequest(
        method=request.method,
        path=request.url.path,
        headers=request.headers.items(),
        query=request.query_params.multi_items(),
        body=bytes(body),
    )
    _, answer = await rt.run_trigger(integration, trigger, incoming)
    answer = answer.with_request_id(request.state.request_id)  # a failed trigger's or flow's error envelope
    headers = dict(answer.headers)
    if answer.content_type:
        headers["content-type"] = answer.content_type
    return Response(content=answer.body, status_code=answer.status, headers=headers)


def _known_trigger(rt: Runtime, integration: str, trigger: str) -> None:
    found = rt.project.integrations.get(integration)
    script = found.scripts.get(trigger) if found is not None else None
    if script is None or script.kind != "trigger":
        raise NotFound(f"no webhook at /webhooks/{integration}/{trigger}")


async def _serve_webhook(request: Request) -> Response:
    return await receive_webhook(request.path_params["integration"], request.path_params["trigger"], request)


#: The route webhooks are served by: a plain Starlette route, first in the app, because
#: FastAPI's per-request parameter handling costs a tenth of a trivial webhook. The FastAPI
#: operations below, which it shadows, describe it in the OpenAPI document.
FAST_ROUTE = Route("/webhooks/{integration}/{trigger}", _serve_webhook, methods=list(_METHODS), include_in_schema=False)

_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "whatever the trigger script answers", "content": {"application/json": {}}},
    401: {"description": "bad or missing signature"},
    413: {"description": "body over the limit"},
    500: {"description": "the trigger failed; the body names the run"},
    502: {"description": "the third party the trigger called failed; the body names the run"},
    504: {"description": "the trigger ran out of time"},
}
for _method in _METHODS:  # one operation each: OpenAPI ids must be unique
    router.add_api_route(
        "/{integration}/{trigger}",
        receive_webhook,
        methods=[_method],
        operation_id=f"receive_webhook_{_method.lower()}",
        summary="Receive a webhook (no bearer token; the trigger may check a signature)",
        response_class=Response,
        responses=_RESPONSES,
    )
