"""The demo Acme API, exercised over real HTTP the way splice's own tests will use it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from splice.demo.server import DemoAPI

KEY = {"X-API-Key": "demo-key"}


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def pkce_pair() -> tuple[str, str]:
    verifier = "v" * 43 + "-demo-verifier"
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048)


@pytest.fixture(scope="module")
def ec_key() -> ECKey:
    return ECKey.generate_key("P-256")


@pytest.fixture
async def api() -> AsyncIterator[DemoAPI]:
    server = DemoAPI()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def make_api() -> AsyncIterator[Callable[..., Any]]:
    """Start extra, specially configured servers; all are stopped at teardown."""
    started: list[DemoAPI] = []

    async def make(**options: Any) -> DemoAPI:
        server = DemoAPI(**options)
        await server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        await server.stop()


async def token(http: aiohttp.ClientSession, api: DemoAPI, data: dict[str, str], **kwargs: Any) -> tuple[int, Any]:
    async with http.post(f"{api.url}/oauth/token", data=data, **kwargs) as response:
        return response.status, await response.json()


async def client_token(http: aiohttp.ClientSession, api: DemoAPI) -> str:
    status, body = await token(
        http, api, {"grant_type": "client_credentials"}, headers=basic("demo-client", "demo-secret")
    )
    assert status == 200
    return body["access_token"]


async def whoami(http: aiohttp.ClientSession, api: DemoAPI, **kwargs: Any) -> tuple[int, Any]:
    async with http.get(f"{api.url}/api/whoami", **kwargs) as response:
        return response.status, await response.json()


async def authorize(http: aiohttp.ClientSession, api: DemoAPI, challenge: str | None = None, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": "demo-client",
        "redirect_uri": "http://localhost:9/callback",
        "scope": "contacts:read",
        "state": "xyz",
        **extra,
    }
    if challenge:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    async with http.get(f"{api.url}/oauth/authorize", params=params, allow_redirects=False) as response:
        assert response.status == 302
        location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == params["redirect_uri"]
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    return query["code"][0]


async def exchange(
    http: aiohttp.ClientSession, api: DemoAPI, code: str, verifier: str | None = None
) -> tuple[int, Any]:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://localhost:9/callback",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    return await token(http, api, data)


def assertion(key: RSAKey | ECKey, alg: str, iss: str, aud: str, exp_in: float = 300) -> str:
    claims = {"iss": iss, "sub": "svc", "aud": aud, "exp": int(time.time() + exp_in)}
    return jwt.encode({"alg": alg}, claims, key)


async def register(http: aiohttp.ClientSession, api: DemoAPI, issuer: str, key: Any) -> None:
    body = {"issuer": issuer, "public_key": key.as_pem(private=False).decode()}
    async with http.post(f"{api.url}/admin/keys", json=body) as response:
        assert response.status == 200


async def stats(http: aiohttp.ClientSession, api: DemoAPI) -> dict[str, int]:
    async with http.get(f"{api.url}/admin/stats") as response:
        return await response.json()


# -- lifecycle ----------------------------------------------------------------------------


async def test_start_returns_url(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", api.url)
    async with http.get(f"{api.url}/") as response:
        assert (await response.json())["token_url"] == f"{api.url}/oauth/token"


def test_start_in_thread_serves_synchronous_callers() -> None:
    server = DemoAPI(contacts=3)
    url = server.start_in_thread()
    try:
        with urllib.request.urlopen(f"{url}/api/text?api_key=demo-key", timeout=5) as response:
            assert response.read() == b"hello from acme"
    finally:
        server.stop_thread()
    with pytest.raises(OSError), urllib.request.urlopen(f"{url}/api/text", timeout=2):
        pass


def test_module_runs_in_foreground() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "splice.demo.server", "--port", "0", "--contacts", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        with urllib.request.urlopen(f"{url}/api/paged/offset?api_key=demo-key", timeout=5) as r:
            assert b'"total":2' in r.read()
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


# -- OAuth --------------------------------------------------------------------------------


async def test_client_credentials_with_basic_and_post_auth(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    grant = {"grant_type": "client_credentials", "scope": "contacts:read"}
    status, by_basic = await token(http, api, grant, headers=basic("demo-client", "demo-secret"))
    assert status == 200
    assert by_basic["token_type"] == "Bearer"
    assert by_basic["expires_in"] == 3600
    assert by_basic["scope"] == "contacts:read"
    assert "refresh_token" not in by_basic
    post = grant | {"client_id": "demo-client", "client_secret": "demo-secret"}
    status, by_post = await token(http, api, post)
    assert status == 200
    for issued in (by_basic, by_post):
        assert await whoami(http, api, headers=bearer(issued["access_token"])) == (
            200,
            {"auth": "bearer", "principal": "demo-client"},
        )
    assert (await stats(http, api))["token.client_credentials"] == 2


async def test_bad_client_credentials_are_invalid_client(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    grant = {"grant_type": "client_credentials"}
    for kwargs in (
        {"headers": basic("demo-client", "wrong")},
        {"headers": basic("nobody", "demo-secret")},
        {"data": grant | {"client_id": "demo-client", "client_secret": "wrong"}},
        {},
    ):
        async with http.post(f"{api.url}/oauth/token", **({"data": grant} | kwargs)) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith("Basic")
            assert (await response.json())["error"] == "invalid_client"


async def test_unknown_and_missing_grant_type(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    auth = basic("demo-client", "demo-secret")
    status, body = await token(http, api, {"grant_type": "password"}, headers=auth)
    assert (status, body["error"]) == (400, "unsupported_grant_type")
    assert "error_description" in body
    status, body = await token(http, api, {}, headers=auth)
    assert (status, body["error"]) == (400, "invalid_request")


async def test_authorization_code_with_pkce(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    verifier, challenge = pkce_pair()
    code = await authorize(http, api, challenge)
    status, body = await exchange(http, api, code, verifier)
    assert status == 200
    assert body["refresh_token"] and body["access_token"]
    assert body["scope"] == "contacts:read"
    assert (await whoami(http, api, headers=bearer(body["access_token"])))[0] == 200
    # codes are single-use
    status, body = await exchange(http, api, code, verifier)
    assert (status, body["error"]) == (400, "invalid_grant")
    assert (await stats(http, api))["token.authorization_code"] == 2


async def test_authorization_code_without_pkce(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    code = await authorize(http, api)
    status, body = await exchange(http, api, code)
    assert status == 200 and "refresh_token" in body


async def test_pkce_mismatch_and_missing_verifier(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    _, challenge = pkce_pair()
    status, body = await exchange(http, api, await authorize(http, api, challenge), "x" * 43)
    assert (status, body["error"]) == (400, "invalid_grant")
    status, body = await exchange(http, api, await authorize(http, api, challenge))
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_code_exchange_checks_redirect_uri(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    code = await authorize(http, api, redirect_uri="http://localhost:9/other")
    status, body = await exchange(http, api, code)  # sends .../callback
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_authorize_rejects_unknown_client_and_missing_redirect(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    base = {"response_type": "code", "redirect_uri": "http://localhost:9/cb"}
    for params in (base | {"client_id": "nobody"}, {"response_type": "code", "client_id": "x"}):
        async with http.get(f"{api.url}/oauth/authorize", params=params, allow_redirects=False) as response:
            assert response.status == 400
            assert "error" in await response.json()
    params = {"response_type": "code", "client_id": "demo-client"}
    async with http.get(f"{api.url}/oauth/authorize", params=params, allow_redirects=False) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "invalid_request"


async def test_refresh_rotates_and_old_token_is_rejected(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    _, first = await exchange(http, api, await authorize(http, api))
    grant = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
    }
    auth = basic("demo-client", "demo-secret")
    status, second = await token(http, api, grant, headers=auth)
    assert status == 200
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert (await whoami(http, api, headers=bearer(second["access_token"])))[0] == 200
    # the double refresh is detectable
    status, body = await token(http, api, grant, headers=auth)
    assert (status, body["error"]) == (400, "invalid_grant")
    counters = await stats(http, api)
    assert counters["token.refresh_reused"] == 1
    assert counters["token.refresh_token"] == 2
    # the rotated token works, once
    grant["refresh_token"] = second["refresh_token"]
    assert (await token(http, api, grant, headers=auth))[0] == 200
    # another client cannot use someone else's refresh token
    other = await token(http, api, grant, headers=basic("demo-client", "wrong"))
    assert other[0] == 401


async def test_jwt_bearer_grant(api: DemoAPI, http: aiohttp.ClientSession, rsa_key: RSAKey, ec_key: ECKey) -> None:
    await register(http, api, "svc@acme", rsa_key)
    await register(http, api, "ec@acme", ec_key)
    aud = f"{api.url}/oauth/token"
    for key, alg, iss in ((rsa_key, "RS256", "svc@acme"), (ec_key, "ES256", "ec@acme")):
        grant = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}
        grant["assertion"] = assertion(key, alg, iss, aud)
        status, body = await token(http, api, grant)  # no client authentication needed
        assert status == 200, body
        assert await whoami(http, api, headers=bearer(body["access_token"])) == (
            200,
            {"auth": "bearer", "principal": iss},
        )
    assert (await stats(http, api))["token.jwt_bearer"] == 2


@pytest.mark.parametrize("problem", ["unregistered", "wrong_aud", "expired", "wrong_key"])
async def test_jwt_bearer_rejections(
    api: DemoAPI, http: aiohttp.ClientSession, rsa_key: RSAKey, ec_key: ECKey, problem: str
) -> None:
    await register(http, api, "svc@acme", rsa_key)
    aud, iss, key, alg, exp_in = f"{api.url}/oauth/token", "svc@acme", rsa_key, "RS256", 300.0
    if problem == "unregistered":
        iss = "stranger@acme"
    elif problem == "wrong_aud":
        aud = "https://elsewhere.example/token"
    elif problem == "expired":
        exp_in = -60
    else:
        key, alg = ec_key, "ES256"
    grant = {
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "assertion": assertion(key, alg, iss, aud, exp_in),
    }
    status, body = await token(http, api, grant)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_admin_keys_rejects_garbage(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    body = {"issuer": "x", "public_key": "not a pem"}
    async with http.post(f"{api.url}/admin/keys", json=body) as response:
        assert response.status == 400


async def test_tokens_expire_after_ttl(make_api: Any, http: aiohttp.ClientSession) -> None:
    api = await make_api(token_ttl=0.3)
    _, body = await token(http, api, {"grant_type": "client_credentials"}, headers=basic("demo-client", "demo-secret"))
    assert body["expires_in"] == 0.3
    assert (await whoami(http, api, headers=bearer(body["access_token"])))[0] == 200
    await asyncio.sleep(0.4)
    assert (await whoami(http, api, headers=bearer(body["access_token"])))[0] == 401


async def test_admin_expire_revokes_access_tokens_but_not_refresh(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    _, issued = await exchange(http, api, await authorize(http, api))
    assert (await whoami(http, api, headers=bearer(issued["access_token"])))[0] == 200
    async with http.post(f"{api.url}/admin/tokens/expire") as response:
        assert (await response.json())["revoked"] >= 1
    async with http.get(f"{api.url}/api/whoami", headers=bearer(issued["access_token"])) as r:
        assert r.status == 401
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await r.json())["error"] == "unauthorized"
    grant = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    status, fresh = await token(http, api, grant, headers=basic("demo-client", "demo-secret"))
    assert status == 200
    assert (await whoami(http, api, headers=bearer(fresh["access_token"])))[0] == 200


@pytest.mark.parametrize("mode", ["400", "500", "garbage"])
async def test_token_failure_injection(api: DemoAPI, http: aiohttp.ClientSession, mode: str) -> None:
    async with http.post(f"{api.url}/admin/token-failures", json={"mode": mode, "count": 2}) as response:
        assert response.status == 200
    grant = {"grant_type": "client_credentials"}
    auth = basic("demo-client", "demo-secret")
    for _ in range(2):
        async with http.post(f"{api.url}/oauth/token", data=grant, headers=auth) as response:
            text = await response.text()
            if mode == "400":
                assert response.status == 400
                assert (await response.json())["error"] == "invalid_grant"
            elif mode == "500":
                assert response.status == 500
            else:
                assert response.status == 200
                with pytest.raises(ValueError):
                    json.loads(text)
    assert (await token(http, api, grant, headers=auth))[0] == 200
    assert (await stats(http, api))["token.client_credentials"] == 3


# -- API authentication -------------------------------------------------------------------


async def test_every_credential_kind(api: DemoAPI, http: aiohttp.ClientSession, rsa_key: RSAKey) -> None:
    await register(http, api, "svc@acme", rsa_key)
    direct_jwt = assertion(rsa_key, "RS256", "svc@acme", "acme-api")
    cases = [
        ({"headers": bearer(await client_token(http, api))}, "bearer", "demo-client"),
        ({"headers": bearer(direct_jwt)}, "jwt", "svc@acme"),
        ({"headers": KEY}, "api_key", "demo-key"),
        ({"params": {"api_key": "demo-key"}}, "api_key", "demo-key"),
        ({"headers": basic("demo-user", "demo-pass")}, "basic", "demo-user"),
        ({"headers": basic("demo-key", "demo-secret")}, "api_key_secret", "demo-key"),
    ]
    for kwargs, kind, principal in cases:
        assert await whoami(http, api, **kwargs) == (200, {"auth": kind, "principal": principal})


async def test_invalid_credentials_are_401(api: DemoAPI, http: aiohttp.ClientSession, rsa_key: RSAKey) -> None:
    expired_jwt = assertion(rsa_key, "RS256", "svc@acme", "acme-api", exp_in=-60)
    await register(http, api, "svc@acme", rsa_key)
    unknown_issuer = assertion(rsa_key, "RS256", "someone@else", "acme-api")
    bad = [
        {},
        {"headers": bearer("not-a-token")},
        {"headers": bearer(expired_jwt)},
        {"headers": bearer(unknown_issuer)},
        {"headers": {"X-API-Key": "wrong"}},
        {"params": {"api_key": "wrong"}},
        {"headers": basic("demo-user", "wrong")},
        {"headers": basic("demo-key", "wrong")},
        {"headers": {"Authorization": "Basic !!!"}},
    ]
    for kwargs in bad:
        async with http.get(f"{api.url}/api/contacts", **kwargs) as response:
            assert response.status == 401, kwargs
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert (await response.json())["error"] == "unauthorized"
    counters = await stats(http, api)
    assert counters["api.401"] == len(bad)
    assert counters["api.requests"] == len(bad)


async def test_custom_credentials(make_api: Any, http: aiohttp.ClientSession) -> None:
    grant = {"grant_type": "client_credentials"}
    api = await make_api(
        clients={"c1": "s1", "c2": "s+:1"},
        api_keys={"k1"},
        users={"u1": "p1"},
        api_secrets={"k2": "s2"},
    )
    status, body = await token(http, api, {"grant_type": "client_credentials"}, headers=basic("c1", "s1"))
    assert status == 200
    assert await whoami(http, api, headers=bearer(body["access_token"])) == (
        200,
        {"auth": "bearer", "principal": "c1"},
    )
    assert (await whoami(http, api, headers={"X-API-Key": "k1"}))[0] == 200
    assert (await whoami(http, api, headers=basic("u1", "p1")))[1]["auth"] == "basic"
    assert (await whoami(http, api, headers=basic("k2", "s2")))[1]["auth"] == "api_key_secret"
    assert (await whoami(http, api, headers=KEY))[0] == 401
    # Basic client credentials are accepted form-urlencoded (RFC 6749 2.3.1) and raw
    for secret in ("s%2B%3A1", "s+:1"):
        assert (await token(http, api, grant, headers=basic("c2", secret)))[0] == 200
    assert (
        await token(
            http,
            api,
            {"grant_type": "client_credentials"},
            headers=basic("demo-client", "demo-secret"),
        )
    )[0] == 401


async def test_rate_limit(make_api: Any, http: aiohttp.ClientSession) -> None:
    api = await make_api(rate_limit=(3, 60))
    for _ in range(3):
        assert (await whoami(http, api, headers=KEY))[0] == 200
    async with http.get(f"{api.url}/api/whoami", headers=KEY) as response:
        assert response.status == 429
        assert response.headers["Retry-After"].isdigit()
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert "error" in await response.json()
    # the limit is per principal
    assert (await whoami(http, api, headers=basic("demo-user", "demo-pass")))[0] == 200
    assert (await stats(http, api))["api.429"] == 1


async def test_rate_limit_window_resets(make_api: Any, http: aiohttp.ClientSession) -> None:
    api = await make_api(rate_limit=(1, 0.2))
    assert (await whoami(http, api, headers=KEY))[0] == 200
    assert (await whoami(http, api, headers=KEY))[0] == 429
    await asyncio.sleep(0.25)
    assert (await whoami(http, api, headers=KEY))[0] == 200


async def test_stats_reset(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    await whoami(http, api, headers=KEY)
    assert (await stats(http, api))["api.requests"] == 1
    assert api.stats["api.requests"] == 1
    async with http.post(f"{api.url}/admin/reset-stats") as response:
        assert response.status == 200
    assert await stats(http, api) == {}


# -- contacts -----------------------------------------------------------------------------


async def test_seeded_contacts(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{api.url}/api/contacts/c0001", headers=KEY) as response:
        contact = await response.json()
    assert contact["id"] == "c0001"
    assert contact["email"] == "user1@example.com"
    assert contact["name"] == "User 1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", contact["updated_at"])
    async with http.get(f"{api.url}/api/contacts", headers=KEY) as response:
        page = await response.json()
    assert [c["id"] for c in page["data"]][:3] == ["c0001", "c0002", "c0003"]
    assert len(page["data"]) == 50 and page["meta"]["next"]


async def test_contact_crud(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    url = f"{api.url}/api/contacts"
    async with http.post(url, json={"email": "new@example.com", "name": "New"}, headers=KEY) as r:
        assert r.status == 201
        created = await r.json()
    assert created["id"] == "c0251"
    assert created["email"] == "new@example.com"
    cid = created["id"]
    async with http.get(f"{url}/{cid}", headers=KEY) as r:
        assert await r.json() == created
    async with http.put(f"{url}/{cid}", json={"email": "put@example.com"}, headers=KEY) as r:
        assert r.status == 200
        replaced = await r.json()
    assert replaced["email"] == "put@example.com" and replaced["name"] == ""
    async with http.patch(f"{url}/{cid}", json={"name": "Patched"}, headers=KEY) as r:
        patched = await r.json()
    assert (patched["email"], patched["name"]) == ("put@example.com", "Patched")
    async with http.delete(f"{url}/{cid}", headers=KEY) as r:
        assert r.status == 204
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        async with http.request(method, f"{url}/{cid}", json={"email": "a@b"}, headers=KEY) as r:
            assert r.status == 404
            assert "error" in await r.json()


async def test_contact_validation(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    url = f"{api.url}/api/contacts"
    for body in ({"name": "x"}, {"email": "no-at-sign"}, {"email": 5}):
        async with http.post(url, json=body, headers=KEY) as r:
            assert r.status == 422
            assert await r.json() == {"error": "invalid email", "field": "email"}
    async with http.post(url, json={"email": "USER1@example.com"}, headers=KEY) as r:
        assert r.status == 409
        assert await r.json() == {"error": "duplicate email"}
    async with http.patch(f"{url}/c0002", json={"email": "user3@example.com"}, headers=KEY) as r:
        assert r.status == 409
    async with http.patch(f"{url}/c0002", json={"email": "bad"}, headers=KEY) as r:
        assert r.status == 422
    async with http.post(url, data=b"{not json", headers=KEY) as r:
        assert r.status == 400
        assert "error" in await r.json()


# -- pagination ---------------------------------------------------------------------------


async def walk(http: aiohttp.ClientSession, api: DemoAPI, strategy: str, size: int) -> list[str]:
    """Follow one pagination strategy to its end, the way a client would."""
    ids: list[str] = []
    if strategy == "cursor":
        cursor = ""
        while True:
            params = {"limit": size, "cursor": cursor}
            async with http.get(f"{api.url}/api/paged/cursor", params=params, headers=KEY) as r:
                body = await r.json()
            ids += [c["id"] for c in body["data"]]
            if not body["meta"]["next"]:
                return ids
            cursor = body["meta"]["next"]
    if strategy in ("link", "next-url"):
        url: str | None = f"{api.url}/api/paged/{strategy}?per_page={size}&api_key=demo-key"
        while url:
            async with http.get(url) as r:
                body = await r.json()
                link = r.headers.get("Link", "")
            if strategy == "link":
                ids += [c["id"] for c in body]
                match = re.search(r'<([^>]+)>;\s*rel="next"', link)
                url = match.group(1) if match else None
            else:
                ids += [c["id"] for c in body["results"]]
                url = body["next"]
        return ids
    if strategy == "offset":
        offset = 0
        while True:
            params = {"offset": offset, "limit": size}
            async with http.get(f"{api.url}/api/paged/offset", params=params, headers=KEY) as r:
                body = await r.json()
            assert body["total"] == 250
            ids += [c["id"] for c in body["items"]]
            offset += len(body["items"])
            if len(body["items"]) < size:
                return ids
    page = 1
    while True:
        params = {"page": page, "per_page": size}
        async with http.get(f"{api.url}/api/paged/page", params=params, headers=KEY) as r:
            body = await r.json()
        assert body["page"] == page
        ids += [c["id"] for c in body["data"]]
        if page >= body["total_pages"]:
            return ids
        page += 1


@pytest.mark.parametrize("strategy", ["cursor", "link", "next-url", "offset", "page"])
@pytest.mark.parametrize("size", [7, 50, 250])
async def test_pagination_walks_every_contact_once(
    api: DemoAPI, http: aiohttp.ClientSession, strategy: str, size: int
) -> None:
    ids = await walk(http, api, strategy, size)
    assert ids == [f"c{n:04d}" for n in range(1, 251)]


async def test_link_header_is_rfc8288(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{api.url}/api/paged/link?page=2&per_page=100", headers=KEY) as r:
        link = r.headers["Link"]
    assert f'<{api.url}/api/paged/link?page=3&per_page=100>; rel="next"' in link
    assert 'rel="prev"' in link and 'rel="last"' in link


async def test_default_and_maximum_page_size(make_api: Any, http: aiohttp.ClientSession) -> None:
    api = await make_api(contacts=1200)
    async with http.get(f"{api.url}/api/paged/offset", headers=KEY) as r:
        assert len((await r.json())["items"]) == 50
    async with http.get(f"{api.url}/api/paged/offset?limit=5000", headers=KEY) as r:
        assert len((await r.json())["items"]) == 1000
    for bad in ("cursor?limit=0", "cursor?limit=abc", "cursor?cursor=%%%", "page?page=0"):
        async with http.get(f"{api.url}/api/paged/{bad}", headers=KEY) as r:
            assert r.status == 400, bad
            assert "error" in await r.json()


async def test_cursor_walk_survives_deletes(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{api.url}/api/contacts?limit=10", headers=KEY) as r:
        first = await r.json()
    async with http.delete(f"{api.url}/api/contacts/c0011", headers=KEY) as r:
        assert r.status == 204
    params = {"limit": 3, "cursor": first["meta"]["next"]}
    async with http.get(f"{api.url}/api/contacts", params=params, headers=KEY) as r:
        assert [c["id"] for c in (await r.json())["data"]] == ["c0012", "c0013", "c0014"]


async def test_big_synthetic_records(make_api: Any, http: aiohttp.ClientSession) -> None:
    api = await make_api(contacts=2500)
    url: str | None = f"{api.url}/api/paged/big?limit=1000&api_key=demo-key"
    indexes: list[int] = []
    while url:
        async with http.get(url) as r:
            raw = await r.read()
            body = await r.json()
        assert 900 * len(body["results"]) < len(raw) < 1200 * len(body["results"]) + 100
        indexes += [record["index"] for record in body["results"]]
        url = body["next"]
    assert indexes == list(range(2500))
    async with http.get(f"{api.url}/api/paged/big?limit=2", headers=KEY) as r:
        again = (await r.json())["results"]
    async with http.get(f"{api.url}/api/paged/big?limit=2", headers=KEY) as r:
        assert (await r.json())["results"] == again  # deterministic


# -- toolbox ------------------------------------------------------------------------------


async def test_echo(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    async with http.post(
        f"{api.url}/api/echo?a=1&b=2&b=3",
        json={"x": [1, 2]},
        headers={**KEY, "X-Custom": "yes"},
    ) as r:
        body = await r.json()
    assert body["method"] == "POST"
    assert body["path"] == "/api/echo"
    assert body["query"] == {"a": "1", "b": ["2", "3"]}
    assert body["headers"]["x-custom"] == "yes"
    assert body["headers"]["content-type"] == "application/json"
    assert body["json"] == {"x": [1, 2]}
    assert body["body"] == '{"x": [1, 2]}'
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        async with http.request(method, f"{api.url}/api/echo", data="plain", headers=KEY) as r:
            body = await r.json()
        assert (body["method"], body["json"], body["body"]) == (method, None, "plain")


async def test_flaky_429_with_headers(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    url = f"{api.url}/api/flaky?key=k1&fail=2&status=429&retry_after=0.05&reset=2"
    for attempt in (1, 2):
        before = time.time()
        async with http.get(url, headers=KEY) as r:
            assert r.status == 429
            assert r.headers["Retry-After"] == "0.05"
            reset = float(r.headers["X-RateLimit-Reset"])
            assert before + 1.5 < reset < time.time() + 2.5
            assert (await r.json())["attempts"] == attempt
    async with http.post(url, headers=KEY) as r:
        assert r.status == 200
        assert await r.json() == {"ok": True, "attempts": 3}
    assert (await stats(http, api))["flaky.k1"] == 3


async def test_flaky_server_errors(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    url = f"{api.url}/api/flaky?key=k2&fail=1&status=503"
    async with http.get(url, headers=KEY) as r:
        assert r.status == 503
        assert "Retry-After" not in r.headers
    async with http.get(url, headers=KEY) as r:
        assert r.status == 200


async def test_bytes_text_and_stream(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{api.url}/api/bytes?size=1000", headers=KEY) as r:
        assert r.content_type == "application/octet-stream"
        assert await r.read() == bytes(i % 256 for i in range(1000))
    async with http.get(f"{api.url}/api/text", headers=KEY) as r:
        assert r.content_type == "text/plain"
        assert await r.text() == "hello from acme"
    async with http.get(f"{api.url}/api/stream?chunks=5&size=300", headers=KEY) as r:
        assert r.headers["Transfer-Encoding"] == "chunked"
        received = [chunk async for chunk in r.content.iter_any()]
    assert len(b"".join(received)) == 1500


async def test_slow(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    started = time.monotonic()
    async with http.get(f"{api.url}/api/slow?seconds=0.2", headers=KEY) as r:
        assert r.status == 200
    assert time.monotonic() - started >= 0.2
    with pytest.raises(asyncio.TimeoutError):
        async with http.get(
            f"{api.url}/api/slow?seconds=5",
            headers=KEY,
            timeout=aiohttp.ClientTimeout(total=0.1),
        ):
            pass


async def test_status_and_big_json(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    for code in (200, 404, 418, 500, 503):
        async with http.get(f"{api.url}/api/status/{code}", headers=KEY) as r:
            assert r.status == code
            assert await r.json() == {"error": f"status {code}"}
    async with http.get(f"{api.url}/api/status/204", headers=KEY) as r:
        assert r.status == 204 and await r.read() == b""
    async with http.get(f"{api.url}/api/status/99", headers=KEY) as r:
        assert r.status == 400
    async with http.get(f"{api.url}/api/big-json?kb=50", headers=KEY) as r:
        raw = await r.read()
        assert r.content_type == "application/json"
    assert 45 * 1024 < len(raw) < 56 * 1024
    assert (await asyncio.to_thread(json.loads, raw))["kb"] == 50


# -- webhooks -----------------------------------------------------------------------------


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=202, text="thanks")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook", received
    await runner.cleanup()


async def test_webhook_sender_signs_deliveries(api: DemoAPI, http: aiohttp.ClientSession, receiver: Any) -> None:
    url, received = receiver
    event = {"type": "contact.created", "id": "c0001"}
    body = {"url": url, "event": event, "secret": "whsec", "headers": {"X-Extra": "1"}}
    async with http.post(f"{api.url}/admin/webhooks", json=body) as r:
        assert await r.json() == {"status": 202, "body": "thanks"}
    headers, raw = received[0]
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Extra"] == "1"
    assert json.loads(raw) == event
    timestamp = headers["X-Acme-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 5
    expected = hmac.new(b"whsec", f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    assert headers["X-Acme-Signature"] == f"sha256={expected}"

    async with http.post(f"{api.url}/admin/webhooks", json={"url": url, "event": {}}) as r:
        assert (await r.json())["status"] == 202
    assert "X-Acme-Signature" not in received[1][0]
    assert (await stats(http, api))["webhooks.sent"] == 2


async def test_webhook_delivery_failure(api: DemoAPI, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{api.url}/admin/webhooks", json={"url": "http://127.0.0.1:9/nowhere", "event": {}}) as r:
        assert r.status == 502
    async with http.post(f"{api.url}/admin/webhooks", json={"url": "ftp://x"}) as r:
        assert r.status == 400
