"""``splice.triggers`` without a runtime: declarations, the request object, responses, signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from tests.conftest import ProjectFactory

from splice import Integration, triggers
from splice.errors import InvalidInput, ProjectError, ScriptError, SpliceError, Unauthorized
from splice.integration import Script
from splice.project import load_project
from splice.triggers import Body, Header, HmacSignature, Query, Response, WebhookRequest, WebhookResponse


async def handler(ctx: object, request: WebhookRequest) -> None:
    return None


# --- declaration -------------------------------------------------------------------------


def test_a_trigger_is_declared_with_its_guards() -> None:
    acme = Integration("acme", base_url="https://acme.test")
    signature = HmacSignature(
        secret_env="ACME_SECRET", timestamp_header="X-Time", signed_payload="{header:X-Account}|{timestamp}.{body}"
    )
    acme.trigger(name="events", signature=signature, connection_from=Header("X-Account"), time_limit=5)(handler)
    script = acme.script("events")
    assert (script.kind, script.signature, script.connection_from, script.time_limit) == (
        "trigger", signature, Header("X-Account"), 5,
    )  # fmt: skip
    assert script.describe()["webhook"] == {
        "signature": {"kind": "hmac-sha256", "header": "X-Signature", "secret_env": "ACME_SECRET",
                      "timestamp_header": "X-Time", "tolerance": 300,
                      "signed_payload": "{header:X-Account}|{timestamp}.{body}", "refuses_replays": True},
        "connection_from": "header X-Account",
        "connection_from_trusted": False,
    }  # fmt: skip
    acme.trigger(handler)
    assert acme.script("handler").describe()["webhook"] == {
        "signature": None, "connection_from": None, "connection_from_trusted": False,
    }  # fmt: skip


@pytest.mark.parametrize(
    "options",
    [
        {"signature": "sha256"},
        {"connection_from": "X-Account"},
        {"time_limit": 0},
        {"time_limit": True},
    ],
)
def test_bad_trigger_options_are_project_errors(options: dict) -> None:
    acme = Integration("acme", base_url="https://acme.test")
    with pytest.raises(ProjectError):
        acme.trigger(**options)(handler)


def test_a_trigger_must_be_async() -> None:
    acme = Integration("acme", base_url="https://acme.test")
    with pytest.raises(ProjectError, match="async def"):
        acme.trigger(lambda ctx, request: None)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: HmacSignature(secret_env="lower_case"), "secret_env"),
        (lambda: HmacSignature(secret_env="S", header=""), "header"),
        (lambda: HmacSignature(secret_env="S", tolerance=0), "tolerance"),
        (lambda: HmacSignature(secret_env="S", encoding="hex64"), "encoding"),
        (lambda: HmacSignature(secret_env="S", signed_payload="{timestamp}"), "body"),
        (lambda: HmacSignature(secret_env="S", signed_payload="{timestamp}.{body}"), "timestamp_header"),
        (lambda: HmacSignature(secret_env="S", signed_payload="{body}{body}"), "body"),
        (lambda: HmacSignature(secret_env="S", signed_payload=7), "body"),
        (lambda: HmacSignature(secret_env="S", signed_payload="{header:X-Signature}|{body}"), "own header"),
        (lambda: HmacSignature(secret_env="S", replay_window="yes"), "replay_window"),
        (lambda: HmacSignature(secret_env="S", timestamp_header="X-Time", signed_payload="{body}"), "fresh X-Time"),
        (lambda: Header(""), "Header"),
        (lambda: Body(3), "Body"),
        (lambda: Query(" account"), "Query"),
        (lambda: Header("X-Account", trusted="yes"), "trusted"),
    ],
)
def test_bad_guards_are_project_errors(make, message: str) -> None:
    with pytest.raises(ProjectError, match=message):
        make()


@pytest.mark.parametrize(
    ("template", "placeholder"),
    [
        ("{ts}.{body}", "{ts}"),
        ("{header}|{body}", "{header}"),
        ("{header:}|{body}", "{header:}"),
        ("{header:X Account}|{body}", "{header:X Account}"),
        ("{query:}|{body}", "{query:}"),
        ("{Body}", "{Body}"),
        ("{cookie:session}|{body}", "{cookie:session}"),
    ],
)
def test_an_unknown_placeholder_is_named_with_the_accepted_ones(template: str, placeholder: str) -> None:
    with pytest.raises(ProjectError) as info:
        HmacSignature(secret_env="S", signed_payload=template)
    assert f"unknown placeholder {placeholder}" in info.value.message
    assert "{body}, {timestamp}, {header:Name}, {query:name}" in info.value.message


# --- routing must be signed ---------------------------------------------------------------


def _declare(signature: HmacSignature | None, source: triggers.ConnectionSource) -> Script:
    acme = Integration("acme", base_url="https://acme.test")
    acme.trigger(signature=signature, connection_from=source)(handler)
    return acme.script("handler")


@pytest.mark.parametrize(
    ("signature", "source", "sign_it", "opt_in"),
    [
        (
            HmacSignature(secret_env="S"),
            Header("X-Account"),
            'add signed_payload="{header:X-Account}|{body}" to its HmacSignature',
            'Header("X-Account", trusted=True)',
        ),
        (
            HmacSignature(secret_env="S", timestamp_header="X-T", signed_payload="{query:account}|{timestamp}.{body}"),
            Header("X-Account"),
            'add signed_payload="{header:X-Account}|{query:account}|{timestamp}.{body}" to its HmacSignature',
            'Header("X-Account", trusted=True)',
        ),
        (
            HmacSignature(secret_env="S", timestamp_header="X-Time"),
            Query("account"),
            'add signed_payload="{query:account}|{timestamp}.{body}" to its HmacSignature',
            'Query("account", trusted=True)',
        ),
        (
            HmacSignature(secret_env="S", signed_payload="{header:account}|{body}"),
            Query("account"),
            'add signed_payload="{query:account}|{header:account}|{body}" to its HmacSignature',
            'Query("account", trusted=True)',
        ),
        (
            None,
            Header("X-Account"),
            'add signature=HmacSignature(secret_env="...", signed_payload="{header:X-Account}|{body}")',
            'Header("X-Account", trusted=True)',
        ),
        (
            None,
            Body("account.id"),
            'add signature=HmacSignature(secret_env="...")',
            'Body("account.id", trusted=True)',
        ),
    ],
    ids=["header-unsigned", "header-other-signed", "query-unsigned", "query-as-header", "no-signature", "body"],
)
def test_a_routing_value_the_signature_does_not_sign_is_refused(
    signature: HmacSignature | None, source: triggers.ConnectionSource, sign_it: str, opt_in: str
) -> None:
    with pytest.raises(ProjectError) as info:
        _declare(signature, source)
    message = info.value.message
    assert message.startswith(f"trigger acme.handler takes its connection from the {source.describe()}")
    assert "another tenant" in message or "any tenant" in message
    assert f"Sign it: {sign_it}" in message and f"opt in: {opt_in}" in message


@pytest.mark.parametrize(
    ("signature", "source"),
    [
        (HmacSignature(secret_env="S", signed_payload="{header:X-Account}|{body}"), Header("X-Account")),
        (HmacSignature(secret_env="S", signed_payload="{header:x-account}|{body}"), Header("X-ACCOUNT")),
        (HmacSignature(secret_env="S", signed_payload="{body}|{query:account}"), Query("account")),
        (HmacSignature(secret_env="S"), Body("account.id")),
        (HmacSignature(secret_env="S", timestamp_header="X-Time"), Body("account.id")),
        (HmacSignature(secret_env="S"), Header("X-Account", trusted=True)),
        (None, Header("X-Account", trusted=True)),
        (None, Query("account", trusted=True)),
        (None, Body("account.id", trusted=True)),
    ],
    ids=[
        "header",
        "header-any-case",
        "query",
        "body",
        "body-timestamped",
        "opt-in",
        "opt-in-no-signature",
        "query-opt-in",
        "body-opt-in",
    ],
)
def test_a_signed_or_trusted_routing_value_is_accepted(
    signature: HmacSignature | None, source: triggers.ConnectionSource
) -> None:
    script = _declare(signature, source)
    assert (script.signature, script.connection_from) == (signature, source)


def test_a_trusted_routing_value_shows_in_the_description() -> None:
    acme = Integration("acme", base_url="https://acme.test")
    acme.trigger(connection_from=Header("X-Account", trusted=True))(handler)
    assert acme.script("handler").describe()["webhook"]["connection_from_trusted"] is True
    assert Header("X-Account", trusted=True) != Header("X-Account")


def test_a_bad_declaration_fails_the_project_import(make_project: ProjectFactory) -> None:
    source = """
    from splice import Integration
    from splice.triggers import HmacSignature
    acme = Integration("acme", base_url="https://acme.test")

    @acme.trigger(signature=HmacSignature(secret_env="not-a-name"))
    async def events(ctx, request): ...
    """
    with pytest.raises(ProjectError, match="secret_env"):
        load_project(make_project({"acme.py": source}))


def test_the_module_is_exported_to_script_authors() -> None:
    import splice

    assert splice.triggers is triggers
    assert triggers.__all__ == sorted(triggers.__all__)


# --- the request --------------------------------------------------------------------------


def test_headers_are_case_insensitive_and_keep_repeats() -> None:
    request = WebhookRequest("post", "/w", [(b"X-Event", b"a"), ("x-event", "b")], {"q": ["1", "2"]}, b"{}")
    assert request.method == "POST"
    assert request.headers["X-EVENT"] == "a" and request.headers.getall("x-event") == ["a", "b"]
    assert request.query == {"q": ["1", "2"]}
    assert WebhookRequest.from_json(request.to_json()).headers.getall("X-Event") == ["a", "b"]


def test_json_is_parsed_once_and_a_bad_body_is_a_clear_error() -> None:
    assert WebhookRequest("POST", body=b'{"a": [1]}').json() == {"a": [1]}
    with pytest.raises(InvalidInput, match="not valid JSON") as info:
        WebhookRequest("POST", body=b"<xml/>").json()
    assert info.value.code == "INVALID_JSON"
    assert WebhookRequest("POST", body="é".encode()).text == "é"


def test_the_wire_form_round_trips_any_bytes() -> None:
    request = WebhookRequest("PATCH", "/x", {"A": "1"}, [("k", "v")], bytes(range(256)))
    copy = WebhookRequest.from_json(request.to_json())
    assert (copy.method, copy.path, dict(copy.headers), copy.query, copy.body) == (
        "PATCH", "/x", {"A": "1"}, {"k": "v"}, bytes(range(256)),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (Body("account.id"), "a1"),
        (Body("events.0.account"), "42"),
        (Body("events.1.account"), None),
        (Body("flag"), None),
        (Header("x-account"), "h1"),
        (Query("account"), "q1"),
        (Query("missing"), None),
    ],
)
def test_routing_values(source: triggers.ConnectionSource, expected: str | None) -> None:
    body = b'{"account": {"id": "a1"}, "events": [{"account": 42}], "flag": true}'
    request = WebhookRequest("POST", "/", {"X-Account": "h1"}, {"account": ["q1", "q2"]}, body)
    assert source.value(request) == expected


# --- responses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "status", "body", "content_type"),
    [
        (None, 200, b'{"ok":true}', "application/json"),
        ({"a": 1}, 200, b'{"a":1}', "application/json"),
        ([1, 2], 200, b"[1,2]", "application/json"),
        (Response(), 200, b"", None),
        (Response("hi", 202), 202, b"hi", "text/plain; charset=utf-8"),
        (Response(b"\x00", headers={"content-type": "image/png"}), 200, b"\x00", "image/png"),
        (Response({"a": 1}, content_type="application/vnd.x+json"), 200, b'{"a":1}', "application/vnd.x+json"),
    ],
)
def test_what_a_script_returns_becomes_the_answer(value: object, status: int, body: bytes, content_type: str) -> None:
    answer = WebhookResponse.from_result(value)
    assert (answer.status, answer.body, answer.content_type) == (status, body, content_type)
    assert "content-type" not in {k.lower() for k in answer.headers}
    assert WebhookResponse.from_json(answer.to_json()) == answer


@pytest.mark.parametrize(
    "make",
    [
        lambda: WebhookResponse.from_result("text"),
        lambda: WebhookResponse.from_result(42),
        lambda: Response(status=99),
        lambda: Response(status=True),
        lambda: Response(headers={"X-A": "one\r\nSet-Cookie: x=1"}),
        lambda: Response(headers={"bad name": "1"}),
        lambda: Response(body={1, 2}).render(),
    ],
)
def test_bad_answers_are_invalid_output(make) -> None:
    with pytest.raises(ScriptError) as info:
        make()
    assert info.value.code == "INVALID_OUTPUT"


def test_an_error_answer_never_carries_the_exception_text() -> None:
    error = {"code": "SCRIPT_ERROR", "type": "ScriptError", "message": "KeyError: 'secret'",
             "details": {"traceback": "Traceback ..."}}  # fmt: skip
    answer = WebhookResponse.for_error(error, "run_1")
    assert answer.status == 500
    assert b"secret" not in answer.body and b"Traceback" not in answer.body and b"run_1" in answer.body


@pytest.mark.parametrize(
    ("error", "status"),
    [({"code": "TIME_LIMIT_EXCEEDED", "type": "LimitExceeded"}, 504), ({"code": "INVALID_JSON"}, 400),
     ({"code": "PAGINATION_ERROR"}, 502), ({"code": "REFRESH_FAILED", "type": "CredentialsError"}, 409),
     ({"code": "NOT_FOUND"}, 500), ({"code": "WORKER_LOST", "type": "SpliceError"}, 500), ({}, 500),
     ({"code": "GONE", "type": "ActionError", "details": {"status": 410, "payload": 1}}, 410)],
)  # fmt: skip
def test_a_failed_trigger_answers_its_error_s_run_status(error: dict[str, object], status: int) -> None:
    """As ``POST /actions`` does: the error's class says the status, whichever path the run took."""
    assert WebhookResponse.for_error({"message": "m", **error}, "run_1").status == status


