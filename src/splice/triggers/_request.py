"""The incoming webhook as a trigger script sees it, and its JSON forms (the wire, the stored run)."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson
from multidict import CIMultiDict, CIMultiDictProxy

from splice._http.redact import MASK, secret_name
from splice.errors import InvalidJson

HeaderPairs = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]
QueryValues = Mapping[str, str | list[str]] | Iterable[tuple[str, str]]
#: headers whose values are masked in the stored run whatever their name looks like
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_UNSET: Any = object()


class WebhookRequest:
    """``request`` in ``async def fn(ctx, request)``: method, path, headers, query and the raw body.

    ``headers`` is case-insensitive (``request.headers["x-acme-event"]``; ``getall`` for repeats);
    ``query`` maps a name to its value, or to a list when it was repeated. The body is kept
    as bytes because signatures are computed over the exact bytes sent.

    >>> event = request.json()
    >>> request.headers.get("X-Acme-Event"), request.query.get("account")
    """

    __slots__ = ("_json", "body", "headers", "method", "path", "query")

    def __init__(
        self,
        method: str,
        path: str = "/",
        headers: HeaderPairs = (),
        query: QueryValues = (),
        body: bytes = b"",
    ) -> None:
        self.method = str(method).upper()
        self.path = str(path)
        self.headers: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict(_header_pairs(headers)))
        self.query: dict[str, str | list[str]] = _query(query)
        self.body = bytes(body)
        self._json: Any = _UNSET

    def __repr__(self) -> str:
        return f"WebhookRequest({self.method} {self.path}, {len(self.body)} bytes)"

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-case (``""`` when absent)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON, whatever the content type says; parsed once."""
        if self._json is _UNSET:
            try:
                self._json = orjson.loads(self.body)
            except orjson.JSONDecodeError as exc:
                raise InvalidJson(f"the webhook body is not valid JSON: {exc}") from None
        return self._json

    def to_json(self) -> dict[str, Any]:
        """Everything, exactly: how the request reaches a run's child process.

        The body is base64 whatever it holds, so its size in the message is predictable
        (JSON escapes of control characters could make text six times larger).
        """
        return {
            "method": self.method,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "query": self.query,
            "body": base64.b64encode(self.body).decode("ascii"),
            "body_encoding": "base64",
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WebhookRequest:
        pairs = [(str(k), str(v)) for k, v in data.get("headers") or []]
        return cls(str(data.get("method", "POST")), str(data.get("path", "/")), pairs, data.get("query") or {},
                   body_from_json(data))  # fmt: skip

    def redacted(self, secret_headers: Iterable[str] = ()) -> dict[str, Any]:
        """The run's stored input: readable headers with secrets masked, and the parsed JSON body.

        Headers named like secrets (Authorization, Cookie, ``*Signature*``, ``*Token*``...) and
        ``secret_headers`` are masked, as are query values named like secrets.
        """
        hidden = _hidden(secret_headers)
        headers: dict[str, str] = {}
        for name in self.headers:
            key = name.lower()
            headers.setdefault(key, MASK if hidden(key) else ", ".join(self.headers.getall(name)))
        query = {k: MASK if secret_name(k) else v for k, v in self.query.items()}
        stored = {"method": self.method, "path": self.path, "headers": headers, "query": query,
                  **body_to_json(self.body)}  # fmt: skip
        with contextlib.suppress(InvalidJson):
            stored["json"] = self.json()
        return stored

    def secret_values(self, secret_headers: Iterable[str] = ()) -> list[str]:
        """What :meth:`redacted` masks, so the run's logs and results never show it either."""
        hidden = _hidden(secret_headers)
        values = [v for k, v in self.headers.items() if hidden(k.lower())]
        values += [v.partition(" ")[2] for v in values if " " in v]
        for name, value in self.query.items():
            if secret_name(name):
                values += value if isinstance(value, list) else [value]
        return values


def body_to_json(body: bytes) -> dict[str, Any]:
    """``{"body": text, "body_encoding": "utf-8"}``, or base64 when the bytes are not UTF-8."""
    try:
        return {"body": body.decode("utf-8"), "body_encoding": "utf-8"}
    except UnicodeDecodeError:
        return {"body": base64.b64encode(body).decode("ascii"), "body_encoding": "base64"}


def body_from_json(data: Mapping[str, Any]) -> bytes:
    text = str(data.get("body") or "")
    if data.get("body_encoding") == "base64":
        return base64.b64decode(text)
    return text.encode("utf-8")


def _hidden(secret_headers: Iterable[str]) -> Callable[[str], bool]:
    names = SECRET_HEADERS | {h.lower() for h in secret_headers}
    return lambda name: name in names or secret_name(name)


def _header_pairs(headers: HeaderPairs) -> list[tuple[str, str]]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(_text(k), _text(v)) for k, v in items]


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _query(query: QueryValues) -> dict[str, str | list[str]]:
    if isinstance(query, Mapping):
        return {str(k): [str(i) for i in v] if isinstance(v, list | tuple) else str(v) for k, v in query.items()}
    grouped: dict[str, list[str]] = {}
    for name, value in query:
        grouped.setdefault(str(name), []).append(str(value))
    return {k: v[0] if len(v) == 1 else v for k, v in grouped.items()}
