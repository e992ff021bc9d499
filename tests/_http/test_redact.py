"""Secrets out of URLs, log lines, errors and results."""

from __future__ import annotations

import base64

from splice._http.redact import MASK, Redactor, sanitize_url


def test_sanitize_url_masks_secret_query_values_and_userinfo() -> None:
    url = sanitize_url("https://user:pw@api.test:8443/v1/items?page=2&access_token=abc", ["sig_param"])
    assert url == "https://api.test:8443/v1/items?page=2&access_token=***"
    assert "pw" not in url
    assert sanitize_url("https://api.test/x", ["k"], [("k", "v"), ("q", "1")]) == "https://api.test/x?k=***&q=1"
    assert sanitize_url("https://api.test/x") == "https://api.test/x"


def test_redactor_masks_values_in_text_and_nested_data() -> None:
    redactor = Redactor(["sk_live_123456"])
    redactor.add_credentials({"client_id": "public-id", "client_secret": "shh-secret", "username": "ada"})
    assert redactor.text("token sk_live_123456 and shh-secret") == f"token {MASK} and {MASK}"
    assert redactor.value({"a": ["x sk_live_123456 y"], "sk_live_123456": 1}) == {"a": [f"x {MASK} y"], MASK: 1}
    assert redactor.text("public-id ada") == "public-id ada"


def test_redactor_knows_basic_auth_encodings_and_header_tokens() -> None:
    redactor = Redactor()
    redactor.add_credentials({"username": "ada", "password": "lovelace"})
    encoded = base64.b64encode(b"ada:lovelace").decode()
    assert redactor.text(f"Authorization: Basic {encoded}") == f"Authorization: Basic {MASK}"
    redactor.add_header_value("Bearer tok-987654")
    assert redactor.text("got tok-987654") == f"got {MASK}"


def test_short_values_are_not_secrets_and_untouched_values_are_the_same_object() -> None:
    redactor = Redactor(["abc", True, None])  # type: ignore[list-item]
    data = {"a": "abc"}
    assert redactor.value(data) is data
