"""Mappings: nested fields, static values, data types, lookups, one bad record among many, two engines."""

from __future__ import annotations

import random
from typing import Any

import jsonata
import pytest

from splice.errors import InvalidInput
from splice.resources import Field, Import, Lookup, Mapping, StaticLookups, run_mapping
from splice.resources._check import Where
from splice.resources._mapping import CompiledMapping


def importer(*fields: Field, static: dict[str, Any] | None = None) -> Import:
    return Import(name="crm", integration="acme", path="/c", mapping=Mapping(fields=fields, static=static or {}))


class Counting(StaticLookups):
    def __init__(self, entries: dict[str, dict[str, str]]) -> None:
        super().__init__(entries)
        self.calls: list[tuple[str, list[str]]] = []

    async def get(self, cache: str, keys: list[str]) -> dict[str, str]:
        self.calls.append((cache, keys))
        return await super().get(cache, keys)


async def test_nested_generate_paths_static_values_and_bindings() -> None:
    imp = importer(
        Field(generate="email", extract="$lowercase(Email)"),
        Field(generate="address.city", extract="City"),
        Field(generate="address.country", extract="$settings.country"),
        Field(generate="name", extract="$record.First & ' ' & Last"),
        Field(generate="nickname", extract="Nick"),
        Field(generate="tier", extract="Tier", default="basic"),
        static={"source": "crm", "meta.version": 2},
    )
    [out] = await run_mapping(
        imp,
        [{"Email": "A@X.COM", "City": "Lyon", "First": "Ann", "Last": "Lee"}],
        StaticLookups({}),
        settings={"country": "FR"},
    )
    assert out == {
        "status_code": 200,
        "errors": [],
        "data": {
            "source": "crm",
            "meta": {"version": 2},
            "email": "a@x.com",
            "address": {"city": "Lyon", "country": "FR"},
            "name": "Ann Lee",
            "tier": "basic",
        },
    }  # no Nick: a field with no value and no default is left out


@pytest.mark.parametrize(
    ("data_type", "value", "expected"),
    [
        ("string", 12, "12"),
        ("string", 1.5, "1.5"),
        ("string", True, "true"),
        ("string", {"a": 1}, '{"a":1}'),
        ("number", "12", 12),
        ("number", "1.5", 1.5),
        ("integer", "7", 7),
        ("integer", 7.0, 7),
        ("boolean", "TRUE", True),
        ("boolean", 0, False),
        ("object", {"a": 1}, {"a": 1}),
        ("stringarray", 5, ["5"]),
        ("numberarray", ["1", 2], [1, 2]),
        ("booleanarray", ["no"], [False]),
    ],
)
async def test_data_types_coerce(data_type: str, value: Any, expected: Any) -> None:
    [out] = await run_mapping(
        importer(Field(generate="v", extract="v", data_type=data_type)), [{"v": value}], StaticLookups({})
    )
    assert out["data"] == {"v": expected} and type(out["data"]["v"]) is type(expected)


@pytest.mark.parametrize(
    ("data_type", "value"),
    [("number", "abc"), ("integer", 1.5), ("boolean", "maybe"), ("object", [1]), ("number", True)],
)
async def test_a_value_not_of_its_type_is_that_record_s_error(data_type: str, value: Any) -> None:
    [out] = await run_mapping(
        importer(Field(generate="v", extract="v", data_type=data_type)), [{"v": value}], StaticLookups({})
    )
    assert out["status_code"] == 422 and out["data"] is None
    [error] = out["errors"]
    assert error["source"] == "mapping" and error["field"] == "v" and error["code"] == "INVALID_RECORD"
    assert f"is not a {data_type}" in error["message"]


@pytest.mark.parametrize(
    ("on_miss", "expected"),
    [("default", {"owner": "nobody"}), ("null", {"owner": None}), ("error", None)],
)
async def test_lookups_are_fetched_once_per_page_and_each_miss_policy_holds(on_miss: str, expected: Any) -> None:
    lookups = Counting({"owners": {"Ann": "u1", "7": "u7"}})
    imp = importer(Field(generate="owner", lookup=Lookup("owners", "Owner", default="nobody", on_miss=on_miss)))
    records = [{"Owner": "Ann"}, {"Owner": 7}, {"Owner": "Zed"}, {"Owner": "Ann"}]
    out = await run_mapping(imp, records, lookups)
    assert lookups.calls == [("owners", ["7", "Ann", "Zed"])]  # one batch, each key once
    assert [o["data"] for o in out[:2]] == [{"owner": "u1"}, {"owner": "u7"}]
    assert out[2]["data"] == expected
    if on_miss == "error":
        assert out[2]["status_code"] == 422
        assert "lookup cache 'owners' has no key 'Zed'" in out[2]["errors"][0]["message"]
        assert out[3]["status_code"] == 200


async def test_one_failing_record_among_many_is_the_only_error() -> None:
    imp = importer(Field(generate="total", extract="$number(amount) * 2"), Field(generate="id", extract="id"))
    records = [{"id": i, "amount": "x" if i == 37 else str(i)} for i in range(100)]
    out = await run_mapping(imp, records, StaticLookups({}))
    failed = [i for i, o in enumerate(out) if o["status_code"] != 200]
    assert failed == [37]
    [error] = out[37]["errors"]
    assert (
        error["field"] == "total" and error["code"] == "EXPRESSION_FAILED" and "$number(amount) * 2" in error["message"]
    )
    assert out[38]["data"] == {"total": 76, "id": 38}


