"""Imports against a server that counts calls: per record, batched, one 422, retrying one record alone."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from splice.errors import InvalidInput
from splice.resources import Field, IgnoreExisting, Import, Lookup, Mapping, StaticLookups, import_records

from .conftest import Serve

MAPPING = Mapping(
    fields=(
        Field(generate="email", extract="$lowercase(Email)"),
        Field(generate="team", lookup=Lookup("teams", "Team", on_miss="error")),
    )
)
LOOKUPS = {"teams": {"red": "t1", "blue": "t2"}}


class Counting(StaticLookups):
    def __init__(self) -> None:
        super().__init__(LOOKUPS)
        self.calls = 0

    async def get(self, cache: str, keys: list[str]) -> dict[str, str]:
        self.calls += 1
        return await super().get(cache, keys)


def crm() -> web.Application:
    received: list[Any] = []

    async def one(request: web.Request) -> web.Response:
        body = await request.json()
        received.append(body)
        if body.get("email", "").startswith("bad"):
            return web.json_response({"error": "invalid email", "email": body["email"]}, status=422)
        return web.json_response({"id": f"c{len(received)}", "ok": True})

    async def many(request: web.Request) -> web.Response:
        body = await request.json()
        received.append(body)
        if any(r.get("email", "").startswith("bad") for r in body["contacts"]):
            return web.json_response({"error": "batch refused"}, status=400)
        return web.json_response({"results": [{"id": f"b{i}", "state": "ok"} for i, _ in enumerate(body["contacts"])]})

    async def listed(request: web.Request) -> web.Response:
        return web.json_response([{"id": f"l{i}"} for i, _ in enumerate(await request.json())])

    app = web.Application()
    app.router.add_post("/contacts", one)
    app.router.add_post("/batch", many)
    app.router.add_post("/listed", listed)
    return app


def contacts(**fields: Any) -> Import:
    values: dict[str, Any] = {
        "name": "crm",
        "integration": "acme",
        "path": "/contacts",
        "mapping": MAPPING,
        "response_id_path": "id",
    }
    return Import(**{**values, **fields})


RECORDS = [
    {"Email": "A@X.COM", "Team": "red"},
    {"Email": "bad@X.COM", "Team": "blue"},
    {"Email": "C@X.COM", "Team": "red"},
]


async def test_one_request_per_record_with_the_mapped_record_as_the_body(serve: Serve) -> None:
    served = await serve(crm())
    results = await import_records(contacts(), RECORDS[::2], served.http, lookups=StaticLookups(LOOKUPS))
    assert served.hits["/contacts"] == 2
    assert [r.to_json()["id"] for r in results] == ["c1", "c2"]
    first = results[0].to_json()
    assert first == {
        "status_code": 200,
        "id": "c1",
        "data": {"email": "a@x.com", "team": "t1"},
        "_json": {"id": "c1", "ok": True},
        "errors": [],
        "ignored": False,
        "stage": "post_submit",
        "retry_data": None,
    }


async def test_a_422_for_one_record_is_exactly_one_error_with_retry_data(serve: Serve) -> None:
    served = await serve(crm())
    results = await import_records(contacts(), RECORDS, served.http, lookups=StaticLookups(LOOKUPS))
    assert [r.status_code for r in results] == [200, 422, 200]
    bad = results[1]
    [error] = bad.errors
    assert error["source"] == "import" and error["status"] == 422 and error["code"] == "API_ERROR"
    assert "answered 422" in error["message"] and "invalid email" in error["body"]
    assert bad.stage == "submit"
    assert bad.retry_data == {
        "stage": "submit",
        "data": {"pre_map_data": RECORDS[1], "post_map_data": {"email": "bad@x.com", "team": "t2"}},
    }


async def test_retrying_one_record_from_its_stage_runs_only_that_stage(serve: Serve) -> None:
    served = await serve(crm())
    lookups = Counting()
    pre_maps: list[int] = []

    def pre_map(options: dict[str, Any]) -> list[dict[str, Any]]:
        pre_maps.append(len(options["data"]))
        return [{"data": r} for r in options["data"]]

    imp = contacts(hooks={"pre_map": "acme.pre_map"})
    results = await import_records(imp, RECORDS, served.http, lookups=lookups, hooks={"pre_map": pre_map})
    assert (served.hits["/contacts"], lookups.calls, pre_maps) == (3, 1, [3])
    retry = results[1].retry_data
    assert retry is not None
    retry["data"]["post_map_data"]["email"] = "fixed@x.com"  # the user fixes the saved data, then retries it
    again = await import_records(
        imp, [retry["data"]], served.http, lookups=lookups, hooks={"pre_map": pre_map}, stage=retry["stage"]
    )
    assert (served.hits["/contacts"], lookups.calls, pre_maps) == (4, 1, [3])  # one more POST, nothing upstream
    assert (
        again[0].status_code == 200 and again[0].id == "c4" and again[0].data == {"email": "fixed@x.com", "team": "t2"}
    )


async def test_a_mapping_error_is_retried_from_mapping(serve: Serve) -> None:
    served = await serve(crm())
    records = [{"Email": "A@X.COM", "Team": "red"}, {"Email": "B@X.COM", "Team": "green"}]
    results = await import_records(contacts(), records, served.http, lookups=StaticLookups(LOOKUPS))
    assert [r.status_code for r in results] == [200, 422] and served.hits["/contacts"] == 1
    bad = results[1]
    assert bad.stage == "mapping" and bad.errors[0]["field"] == "team" and bad.errors[0]["source"] == "mapping"
    assert bad.retry_data == {"stage": "mapping", "data": records[1]}
    again = await import_records(
        contacts(), [{**records[1], "Team": "blue"}], served.http, lookups=StaticLookups(LOOKUPS), stage="mapping"
    )
    assert again[0].status_code == 200 and served.hits["/contacts"] == 2


async def test_batches_send_one_request_each_and_match_answers_to_records(serve: Serve) -> None:
    served = await serve(crm())
    imp = contacts(
        path="/batch",
        batch_size=2,
        body={"contacts": "{{ records }}"},
        response_records_path="results",
        response_id_path="id",
        success_path="state",
        success_values=("ok",),
    )
    records = [{"Email": f"U{i}@X.COM", "Team": "red"} for i in range(5)]
    results = await import_records(imp, records, served.http, lookups=StaticLookups(LOOKUPS))
    assert served.hits["/batch"] == 3
    assert [r.id for r in results] == ["b0", "b1", "b0", "b1", "b0"] and all(r.status_code == 200 for r in results)


async def test_a_batch_answered_with_a_list_gives_each_record_its_own_item(serve: Serve) -> None:
    served = await serve(crm())
    imp = contacts(path="/listed", batch_size=3)
    records = [{"Email": f"U{i}@X.COM", "Team": "red"} for i in range(3)]
    results = await import_records(imp, records, served.http, lookups=StaticLookups(LOOKUPS))
    assert [r.id for r in results] == ["l0", "l1", "l2"]
    assert [r.to_json()["_json"] for r in results] == [{"id": "l0"}, {"id": "l1"}, {"id": "l2"}]


async def test_a_4xx_for_a_batch_fails_every_record_of_that_batch_alone(serve: Serve) -> None:
    served = await serve(crm())
    imp = contacts(path="/batch", batch_size=2, body={"contacts": "{{ records }}"}, response_records_path="results")
    records = [{"Email": e, "Team": "red"} for e in ("a@x", "bad@x", "c@x", "d@x")]
    results = await import_records(imp, records, served.http, lookups=StaticLookups(LOOKUPS))
    assert [r.status_code for r in results] == [422, 422, 200, 200]
    assert results[0].errors == results[1].errors and "batch refused" in results[0].errors[0]["message"]
    assert results[0].retry_data["stage"] == "submit"  # type: ignore[index]


async def test_existing_records_are_ignored_not_sent(serve: Serve) -> None:
    served = await serve(crm())
    imp = contacts(ignore_existing=IgnoreExisting("known_emails", "email"))
    lookups = StaticLookups({**LOOKUPS, "known_emails": {"a@x.com": "c0"}})
    results = await import_records(imp, RECORDS[::2], served.http, lookups=lookups)
    assert [r.ignored for r in results] == [True, False] and served.hits["/contacts"] == 1
    assert results[0].status_code == 200 and results[0].id is None


async def test_a_body_template_that_fails_for_one_record_is_that_record_s_error(serve: Serve) -> None:
    served = await serve(crm())
    imp = contacts(
        body={"email": "{{ record.email }}", "nick": "{{ record.nick }}"},
        mapping=Mapping(fields=(Field(generate="email", extract="Email"), Field(generate="nick", extract="Nick"))),
    )
    results = await import_records(
        imp, [{"Email": "a@x", "Nick": "A"}, {"Email": "b@x"}], served.http, lookups=StaticLookups({})
    )
    assert [r.status_code for r in results] == [200, 422] and served.hits["/contacts"] == 1
    assert results[1].errors[0]["field"] == "body.nick" and "'nick'" in results[1].errors[0]["message"]


async def test_a_stage_that_cannot_be_entered_is_refused(serve: Serve) -> None:
    served = await serve(crm())
    with pytest.raises(InvalidInput, match="stage 'post_submit' cannot be re-entered"):
        await import_records(contacts(), [], served.http, lookups=StaticLookups({}), stage="post_submit")
    with pytest.raises(InvalidInput, match=r"to enter at submit, a record is its retry_data's data"):
        await import_records(contacts(), [{"x": 1}], served.http, lookups=StaticLookups({}), stage="submit")


FULL = {
    "name": "crm",
    "integration": "acme",
    "method": "PUT",
    "path": "/contacts/{{ record.id }}",
    "headers": {"X-Key": "{{ settings.key }}"},
    "body": "{{ record | tojson }}",
    "body_format": "json",
    "batch_size": 1,
    "response_id_path": "id",
    "success_path": "ok",
    "success_values": ["true"],
    "mapping": {
        "fields": [
            {"generate": "id", "extract": "Id", "data_type": "string", "default": "0"},
            {
                "generate": "team",
                "lookup": {"cache": "teams", "key_expr": "Team", "default": "none", "on_miss": "error"},
            },
        ],
        "static": {"source": "x"},
    },
    "ignore_existing": {"lookup": "known", "key": "id"},
    "hooks": {"pre_map": "acme.pre", "post_map": "acme.post", "post_submit": "acme.after"},
    "external_id": "crm-1",
}
FULL["batch_size"] = 10
FULL["response_records_path"] = "results"


def test_an_import_round_trips_through_json() -> None:
    imp = Import.from_json(FULL)
    assert imp.to_json() == FULL and Import.from_json(imp.to_json()) == imp
    small = {"name": "c", "integration": "a", "method": "POST", "path": "/c"}
    assert Import.from_json(small).to_json() == small


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"batchSize": 2}, "import 'crm': batchSize: unknown key (accepted: async_helper, batch_size, body,"),
        ({"batch_size": 0}, "batch_size: must be a whole number from 1 to 10,000, not 0"),
        (
            {"hooks": {"pre_save_page": "f"}},
            "unknown import hook 'pre_save_page' (known: post_map, post_submit, pre_map)",
        ),
        ({"ignore_existing": {"lookup": "x"}}, "ignore_existing.key: must be a non-empty string, not None"),
        ({"ignore_existing": {"lookup": "x", "key": "(("}}, "ignore_existing.key: expression '((' does not parse"),
        ({"headers": ["a"]}, "headers: must be an object of strings"),
        ({"body": "{{ record"}, "import 'crm': body: template does not compile"),
    ],
)
def test_a_bad_import_is_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Import.from_json({"name": "crm", "integration": "acme", "path": "/c", **change})
    assert caught.value.code == "INVALID_RESOURCE" and message in caught.value.message
