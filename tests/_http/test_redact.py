"""Secrets out of URLs, log lines, errors and results."""

from __future__ import annotations

import base64
from urllib.parse import quote

import orjson

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


def test_masking_keeps_json_valid_and_its_values_typed() -> None:
    redactor = Redactor()
    redactor.add_env({"FEATURE_X": "true", "BATCH": "10000", "REGION": "eu"})
    redactor.add_credentials({"pin": "4821", "api_key": "k-secret-1"})
    output = {"ok": True, "count": 10000, "region": "eu", "pin": 4821, "note": "pin 4821, key k-secret-1"}
    assert redactor.value(output) == {
        "ok": True, "count": 10000, "region": "eu", "pin": MASK, "note": f"pin {MASK}, key {MASK}",
    }  # fmt: skip
    assert redactor.value([True, 10000, None, 1.5]) == [True, 10000, None, 1.5]


def test_env_values_are_secrets_when_long_or_named_like_one() -> None:
    redactor = Redactor()
    redactor.add_env({"APP_ENV": "production", "DB_PASSWORD": "hunt", "BATCH": "10000"})
    assert redactor.text("production hunt 10000") == f"{MASK} {MASK} 10000"


def test_secrets_with_quotes_and_backslashes_are_masked_in_every_quoted_form() -> None:
    secret = 'Pa\\ss"w0rd-Wx'
    redactor = Redactor([secret])
    leaks = [
        secret,
        repr(secret),
        repr({"v": secret}),
        orjson.dumps({"v": secret}).decode(),
        orjson.dumps(orjson.dumps(secret).decode()).decode(),
        quote(secret, safe=""),
    ]
    for text in leaks:
        masked = redactor.text(text)
        assert "w0rd" not in masked, (text, masked)
    value = {"message": repr({"v": secret}), "raw": secret, "json": orjson.dumps([secret]).decode()}
    masked = redactor.value(value)
    assert "w0rd" not in orjson.dumps(masked).decode()
    assert masked["raw"] == MASK
