"""Exports as values (JSON round trips, refusals naming the field) and what a page's response can say."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from splice.errors import InvalidInput
from splice.resources import Delta, Export, Paging, export_page

from .conftest import Serve

FULL = {
    "name": "contacts",
    "integration": "acme",
    "method": "POST",
    "path": "/contacts/{{ settings.account }}",
    "query": {"since": "{{ delta.start }}"},
    "headers": {"X-Api": "{{ settings.key }}"},
    "body": {"q": "{{ data.q }}"},
    "body_format": "json",
    "records_path": "data.items",
    "page_size": 50,
    "paging": {
        "method": "token",
        "path": "next",
        "path_location": "header",
        "param": "cursor",
        "max_pages": 20,
        "last_page_path": "done",
        "last_page_values": ["true"],
    },
    "delta": {"date_field": "updated_at", "lag_offset": 60000, "date_format": "%Y-%m-%d"},
    "success_path": "ok",
    "success_values": ["true"],
    "fail_path": "status",
    "fail_values": ["error"],
    "error_path": "message",
    "hooks": {"pre_save_page": "acme.clean_page"},
    "external_id": "contacts-v1",
}


def test_an_export_round_trips_through_json() -> None:
    export = Export.from_json(FULL)
    assert export.to_json() == FULL
    assert Export.from_json(export.to_json()) == export
    assert export.paging == Paging(
        method="token",
        path="next",
        path_location="header",
        param="cursor",
        max_pages=20,
        last_page_path="done",
        last_page_values=("true",),
    )
    assert export.delta == Delta(date_field="updated_at", lag_offset=60000, date_format="%Y-%m-%d")
    small = {"name": "c", "integration": "acme", "method": "GET", "path": "/c"}
    assert Export.from_json(small).to_json() == small


@pytest.mark.parametrize(
    "method",
    [
        {"method": "page", "param": "p", "start": 1, "max_page_path": "pages"},
        {"method": "skip", "param": "offset", "max_count_path": "total"},
        {"method": "token", "path": "next", "token": "first"},
        {"method": "linkheader", "link_header_relation": "more"},
        {"method": "url", "path": "links.next"},
        {"method": "relativeuri", "relative_uri": "/c?after={{ paging.token }}"},
        {"method": "body", "body": {"after": "{{ previous_page.last_record.id }}"}, "last_page_status_code": 204},
    ],
)
def test_every_paging_method_round_trips(method: dict[str, Any]) -> None:
    data = {"name": "c", "integration": "acme", "method": "GET", "path": "/c", "paging": method}
    assert Export.from_json(data).to_json() == data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"paging": {"method": "pages"}},
            "export 'contacts': paging.method: unknown paging method 'pages' "
            "(known: body, linkheader, page, relativeuri, skip, token, url)",
        ),
        ({"paging": {"method": "token"}}, "export 'contacts': paging.path: token paging needs path"),
        ({"paging": {"method": "url"}}, "export 'contacts': paging.path: url paging needs path"),
        ({"paging": {"method": "page", "path": "x"}}, "export 'contacts': paging.path: unknown key (accepted: "),
        ({"paging": {"method": "page", "start": "1"}}, "paging.start: must be a whole number from 0"),
        ({"recordsPath": "data"}, "'contacts': recordsPath: unknown key (accepted: async_helper, body, body_format,"),
        ({"page_size": 0}, "export 'contacts': page_size: must be a whole number from 1 to 10,000, not 0"),
        ({"page_size": "10"}, "page_size: must be a whole number from 1 to 10,000, not '10'"),
        ({"method": "FETCH"}, "method: unknown HTTP method 'FETCH' (known: DELETE, GET, PATCH, POST, PUT)"),
        ({"query": {"a": 1}}, "export 'contacts': query: must be an object of strings"),
        ({"hooks": {"post_map": "acme.f"}}, "hooks.post_map: unknown export hook 'post_map' (known: pre_save_page)"),
        ({"delta": {"lag": 5}}, "export 'contacts': delta.lag: unknown key"),
        ({"path": "/c/{{ x"}, "export 'contacts': path: template does not compile"),
        ({"body": {"a": ["{% if %}"]}}, "export 'contacts': body.a[0]: template does not compile"),
        ({"success_values": "true"}, "success_values: must be a list of strings"),
        ({"paging": {"method": "page", "last_page_values": ["x"]}}, "paging.last_page_values: needs last_page_path"),
    ],
)
def test_a_bad_document_is_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Export.from_json({"name": "contacts", "integration": "acme", "path": "/c", **change})
    assert caught.value.code == "INVALID_RESOURCE"
    assert message in caught.value.message


def test_required_fields_and_wrong_shapes_are_named() -> None:
    with pytest.raises(InvalidInput, match="export 'c': integration: is required"):
        Export.from_json({"name": "c", "path": "/c"})
    with pytest.raises(InvalidInput, match=r"\(document\): must be an object, not a list"):
        Export.from_json([])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=r"paging\.relative_uri: not used by page paging"):
        Export(name="c", integration="a", path="/c", paging=Paging(method="page", relative_uri="/x"))


def answers(body: Any, status: int = 200) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_get("/c", handler)
    return app


async def test_a_missing_records_path_is_an_error_naming_it_not_an_empty_page(serve: Serve) -> None:
    served = await serve(answers({"results": [{"id": 1}], "count": 1}))
    page = await export_page(Export(name="c", integration="a", path="/c", records_path="data"), served.http)
    assert page.data == [] and page.state is None
    [error] = page.errors
    assert error["source"] == "export"
    assert "records_path 'data' is not in the response (its keys: results, count)" in error["message"]


async def test_no_records_path_takes_the_body_as_the_records(serve: Serve) -> None:
    served = await serve(answers([{"id": 1}, {"id": 2}]))
    page = await export_page(Export(name="c", integration="a", path="/c"), served.http)
    assert page.data == [{"id": 1}, {"id": 2}] and page.errors == [] and page.state is None


@pytest.mark.parametrize(
    ("body", "fields", "message"),
    [
        (
            {"ok": False, "message": "quota used up", "data": []},
            {"success_path": "ok", "success_values": ("true",), "error_path": "message"},
            "success_path 'ok' is False: quota used up",
        ),
        (
            {"status": "error", "message": "bad token", "data": []},
            {"fail_path": "status", "fail_values": ("error",), "error_path": "message"},
            "fail_path 'status' is 'error': bad token",
        ),
        ({"error": {"text": "no such account"}, "data": []}, {"error_path": "error.text"}, "failed: no such account"),
    ],
)
async def test_a_200_that_says_failure_fails_the_page_with_the_api_s_message(
    body: dict[str, Any], fields: dict[str, Any], message: str, serve: Serve
) -> None:
    served = await serve(answers(body))
    page = await export_page(Export(name="c", integration="a", path="/c", records_path="data", **fields), served.http)
    assert page.data == [] and len(page.errors) == 1
    assert message in page.errors[0]["message"] and page.errors[0]["code"] == "API_ERROR"


async def test_success_and_fail_paths_let_a_good_page_through(serve: Serve) -> None:
    served = await serve(answers({"ok": True, "status": "fine", "error": None, "data": [{"id": 1}]}))
    export = Export(
        name="c",
        integration="a",
        path="/c",
        records_path="data",
        success_path="ok",
        success_values=("true",),
        fail_path="status",
        fail_values=("error",),
        error_path="error",
    )
    page = await export_page(export, served.http)
    assert page.data == [{"id": 1}] and page.errors == []


async def test_the_delta_window_renders_with_the_lag_offset(serve: Serve) -> None:
    seen: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(dict(request.query))
        return web.json_response([])

    app = web.Application()
    app.router.add_get("/c", handler)
    served = await serve(app)
    query = {"from": "{{ delta.start }}", "to": "{{ delta.end }}", "field": "{{ delta.date_field }}"}
    export = Export(
        name="c", integration="a", path="/c", query=query, delta=Delta(date_field="updated", lag_offset=90_000)
    )
    last = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    await export_page(export, served.http, start_date=last, end_date="2026-03-02T00:00:00Z")
    assert seen[-1] == {"from": "2026-03-01T11:58:30.000Z", "to": "2026-03-02T00:00:00.000Z", "field": "updated"}
    formatted = Export(
        name="c", integration="a", path="/c", query=query, delta=Delta(lag_offset=-3_600_000, date_format="%Y-%m-%d %H")
    )
    await export_page(formatted, served.http, start_date="2026-03-01T23:30:00+00:00", end_date=last)
    assert seen[-1] == {"from": "2026-03-02 00", "to": "2026-03-01 12", "field": "None"}
    # the first run has no start: templates say {% if delta.start %}
    first = Export(
        name="c", integration="a", path="/c", query={"since": "{% if delta.start %}{{ delta.start }}{% endif %}"}
    )
    await export_page(first, served.http)
    assert seen[-1] == {"since": ""}