# --- signatures ---------------------------------------------------------------------------


def _hmac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), payload, hashlib.sha256).digest()


def test_base64_signatures_without_prefix() -> None:
    signature = HmacSignature(header="X-Shop-Hmac", secret_env="SHOP", prefix="", encoding="base64")
    body = b'{"id": 1}'
    good = base64.b64encode(_hmac("s3cret", body)).decode()
    signature.verify(WebhookRequest("POST", headers={"X-Shop-Hmac": good}, body=body), {"SHOP": "s3cret"})
    with pytest.raises(Unauthorized):
        signature.verify(WebhookRequest("POST", headers={"X-Shop-Hmac": good.lower()}, body=body), {"SHOP": "s3cret"})


def test_a_custom_signed_payload_with_timestamp() -> None:
    signature = HmacSignature(
        header="X-Slack-Signature",
        prefix="v0=",
        secret_env="SLACK",
        timestamp_header="X-Slack-Request-Timestamp",
        signed_payload="v0:{timestamp}:{body}",
    )
    body = b"token=x&team_id=T1"
    good = "v0=" + _hmac("sign", b"v0:1700000000:" + body).hex()
    headers = {"X-Slack-Signature": good.upper().replace("V0=", "v0="), "X-Slack-Request-Timestamp": "1700000000"}
    signature.verify(WebhookRequest("POST", headers=headers, body=body), {"SLACK": "sign"}, now=1700000100)
    with pytest.raises(Unauthorized, match="300s"):
        signature.verify(WebhookRequest("POST", headers=headers, body=body), {"SLACK": "sign"}, now=1700000400)


