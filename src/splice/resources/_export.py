"""An export: Celigo's declarative HTTP source, as a frozen value with its JSON form.

Everything about the request is a sandboxed template (``path`` is Celigo's ``relativeURI``),
and everything about the response is a path: ``records_path`` to the records (a path that is
not in the response is an error naming it, never a silent empty page — Celigo users' first
gotcha), ``success_path``/``fail_path``/``error_path`` for APIs that answer 200 on failure.

>>> Export(name="contacts", integration="acme", path="/contacts", records_path="data",
...        query={"page": "{{ paging.page }}"}, paging=Paging(method="page", start=1))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from splice.resources import _templates
from splice.resources._check import Where, from_document, to_document
from splice.resources._paging import Paging

HTTP_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")
BODY_FORMATS = ("json", "text")
MAX_PAGE_SIZE = 10_000
EXPORT_HOOKS = ("pre_save_page",)


@dataclass(frozen=True, slots=True, kw_only=True)
class Delta:
    """The window of a delta export: ``{{ delta.start }}`` and ``{{ delta.end }}`` in its templates.

    ``start`` is the last successful run's time less ``lag_offset`` milliseconds (a negative
    offset looks ahead), ``end`` the run's own time; both written with ``date_format`` (a
    ``strftime`` format; ISO 8601 when None). The first run has no start: ``delta.start`` is
    None, so templates say ``{% if delta.start %}…{% endif %}``.
    """

    date_field: str | None = None
    lag_offset: int = 0
    date_format: str | None = None

    def check(self, where: Where) -> None:
        where.optional_string(self.date_field, "delta.date_field")
        where.integer(self.lag_offset, "delta.lag_offset", -(10**12), 10**12)
        where.optional_string(self.date_format, "delta.date_format")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.date_field is not None:
            data["date_field"] = self.date_field
        if self.lag_offset:
            data["lag_offset"] = self.lag_offset
        if self.date_format is not None:
            data["date_format"] = self.date_format
        return data

    @classmethod
    def from_json(cls, data: Any, where: Where) -> Delta:
        where.only(data, "delta", {"date_field", "lag_offset", "date_format"})
        delta = cls(**data)
        delta.check(where)
        return delta


@dataclass(frozen=True, slots=True, kw_only=True)
class Export:
    """A declarative HTTP source; run it with :func:`~splice.resources.export_page`."""

    name: str
    integration: str
    path: str
    method: str = "GET"
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    body_format: str | None = None
    records_path: str | None = None
    page_size: int = 100
    paging: Paging | None = None
    delta: Delta | None = None
    success_path: str | None = None
    success_values: tuple[str, ...] = ()
    fail_path: str | None = None
    fail_values: tuple[str, ...] = ()
    error_path: str | None = None
    hooks: dict[str, str] = field(default_factory=dict)
    #: an async helper of the same integration (its name) or another's (``crm.bulk``)
    async_helper: str | None = None
    #: a file definition (its name, or ``crm.orders_csv``): the answer is a file of that format
    file: str | None = None
    external_id: str | None = None

    def __post_init__(self) -> None:
        self.check()

    @property
    def where(self) -> Where:
        return Where("export", self.name)

    @property
    def sends_json(self) -> bool:
        """Whether the body is JSON: declared, or a dict/list template."""
        if self.body_format is not None:
            return self.body_format == "json"
        return isinstance(self.body, dict | list)

    def check(self) -> None:
        where = self.where
        where.string(self.name, "name")
        where.string(self.integration, "integration")
        where.choice(self.method, "method", HTTP_METHODS, "HTTP method")
        where.string(self.path, "path")
        for name in ("query", "headers", "hooks"):
            where.string_map(getattr(self, name), name)
        where.json_value(self.body, "body")
        if self.body_format is not None:
            where.choice(self.body_format, "body_format", BODY_FORMATS, "body format")
        where.integer(self.page_size, "page_size", 1, MAX_PAGE_SIZE)
        for name in ("records_path", "success_path", "fail_path", "error_path", "async_helper", "file", "external_id"):
            where.optional_string(getattr(self, name), name)
        where.strings(self.success_values, "success_values")
        where.strings(self.fail_values, "fail_values")
        for hook in self.hooks:
            where.choice(hook, f"hooks.{hook}", EXPORT_HOOKS, "export hook")
        if self.paging is not None:
            if not isinstance(self.paging, Paging):
                raise where.invalid("paging", f"must be a Paging, not {type(self.paging).__name__}")
            self.paging.check(where)
        if self.delta is not None:
            self.delta.check(where)
        if self.file is not None and self.paging is not None:
            raise where.invalid("paging", "an export with a file definition reads one file, not pages",
                                hint="leave paging out: each run reads the whole file")  # fmt: skip
        _templates.check(self.path, where, "path")
        _templates.check(self.query, where, "query")
        _templates.check(self.headers, where, "headers")
        _templates.check(self.body, where, "body")

    def to_json(self) -> dict[str, Any]:
        return to_document(self, _OPTIONAL, _DEFAULTS)

    @classmethod
    def from_json(cls, data: Any) -> Export:
        where, values = from_document("export", data, _KEYS)
        if values.get("paging") is not None:
            values["paging"] = Paging.from_json(values["paging"], where)
        if values.get("delta") is not None:
            values["delta"] = Delta.from_json(values["delta"], where)
        for name in ("success_values", "fail_values"):
            if name in values:
                values[name] = where.strings(values[name], name)
        return cls(**values)


_OPTIONAL = [
    "query", "headers", "body", "body_format", "records_path", "page_size", "paging", "delta", "success_path",
    "success_values", "fail_path", "fail_values", "error_path", "hooks", "async_helper", "file", "external_id",
]  # fmt: skip
_DEFAULTS: dict[str, Any] = {name: ({} if name in ("query", "headers", "hooks") else None) for name in _OPTIONAL}
_DEFAULTS.update(page_size=100, success_values=(), fail_values=())
_KEYS = {"name", "integration", "method", "path", *_OPTIONAL}
