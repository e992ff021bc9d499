"""``ctx.api`` / ``ctx.external_api`` / ``ctx.internal_api``: HTTP through the parent.

The child holds no socket to any API: a call is sent to the parent with the options SPEC §2.3
lists, and the parent resolves the URL, checks the allowlist, adds credentials, retries and
logs it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from multidict import CIMultiDict
from pydantic import BaseModel

from splice._runtime.capability import HTTP
from splice._runtime.channel import Channel
from splice.errors import InvalidInput
from splice.paginate import BasePaginator, PageData, PageRequest, PageResponse, iterate_pages

ResponseType = Literal["json", "bytes", "text", "stream"]


@dataclass(slots=True)
class FullResponse:
    """``return_full_response=True``: status, headers and the parsed body."""

    status: int
    headers: CIMultiDict[str]
    data: Any
    url: str = ""


class ApiClient:
    """``ctx.api``: the connection's API, with credentials injected by the parent.

    >>> contact = await ctx.api.post("/contacts", {"email": "a@b.test"})
    >>> async for page in ctx.api.paginate("/contacts"):
    ...     ...
    """

    def __init__(self, channel: Channel, target: str, paginator: BasePaginator | None = None) -> None:
        self._channel = channel
        self._target = target
        self._paginator = paginator

    async def get(self, path: str, query: Mapping[str, Any] | None = None, **options: Any) -> Any:
        return await self.request("GET", path, query=query, **options)

    async def post(self, path: str, data: Any = None, **options: Any) -> Any:
        return await self.request("POST", path, data=data, **options)

    async def put(self, path: str, data: Any = None, **options: Any) -> Any:
        return await self.request("PUT", path, data=data, **options)

    async def patch(self, path: str, data: Any = None, **options: Any) -> Any:
        return await self.request("PATCH", path, data=data, **options)

    async def delete(self, path: str, data: Any = None, **options: Any) -> Any:
        return await self.request("DELETE", path, data=data, **options)

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        base_uri: str | None = None,
        auth: tuple[str, str] | None = None,
        return_full_response: bool = False,
        response_type: ResponseType = "json",
        timeout: float | None = None,
        retries: int | None = None,
        raise_for_status: bool = True,
    ) -> Any:
        """Any HTTP method; returns the parsed body (or a :class:`FullResponse`).

        ``raise_for_status=False`` returns a 4xx or 5xx answer (after the retries a 429 or 5xx
        gets) instead of raising; use it with ``return_full_response=True`` to read its status.
        """
        if response_type not in ("json", "bytes", "text", "stream"):
            raise InvalidInput(f"response_type must be json, bytes, text or stream, not {response_type!r}")
        args, body = self._spec(method, path, query, data, headers, base_uri, auth, timeout, retries)
        if not raise_for_status:
            args["raise_for_status"] = False
        if response_type == "stream":
            head, chunks = await self._channel.stream(args, body)
            if return_full_response:
                return FullResponse(head["status"], CIMultiDict(head["headers"]), chunks, head["url"])
            return chunks
        head, content = await self._channel.call(HTTP.op("request"), args, body)
        parsed = _parse(content, head["headers"], response_type)
        if return_full_response:
            return FullResponse(head["status"], CIMultiDict(head["headers"]), parsed, head["url"])
        return parsed

    def _spec(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None,
        data: Any,
        headers: Mapping[str, str] | None,
        base_uri: str | None,
        auth: tuple[str, str] | None,
        timeout: float | None,
        retries: int | None,
    ) -> tuple[dict[str, Any], bytes]:
        if not isinstance(path, str) or not path:
            raise InvalidInput("path must be a non-empty string such as '/contacts'")
        hdrs = {str(k): str(v) for k, v in (headers or {}).items()}
        body, content_type = _encode_body(data)
        if content_type and not any(k.lower() == "content-type" for k in hdrs):
            hdrs["Content-Type"] = content_type
        if auth is not None and (not isinstance(auth, tuple | list) or len(auth) != 2):
            raise InvalidInput("auth must be a (username, password) pair")
        args = {
            "target": self._target,
            "method": method.upper(),
            "path": path,
            "query": _flatten_query(query),
            "headers": hdrs,
            "base_uri": base_uri,
            "auth": list(auth) if auth else None,
            "timeout": timeout,
            "retries": retries,
            "has_body": body is not None,
        }
        return args, body or b""

    def paginate(
        self,
        path: str,
        query: Mapping[str, Any] | None = None,
        *,
        method: str = "GET",
        data: Any = None,
        strategy: BasePaginator | None = None,
        items_path: str | None = None,
    ) -> AsyncIterator[PageData[Any]]:
        """Pages from ``path`` using ``strategy`` or the integration's default.

        Each page is a list of items with ``.response`` (status, headers, data, url), ``.request``
        (the path and query that fetched it: the cursor or link followed) and ``.index``.
        """
        paginator = strategy or self._paginator
        if paginator is None:
            raise InvalidInput(
                "no pagination strategy: pass strategy=paginate.Cursor(...) or set the integration's paginate="
            )
        paginator = paginator.fresh()
        if items_path is not None:
            paginator.items_path = items_path

        async def fetch(request: PageRequest) -> PageResponse:
            full = await self.request(
                method, request.path, query=request.query, data=request.data, return_full_response=True
            )
            return PageResponse(full.status, full.headers, full.data, full.url)

        return iterate_pages(paginator, PageRequest(path, dict(query or {}), data), fetch)


def _encode_body(data: Any) -> tuple[bytes | None, str | None]:
    if data is None:
        return None, None
    if isinstance(data, bytes | bytearray):
        return bytes(data), "application/octet-stream"
    if isinstance(data, str):
        return data.encode(), "text/plain; charset=utf-8"
    if isinstance(data, BaseModel):
        return data.model_dump_json().encode(), "application/json"
    try:
        return orjson.dumps(data, default=_model_default), "application/json"
    except TypeError as exc:
        raise InvalidInput(f"request data is not JSON-serialisable: {exc}") from None


def _model_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def _flatten_query(query: Mapping[str, Any] | None) -> list[list[str]]:
    if not query:
        return []
    if not isinstance(query, Mapping):
        raise InvalidInput("query must be a mapping of parameter names to values")
    pairs: list[list[str]] = []
    for name, value in query.items():
        if value is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            text = ("true" if item else "false") if isinstance(item, bool) else str(item)
            pairs.append([str(name), text])
    return pairs


def _parse(content: bytes, headers: list[list[str]], response_type: ResponseType) -> Any:
    if response_type == "bytes":
        return content
    if response_type == "text":
        return content.decode("utf-8", errors="replace")
    if not content:
        return None
    ctype = next((v for k, v in headers if k.lower() == "content-type"), "").split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass
    return content.decode("utf-8", errors="replace")
