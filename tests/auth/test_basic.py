import pytest

from splice import auth
from splice.errors import InvalidInput

from ._fake import basic, get


def test_header():
    request = get()
    auth.Basic().apply(request, {"username": "ada", "password": "pa:ss wörd"})
    assert basic(request) == ("ada", "pa:ss wörd")


def test_validate():
    with pytest.raises(InvalidInput) as info:
        auth.Basic().validate({"username": "ada"})
    assert info.value.details["missing"] == ["password"]
    assert "--credential password=" in info.value.hint
    with pytest.raises(InvalidInput, match="password"):
        auth.Basic().validate({"username": "ada", "password": {"x": 1}})


def test_describe_has_no_values():
    assert auth.Basic().describe() == {"kind": "basic", "fields": ["username", "password"]}
    assert not auth.Basic().refreshable
