"""Replaying: a transport that answers from a fixture and never opens a socket.

Matching rules, in the order they apply:

* a request matches a recorded one with the same method, URL (scheme, host, path) and query
  (the same name/value pairs, in any order; a recorded value that is a ``{{secret:...}}``
  placeholder matches any value, since the script sends whatever secret it holds);
* the body is compared only when ``match_body=True`` (JSON bodies as parsed JSON);
* among recorded requests that match, the first not yet answered answers, so repeated calls
  (pages, a retry after a recorded 429 or 5xx, the call again after a refresh on a recorded
  401) get their answers in the recorded order;
* a request nothing answers raises ``FIXTURE_MISMATCH`` naming its method and URL and the
  closest recorded request; the harness also fails the test with it after the run, so a
  script that swallows the error still fails;
* ``strict=True``: a recorded exchange never used fails the test at the end (``FIXTURE_UNUSED``).
"""

from __future__ import annotations

import difflib
from collections.abc import AsyncIterator

import orjson

from splice._http.models import Request, Response
from splice._http.transport import Chunks
from splice.errors import FixtureError
from splice.testing._format import Fixture, RecordedExchange, describe, encode_body
from splice.testing._secrets import is_placeholder


class ReplayTransport:
    """Implements :class:`~splice._http.transport.Transport` from a :class:`Fixture`'s exchanges.

    >>> transport = ReplayTransport(load_fixture("tests/fixtures/create_contact.json"), strict=True)
    >>> rt = await Runtime.open(root, transport=transport, clock=ManualClock(fixture.recorded_at))
    >>> transport.check()                      # after the run: nothing unexpected, nothing unused
    """

    def __init__(self, fixture: Fixture, *, strict: bool = False, match_body: bool = False) -> None:
        self.fixture = fixture
        self.strict = strict
        self.match_body = match_body
        self.used = [False] * len(fixture.exchanges)
        #: what went wrong, in order; the harness raises the first after the run
        self.errors: list[FixtureError] = []

    async def send(self, request: Request, *, timeout: float) -> Response:
        return self._answer(request)

    async def stream(
        self, request: Request, *, timeout: float, chunk_size: int = 65536
    ) -> tuple[Response, Chunks | None]:
        response = self._answer(request)
        if response.status >= 300:
            return response, None
        body, response.content = response.content, b""

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(body), chunk_size):
                yield body[start : start + chunk_size]

        return response, chunks()

    async def close(self) -> None:
        pass

    def unused(self) -> list[RecordedExchange]:
        return [x for x, used in zip(self.fixture.exchanges, self.used, strict=True) if not used]

    def check(self) -> None:
        """Raise the first mismatch; with ``strict``, also any recorded exchange never requested."""
        if self.errors:
            raise self.errors[0]
        unused = self.unused()
        if self.strict and unused:
            listed = "; ".join(x.describe() for x in unused[:5])
            raise FixtureError(
                f"{len(unused)} recorded request(s) of fixture {self.fixture.path or ''} were never made: {listed}",
                code="FIXTURE_UNUSED",
                details={"unused": [x.describe() for x in unused]},
                hint="the script makes fewer calls than when it was recorded: re-record it (--splice-record) "
                "or replay without strict",
            )

    def _answer(self, request: Request) -> Response:
        for i, exchange in enumerate(self.fixture.exchanges):
            if not self.used[i] and self._matches(exchange, request):
                self.used[i] = True
                response = exchange.response
                return Response(response.status, response.header_items(), response.content(), request)
        error = self._mismatch(request)
        self.errors.append(error)
        raise error

    def _matches(self, exchange: RecordedExchange, request: Request) -> bool:
        recorded = exchange.request
        if recorded.method != request.method or recorded.url != request.url:
            return False
        if not _same_query(recorded.query, request.params):
            return False
        if self.match_body and recorded.body is not None:
            sent = encode_body(request.content, request.headers.get("Content-Type", ""))
            return orjson.dumps(sent, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
                recorded.body, option=orjson.OPT_SORT_KEYS
            )
        return True

    def _mismatch(self, request: Request) -> FixtureError:
        asked = describe(request.method, request.url, request.params)
        closest = self._closest(request, asked)
        used_up = any(self._matches(x, request) for x in self.fixture.exchanges)
        if used_up:
            why = "every recorded answer to it was already used (the script calls it more often than recorded)"
        else:
            why = f"the closest recorded request is {closest}" if closest else "the fixture records no requests"
        return FixtureError(
            f"request not in fixture {self.fixture.path or ''}: {asked}; {why}",
            code="FIXTURE_MISMATCH",
            details={"method": request.method, "url": request.url, "query": request.params, "closest": closest},
            hint="re-record the fixture against the live API (pytest --splice-record) if the script changed",
        )

    def _closest(self, request: Request, asked: str) -> str | None:
        best, best_score = None, -1.0
        for exchange in self.fixture.exchanges:
            text = exchange.describe()
            score = difflib.SequenceMatcher(None, asked, text).ratio()
            score += 1.0 if exchange.request.method == request.method else 0.0
            if score > best_score:
                best, best_score = text, score
        return best


def _same_query(recorded: list[tuple[str, str]], sent: list[tuple[str, str]]) -> bool:
    if len(recorded) != len(sent):
        return False
    left = sorted(recorded)
    right = sorted(sent)
    if left == right:
        return True
    pending = list(sent)
    for name, value in recorded:
        match = next(
            (i for i, (k, v) in enumerate(pending) if k == name and (v == value or is_placeholder(value))), None
        )
        if match is None:
            return False
        pending.pop(match)
    return True
