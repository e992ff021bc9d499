import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwk, jwt

from splice import auth
from splice.auth._base import EXPIRY_LEEWAY
from splice.errors import CredentialsError, InvalidInput

from ._fake import ec_key, ed_key, finish, form, get, private_pem, public_pem, respond, rsa_key

TOKEN_URL = "https://oauth2.acme.test/token"
NOW = 1_700_000_000


@pytest.fixture(scope="module")
def creds():
    return {"username": "svc@acme.test", "private_key": private_pem(rsa_key())}


def decode(token, key, key_type="RSA", algorithm="RS256"):
    public = jwk.import_key(public_pem(key), key_type)
    return jwt.decode(token, public, algorithms=[algorithm])


def test_without_token_url_the_jwt_is_the_bearer(creds):
    scheme = auth.PrivateKey(audience="https://api.acme.test", ttl=600)
    flow = scheme.refresh_flow(creds, NOW)
    with pytest.raises(StopIteration) as stop:
        next(flow)  # no request at all
    new = stop.value.value
    token = decode(new["access_token"], rsa_key())
    assert token.header["alg"] == "RS256"
    assert token.claims["iss"] == token.claims["sub"] == "svc@acme.test"
    assert token.claims["aud"] == "https://api.acme.test"
    assert token.claims["iat"] == NOW
    assert token.claims["exp"] == NOW + 600
    assert len(token.claims["jti"]) >= 16
    assert new["expires_at"] == NOW + 600
    assert new["token_type"] == "Bearer"
    assert new["private_key"] == creds["private_key"]

    assert scheme.refreshable
    assert not scheme.needs_refresh(new, NOW + 1)
    assert scheme.needs_refresh(new, NOW + 600 - EXPIRY_LEEWAY)
    assert scheme.needs_refresh(creds, NOW)
    request = get()
    scheme.apply(request, new)
    assert request.headers["Authorization"] == f"Bearer {new['access_token']}"


def test_each_jwt_has_its_own_jti(creds):
    first, _ = auth.PrivateKey().sign(creds, NOW)
    second, _ = auth.PrivateKey().sign(creds, NOW)
    assert decode(first, rsa_key()).claims["jti"] != decode(second, rsa_key()).claims["jti"]
    assert "aud" not in decode(first, rsa_key()).claims


