"""Which connection a webhook belongs to: the id is a header, a query parameter or a field of the body.

Third parties send one webhook URL events for every customer and say whose they are in the
request; ``connection_from=`` names where, and the run gets that connection (credentials,
config, state) exactly as if it had been started for it.

That value picks a tenant, so it must be signed: otherwise whoever holds one signed delivery
(a log line, a proxy, a retry queue) resends it with another tenant's id and it runs as that
tenant. :func:`check_signed_routing` refuses, when the trigger is declared, a routing value
its signature does not cover: a body field is always covered (the body is signed), a header
or query value only when the ``signed_payload`` template holds it. ``trusted=True`` on the
source is the explicit way out, for a value something in front of splice vouches for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from splice.errors import ProjectError
from splice.triggers._request import WebhookRequest
from splice.triggers._signature import HmacSignature


@dataclass(frozen=True, slots=True)
class Header:
    """The connection id is this header's value: ``connection_from=Header("X-Account-Id")``.

    The signature must sign it (``signed_payload="{header:X-Account-Id}|{body}"``) unless
    ``trusted=True`` says you vouch for it another way (a proxy in front of splice sets it).
    """

    name: str
    trusted: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        _check("Header", self.name, self.trusted)

    def value(self, request: WebhookRequest) -> str | None:
        return request.headers.get(self.name) or None

    def describe(self) -> str:
        return f"header {self.name}"


@dataclass(frozen=True, slots=True)
class Query:
    """The connection id is this query parameter (the first, if repeated): ``Query("account")``.

    The signature must sign it (``{query:account}``) unless ``trusted=True``.
    """

    name: str
    trusted: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        _check("Query", self.name, self.trusted)

    def value(self, request: WebhookRequest) -> str | None:
        found = request.query.get(self.name)
        if isinstance(found, list):
            found = found[0] if found else None
        return found or None

    def describe(self) -> str:
        return f"query parameter {self.name}"


@dataclass(frozen=True, slots=True)
class Body:
    """The connection id is a field of the JSON body, by dotted path: ``Body("account.id")``.

    A number in the path indexes a list (``"events.0.account"``); the value must be a
    string or a whole number. Any signature covers it (the whole body is signed); without
    one, ``trusted=True`` is required.
    """

    path: str
    trusted: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        _check("Body", self.path, self.trusted)

    def value(self, request: WebhookRequest) -> str | None:
        found: Any = request.json()
        for part in self.path.split("."):
            if isinstance(found, dict):
                found = found.get(part)
            elif isinstance(found, list) and part.isdigit() and int(part) < len(found):
                found = found[int(part)]
            else:
                return None
        if isinstance(found, bool) or not isinstance(found, str | int):
            return None
        return str(found) or None

    def describe(self) -> str:
        return f"body field {self.path}"


ConnectionSource = Header | Query | Body
_SAME = " (the third party must sign that same string)"


def check_signed_routing(owner: str, source: ConnectionSource, signature: HmacSignature | None) -> None:
    """Refuse a routing value that ``signature`` does not sign and that is not ``trusted``.

    ``owner`` names the trigger in the message, which shows both ways out: sign it, or opt in.
    """
    if source.trusted or _signed(source, signature):
        return
    if signature is None:
        problem = (f"{owner} takes its connection from the {source.describe()} but has no signature=, "
                   "so anyone who can reach its URL can name any tenant and run as that tenant")  # fmt: skip
    else:
        problem = (f"{owner} takes its connection from the {source.describe()}, which its signature does not "
                   "sign, so anyone holding one signed delivery can resend it naming another tenant and run "
                   "as that tenant")  # fmt: skip
    raise ProjectError(
        f"{problem}. Sign it: {_how_to_sign(source, signature)}. Or, if something in front of splice "
        f'vouches for the value, opt in: {type(source).__name__}("{_named(source)}", trusted=True)',
        hint="see 'Webhook triggers' in the README: a value that picks the tenant must be signed",
    )


def _signed(source: ConnectionSource, signature: HmacSignature | None) -> bool:
    if signature is None:
        return False
    if isinstance(source, Body):
        return True
    return signature.signs("header" if isinstance(source, Header) else "query", source.name)


def _how_to_sign(source: ConnectionSource, signature: HmacSignature | None) -> str:
    """The declaration that signs ``source``: its placeholder first, then what is signed today.

    ``|`` cannot occur in a connection id, so the routing value cannot borrow bytes from what follows.
    """
    if isinstance(source, Body):
        return 'add signature=HmacSignature(secret_env="...") (the whole body is signed)'
    kind = "header" if isinstance(source, Header) else "query"
    template = f"{{{kind}:{source.name}}}|{signature.template if signature else '{body}'}"
    if signature is None:
        return f'add signature=HmacSignature(secret_env="...", signed_payload="{template}"){_SAME}'
    return f'add signed_payload="{template}" to its HmacSignature{_SAME}'


def _named(source: ConnectionSource) -> str:
    return source.path if isinstance(source, Body) else source.name


def _check(kind: str, name: Any, trusted: Any) -> None:
    if not isinstance(name, str) or not name or name.strip() != name:
        raise ProjectError(f"{kind}({name!r}): give the name as a non-empty string")
    if not isinstance(trusted, bool):
        raise ProjectError(f"{kind}({name!r}, trusted={trusted!r}): trusted must be True or False")
