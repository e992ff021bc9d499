"""An import: Celigo's declarative HTTP destination, as a frozen value with its JSON form.

Per record (``batch_size=1``) the ``path``, ``headers`` and ``body`` templates see ``record``,
the mapped record (the body defaults to it, as JSON); per batch (``batch_size > 1``) they see
``records``, and ``response_records_path`` finds each record's answer in the response. A record
whose ``ignore_existing`` key is in a lookup cache is ignored, not sent.

>>> Import(name="contacts", integration="acme", path="/contacts", response_id_path="id",
...        mapping=Mapping(fields=(Field(generate="email", extract="Email"),)))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from splice.resources import _templates
from splice.resources._check import Where, from_document, to_document
from splice.resources._export import BODY_FORMATS, HTTP_METHODS
from splice.resources._mapping import Expression, Mapping, compile_jsonata

IMPORT_HOOKS = ("post_map", "post_submit", "pre_map")
MAX_BATCH_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class IgnoreExisting:
    """Skip a record whose ``key`` (a JSONata expression over the mapped record) is in ``lookup``."""

    lookup: str
    key: str

    def to_json(self) -> dict[str, Any]:
        return {"lookup": self.lookup, "key": self.key}


@dataclass(frozen=True, slots=True, kw_only=True)
class Import:
    """A declarative HTTP destination; run it with :func:`~splice.resources.import_records`."""

    name: str
    integration: str
    path: str
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    body_format: str | None = None
    batch_size: int = 1
    response_id_path: str | None = None
    response_records_path: str | None = None
    success_path: str | None = None
    success_values: tuple[str, ...] = ()
    mapping: Mapping | None = None
    ignore_existing: IgnoreExisting | None = None
    hooks: dict[str, str] = field(default_factory=dict)
    #: a file definition (its name, or ``erp.orders_csv``): each batch is sent as one such file
    file: str | None = None
    #: an async helper (its name, or ``erp.bulk``): each batch's answer is a job to wait for
    async_helper: str | None = None
    external_id: str | None = None

    def __post_init__(self) -> None:
        self.check()

    @property
    def where(self) -> Where:
        return Where("import", self.name)

    @property
    def sends_json(self) -> bool:
        """JSON unless declared ``text`` or given a string body template without ``body_format``."""
        if self.body_format is not None:
            return self.body_format == "json"
        return not isinstance(self.body, str)

    def check(self) -> None:
        where = self.where
        where.string(self.name, "name")
        where.string(self.integration, "integration")
        where.choice(self.method, "method", HTTP_METHODS, "HTTP method")
        where.string(self.path, "path")
        where.string_map(self.headers, "headers")
        where.string_map(self.hooks, "hooks")
        where.json_value(self.body, "body")
        if self.body_format is not None:
            where.choice(self.body_format, "body_format", BODY_FORMATS, "body format")
        where.integer(self.batch_size, "batch_size", 1, MAX_BATCH_SIZE)
        for name in (
            "response_id_path",
            "response_records_path",
            "success_path",
            "file",
            "async_helper",
            "external_id",
        ):
            where.optional_string(getattr(self, name), name)
        where.strings(self.success_values, "success_values")
        for hook in self.hooks:
            where.choice(hook, f"hooks.{hook}", IMPORT_HOOKS, "import hook")
        if self.mapping is not None:
            if not isinstance(self.mapping, Mapping):
                raise where.invalid("mapping", f"must be a Mapping, not {type(self.mapping).__name__}")
            self.mapping.check(where)
        if self.ignore_existing is not None:
            where.string(self.ignore_existing.lookup, "ignore_existing.lookup")
            Expression(self.ignore_existing.key, where, "ignore_existing.key", compile_jsonata)
        if self.file is not None and self.body is not None:
            raise where.invalid("body", "an import with a file definition sends the generated file as its body",
                                hint="leave body out, or leave file out and write the body template")  # fmt: skip
        _templates.check(self.path, where, "path")
        _templates.check(self.headers, where, "headers")
        _templates.check(self.body, where, "body")

    def to_json(self) -> dict[str, Any]:
        return to_document(self, _OPTIONAL, _DEFAULTS)

    @classmethod
    def from_json(cls, data: Any) -> Import:
        where, values = from_document("import", data, _KEYS)
        if values.get("mapping") is not None:
            values["mapping"] = Mapping.from_json(values["mapping"], where)
        if values.get("ignore_existing") is not None:
            ignore = where.only(values["ignore_existing"], "ignore_existing", {"lookup", "key"})
            values["ignore_existing"] = IgnoreExisting(
                where.string(ignore.get("lookup"), "ignore_existing.lookup"),
                where.string(ignore.get("key"), "ignore_existing.key"),
            )
        if "success_values" in values:
            values["success_values"] = where.strings(values["success_values"], "success_values")
        return cls(**values)


_OPTIONAL = [
    "headers", "body", "body_format", "batch_size", "response_id_path", "response_records_path", "success_path",
    "success_values", "mapping", "ignore_existing", "hooks", "file", "async_helper", "external_id",
]  # fmt: skip
_DEFAULTS: dict[str, Any] = {name: ({} if name in ("headers", "hooks") else None) for name in _OPTIONAL}
_DEFAULTS.update(batch_size=1, success_values=())
_KEYS = {"name", "integration", "method", "path", *_OPTIONAL}