@pytest.mark.parametrize("stamp", ["yesterday", "nan", "inf"])
def test_a_timestamp_that_is_not_a_time_is_refused(stamp: str) -> None:
    signature = HmacSignature(secret_env="S", timestamp_header="X-Time")
    with pytest.raises(Unauthorized, match="not a unix time"):
        signature.verify(WebhookRequest("POST", headers={"X-Signature": "sha256=00", "X-Time": stamp}), {"S": "x"})


def test_headers_and_query_values_are_signed_as_the_routing_reads_them() -> None:
    signature = HmacSignature(secret_env="S", signed_payload="{header:X-Account}|{query:team}|{body}")
    body = b'{"id": 1}'
    good = "sha256=" + _hmac("s", b"c1|t1|" + body).hex()
    headers = [("x-account", "c1"), ("X-Account", "c2"), ("X-Signature", good)]
    request = WebhookRequest("POST", "/", headers, [("team", "t1"), ("team", "t2")], body)
    signature.verify(request, {"S": "s"})
    assert (Header("X-Account").value(request), Query("team").value(request)) == ("c1", "t1")
    for headers, query in ([("X-Account", "c2")], [("team", "t1")]), ([("X-Account", "c1")], [("team", "t2")]):
        with pytest.raises(Unauthorized, match="does not match the signed payload"):
            signature.verify(WebhookRequest("POST", "/", [*headers, ("X-Signature", good)], query, body), {"S": "s"})


