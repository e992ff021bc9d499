import pytest

from splice import auth
from splice.auth._base import EXPIRY_LEEWAY, drive
from splice.errors import CredentialsError, InvalidInput

from ._fake import basic, finish, form, get, respond

TOKEN_URL = "https://auth.acme.test/oauth/token"
CREDS = {"client_id": "cid", "client_secret": "very-secret-value"}
NOW = 1_700_000_000.0


def scheme(**kwargs):
    return auth.OAuth2ClientCredentials(TOKEN_URL, **kwargs)


def token(request, **extra):
    return respond(request, json={"access_token": "at-1", "token_type": "bearer", **extra})


def test_token_request_with_basic_client_auth():
    flow = scheme(scopes=["crm", "read"], audience="https://api.acme.test").refresh_flow(CREDS, NOW)
    request = next(flow)
    assert (request.method, request.url) == ("POST", TOKEN_URL)
    assert request.headers["Accept"] == "application/json"
    assert basic(request) == ("cid", "very-secret-value")
    assert form(request) == {
        "grant_type": "client_credentials",
        "scope": "crm read",
        "audience": "https://api.acme.test",
    }


def test_token_request_with_post_client_auth_and_headers():
    flow = scheme(client_auth="post", headers={"X-Tenant": "t1"}).refresh_flow(CREDS, NOW)
    request = next(flow)
    assert "Authorization" not in request.headers
    assert request.headers["X-Tenant"] == "t1"
    assert form(request) == {
        "grant_type": "client_credentials",
        "client_id": "cid",
        "client_secret": "very-secret-value",
    }


def test_token_response_is_merged():
    new = finish(scheme().refresh_flow(CREDS, NOW), lambda r: token(r, expires_in=3600, scope="crm"))
    assert new == {
        **CREDS,
        "access_token": "at-1",
        "token_type": "Bearer",
        "expires_at": NOW + 3600,
        "scope": "crm",
    }


def test_refresh_token_and_provider_extras_are_kept():
    def answer(request):
        return token(
            request,
            expires_in="60",
            refresh_token="rt-1",
            instance_url="https://eu.acme.test",
            client_secret="overwrite?",
            nested={"no": "thanks"},
        )

    new = finish(scheme().refresh_flow(CREDS, NOW), answer)
    assert new["refresh_token"] == "rt-1"
    assert new["instance_url"] == "https://eu.acme.test"
    assert new["client_secret"] == "very-secret-value"
    assert "nested" not in new and "expires_in" not in new
    assert new["expires_at"] == NOW + 60


def test_no_expires_in_drops_the_old_expiry():
    old = {**CREDS, "access_token": "old", "expires_at": NOW - 10}
    new = finish(scheme().refresh_flow(old, NOW), token)
    assert new["access_token"] == "at-1"
    assert "expires_at" not in new


def test_needs_refresh():
    s = scheme()
    assert s.refreshable
    assert s.needs_refresh(CREDS, NOW)
    assert not s.needs_refresh({**CREDS, "access_token": "a"}, NOW)
    fresh = {**CREDS, "access_token": "a", "expires_at": NOW + EXPIRY_LEEWAY + 1}
    assert not s.needs_refresh(fresh, NOW)
    assert s.needs_refresh(fresh, NOW + 1)


@pytest.mark.parametrize(("token_type", "header"), [(None, "Bearer"), ("bearer", "Bearer"), ("MAC", "MAC")])
def test_apply(token_type, header):
    request = get()
    scheme().apply(request, {**CREDS, "access_token": "at-1", "token_type": token_type})
    assert request.headers["Authorization"] == f"{header} at-1"


def test_apply_without_token_leaves_request_alone():
    request = get()
    scheme().apply(request, CREDS)
    assert "Authorization" not in request.headers


def test_provider_error_400():
    flow = scheme().refresh_flow(CREDS, NOW)
    request = next(flow)
    body = {"error": "invalid_client", "error_description": "Client authentication failed"}
    with pytest.raises(CredentialsError) as info:
        flow.send(respond(request, 400, json=body))
    err = info.value
    assert err.code == "REFRESH_FAILED"
    assert "400" in err.message and "invalid_client: Client authentication failed" in err.message
    assert err.details == {"status": 400, "provider_error": body}
    assert "reconnect" in err.hint
    assert "very-secret-value" not in str(err.to_dict())


