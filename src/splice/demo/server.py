"""The Acme CRM demo API: a real HTTP server playing a third-party SaaS for splice.

splice's tests, benchmarks and the ``splice demo`` command all need an API that behaves
like the ones customers connect to (OAuth, API keys, pagination, rate limits, flaky
upstreams, webhooks) without touching the internet. :class:`DemoAPI` is that API; it
runs on the caller's event loop (:meth:`DemoAPI.start`) or on its own thread
(:meth:`DemoAPI.start_in_thread`) for synchronous callers, and
``python -m splice.demo.server --port 8765`` runs it in the foreground.

Everything it offers is described in the modules it composes:
:mod:`~splice.demo._oauth` (``/oauth``), :mod:`~splice.demo._guard` (who may call
``/api``), :mod:`~splice.demo._api` (``/api``); this module adds the ``/admin`` routes
that are not about tokens (stats, the webhook sender) and the server's lifecycle.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import hashlib
import hmac
import sys
import threading
import time
from collections import Counter
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from splice.demo._api import AcmeAPI
from splice.demo._contacts import ContactStore
from splice.demo._files import FilesAPI
from splice.demo._guard import Guard
from splice.demo._jobs import JobsAPI
from splice.demo._oauth import OAuthServer
from splice.demo._web import abort, json_response, read_json_object

__all__ = ["DemoAPI", "main"]

#: requests carry JSON, echo bodies and uploads; aiohttp's 1 MiB default is too small
MAX_REQUEST_BODY = 64 * 1024 * 1024
WEBHOOK_TIMEOUT = 10.0


class DemoAPI:
    """The demo server. Construct, :meth:`start`, use :attr:`url`, :meth:`stop`.

    An instance serves once: after :meth:`stop` make a new one rather than restarting.
    """

    def __init__(
        self,
        *,
        contacts: int = 250,
        big: int | None = None,
        token_ttl: float = 3600,
        rate_limit: tuple[int, float] | None = None,
        clients: dict[str, str] | None = None,
        api_keys: set[str] | None = None,
        users: dict[str, str] | None = None,
        api_secrets: dict[str, str] | None = None,
    ) -> None:
        self.stats: Counter[str] = Counter()
        self.url = ""
        self.store = ContactStore(contacts)
        self.oauth = OAuthServer(
            clients=dict(clients) if clients is not None else {"demo-client": "demo-secret"},
            token_ttl=token_ttl,
            stats=self.stats,
            token_url=lambda: f"{self.url}/oauth/token",
        )
        guard = Guard(
            oauth=self.oauth,
            api_keys=set(api_keys) if api_keys is not None else {"demo-key"},
            users=dict(users) if users is not None else {"demo-user": "demo-pass"},
            api_secrets=(dict(api_secrets) if api_secrets is not None else {"demo-key": "demo-secret"}),
            rate_limit=rate_limit,
            stats=self.stats,
        )
        self.api = AcmeAPI(store=self.store, big_count=contacts if big is None else big, guard=guard, stats=self.stats)
        self.app = web.Application(client_max_size=MAX_REQUEST_BODY)
        self.app.add_routes(self.oauth.routes())
        self.app.add_routes(self.api.routes())
        self.jobs = JobsAPI(guard=guard, stats=self.stats)
        self.app.add_routes(self.jobs.routes())
        self.files = FilesAPI(guard=guard, stats=self.stats)
        self.app.add_routes(self.files.routes())
        self.app.add_routes(
            [
                web.get("/", self._index),
                web.get("/admin/stats", self._stats),
                web.post("/admin/reset-stats", self._reset_stats),
                web.post("/admin/webhooks", self._webhooks),
            ]
        )
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0 picks a free port) and return :attr:`url`."""
        if self._runner is not None:
            raise RuntimeError("DemoAPI is already started")
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_port = runner.addresses[0][1]
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else "[::1]" if host == "::" else host
        if ":" in shown and not shown.startswith("["):
            shown = f"[{shown}]"
        self.url = f"http://{shown}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        """Close the listening socket, open connections and the webhook client."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve from a daemon thread with its own event loop (for synchronous callers)."""
        if self._thread is not None:
            raise RuntimeError("DemoAPI is already running in a thread")
        loop = asyncio.new_event_loop()
        started: concurrent.futures.Future[str] = concurrent.futures.Future()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                started.set_result(loop.run_until_complete(self.start(host, port)))
            except BaseException as exc:
                started.set_exception(exc)
                loop.close()
                return
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        thread = threading.Thread(target=serve, name="splice-demo-api", daemon=True)
        thread.start()
        url = started.result(timeout=30)
        self._loop, self._thread = loop, thread
        return url

    def stop_thread(self) -> None:
        """Stop a server started with :meth:`start_in_thread` and wait for its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        self._loop = self._thread = None

    # -- conveniences for in-process callers ---------------------------------------------

    def register_key(self, issuer: str, public_key: str | bytes | dict[str, Any]) -> None:
        """Same as ``POST /admin/keys``: trust JWTs from ``issuer`` signed by this key."""
        self.oauth.register_key(issuer, public_key)

    def expire_tokens(self) -> int:
        """Same as ``POST /admin/tokens/expire``: revoke every issued access token."""
        return self.oauth.expire_tokens()

    async def send_webhook(
        self,
        url: str,
        event: Any,
        *,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """POST ``event`` to ``url`` the way Acme delivers webhooks; return (status, body).

        The signature covers ``f"{timestamp}.{raw_body}"`` so a receiver can reject both
        tampered bodies and replays of old deliveries.
        """
        raw = orjson.dumps(event)
        timestamp = str(int(time.time()))
        sent = {"Content-Type": "application/json", "X-Acme-Timestamp": timestamp}
        if secret:
            mac = hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256)
            sent["X-Acme-Signature"] = f"sha256={mac.hexdigest()}"
        sent.update(headers or {})
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT))
        async with self._session.post(url, data=raw, headers=sent) as response:
            body = await response.text(errors="replace")
        self.stats["webhooks.sent"] += 1
        return response.status, body

    # -- /admin and / --------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.Response:
        base = self.url or f"{request.scheme}://{request.host}"
        return json_response(
            {
                "name": "Acme CRM (splice demo API)",
                "authorize_url": f"{base}/oauth/authorize",
                "token_url": f"{base}/oauth/token",
                "api_url": f"{base}/api",
            }
        )

    async def _stats(self, request: web.Request) -> web.Response:
        return json_response(dict(self.stats))

    async def _reset_stats(self, request: web.Request) -> web.Response:
        self.stats.clear()  # in place: the OAuth server and the guard share this Counter
        return json_response({"ok": True})

    async def _webhooks(self, request: web.Request) -> web.Response:
        body = await read_json_object(request)
        url, secret, headers = body.get("url"), body.get("secret"), body.get("headers") or {}
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            abort(400, {"error": "url must be an absolute http(s) URL", "field": "url"})
        if secret is not None and not isinstance(secret, str):
            abort(400, {"error": "secret must be a string", "field": "secret"})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            abort(400, {"error": "headers must map names to strings", "field": "headers"})
        try:
            status, text = await self.send_webhook(url, body.get("event", {}), secret=secret, headers=headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.stats["webhooks.failed"] += 1
            return json_response({"error": f"delivery failed: {exc!r}"}, status=502)
        return json_response({"status": status, "body": text})


async def _serve_forever(api: DemoAPI, host: str, port: int) -> None:
    url = await api.start(host, port)
    print(url, flush=True)
    print(
        "credentials: OAuth client demo-client/demo-secret, API key demo-key, "
        "basic demo-user/demo-pass (Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await api.stop()


def _rate_limit(text: str) -> tuple[int, float]:
    count, _, seconds = text.partition("/")
    try:
        return int(count), float(seconds or 1)
    except ValueError:
        raise argparse.ArgumentTypeError("expected N/SECONDS, e.g. 100/1") from None


def main(argv: list[str] | None = None) -> None:
    """``python -m splice.demo.server``: run the demo API in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m splice.demo.server", description="Run the Acme CRM demo API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--contacts", type=int, default=250, help="contacts to seed")
    parser.add_argument("--big", type=int, default=None, help="records /api/paged/big serves (default: --contacts)")
    parser.add_argument("--token-ttl", type=float, default=3600, help="access token lifetime")
    parser.add_argument("--rate-limit", type=_rate_limit, default=None, metavar="N/SECONDS")
    args = parser.parse_args(argv)
    api = DemoAPI(contacts=args.contacts, big=args.big, token_ttl=args.token_ttl, rate_limit=args.rate_limit)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(api, args.host, args.port))


if __name__ == "__main__":
    main()
