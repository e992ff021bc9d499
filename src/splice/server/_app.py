"""The ASGI app: FastAPI (for the OpenAPI document a generated client can use) over the Runtime.

``/docs`` is Swagger UI served from the package (``fastapi-offline``: FastAPI's own page, with
Swagger UI's script and stylesheet shipped in the wheel instead of fetched from a CDN), so it
works on a machine without internet; its validator badge, which would call out, is off. That
package over vendoring the files: 1.5 MB of minified JavaScript stays out of the repository and
is updated by a version bump; over ``swagger-ui-bundle``: it ships a current Swagger UI (5.x,
not 4.15) and needs nothing but FastAPI.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from fastapi_offline import FastAPIOffline

from splice import __version__
from splice.runtime import Runtime
from splice.server import _errors, _openapi
from splice.server._body_limit import BodyLimit
from splice.server._params import refuse_nul
from splice.server._request_id import RequestId
from splice.server._truncate import LIST_FIELD_BYTES
from splice.server.routes import ROUTERS, webhooks

DESCRIPTION = f"""splice's REST API. Every endpoint but `/webhooks/...` and `/oauth/callback` needs
`Authorization: Bearer <token>` (create one with `splice tokens create NAME`). Errors are always
`{{"error": {{"code", "message", "details", "hint", "request_id"}}}}`, and `details.errors`, when
present, is a list of `{{"field", "message"}}`; every response carries `X-Request-Id`.

Bodies are JSON, sent with `Content-Type: application/json` (otherwise 415
`UNSUPPORTED_MEDIA_TYPE`); a body that does not parse is 400 `INVALID_JSON` with the line and
column, and a key the body does not take is 422 `INVALID_INPUT` naming it and the accepted ones.
Each action also has its own path, `POST /actions/<integration>/<action>`, typed with its input
and output models; the generic `POST /actions/{{integration}}/{{action}}` takes any.

Request bodies over `[server] max_body_kb` (webhooks: `[runtime] max_webhook_body_kb`; a deploy's
archive, the one body that is not JSON: `[server] max_deploy_mb`) are refused with 413
`PAYLOAD_TOO_LARGE` before they are read. JSON bodies may not hold NaN or
Infinity (a number such as `1e999` overflows to it), and ids, names, keys and filters may not
hold NUL characters: both are 422 `INVALID_INPUT` naming the field. Lists (`GET /runs`,
`GET /logs`, `GET /connections`) replace a JSON field over {LIST_FIELD_BYTES:,} bytes with
`{{"_truncated": true, "bytes": N}}`; the full value is in the object's own `GET`
(`GET /runs/{{run_id}}`, `GET /connections/{{integration}}/{{connection_id}}`, `GET /logs/export`)."""


def operation_id(route: APIRoute) -> str:
    """The route function's name (``list_connections``): short and stable, where FastAPI's default
    appends the path and method (``list_connections_connections_get``)."""
    return route.name


def create_app(runtime: Runtime) -> FastAPI:
    """The REST API over an open runtime (the caller opens and closes it)."""
    # FastAPI's own OpenTelemetry hooks look up the global providers on every request; splice
    # exports no traces, so they only cost time (a tenth of a trivial webhook's).
    telemetry: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
    app = FastAPIOffline(
        title="splice", version=__version__, description=DESCRIPTION, docs_url="/docs", redoc_url=None,
        static_url="/docs/assets", swagger_ui_parameters={"validatorUrl": None}, telemetry=telemetry,
        generate_unique_id_function=operation_id, dependencies=[Depends(refuse_nul)],
    )  # fmt: skip
    app.state.runtime = runtime
    _errors.install(app)
    _openapi.install(app, lambda: runtime.project)
    app.router.routes.append(webhooks.FAST_ROUTE)
    for router in ROUTERS:
        app.include_router(router)
    from splice.ui import create_ui  # the dashboard builds on this package's auth: imported once this one is

    app.mount("/ui", create_ui(runtime))
    server = runtime.project.config.server
    deploys = (server.max_deploy_mb * 1024 * 1024, "[server] max_deploy_mb")
    app.add_middleware(BodyLimit, max_bytes=server.max_body_kb * 1024, own={"/deploys": deploys})
    app.add_middleware(RequestId)  # outermost: the 413s above carry the request id too
    return app
