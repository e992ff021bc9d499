"""The runtime's seams: a replay transport instead of the network, a clock the test moves.

No demo API runs here: every HTTP call of a run (and of the token refresh before it) is
answered by :class:`ReplayTransport`, in both isolation modes, since the transport sits in the
parent behind the gateway. Token expiry is judged by the :class:`ManualClock`, not the wall.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tests._replay import Exchange, ReplayTransport
from tests.conftest import ProjectFactory

from splice._clock import ManualClock
from splice.runtime import Runtime

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
API = "https://api.acme.test"
CLIENT = {"client_id": "demo-client", "client_secret": "demo-secret"}

ACME = """
from splice import Integration, auth, paginate

acme = Integration(
    "acme",
    base_url="{config.api_url}/api",
    auth=auth.OAuth2ClientCredentials(token_url="{config.api_url}/oauth/token", scopes=["crm"]),
    paginate=paginate.Cursor(cursor_path="meta.next", cursor_param="cursor", items_path="data"),
)


@acme.action
async def contacts(ctx, input):
    pages = []
    async for page in ctx.api.paginate("/contacts", query={"limit": 2}):
        pages.append({
            "index": page.index,
            "ids": [contact["id"] for contact in page],
            "cursor": page.request.query.get("cursor"),
            "status": page.response.status,
            "remaining": page.response.headers.get("X-RateLimit-Remaining"),
        })
    return pages


@acme.action
async def whoami(ctx, input):
    return await ctx.api.get("/whoami")
"""


def token(value: str, expires_in: int = 3600) -> Exchange:
    body = {"access_token": value, "token_type": "bearer", "expires_in": expires_in}
    return Exchange("POST", f"{API}/oauth/token", json=body)


def whoami() -> Exchange:
    return Exchange("GET", f"{API}/api/whoami", json={"id": "u1"})


async def open_runtime(
    make_project: ProjectFactory, isolation: str, transport: ReplayTransport, clock: ManualClock
) -> Runtime:
    rt = await Runtime.open(make_project({"acme.py": ACME}), isolation=isolation, transport=transport, clock=clock)
    await rt.connections.add("acme", "c1", CLIENT, config={"api_url": API})
    return rt


async def test_a_run_replays_its_http_and_the_token_expires_by_the_clock(
    make_project: ProjectFactory, isolation: str
) -> None:
    transport = ReplayTransport([
        token("tok-1"),
        Exchange("GET", f"{API}/api/contacts", query={"limit": "2"},
                 json={"data": [{"id": 1}, {"id": 2}], "meta": {"next": "c2"}},
                 headers={"X-RateLimit-Remaining": "9"}),
        Exchange("GET", f"{API}/api/contacts", query={"limit": "2", "cursor": "c2"},
                 json={"data": [{"id": 3}], "meta": {}}, headers={"X-RateLimit-Remaining": "8"}),
        whoami(),                      # 50 minutes later: tok-1 is still good
        token("tok-2"), whoami(),      # an hour later: tok-1 has expired, so it is refreshed first
    ])  # fmt: skip
    clock = ManualClock(T0)
    rt = await open_runtime(make_project, isolation, transport, clock)
    try:
        run = await rt.run("acme.contacts", connection="c1")
        assert run.status == "succeeded", run.error
        assert run.output == [
            {"index": 0, "ids": [1, 2], "cursor": None, "status": 200, "remaining": "9"},
            {"index": 1, "ids": [3], "cursor": "c2", "status": 200, "remaining": "8"},
        ]
        assert (await rt.connections.get("acme", "c1")).credentials["expires_at"] == T0.timestamp() + 3600

        clock.advance(50 * 60)
        run = await rt.run("acme.whoami", connection="c1")
        assert run.status == "succeeded" and run.output == {"id": "u1"}, run.error

        clock.advance(10 * 60)
        run = await rt.run("acme.whoami", connection="c1")
        assert run.status == "succeeded" and run.output == {"id": "u1"}, run.error
        conn = await rt.connections.get("acme", "c1")
        assert conn.credentials["access_token"] == "tok-2"
        assert conn.credentials["expires_at"] == clock.time() + 3600
    finally:
        await rt.close()
    transport.assert_done()
    assert transport.closed
    api_calls = [r for r in transport.sent if "/api/" in r.url]
    assert [r.headers["Authorization"] for r in api_calls] == ["Bearer tok-1"] * 3 + ["Bearer tok-2"]


async def test_a_request_the_recording_lacks_fails_the_run_naming_it(
    make_project: ProjectFactory, isolation: str
) -> None:
    transport = ReplayTransport([token("tok-1")])
    rt = await open_runtime(make_project, isolation, transport, ManualClock(T0))
    try:
        run = await rt.run("acme.whoami", connection="c1")
    finally:
        await rt.close()
    assert run.status == "failed"
    assert f"unexpected request GET {API}/api/whoami" in run.error["message"], run.error
    assert transport.unexpected and not transport.pending
