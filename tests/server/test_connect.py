"""The OAuth connect flow over a real server, with the demo API as the provider (no mocks).

The tests play the customer's browser: follow the connect link to the provider's authorize
endpoint, which auto-approves and redirects to ``/oauth/callback`` with a code and the state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import aiohttp
import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import OctKey
from tests.conftest import ProjectFactory
from tests.server.conftest import Server, assert_error_body, serving

from splice._clock import ManualClock
from splice.demo.server import DemoAPI
from splice.runtime import Runtime
from splice.server import create_app
from splice.services.connect import DEFAULT_TTL, ConnectFlow
from splice.store._schema import oauth_states

PROJECT = """
from splice import Integration, auth

acme_oauth = Integration(
    "acme_oauth", base_url="{config.api_url}/api", test_path="/whoami",
    auth=auth.OAuth2AuthorizationCode(
        authorize_url="{config.api_url}/oauth/authorize",
        token_url="{config.api_url}/oauth/token",
        scopes=["crm"],
    ),
)
acme = Integration("acme", base_url="{config.api_url}/api", auth=auth.ApiKey())


@acme_oauth.action
async def whoami(ctx, input) -> dict:
    return await ctx.api.get("/whoami")
"""
CLIENT = {"client_id": "demo-client", "client_secret": "demo-secret"}
RETURN_TO = "https://app.example/done?tab=integrations"


@dataclass
class ConnectServer(Server):
    flow: ConnectFlow | None = None
    #: the runtime's clock (so its store's and its connect flow's): frozen until a test moves it
    clock: ManualClock = field(default_factory=ManualClock)

    @property
    def connect_flow(self) -> ConnectFlow:
        assert self.flow is not None
        return self.flow

    def browser(self, **headers: str) -> aiohttp.ClientSession:
        """A session without a bearer token, like the customer's browser."""
        return self.as_token(None) if not headers else self._session(headers)

    def _session(self, headers: dict[str, str]) -> aiohttp.ClientSession:
        session = aiohttp.ClientSession(base_url=self.url, headers=headers)
        self.sessions.append(session)
        return session


@pytest.fixture
async def server(make_project: ProjectFactory, demo_api: DemoAPI) -> AsyncIterator[ConnectServer]:
    clock = ManualClock()
    runtime = await Runtime.open(make_project({"acme.py": PROJECT}), isolation="none", clock=clock)
    app = create_app(runtime)
    flow = runtime.connect

    def handle(url: str, secret: str) -> ConnectServer:
        return ConnectServer(runtime, url, secret, demo_api.url, flow=flow, clock=clock)

    async with serving(runtime, app, handle) as s:
        yield s


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def new_link(server: ConnectServer, connection_id: str = "c1", **extra: Any) -> str:
    body = {"integration": "acme_oauth", "connection_id": connection_id, "credentials": CLIENT,
            "config": {"api_url": server.api_url}, **extra}  # fmt: skip
    async with server.client.post("/connect/sessions", json=body) as response:
        assert response.status == 201, await response.text()
        answer = await response.json()
    assert "demo-secret" not in str(answer)
    return str(answer["url"])


