"""Sandboxed templates: failures name the resource and the field; the sandbox refuses escapes."""

from __future__ import annotations

import pytest
from aiohttp import web

from splice.errors import InvalidInput
from splice.resources import Export, export_page

from .conftest import Serve


def echo() -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "path": request.path,
                    "query": dict(request.query),
                    "body": await request.text(),
                    "type": request.headers.get("Content-Type"),
                }
            ]
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


async def test_templates_see_settings_data_and_export(serve: Serve) -> None:
    served = await serve(echo())
    export = Export(
        name="c",
        integration="a",
        method="POST",
        path="/accounts/{{ settings.account }}/c",
        query={"size": "{{ export.page_size }}"},
        body={"ids": "{{ data.ids }}", "q": "id in {{ data.ids }}"},
    )
    page = await export_page(export, served.http, data={"ids": [1, 2]}, settings={"account": "x9"})
    [seen] = page.data
    assert seen["path"] == "/accounts/x9/c" and seen["query"] == {"size": "100"}
    # a string that is one {{ expression }} keeps its type
    assert seen["body"] == '{"ids":[1,2],"q":"id in [1, 2]"}' and seen["type"] == "application/json"


async def test_a_text_body_is_sent_as_is_and_json_text_is_checked(serve: Serve) -> None:
    served = await serve(echo())
    text = Export(name="c", integration="a", method="POST", path="/c", body="<q>{{ data }}</q>")
    assert (await export_page(text, served.http, data="x")).data[0]["body"] == "<q>x</q>"
    bad = Export(name="c", integration="a", method="POST", path="/c", body="{ {{ data }} }", body_format="json")
    with pytest.raises(InvalidInput, match="export 'c': body: renders to text that is not JSON"):
        await export_page(bad, served.http, data="x")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"path": "/c/{{ settings.acount }}"},
            "export 'c': path: template failed (UndefinedError): 'dict object' has no attribute 'acount'",
        ),
        (
            {"path": "/c", "query": {"q": "{{ nope }}"}},
            "export 'c': query.q: template failed (UndefinedError): 'nope' is undefined",
        ),
        ({"path": "/c", "body": {"x": ["{{ 1 // 0 }}"]}}, "export 'c': body.x[0]: template failed (ZeroDivisionError)"),
        (
            {"path": "/c", "headers": {"X": "{{ ''.__class__.__mro__ }}"}},
            "export 'c': headers.X: template failed (SecurityError): access to attribute '__class__' of 'str' "
            "object is unsafe",
        ),
        ({"path": "/c", "body": {"x": "{{ ''.__class__.__mro__ }}"}}, "(SecurityError)"),
        ({"path": "/c/{{ settings.update({'a': 1}) }}"}, "export 'c': path: template failed (SecurityError)"),
    ],
)
async def test_a_render_failure_names_the_field_and_jinja_s_message(fields: dict, message: str, serve: Serve) -> None:
    served = await serve(echo())
    with pytest.raises(InvalidInput) as caught:
        await export_page(Export(name="c", integration="a", **fields), served.http, settings={"account": "x"})
    assert message in caught.value.message and caught.value.code == "EXPRESSION_FAILED"
    assert not served.http.calls


async def test_output_is_bounded(serve: Serve) -> None:
    served = await serve(echo())
    export = Export(name="c", integration="a", path="/c", query={"q": "{{ 'x' * 2000000 }}"})
    with pytest.raises(InvalidInput, match=r"query\.q: template renders more than 1,048,576 characters"):
        await export_page(export, served.http)
