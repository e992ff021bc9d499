from splice import auth


def test_exports():
    assert auth.__all__ == [
        "ApiKey",
        "ApiKeySecret",
        "BaseAuth",
        "Basic",
        "Custom",
        "OAuth2AuthorizationCode",
        "OAuth2ClientCredentials",
        "PrivateKey",
    ]
    assert auth.__all__ == sorted(auth.__all__)
    for name in auth.__all__:
        assert issubclass(getattr(auth, name), auth.BaseAuth)


def test_kinds_are_distinct():
    schemes = [
        auth.ApiKey(),
        auth.ApiKeySecret(),
        auth.Basic(),
        auth.Custom(apply=lambda request, credentials: None),
        auth.OAuth2AuthorizationCode("https://a.test/authorize", "https://a.test/token"),
        auth.OAuth2ClientCredentials("https://a.test/token"),
        auth.PrivateKey(),
    ]
    kinds = [s.kind for s in schemes]
    assert len(set(kinds)) == len(kinds)
    assert all(s.describe()["kind"] == s.kind for s in schemes)
