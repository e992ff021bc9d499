"""Proof that a webhook came from the third party: an HMAC-SHA256 of the raw body with a shared secret.

A signature says who sent a request, not that it is the first time it arrives: with a
timestamp, :meth:`HmacSignature.verify` also hands back a :class:`SignedDelivery`, which the
runtime records so the same signed request is refused when it comes again
(``WEBHOOK_REPLAYED``) for as long as its timestamp would still be accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from splice.errors import ProjectError, SpliceError, Unauthorized
from splice.triggers._request import WebhookRequest
from splice.triggers._template import SignedPayload

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,254}$")
#: seconds a delivery is remembered beyond its tolerance, for servers whose clocks differ
CLOCK_SKEW = 60.0


@dataclass(frozen=True, slots=True)
class SignedDelivery:
    """A request whose timestamped signature matched: what a replay of it would repeat.

    ``expires_at`` is when its timestamp falls out of the tolerance window (plus
    :data:`CLOCK_SKEW`); after that the timestamp check refuses a replay on its own.
    """

    mac: bytes
    expires_at: datetime

    def replay_key(self, scope: str) -> bytes:
        """What is stored to recognise a replay: a SHA-256 of ``scope`` and the MAC, never the MAC."""
        return hashlib.sha256(scope.encode() + b"\0" + self.mac).digest()


@dataclass(frozen=True, slots=True, kw_only=True)
class HmacSignature:
    """Refuse webhooks whose signature header is not the HMAC-SHA256 of the body with our secret.

    The secret is an operator environment variable (``splice env set ACME_WEBHOOK_SECRET ...``),
    never in code. ``signed_payload`` says what the third party signs: ``{body}``,
    ``{timestamp}``, ``{header:Name}`` and ``{query:name}`` (see :mod:`splice.triggers._template`);
    a header or query value the trigger is routed by must be among them.

    With ``timestamp_header`` the signed payload is ``"{timestamp}.{body}"`` by default, a
    timestamp (unix seconds) further than ``tolerance`` seconds from now is refused, and so is
    a request whose signature was already accepted (``WEBHOOK_REPLAYED``), across every server
    sharing the database. ``replay_window=False`` turns that last check off, for a third party
    that resends identical requests on purpose.

    >>> HmacSignature(header="X-Hub-Signature-256", secret_env="GITHUB_WEBHOOK_SECRET")
    >>> HmacSignature(header="X-Slack-Signature", prefix="v0=", secret_env="SLACK_SIGNING_SECRET",
    ...               timestamp_header="X-Slack-Request-Timestamp", signed_payload="v0:{timestamp}:{body}")
    >>> HmacSignature(header="X-Acme-Signature", secret_env="ACME_WEBHOOK_SECRET",
    ...               signed_payload="{header:X-Acme-Account}|{body}")
    """

    secret_env: str
    header: str = "X-Signature"
    prefix: str = "sha256="
    timestamp_header: str | None = None
    tolerance: float = 300
    signed_payload: str | None = None
    encoding: Literal["hex", "base64"] = "hex"
    replay_window: bool = True
    _payload: SignedPayload = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.secret_env, str) or not _ENV_NAME.match(self.secret_env):
            raise ProjectError(f"HmacSignature: secret_env={self.secret_env!r} must name an environment variable "
                               "(upper-case letters, digits and _)")  # fmt: skip
        for name, value in (("header", self.header), ("timestamp_header", self.timestamp_header or "-")):
            if not isinstance(value, str) or not value:
                raise ProjectError(f"HmacSignature: {name}={value!r} must be a header name")
        if not isinstance(self.prefix, str):
            raise ProjectError(f"HmacSignature: prefix={self.prefix!r} must be a str ('' for none)")
        if isinstance(self.tolerance, bool) or not isinstance(self.tolerance, int | float) or self.tolerance <= 0:
            raise ProjectError(f"HmacSignature: tolerance={self.tolerance!r} must be a positive number of seconds")
        if self.encoding not in ("hex", "base64"):
            raise ProjectError(f"HmacSignature: encoding={self.encoding!r} must be 'hex' or 'base64'")
        if not isinstance(self.replay_window, bool):
            raise ProjectError(f"HmacSignature: replay_window={self.replay_window!r} must be True or False")
        object.__setattr__(self, "_payload", self._parse_payload())

    def _parse_payload(self) -> SignedPayload:
        payload = SignedPayload.parse(self.template)
        if payload.uses("header", self.header):
            raise ProjectError(f"HmacSignature: signed_payload cannot contain the signature's own header {self.header}")
        if payload.uses("timestamp") and self.timestamp_header is None:
            raise ProjectError("HmacSignature: signed_payload uses {timestamp}; set timestamp_header= too")
        if self.timestamp_header is not None and not payload.uses("timestamp"):
            raise ProjectError(
                f"HmacSignature: signed_payload={self.template!r} does not sign {{timestamp}}, so anyone could "
                f"send a fresh {self.timestamp_header} with an old request; add {{timestamp}} to it"
            )
        return payload

    @property
    def template(self) -> str:
        """What is signed, before its placeholders are filled in."""
        if self.signed_payload is not None:
            return self.signed_payload
        return "{timestamp}.{body}" if self.timestamp_header else "{body}"

    def signs(self, kind: Literal["header", "query"], name: str) -> bool:
        """Whether the signed payload holds this header (any case) or query parameter."""
        return self._payload.uses(kind, name)

    def verify(
        self, request: WebhookRequest, env: Mapping[str, str], now: float | None = None
    ) -> SignedDelivery | None:
        """Raise :class:`Unauthorized` unless the signature matches; then return what a replay
        would repeat, or None when replays are not refused here (no timestamp, or
        ``replay_window=False``): only timestamped deliveries cost the caller a store write.

        A secret missing from the operator's environment is the server's fault, not the
        caller's: that raises a plain :class:`SpliceError` (``WEBHOOK_SECRET_MISSING``).
        """
        secret = env.get(self.secret_env)
        if not secret:
            raise SpliceError(
                f"the webhook secret {self.secret_env} is not set, so no signature can be checked",
                code="WEBHOOK_SECRET_MISSING",
                hint=f"splice env set {self.secret_env} <the secret the third party signs with>",
            )
        given = request.headers.get(self.header)
        if given is None:
            raise _refused(f"the webhook has no {self.header} header")
        given = given.strip()
        if not given.startswith(self.prefix):
            raise _refused(f"the {self.header} header does not start with {self.prefix!r}")
        given = given.removeprefix(self.prefix)
        stamp, seconds = self._timestamp(request, time.time() if now is None else now)
        mac = hmac.new(secret.encode(), self._payload.render(request, stamp), hashlib.sha256).digest()
        expected = mac.hex() if self.encoding == "hex" else base64.b64encode(mac).decode()
        if self.encoding == "hex":
            given = given.lower()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise _refused(f"the {self.header} signature does not match the {self._signed_what}")
        if seconds is None or not self.replay_window:
            return None
        return SignedDelivery(mac, datetime.fromtimestamp(seconds + self.tolerance + CLOCK_SKEW, UTC))

    def sign(self, request: WebhookRequest, secret: str, now: float | None = None) -> dict[str, str]:
        """The headers that make ``request`` pass :meth:`verify` with ``secret``: the signature and,
        with ``timestamp_header``, ``now`` (unix seconds, the current time by default) as its timestamp.

        For tests and for senders (``splice.testing`` signs a trigger's request with it); the
        request's other headers and its query must already be final, as they may be signed.
        """
        headers: dict[str, str] = {}
        stamp = ""
        if self.timestamp_header is not None:
            stamp = headers[self.timestamp_header] = str(int(time.time() if now is None else now))
        mac = hmac.new(secret.encode(), self._payload.render(request, stamp), hashlib.sha256).digest()
        headers[self.header] = self.prefix + (mac.hex() if self.encoding == "hex" else base64.b64encode(mac).decode())
        return headers

    @property
    def _signed_what(self) -> str:
        return "body" if self.template == "{body}" else f"signed payload {self.template}"

    def _timestamp(self, request: WebhookRequest, now: float) -> tuple[str, float | None]:
        if self.timestamp_header is None:
            return "", None
        stamp = request.headers.get(self.timestamp_header)
        if stamp is None:
            raise _refused(f"the webhook has no {self.timestamp_header} header")
        try:
            seconds = float(stamp)
        except ValueError:
            seconds = math.nan
        if not math.isfinite(seconds):
            raise _refused(f"the {self.timestamp_header} header is not a unix time")
        if abs(now - seconds) > self.tolerance:
            raise _refused(f"the {self.timestamp_header} timestamp is more than {self.tolerance:g}s from now")
        return stamp, seconds

    def describe(self) -> dict[str, Any]:
        return {"kind": "hmac-sha256", "header": self.header, "secret_env": self.secret_env,
                "timestamp_header": self.timestamp_header, "tolerance": self.tolerance,
                "signed_payload": self.template,
                "refuses_replays": self.timestamp_header is not None and self.replay_window}  # fmt: skip


def _refused(message: str) -> Unauthorized:
    return Unauthorized(message, code="INVALID_SIGNATURE")