def test_an_absent_signed_header_is_signed_as_empty() -> None:
    signature = HmacSignature(secret_env="S", signed_payload="{header:X-Account}|{body}")
    good = "sha256=" + _hmac("s", b"|{}").hex()
    signature.verify(WebhookRequest("POST", headers={"X-Signature": good}, body=b"{}"), {"S": "s"})


def test_only_a_timestamped_signature_remembers_the_delivery() -> None:
    body, stamp = b"{}", "1700000000"
    good = "sha256=" + _hmac("s", b"1700000000." + body).hex()
    request = WebhookRequest("POST", headers={"X-Signature": good, "X-Time": stamp}, body=body)
    delivery = HmacSignature(secret_env="S", timestamp_header="X-Time").verify(request, {"S": "s"}, now=1700000010)
    assert delivery is not None
    assert delivery.expires_at.timestamp() >= 1700000000 + 300
    assert delivery.replay_key("acme.a") != delivery.replay_key("acme.b")
    assert bytes.fromhex(good.removeprefix("sha256=")) not in delivery.replay_key("acme.a")
    off = HmacSignature(secret_env="S", timestamp_header="X-Time", replay_window=False)
    assert off.verify(request, {"S": "s"}, now=1700000010) is None
    plain = WebhookRequest("POST", headers={"X-Signature": "sha256=" + _hmac("s", body).hex()}, body=body)
    assert HmacSignature(secret_env="S").verify(plain, {"S": "s"}) is None


