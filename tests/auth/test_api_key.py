import dataclasses

import pytest

from splice import auth
from splice.errors import CredentialsError, InvalidInput

from ._fake import get


def test_header_by_default():
    request = get()
    auth.ApiKey().apply(request, {"api_key": "k-123"})
    assert request.headers["X-API-Key"] == "k-123"
    assert request.params == []


def test_header_with_prefix():
    request = get()
    scheme = auth.ApiKey(name="Authorization", prefix="Token")
    scheme.apply(request, {"api_key": "k-123"})
    assert request.headers.getall("Authorization") == ["Token k-123"]


def test_query_replaces_existing_param():
    request = get()
    request.params = [("api_key", "old"), ("q", "x")]
    auth.ApiKey(in_="query", name="api_key").apply(request, {"api_key": 42})
    assert request.params == [("q", "x"), ("api_key", "42")]
    assert "api_key" not in request.headers


def test_bad_placement():
    with pytest.raises(InvalidInput, match="in_"):
        auth.ApiKey(in_="cookie")


def test_validate():
    scheme = auth.ApiKey()
    assert scheme.validate({"api_key": "k", "extra": "kept"}) == {"api_key": "k", "extra": "kept"}
    with pytest.raises(InvalidInput) as info:
        scheme.validate({})
    assert info.value.code == "INVALID_CREDENTIALS"
    assert info.value.details == {"missing": ["api_key"]}
    with pytest.raises(InvalidInput, match="api_key"):
        scheme.validate({"api_key": ["k"]})


def test_not_refreshable():
    scheme = auth.ApiKey()
    assert not scheme.refreshable
    assert not scheme.needs_refresh({"api_key": "k"}, 0)
    with pytest.raises(CredentialsError):
        next(scheme.refresh_flow({"api_key": "k"}, 0))


def test_describe_and_frozen():
    scheme = auth.ApiKey(in_="query", name="key")
    assert scheme.describe() == {
        "kind": "api_key",
        "fields": ["api_key"],
        "in": "query",
        "name": "key",
        "prefix": None,
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        scheme.name = "other"  # type: ignore[misc]
    assert scheme.resolve({}, {}) is scheme
