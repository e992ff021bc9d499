"""The ASGI app: FastAPI (for the OpenAPI document a generated client can use) over the Runtime."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.telemetry import TelemetryConfig

from splice import __version__
from splice.runtime import Runtime
from splice.server import _errors
from splice.server._body_limit import BodyLimit
from splice.server._params import refuse_nul
from splice.server._request_id import RequestId
from splice.server._truncate import LIST_FIELD_BYTES
from splice.server.routes import ROUTERS, webhooks

DESCRIPTION = f"""splice's REST API. Every endpoint but `/webhooks/...` and `/oauth/callback` needs
`Authorization: Bearer <token>` (create one with `splice tokens create NAME`). Errors are always
`{{"error": {{"code", "message", "details"}}}}`; every response carries `X-Request-Id`.

Request bodies over `[server] max_body_kb` (webhooks: `[runtime] max_webhook_body_kb`) are
refused with 413 `PAYLOAD_TOO_LARGE` before they are read. JSON bodies may not hold NaN or
Infinity (a number such as `1e999` overflows to it), and ids, names, keys and filters may not
hold NUL characters: both are 422 `INVALID_INPUT` naming the field. Lists (`GET /runs`,
`GET /logs`, `GET /connections`) replace a JSON field over {LIST_FIELD_BYTES:,} bytes with
`{{"_truncated": true, "bytes": N}}`; the full value is in the object's own `GET`
(`GET /runs/{{run_id}}`, `GET /connections/{{integration}}/{{connection_id}}`, `GET /logs/export`)."""


def create_app(runtime: Runtime) -> FastAPI:
    """The REST API over an open runtime (the caller opens and closes it)."""
    # FastAPI's own OpenTelemetry hooks look up the global providers on every request; splice
    # exports no traces, so they only cost time (a tenth of a trivial webhook's).
    telemetry: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
    app = FastAPI(title="splice", version=__version__, description=DESCRIPTION, docs_url="/docs", redoc_url=None,
                  telemetry=telemetry, dependencies=[Depends(refuse_nul)])  # fmt: skip
    app.state.runtime = runtime
    _errors.install(app)
    app.router.routes.append(webhooks.FAST_ROUTE)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BodyLimit, max_bytes=runtime.project.config.server.max_body_kb * 1024)
    app.add_middleware(RequestId)  # outermost: the 413s above carry the request id too
    return app
