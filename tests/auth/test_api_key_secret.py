import pytest

from splice import auth
from splice.errors import InvalidInput

from ._fake import basic, get

CREDS = {"api_key": "key-1", "api_secret": "s3cr3t"}


def test_basic_by_default():
    request = get()
    auth.ApiKeySecret().apply(request, CREDS)
    assert basic(request) == ("key-1", "s3cr3t")


def test_headers():
    request = get()
    auth.ApiKeySecret(in_="header", key_name="X-Key", secret_name="X-Secret").apply(request, CREDS)
    assert request.headers["X-Key"] == "key-1"
    assert request.headers["X-Secret"] == "s3cr3t"
    assert "Authorization" not in request.headers


def test_query():
    request = get()
    auth.ApiKeySecret(in_="query", key_name="key", secret_name="secret").apply(request, CREDS)
    assert request.params == [("key", "key-1"), ("secret", "s3cr3t")]


@pytest.mark.parametrize("kwargs", [{"in_": "body"}, {"in_": "header", "key_name": ""}])
def test_bad_settings(kwargs):
    with pytest.raises(InvalidInput):
        auth.ApiKeySecret(**kwargs)


def test_validate_names_missing_fields():
    with pytest.raises(InvalidInput) as info:
        auth.ApiKeySecret().validate({"api_key": "k", "api_secret": ""})
    assert info.value.details["missing"] == ["api_secret"]


def test_describe():
    assert auth.ApiKeySecret().describe() == {
        "kind": "api_key_secret",
        "fields": ["api_key", "api_secret"],
        "in": "basic",
    }
    assert auth.ApiKeySecret(in_="query").describe()["key_name"] == "X-API-Key"