def test_server_error_500_with_text_body():
    flow = scheme().refresh_flow(CREDS, NOW)
    request = next(flow)
    text = "Internal Server Error " + "x" * 500
    with pytest.raises(CredentialsError) as info:
        flow.send(respond(request, 500, text=text))
    err = info.value
    assert err.code == "REFRESH_FAILED"
    assert err.message == f"token endpoint returned HTTP 500: {text[:200]}"
    assert err.details == {"status": 500, "provider_error": {"body": text[:200]}}


def test_error_echoing_the_secret_is_redacted():
    flow = scheme().refresh_flow(CREDS, NOW)
    request = next(flow)
    body = {"error": "invalid_request", "error_description": "bad secret very-secret-value"}
    with pytest.raises(CredentialsError) as info:
        flow.send(respond(request, 401, json=body))
    assert "very-secret-value" not in str(info.value.to_dict())
    assert "[redacted]" in info.value.message


def test_error_in_a_200_body():
    flow = scheme().refresh_flow(CREDS, NOW)
    request = next(flow)
    with pytest.raises(CredentialsError, match="bad_verification_code"):
        flow.send(respond(request, 200, json={"error": "bad_verification_code"}))


@pytest.mark.parametrize(
    "answer",
    [
        lambda r: respond(r, text="<html>ok</html>", content_type="text/html"),
        lambda r: respond(r, json={"token_type": "bearer"}),
        lambda r: respond(r, json={"access_token": ""}),
        lambda r: respond(r, json=["at-1"]),
        lambda r: respond(r, json={"access_token": 123}),
    ],
)
def test_invalid_2xx_responses(answer):
    flow = scheme().refresh_flow(CREDS, NOW)
    request = next(flow)
    with pytest.raises(CredentialsError, match="token endpoint returned invalid response") as info:
        flow.send(answer(request))
    assert info.value.code == "REFRESH_FAILED"
    assert info.value.details == {"status": 200}


async def test_drive_with_send():
    sent = []

    async def send(request):
        sent.append(request)
        return token(request, expires_in=10)

    new = await scheme().refresh(CREDS, NOW, send)
    assert new["access_token"] == "at-1"
    assert len(sent) == 1
    assert (await drive(scheme().refresh_flow(CREDS, NOW), send))["expires_at"] == NOW + 10


def test_validate():
    s = scheme()
    with pytest.raises(InvalidInput) as info:
        s.validate({"client_id": "cid"})
    assert info.value.details["missing"] == ["client_secret"]
    with pytest.raises(InvalidInput, match="access_token"):
        s.validate({**CREDS, "access_token": ["a"]})
    clean = s.validate({**CREDS, "expires_at": "2024-01-01T00:00:00Z"})
    assert clean["expires_at"] == 1704067200.0
    assert s.validate({**CREDS, "expires_at": "1704067200"})["expires_at"] == 1704067200.0
    with pytest.raises(InvalidInput, match="expires_at"):
        s.validate({**CREDS, "expires_at": "next tuesday"})


def test_resolve_placeholders():
    s = auth.OAuth2ClientCredentials("https://{config.domain}/oauth/token", audience="{credentials.api_host}/v1")
    resolved = s.resolve({"domain": "eu.acme.test"}, {"api_host": "https://api.eu.acme.test/"})
    assert resolved.token_url == "https://eu.acme.test/oauth/token"
    assert resolved.audience == "https://api.eu.acme.test/v1"
    assert s.token_url == "https://{config.domain}/oauth/token"
    with pytest.raises(InvalidInput) as info:
        s.resolve({}, {})
    assert info.value.code == "INVALID_CONFIG"
    plain = scheme()
    assert plain.resolve({}, {}) is plain


def test_settings():
    s = scheme(scopes="a b", headers={"X-Api-Secret-Header": "hush"})
    assert s.scopes == ("a", "b")
    assert hash(s) == hash(scheme(scopes=["a", "b"], headers={"X-Api-Secret-Header": "other"}))
    described = s.describe()
    assert described["token_url"] == TOKEN_URL
    assert described["scopes"] == ["a", "b"]
    assert described["token_headers"] == ["X-Api-Secret-Header"]
    assert "hush" not in str(described) and "hush" not in repr(described)
    with pytest.raises(InvalidInput, match="client_auth"):
        scheme(client_auth="jwt")
    with pytest.raises(InvalidInput, match="token_url"):
        auth.OAuth2ClientCredentials("")


def test_absolute_expires_at_without_expires_in():
    new = finish(scheme().refresh_flow(CREDS, NOW), lambda r: token(r, expires_at=NOW + 21600))
    assert new["expires_at"] == NOW + 21600