async def test_a_mapped_record_over_one_mib_is_that_record_s_error() -> None:
    imp = importer(Field(generate="big", extract="$join([1..n].('x' & $string($)), '')"))
    out = await run_mapping(imp, [{"n": 10}, {"n": 200_000}], StaticLookups({}))
    assert out[0]["status_code"] == 200 and out[1]["status_code"] == 422
    assert "the limit is 1,048,576" in out[1]["errors"][0]["message"]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            {"fields": [{"generate": "a", "extract": "$$$("}]},
            "import 'crm': mapping.fields[0].extract: expression '$$$(' does not parse",
        ),
        ({"fields": [{"generate": "a"}]}, "mapping.fields[0]: a field takes extract (an expression) or lookup"),
        (
            {"fields": [{"generate": "a", "extract": "x", "data_type": "date"}]},
            "mapping.fields[0].data_type: unknown data type 'date'",
        ),
        ({"fields": [{"generate": "a", "extract": "x", "lookup": {"cache": "c", "key_expr": "k"}}]}, "one of the two"),
        (
            {"fields": [{"generate": "a", "lookup": {"cache": "c", "key_expr": "k", "on_miss": "skip"}}]},
            "unknown miss policy 'skip' (known: default, error, null)",
        ),
        (
            {"fields": [{"generate": "a", "extract": "x"}, {"generate": "a.b", "extract": "y"}]},
            "'a.b' and another field write the same place",
        ),
        ({"fields": [{"extract": "x"}]}, "mapping.fields[0].generate: is required"),
        ({"fields": [{"generate": "a", "extract": "x", "extra": 1}]}, "mapping.fields[0].extra: unknown key"),
        ({"fields": [], "lists": []}, "import 'crm': mapping.lists: unknown key"),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_field(mapping: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Import.from_json({"name": "crm", "integration": "acme", "path": "/c", "mapping": mapping})
    assert message in caught.value.message and caught.value.code == "INVALID_RESOURCE"


# --- jsonatapy and jsonata-python give the same output ------------------------------------


class PurePython:
    """jsonata-python behind the compiler seam (its errors as ValueError, like jsonatapy's)."""

    def __init__(self, source: str) -> None:
        self.expression = jsonata.Jsonata(source)

    def evaluate(self, data: Any, bindings: dict[str, Any] | None = None) -> Any:
        try:
            return self.expression.evaluate(data, bindings)
        except jsonata.JException as exc:
            raise ValueError(str(exc)) from None


MAPPING = Mapping(
    fields=(
        Field(generate="id", extract="id", data_type="string"),
        Field(generate="contact.name", extract="$trim(first & ' ' & last)"),
        Field(generate="contact.email", extract="$lowercase(email)"),
        Field(generate="total", extract="$sum(lines.(qty * price))", data_type="number"),
        Field(generate="skus", extract="lines[qty > 1].sku", data_type="stringarray"),
        Field(generate="big", extract="$count(lines) > 3 ? 'yes' : 'no'"),
        Field(generate="tags", extract="$join(tags, ',')", default=""),
        Field(generate="vip", extract="vip", data_type="boolean", default=False),
        Field(generate="city", extract="address.city", default=None),
        Field(generate="region", extract="$settings.region"),
        Field(generate="first_line", extract="$record.lines[0]", data_type="object"),
        Field(generate="owner", lookup=Lookup("owners", "owner", on_miss="null")),
    ),
    static={"source": "shop"},
)


def varied(count: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    records = []
    for i in range(count):
        record: dict[str, Any] = {
            "id": i,
            "first": rng.choice(["Ann", " Bo", "Cy "]),
            "last": rng.choice(["Lee", "Ng", ""]),
            "email": f"User{i}@Example.COM",
            "owner": rng.choice(["a", "b", "zz", 5]),
            "lines": [
                {"sku": f"s{j}", "qty": rng.randint(0, 4), "price": rng.choice([1, 2.5, 9.99])}
                for j in range(rng.randint(0, 6))
            ],
        }
        if rng.random() < 0.5:
            record["tags"] = [rng.choice(["x", "y", "z"]) for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.7:
            record["vip"] = rng.choice([True, False, "true", "no", 1])
        if rng.random() < 0.6:
            record["address"] = {"city": rng.choice(["Lyon", "Oslo", None])}
        if i % 97 == 0:
            record["vip"] = "perhaps"  # a coercion error, the same in both
        records.append(record)
    return records


def test_jsonatapy_and_jsonata_python_map_a_thousand_records_the_same() -> None:
    where = Where("import", "shop")
    rust, python = CompiledMapping(MAPPING, where), CompiledMapping(MAPPING, where, PurePython)
    entries = {"owners": {"a": "Ann", "5": "Five"}}
    settings = {"region": "eu"}
    records = varied(1000)
    outputs = []
    for compiled in (rust, python):
        outputs.append([compiled.apply(r, compiled.lookup_keys(r, settings), entries, settings) for r in records])
    assert outputs[0] == outputs[1]
    assert sum(1 for data, errors in outputs[0] if errors) == 11  # the "perhaps" records, each its own error
    assert outputs[0][1][0]["source"] == "shop"
