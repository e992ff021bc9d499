import pytest

from splice import auth
from splice._http import Request
from splice.auth._base import EXPIRY_LEEWAY
from splice.errors import CredentialsError, InvalidInput

from ._fake import get, respond

LOGIN_URL = "https://acme.test/login"


def sign(request, credentials):
    request.headers["X-Session"] = credentials["session"]
    credentials["session"] = "mutated"  # must not reach the stored credentials


async def login(credentials, send):
    response = await send(Request.form(LOGIN_URL, {"user": credentials["user"]}))
    return {"session": response.json()["session"], "expires_at": 2_000}


async def check(credentials, send):
    response = await send(Request("GET", "https://acme.test/me"))
    return response.status == 200


def make_send(status=200, body=None):
    sent = []

    async def send(request):
        sent.append(request)
        return respond(request, status, json=body if body is not None else {"session": "s-2"})

    return send, sent


def test_apply_gets_a_copy():
    scheme = auth.Custom(apply=sign)
    creds = {"session": "s-1"}
    request = get()
    scheme.apply(request, creds)
    assert request.headers["X-Session"] == "s-1"
    assert creds == {"session": "s-1"}


async def test_refresh_merges_over_old_credentials():
    scheme = auth.Custom(apply=sign, refresh=login, fields=("user", "password"))
    send, sent = make_send()
    new = await scheme.refresh({"user": "ada", "password": "pw", "session": "s-1"}, 0, send)
    assert new == {"user": "ada", "password": "pw", "session": "s-2", "expires_at": 2_000}
    assert sent[0].url == LOGIN_URL


async def test_sync_refresh_and_test_functions_are_accepted():
    scheme = auth.Custom(apply=sign, refresh=lambda creds, send: {"session": "x"}, test=lambda c, s: False)
    send, _ = make_send()
    assert await scheme.refresh({}, 0, send) == {"session": "x"}
    assert await scheme.test({}, send) is False


async def test_refresh_must_return_a_dict():
    async def bad(credentials, send):
        return "token"

    with pytest.raises(CredentialsError, match="str") as info:
        await auth.Custom(apply=sign, refresh=bad).refresh({}, 0, make_send()[0])
    assert info.value.code == "REFRESH_FAILED"


async def test_without_refresh():
    scheme = auth.Custom(apply=sign)
    assert not scheme.refreshable
    assert not scheme.needs_refresh({"expires_at": 0}, 10_000)
    with pytest.raises(CredentialsError, match="cannot be refreshed"):
        await scheme.refresh({}, 0, make_send()[0])


def test_needs_refresh_uses_numeric_expires_at():
    scheme = auth.Custom(apply=sign, refresh=login)
    assert scheme.refreshable
    assert not scheme.needs_refresh({"session": "s"}, 10_000)
    assert not scheme.needs_refresh({"expires_at": "soon"}, 10_000)
    assert scheme.needs_refresh({"expires_at": 2_000}, 2_000 - EXPIRY_LEEWAY)
    assert not scheme.needs_refresh({"expires_at": 2_000}, 1_000)


async def test_test_function():
    send, sent = make_send()
    assert await auth.Custom(apply=sign, test=check).test({}, send) is True
    assert len(sent) == 1
    failing, _ = make_send(status=401)
    assert await auth.Custom(apply=sign, test=check).test({}, failing) is False
    assert await auth.Custom(apply=sign).test({}, send) is None


def test_fields_are_validated():
    scheme = auth.Custom(apply=sign, fields=["user", "password"], optional_fields=["session"])
    assert scheme.fields == ("user", "password")
    with pytest.raises(InvalidInput) as info:
        scheme.validate({"user": "ada"})
    assert info.value.details["missing"] == ["password"]
    with pytest.raises(InvalidInput, match="session"):
        scheme.validate({"user": "ada", "password": "pw", "session": ["x"]})
    assert auth.Custom(apply=sign).fields == ()
    assert auth.Custom.fields == ()  # the class default is untouched


@pytest.mark.parametrize(
    "kwargs",
    [
        {"apply": None},
        {"apply": login},  # async apply
        {"apply": sign, "refresh": "not callable"},
        {"apply": sign, "test": 3},
    ],
)
def test_bad_functions(kwargs):
    with pytest.raises(InvalidInput):
        auth.Custom(**kwargs)


def test_describe_and_repr():
    scheme = auth.Custom(apply=sign, refresh=login, fields=("user",))
    assert scheme.describe() == {
        "kind": "custom",
        "fields": ["user"],
        "optional_fields": [],
        "refreshable": True,
        "testable": False,
    }
    assert repr(scheme) == "Custom(apply=sign, refresh=login, test=None, fields=('user',))"
    assert scheme.resolve({}, {}) is scheme
