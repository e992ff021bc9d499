import base64
import hashlib
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from splice import auth
from splice.errors import CredentialsError, InvalidInput

from ._fake import basic, finish, form, get, respond

AUTHORIZE_URL = "https://acme.test/oauth/authorize"
TOKEN_URL = "https://acme.test/oauth/token"
CREDS = {"client_id": "cid", "client_secret": "client-secret-xyz"}
REDIRECT = "https://splice.local/oauth/callback"
NOW = 1_700_000_000.0


def scheme(**kwargs):
    return auth.OAuth2AuthorizationCode(AUTHORIZE_URL, TOKEN_URL, **kwargs)


def query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_authorization_url_with_pkce():
    s = scheme(scopes=["contacts", "offline_access"], extra_authorize_params={"prompt": "consent"})
    url, verifier = s.authorization_url(CREDS, REDIRECT, "state-1")
    assert url.startswith(AUTHORIZE_URL + "?")
    params = query(url)
    digest = hashlib.sha256(verifier.encode()).digest()
    assert params == {
        "response_type": "code",
        "client_id": "cid",
        "redirect_uri": REDIRECT,
        "scope": "contacts offline_access",
        "state": "state-1",
        "prompt": "consent",
        "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    assert len(verifier) == 48
    assert s.authorization_url(CREDS, REDIRECT, "state-1")[1] != verifier


def test_authorization_url_without_pkce():
    url, verifier = scheme(pkce=False).authorization_url(CREDS, REDIRECT, "s")
    assert verifier is None
    assert "code_challenge" not in query(url)
    assert "scope" not in query(url)


def test_authorization_url_needs_client_id():
    with pytest.raises(InvalidInput) as info:
        scheme().authorization_url({"client_secret": "x"}, REDIRECT, "s")
    assert info.value.code == "INVALID_CREDENTIALS"


def test_exchange_code():
    old = {**CREDS, "refresh_token": "from-an-old-grant", "access_token": "old"}
    flow = scheme().exchange_code_flow(old, "code-1", REDIRECT, "verifier-1", NOW)
    request = next(flow)
    assert (request.method, request.url) == ("POST", TOKEN_URL)
    assert basic(request) == ("cid", "client-secret-xyz")
    assert form(request) == {
        "grant_type": "authorization_code",
        "redirect_uri": REDIRECT,
        "code": "code-1",
        "code_verifier": "verifier-1",
    }
    body = {"access_token": "at-1", "token_type": "Bearer", "expires_in": 3599}
    with pytest.raises(StopIteration) as stop:
        flow.send(respond(request, json=body))
    assert stop.value.value == {
        **CREDS,
        "access_token": "at-1",
        "token_type": "Bearer",
        "expires_at": NOW + 3599,
    }


def test_exchange_code_post_client_auth_without_pkce():
    flow = scheme(client_auth="post").exchange_code_flow(CREDS, "code-1", REDIRECT, None, NOW)
    body = form(next(flow))
    assert "code_verifier" not in body
    assert body["client_id"] == "cid" and body["client_secret"] == "client-secret-xyz"


def test_exchange_needs_a_code():
    with pytest.raises(InvalidInput, match="code"):
        next(scheme().exchange_code_flow(CREDS, "", REDIRECT, None, NOW))


def test_exchange_failure_hides_code_and_verifier():
    flow = scheme().exchange_code_flow(CREDS, "code-1234", REDIRECT, "verifier-5678", NOW)
    request = next(flow)
    body = {"error": "invalid_grant", "error_description": "code code-1234 / verifier-5678 used"}
    with pytest.raises(CredentialsError) as info:
        flow.send(respond(request, 400, json=body))
    dumped = str(info.value.to_dict())
    assert "code-1234" not in dumped and "verifier-5678" not in dumped


def test_refresh_keeps_the_refresh_token_when_not_rotated():
    creds = {**CREDS, "access_token": "old", "refresh_token": "rt-1", "expires_at": NOW - 5}
    flow = scheme(headers={"User-Agent": "splice"}).refresh_flow(creds, NOW)
    request = next(flow)
    assert request.headers["User-Agent"] == "splice"
    assert form(request) == {"grant_type": "refresh_token", "refresh_token": "rt-1"}
    body = {"access_token": "at-2", "expires_in": 100}
    with pytest.raises(StopIteration) as stop:
        flow.send(respond(request, json=body))
    new = stop.value.value
    assert new["access_token"] == "at-2"
    assert new["refresh_token"] == "rt-1"
    assert new["expires_at"] == NOW + 100


def test_refresh_rotates_the_refresh_token():
    creds = {**CREDS, "refresh_token": "rt-1"}
    answer = {"access_token": "at-2", "refresh_token": "rt-2", "scope": "a b"}
    new = finish(scheme().refresh_flow(creds, NOW), lambda r: respond(r, json=answer))
    assert new["refresh_token"] == "rt-2"
    assert new["scope"] == "a b"


def test_refresh_without_refresh_token():
    with pytest.raises(CredentialsError, match="reconnect") as info:
        next(scheme().refresh_flow({**CREDS, "access_token": "at"}, NOW))
    assert info.value.code == "REFRESH_FAILED"


def test_refresh_invalid_grant():
    creds = {**CREDS, "refresh_token": "rt-secret-1"}
    flow = scheme().refresh_flow(creds, NOW)
    request = next(flow)
    body = {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    with pytest.raises(CredentialsError) as info:
        flow.send(respond(request, 400, json=body))
    err = info.value
    assert "invalid_grant: Token has been expired or revoked." in err.message
    assert err.details["provider_error"] == body
    assert "reconnect" in err.hint
    dumped = str(err.to_dict())
    assert "rt-secret-1" not in dumped and "client-secret-xyz" not in dumped


def test_refresh_garbage():
    flow = scheme().refresh_flow({**CREDS, "refresh_token": "rt"}, NOW)
    request = next(flow)
    with pytest.raises(CredentialsError, match="invalid response"):
        flow.send(respond(request, 200, text="not json"))


def test_validate_existing_tokens():
    s = scheme()
    clean = s.validate({**CREDS, "access_token": "at", "refresh_token": "rt", "expires_in": 3600})
    assert "expires_in" not in clean
    assert abs(clean["expires_at"] - (time.time() + 3600)) < 5
    clean = s.validate({**CREDS, "access_token": "at", "expires_at": "2030-01-01T00:00:00+00:00"})
    assert clean["expires_at"] == 1893456000.0
    clean = s.validate({**CREDS, "expires_at": 1893456000, "expires_in": 5})
    assert clean["expires_at"] == 1893456000.0
    with pytest.raises(InvalidInput, match="expires_in"):
        s.validate({**CREDS, "expires_in": "soon"})
    with pytest.raises(InvalidInput, match="refresh_token"):
        s.validate({**CREDS, "refresh_token": {"t": 1}})
    with pytest.raises(InvalidInput) as info:
        s.validate({"access_token": "at"})
    assert info.value.details["missing"] == ["client_id", "client_secret"]


def test_needs_refresh_and_apply():
    s = scheme()
    creds = {**CREDS, "access_token": "at", "token_type": "bearer", "expires_at": NOW + 30}
    assert s.needs_refresh(creds, NOW)  # within the leeway
    assert not s.needs_refresh({**creds, "expires_at": NOW + 3600}, NOW)
    request = get()
    s.apply(request, creds)
    assert request.headers["Authorization"] == "Bearer at"


def test_resolve_and_describe():
    s = auth.OAuth2AuthorizationCode(
        "https://{config.shop}.shop.test/admin/oauth/authorize",
        "https://{config.shop}.shop.test/admin/oauth/access_token",
        scopes=("read_orders",),
    )
    resolved = s.resolve({"shop": "ada"}, {})
    assert resolved.authorize_url == "https://ada.shop.test/admin/oauth/authorize"
    assert resolved.token_url == "https://ada.shop.test/admin/oauth/access_token"
    assert resolved.scopes == ("read_orders",)
    described = s.describe()
    assert described["pkce"] is True
    assert described["scopes"] == ["read_orders"]
    assert described["kind"] == "oauth2_authorization_code"
    with pytest.raises(InvalidInput):
        auth.OAuth2AuthorizationCode("", TOKEN_URL)
