"""What script authors import from ``splice`` is curated, sorted and stable."""

from __future__ import annotations

import splice
from splice import errors


def test_top_level_exports_are_sorted_and_importable() -> None:
    assert splice.__all__ == sorted(splice.__all__)
    for name in splice.__all__:
        assert getattr(splice, name) is not None


def test_script_authors_get_what_spec_names() -> None:
    from splice import ActionError, Integration, auth, paginate  # noqa: F401

    for scheme in (
        "ApiKey",
        "ApiKeySecret",
        "Basic",
        "OAuth2AuthorizationCode",
        "OAuth2ClientCredentials",
        "PrivateKey",
        "Custom",
    ):
        assert hasattr(auth, scheme)
    for strategy in ("Cursor", "LinkHeader", "NextUrl", "Offset", "Page"):
        assert hasattr(paginate, strategy)


def test_every_error_has_a_stable_code_and_round_trips() -> None:
    classes = [getattr(errors, name) for name in errors.__all__ if isinstance(getattr(errors, name), type)]
    assert {cls.default_code for cls in classes} >= {
        "ACCESS_TOKEN_EXPIRED",
        "RATE_LIMIT_EXCEEDED",
        "CONNECTION_ERROR",
        "ACTION_ERROR",
        "NOT_FOUND",
    }
    for cls in classes:
        assert issubclass(cls, errors.SpliceError)
        depth = cls.__mro__.index(errors.SpliceError)
        assert depth <= 3, f"{cls.__name__} is {depth} levels below SpliceError"
        original = cls("boom", details={"status": 418}) if cls is not errors.ActionError else cls({"x": 1}, status=409)
        copy = errors.error_from_dict(original.to_dict())
        assert type(copy) is cls
        assert (copy.code, copy.message, copy.details) == (original.code, original.message, original.details)


def test_api_errors_share_one_base() -> None:
    for cls in (errors.AccessTokenExpired, errors.RateLimitExceeded, errors.ConnectionError):
        assert issubclass(cls, errors.ApiError)
    assert errors.ConnectionError("x", details={"status": 404, "data": {"a": 1}}).status == 404
