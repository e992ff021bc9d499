"""What an :class:`~splice.triggers.HmacSignature` signs: a template over the request, parsed once.

``signed_payload="{timestamp}.{body}"`` is filled per request from these placeholders:

* ``{body}`` — the raw body bytes (exactly once in every template);
* ``{timestamp}`` — the ``timestamp_header`` value as sent;
* ``{header:Name}`` — that header's first value (name case-insensitive; ``""`` when absent);
* ``{query:name}`` — that query parameter's first value (``""`` when absent).

A header or query value the webhook is routed by must be in the template: the signature then
proves which tenant the third party meant (see :mod:`splice.triggers._routing`). The values
are used exactly as the routing reads them (the first of repeated ones), so what is signed
and what is routed on cannot differ.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from splice.errors import ProjectError
from splice.triggers._request import WebhookRequest

ACCEPTED = "{body}, {timestamp}, {header:Name}, {query:name}"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

#: a part of the payload: literal bytes, or a placeholder filled from the request
Part = bytes | tuple[str, str]


@dataclass(frozen=True, slots=True)
class SignedPayload:
    """A parsed ``signed_payload`` template; :meth:`render` gives the bytes to sign."""

    template: str
    parts: tuple[Part, ...]

    @classmethod
    def parse(cls, template: object) -> SignedPayload:
        """Refuse unknown placeholders, and a template without exactly one ``{body}``."""
        if not isinstance(template, str):
            raise ProjectError(f"HmacSignature: signed_payload={template!r} must be a str containing {{body}} once")
        parts: list[Part] = []
        end = 0
        for match in _PLACEHOLDER.finditer(template):
            if match.start() > end:
                parts.append(template[end : match.start()].encode())
            parts.append(_placeholder(match.group(1), template))
            end = match.end()
        if end < len(template):
            parts.append(template[end:].encode())
        if parts.count(("body", "")) != 1:
            raise ProjectError(f"HmacSignature: signed_payload={template!r} must contain {{body}} once")
        return cls(template, tuple(parts))

    def uses(self, kind: str, name: str = "") -> bool:
        """Whether the template signs ``{kind}`` or ``{kind:name}`` (header names case-insensitive)."""
        if kind == "header":
            return any(isinstance(p, tuple) and p[0] == "header" and p[1].lower() == name.lower() for p in self.parts)
        return (kind, name) in self.parts

    def render(self, request: WebhookRequest, timestamp: str) -> bytes:
        if len(self.parts) == 1:  # "{body}": the common case, no copy
            return request.body
        return b"".join(p if isinstance(p, bytes) else _FILL[p[0]](request, p[1], timestamp) for p in self.parts)


def _placeholder(inside: str, template: str) -> tuple[str, str]:
    kind, colon, name = inside.partition(":")
    if not colon and kind in ("body", "timestamp"):
        return (kind, "")
    if colon and kind == "header" and _HEADER_NAME.match(name):
        return (kind, name)
    if colon and kind == "query" and name and name.strip() == name:
        return (kind, name)
    raise ProjectError(
        f"HmacSignature: signed_payload={template!r} has an unknown placeholder {{{inside}}}; "
        f"the accepted ones are {ACCEPTED}"
    )


def _header(request: WebhookRequest, name: str, timestamp: str) -> bytes:
    value = request.headers.get(name, "")
    try:  # the bytes as sent: the server decoded them as latin-1
        return value.encode("latin-1")
    except UnicodeEncodeError:  # only a request built in Python can hold these
        return value.encode()


def _query(request: WebhookRequest, name: str, timestamp: str) -> bytes:
    value = request.query.get(name, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return value.encode()


_FILL: dict[str, Callable[[WebhookRequest, str, str], bytes]] = {
    "body": lambda request, name, timestamp: request.body,
    "timestamp": lambda request, name, timestamp: timestamp.encode(),
    "header": _header,
    "query": _query,
}