def test_jwt_bearer_grant(creds):
    scheme = auth.PrivateKey(token_url=TOKEN_URL, scopes=["read", "write"])
    flow = scheme.refresh_flow(creds, NOW)
    request = next(flow)
    assert (request.method, request.url) == ("POST", TOKEN_URL)
    assert "Authorization" not in request.headers
    body = form(request)
    assert body["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert body["scope"] == "read write"
    claims = decode(body["assertion"], rsa_key()).claims
    assert claims["aud"] == TOKEN_URL
    assert claims["scope"] == "read write"
    assert claims["exp"] == NOW + 300
    answer = {"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600}
    with pytest.raises(StopIteration) as stop:
        flow.send(respond(request, json=answer))
    new = stop.value.value
    assert new["access_token"] == "at-1"
    assert new["expires_at"] == NOW + 3600


def test_jwt_bearer_failure_hides_the_assertion(creds):
    flow = auth.PrivateKey(token_url=TOKEN_URL).refresh_flow(creds, NOW)
    request = next(flow)
    assertion = form(request)["assertion"]
    body = {"error": "invalid_grant", "error_description": f"Invalid JWT: {assertion}"}
    with pytest.raises(CredentialsError) as info:
        flow.send(respond(request, 400, json=body))
    dumped = str(info.value.to_dict())
    assert info.value.code == "REFRESH_FAILED"
    assert "invalid_grant" in info.value.message
    assert assertion not in dumped
    assert "PRIVATE KEY" not in dumped


@pytest.mark.parametrize(
    "answer",
    [
        lambda r: respond(r, 500, text="upstream down"),
        lambda r: respond(r, json={"token_type": "Bearer"}),
    ],
)
def test_jwt_bearer_bad_responses(creds, answer):
    with pytest.raises(CredentialsError):
        finish(auth.PrivateKey(token_url=TOKEN_URL).refresh_flow(creds, NOW), answer)


def test_extra_claims_override_and_resolve(creds):
    scheme = auth.PrivateKey(
        token_url="https://{config.domain}/services/oauth2/token",
        claims={"iss": "{credentials.client_id}", "tenant": 7},
    )
    resolved = scheme.resolve({"domain": "login.acme.test"}, {"client_id": "3MVG9"})
    assert resolved.token_url == "https://login.acme.test/services/oauth2/token"
    token, _ = resolved.sign(creds, NOW)
    claims = decode(token, rsa_key()).claims
    assert claims["iss"] == "3MVG9"
    assert claims["sub"] == "svc@acme.test"
    assert claims["tenant"] == 7
    assert claims["aud"] == "https://login.acme.test/services/oauth2/token"
    assert scheme.claims == {"iss": "{credentials.client_id}", "tenant": 7}


@pytest.mark.parametrize(
    ("algorithm", "key", "key_type"),
    [
        ("ES256", ec_key(), "EC"),
        ("ES384", ec_key(ec.SECP384R1), "EC"),
        ("Ed25519", ed_key(), "OKP"),
        ("PS256", rsa_key(), "RSA"),
    ],
)
def test_other_algorithms(algorithm, key, key_type):
    creds = {"username": "u", "private_key": private_pem(key)}
    scheme = auth.PrivateKey(algorithm=algorithm)
    assert scheme.validate(creds) == creds
    token, exp = scheme.sign(creds, NOW)
    assert decode(token, key, key_type, algorithm).claims["exp"] == exp == NOW + 300


def test_validate_accepts_escaped_newlines(creds):
    escaped = creds["private_key"].replace("\n", "\\n")
    clean = auth.PrivateKey().validate({**creds, "private_key": escaped})
    assert clean["private_key"] == creds["private_key"]


@pytest.mark.parametrize(
    ("algorithm", "pem", "reason"),
    [
        ("RS256", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----", "loaded"),
        ("RS256", "just some text", "loaded"),
        ("RS256", public_pem(rsa_key()), "public key"),
        ("RS256", private_pem(ec_key()), "RSA"),
        ("ES256", private_pem(ec_key(ec.SECP384R1)), "P-256"),
        ("ES256", private_pem(rsa_key()), "EC"),
    ],
)
def test_bad_pem(algorithm, pem, reason):
    with pytest.raises(InvalidInput) as info:
        auth.PrivateKey(algorithm=algorithm).validate({"username": "u", "private_key": pem})
    err = info.value
    assert err.code == "INVALID_CREDENTIALS"
    assert err.details == {"field": "private_key"}
    assert "private_key" in err.message and reason in err.message
    assert pem not in str(err.to_dict())
    assert "PRIVATE KEY-----" not in str(err.to_dict())


def test_validate_missing_and_wrong_type():
    with pytest.raises(InvalidInput) as info:
        auth.PrivateKey().validate({"username": "u"})
    assert info.value.details["missing"] == ["private_key"]
    with pytest.raises(InvalidInput, match="private_key"):
        auth.PrivateKey().validate({"username": "u", "private_key": ["pem"]})


def test_broken_stored_key_fails_the_refresh():
    with pytest.raises(CredentialsError) as info:
        next(auth.PrivateKey().refresh_flow({"username": "u", "private_key": "oops"}, NOW))
    assert info.value.code == "REFRESH_FAILED"
    assert info.value.details == {"field": "private_key"}


@pytest.mark.parametrize("kwargs", [{"algorithm": "HS256"}, {"algorithm": "EdDSA"}, {"ttl": 0}, {"ttl": 1.5}])
def test_bad_settings(kwargs):
    with pytest.raises(InvalidInput):
        auth.PrivateKey(**kwargs)


def test_describe_and_repr_hold_no_key(creds):
    scheme = auth.PrivateKey(token_url=TOKEN_URL, audience="aud", claims={"kid": "k1"})
    described = scheme.describe()
    assert described == {
        "kind": "private_key",
        "fields": ["username", "private_key"],
        "token_url": TOKEN_URL,
        "algorithm": "RS256",
        "audience": "aud",
        "scopes": [],
        "ttl": 300,
        "claims": ["kid"],
    }
    assert "PRIVATE" not in repr(scheme) + str(described)