async def authorize_url(server: ConnectServer, link: str) -> str:
    """Open the connect link as the browser: a 302 to the provider."""
    async with server.browser().get(link, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        assert response.headers["Cache-Control"] == "no-store"
        return response.headers["Location"]


async def provider(url: str) -> str:
    """The provider's authorize page (auto-approving): where it sends the browser back to."""
    async with aiohttp.ClientSession() as session, session.get(url, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        return response.headers["Location"]


async def callback(server: ConnectServer, url: str, **headers: str) -> aiohttp.ClientResponse:
    """Follow the provider's redirect to ``/oauth/callback``; the body is read before returning."""
    async with server.browser(**headers).get(url, allow_redirects=False) as response:
        await response.read()
        return response


async def callback_url(server: ConnectServer, connection_id: str = "c1", **extra: Any) -> str:
    return await provider(await authorize_url(server, await new_link(server, connection_id, **extra)))


async def test_connect_creates_the_connection_with_tokens(server: ConnectServer) -> None:
    link = await new_link(server, return_to=RETURN_TO)
    assert link.startswith(f"{server.url}/connect/acme_oauth?session=")
    auth_url = await authorize_url(server, link)
    params = query(auth_url)
    assert auth_url.startswith(f"{server.api_url}/oauth/authorize?")
    assert params["code_challenge_method"] == "S256" and params["client_id"] == "demo-client"
    assert params["redirect_uri"] == f"{server.url}/oauth/callback" and params["scope"] == "crm"
    assert "demo-secret" not in auth_url
    back = await provider(auth_url)
    assert back.startswith(f"{server.url}/oauth/callback?")
    response = await callback(server, back)
    assert response.status == 302
    done = response.headers["Location"]
    assert done.startswith("https://app.example/done?")
    assert query(done) == {"tab": "integrations", "integration": "acme_oauth", "connection_id": "c1",
                           "status": "connected"}  # fmt: skip
    conn = await server.runtime.connections.get("acme_oauth", "c1")
    assert conn.config == {"api_url": server.api_url}
    assert conn.credentials["client_id"] == "demo-client" and conn.credentials["access_token"]
    assert conn.credentials["refresh_token"] and conn.credentials["expires_at"] > time.time()
    async with server.client.post("/connections/acme_oauth/c1/test") as test:
        assert test.status == 200 and (await test.json())["ok"] is True
    run = await server.runtime.run("acme_oauth.whoami", connection="c1")
    assert run.status == "succeeded", run.error


async def test_without_return_to_the_callback_answers_a_page(server: ConnectServer) -> None:
    response = await callback(server, await callback_url(server, "c1"))
    assert response.status == 200
    assert await response.json() == {"status": "connected", "integration": "acme_oauth", "connection_id": "c1"}
    html = await callback(server, await callback_url(server, "c2"), Accept="text/html,*/*;q=0.8")
    assert html.status == 200 and html.content_type == "text/html"
    assert "Connected" in await html.text()


async def test_reconnecting_an_existing_connection_replaces_its_tokens(server: ConnectServer) -> None:
    old = {**CLIENT, "access_token": "old-token", "refresh_token": "old-refresh"}
    await server.runtime.connections.add(
        "acme_oauth", "c1", old, config={"api_url": server.api_url}, metadata={"plan": "pro"}
    )
    # an API caller with a bearer token: the connection's own OAuth app and config are used
    async with server.client.get("/connect/acme_oauth?connection_id=c1", allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        auth_url = response.headers["Location"]
    response = await callback(server, await provider(auth_url))
    assert response.status == 200
    conn = await server.runtime.connections.get("acme_oauth", "c1")
    assert conn.credentials["access_token"] not in ("old-token", "")
    assert conn.credentials["refresh_token"] != "old-refresh"
    assert conn.metadata == {"plan": "pro"} and conn.config == {"api_url": server.api_url}
    run = await server.runtime.run("acme_oauth.whoami", connection="c1")
    assert run.status == "succeeded", run.error


def tamper(token: str, part: int) -> str:
    pieces = token.split(".")
    middle = len(pieces[part]) // 2
    pieces[part] = pieces[part][:middle] + ("A" if pieces[part][middle] != "A" else "B") + pieces[part][middle + 1 :]
    return ".".join(pieces)


def with_state(url: str, state: str) -> str:
    parts = urlsplit(url)
    params = {**query(url), "state": state}
    return urlunsplit(parts._replace(query=urlencode(params)))


async def test_a_forged_state_is_refused_and_the_real_one_still_works(server: ConnectServer) -> None:
    back = await callback_url(server)
    state = query(back)["state"]
    claims = {"jti": "x" * 32, "use": "state", "exp": time.time() + 60}
    header = {"alg": "HS256", "kid": server.connect_flow._kid}  # the right key id, another key
    foreign = jwt.encode(header, claims, OctKey.generate_key(256), algorithms=["HS256"])
    session_token = query(await new_link(server, "c9"))["session"]
    for forged in (tamper(state, 2), tamper(state, 1), "not-a-jwt", foreign, session_token, ""):
        response = await callback(server, with_state(back, forged))
        assert response.status == 400, forged
        error = assert_error_body(await response.json(), "INVALID_STATE")
        assert error["details"]["reason"] == ("missing" if not forged else "forged"), forged
    assert await server.runtime.connections.list("acme_oauth") == []
    response = await callback(server, back)
    assert response.status == 200, await response.text()


async def test_a_reused_state_is_refused(server: ConnectServer) -> None:
    back = await callback_url(server)
    assert (await callback(server, back)).status == 200
    response = await callback(server, back)
    assert response.status == 400
    error = assert_error_body(await response.json(), "INVALID_STATE")
    assert error["details"]["reason"] == "used" and "already used" in error["message"]


async def test_two_callbacks_racing_with_one_state_connect_once(server: ConnectServer) -> None:
    back = await callback_url(server)
    first, second = await asyncio.gather(callback(server, back), callback(server, back))
    assert sorted([first.status, second.status]) == [200, 400]


async def test_an_expired_state_is_refused(server: ConnectServer) -> None:
    back = await callback_url(server)
    server.clock.advance(DEFAULT_TTL + 1)
    response = await callback(server, back)
    assert response.status == 400
    error = assert_error_body(await response.json(), "INVALID_STATE")
    assert error["details"]["reason"] == "expired"
    assert await server.runtime.connections.list("acme_oauth") == []
    async with server.runtime.store.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(oauth_states))).scalar() == 0


async def test_a_connect_link_works_once_and_expires(server: ConnectServer) -> None:
    link = await new_link(server)
    await authorize_url(server, link)
    async with server.browser().get(link, allow_redirects=False) as response:
        assert response.status == 400
        assert assert_error_body(await response.json(), "INVALID_SESSION")["details"]["reason"] == "used"
    link = await new_link(server)
    server.clock.advance(DEFAULT_TTL + 1)
    async with server.browser().get(link, allow_redirects=False) as response:
        assert response.status == 400
        assert assert_error_body(await response.json(), "INVALID_SESSION")["details"]["reason"] == "expired"
    link = await new_link(server)
    async with server.browser().get(link.replace("/acme_oauth?", "/acme?"), allow_redirects=False) as response:
        assert response.status == 400
        assert assert_error_body(await response.json(), "INVALID_SESSION")["details"]["reason"] == "mismatch"
    forged = link.replace(query(link)["session"], tamper(query(link)["session"], 2))
    async with server.browser().get(forged, allow_redirects=False) as response:
        assert response.status == 400
        assert assert_error_body(await response.json(), "INVALID_SESSION")["details"]["reason"] == "forged"


async def test_a_provider_error_goes_back_to_return_to(server: ConnectServer) -> None:
    auth_url = await authorize_url(server, await new_link(server, return_to=RETURN_TO))
    # a real error from the provider: it refuses a response_type it does not support
    back = await provider(auth_url.replace("response_type=code", "response_type=token"))
    assert query(back)["error"] == "unsupported_response_type"
    response = await callback(server, back)
    assert response.status == 302
    done = query(response.headers["Location"])
    assert done["status"] == "error" and done["error"] == "unsupported_response_type"
    assert done["integration"] == "acme_oauth" and done["connection_id"] == "c1"
    assert await server.runtime.connections.list("acme_oauth") == []
    response = await callback(server, back)
    assert response.status == 400  # the state was used up by the error
    assert_error_body(await response.json(), "INVALID_STATE")


async def test_a_denied_consent_without_return_to_is_a_400(server: ConnectServer) -> None:
    state = query(await authorize_url(server, await new_link(server)))["state"]
    denied = "/oauth/callback?" + urlencode({"error": "access_denied", "error_description": "user said no",
                                             "state": state})  # fmt: skip
    response = await callback(server, denied)
    assert response.status == 400
    error = assert_error_body(await response.json(), "OAUTH_PROVIDER_ERROR")
    assert error["details"] == {"error": "access_denied", "error_description": "user said no"}
    page = await callback(server, denied, Accept="text/html")
    assert page.status == 400 and page.content_type == "text/html"  # used up: INVALID_STATE as a page
    assert "INVALID_STATE" in await page.text()
    assert await server.runtime.connections.list("acme_oauth") == []


async def test_a_token_endpoint_failure_is_a_502_and_changes_nothing(server: ConnectServer) -> None:
    await server.runtime.connections.add(
        "acme_oauth", "c1", {**CLIENT, "access_token": "old-token"}, config={"api_url": server.api_url}
    )
    back = await callback_url(server, "c1")
    async with aiohttp.ClientSession() as session:
        await session.post(f"{server.api_url}/admin/token-failures", json={"mode": "400", "count": 1})
    response = await callback(server, back)
    assert response.status == 502
    error = assert_error_body(await response.json(), "TOKEN_EXCHANGE_FAILED")
    assert error["details"]["provider_error"]["error"] == "invalid_grant"
    conn = await server.runtime.connections.get("acme_oauth", "c1")
    assert conn.credentials["access_token"] == "old-token"


async def test_bad_requests_for_a_connect_link(server: ConnectServer) -> None:
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"integration": "nope", "connection_id": "c1"}, 404, "NOT_FOUND"),
        ({"integration": "acme", "connection_id": "c1"}, 422, "CONNECT_NOT_SUPPORTED"),
        ({"integration": "acme_oauth", "connection_id": "c1", "config": {"api_url": server.api_url}},
         422, "INVALID_CREDENTIALS"),
        ({"integration": "acme_oauth", "connection_id": "c1", "credentials": CLIENT}, 422, "INVALID_CONFIG"),
        ({"integration": "acme_oauth", "connection_id": "c1", "credentials": CLIENT,
          "config": {"api_url": server.api_url}, "return_to": "javascript:alert(1)"}, 422, "INVALID_INPUT"),
    ]  # fmt: skip
    for body, status, code in cases:
        async with server.client.post("/connect/sessions", json=body) as response:
            assert response.status == status, (body, await response.text())
            assert_error_body(await response.json(), code)
    async with server.client.get("/connect/acme?connection_id=c1", allow_redirects=False) as response:
        assert response.status == 422
        assert_error_body(await response.json(), "CONNECT_NOT_SUPPORTED")


