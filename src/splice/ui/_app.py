"""The dashboard as an ASGI app of its own, mounted at ``/ui`` by the REST API's app.

Its own app so that its errors are HTML pages (the REST API's are JSON envelopes) and a
missing session is a redirect to sign in (the API's is a 401). It serves its htmx and SSE
extension from the package: no CDN, no Node build.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from splice.errors import SpliceError
from splice.runtime import Runtime
from splice.ui import _connections, _flows, _live, _records, _runs, _signin, _syncs
from splice.ui._auth import SignInNeeded
from splice.ui._render import HERE, base, go, page
from splice.ui._session import Signer

ROUTERS = (_signin.router, _live.router, _runs.router, _connections.router, _syncs.router, _records.router,
           _flows.router)  # fmt: skip
#: no framing by other sites, no sniffing, nothing loaded from elsewhere
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def create_ui(runtime: Runtime) -> FastAPI:
    """The dashboard over an open runtime; sessions are signed with a key derived from the project's secret key."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    app.state.signer = Signer(runtime.secrets.derive_key("ui-session")[1])
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)
    app.add_api_route("/", home, methods=["GET"])
    app.add_exception_handler(SignInNeeded, sign_in)
    app.add_exception_handler(SpliceError, failed)
    app.middleware("http")(secure_headers)
    return app


async def home(request: Request) -> Response:
    return go(request, "/runs")


async def sign_in(request: Request, exc: Exception) -> Response:
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": base(request) + "/login"})
    return go(request, "/login")


async def failed(request: Request, exc: Exception) -> Response:
    """A :class:`SpliceError` as a page saying what went wrong; the same status as the REST API's."""
    error = exc if isinstance(exc, SpliceError) else SpliceError(str(exc))
    # the dashboard's own hint, else the REST API's (it names fields, as the forms do), else the general one
    hint = error.hints.get("ui") or error.hint_for("rest")
    return page(request, "error.html", status_code=error.http_status, error=error, hint=hint)


async def secure_headers(request: Request, call_next: object) -> Response:
    response: Response = await call_next(request)  # type: ignore[operator]
    response.headers.update(HEADERS)
    return response