def test_a_missing_secret_is_not_the_callers_fault() -> None:
    with pytest.raises(SpliceError) as info:
        HmacSignature(secret_env="S").verify(WebhookRequest("POST"), {})
    assert type(info.value) is SpliceError and info.value.code == "WEBHOOK_SECRET_MISSING"


@pytest.mark.parametrize(
    "signature",
    [
        HmacSignature(secret_env="S"),
        HmacSignature(header="X-Slack-Signature", prefix="v0=", secret_env="S",
                      timestamp_header="X-Slack-Request-Timestamp", signed_payload="v0:{timestamp}:{body}"),
        HmacSignature(header="X-Acme-Signature", secret_env="S", encoding="base64", prefix="",
                      signed_payload="{header:X-Acme-Account}|{query:a}|{body}"),
    ],
)  # fmt: skip
def test_sign_makes_what_verify_accepts_and_nothing_else(signature: HmacSignature) -> None:
    request = WebhookRequest("POST", "/hook", {"X-Acme-Account": "c1"}, {"a": "1"}, b'{"id": 1}')
    headers = signature.sign(request, "the-secret")
    signed = WebhookRequest("POST", "/hook", {"X-Acme-Account": "c1", **headers}, {"a": "1"}, b'{"id": 1}')
    signature.verify(signed, {"S": "the-secret"})
    with pytest.raises(Unauthorized, match="does not match"):
        signature.verify(signed, {"S": "another-secret"})
    tampered = WebhookRequest("POST", "/hook", {"X-Acme-Account": "c1", **headers}, {"a": "1"}, b'{"id": 2}')
    with pytest.raises(Unauthorized, match="does not match"):
        signature.verify(tampered, {"S": "the-secret"})