async def test_connecting_needs_a_token_or_a_link(server: ConnectServer) -> None:
    body = {"integration": "acme_oauth", "connection_id": "c1", "credentials": CLIENT}
    async with server.browser().post("/connect/sessions", json=body) as response:
        assert response.status == 401
        assert_error_body(await response.json(), "UNAUTHORIZED")
    async with server.browser().get("/connect/acme_oauth?connection_id=c1", allow_redirects=False) as response:
        assert response.status == 401
        assert_error_body(await response.json(), "UNAUTHORIZED")
    async with server.client.get("/connect/acme_oauth", allow_redirects=False) as response:
        assert response.status == 422
        assert_error_body(await response.json(), "INVALID_INPUT")
    reader = server.as_token(await server.token("reader", read_only=True))
    async with reader.post("/connect/sessions", json=body) as response:
        assert response.status == 403
        assert_error_body(await response.json(), "FORBIDDEN")
    tenant = server.as_token(await server.token("tenant", integrations=("acme_oauth",), connections=("c2",)))
    async with tenant.post("/connect/sessions", json=body) as response:
        assert response.status == 404
    async with tenant.get("/connect/acme_oauth?connection_id=c1", allow_redirects=False) as response:
        assert response.status == 404


async def test_the_verifier_and_client_secret_are_never_shown_or_stored_in_plain_text(
    server: ConnectServer,
) -> None:
    link = await new_link(server, return_to=RETURN_TO)
    seen = [link]

    async def rows() -> list[bytes]:
        async with server.runtime.store.engine.connect() as conn:
            return [bytes(r.data) for r in await conn.execute(sa.select(oauth_states.c.data))]

    stored = await rows()
    assert len(stored) == 1 and not any(b"demo-secret" in row for row in stored)
    auth_url = await authorize_url(server, link)
    seen.append(auth_url)
    (row,) = await rows()
    verifier = server.runtime.secrets.decrypt(row)["verifier"]
    assert len(verifier) > 40
    assert verifier.encode() not in row and b"demo-secret" not in row
    back = await provider(auth_url)
    seen.append(back)
    response = await callback(server, back)
    seen += [response.headers["Location"], await response.text()]
    for text in seen:
        assert verifier not in text and "demo-secret" not in text
    assert await rows() == []


async def test_the_openapi_document_describes_connect(server: ConnectServer) -> None:
    async with server.client.get("/openapi.json") as response:
        paths = (await response.json())["paths"]
    assert "post" in paths["/connect/sessions"] and "get" in paths["/connect/{integration}"]
    assert "get" in paths["/oauth/callback"]
