"""A flow's export and import steps: Celigo's page generator and page processors, as steps.

``step.export("Pull", "crm.contacts", then=[step.import_("Push", "erp.contacts")])`` pulls the
export page by page; for each page its ``then`` steps run with the page's records as ``item``
(and the page's index as ``index``), so records stream from one connection to another a page
at a time and never pile up. Each page is a child run of the flow run — its checkpoint: after a
crash the flow resumes at the first page not yet through every ``then`` step, with the paging
state the last finished page handed on. An import step sends ``data`` (an expression; the
page's records, ``item``, by default) and keeps the counts and error ids as its result; its
failed records are the import run's record errors, retried alone with ``splice runs
retry-errors``. Its result says ``failed`` when some records failed; the flow goes on (Celigo's
"completed with errors"), unless ``fail_on_errors=True``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from splice.flows import _expr
from splice.flows._expr import Expr
from splice.flows._steps import Step, _only, _string, invalid, register_step_type, steps_from_json

#: the expression an import step sends by default: the records of the export page it runs for
PAGE_RECORDS = "item"
#: most pages one export step pulls (a paging rule that never ends is an error, not a hang)
MAX_PAGES = 100_000
_PAGE = _expr.expr(PAGE_RECORDS)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportStep(Step):
    """Pull an export page by page; ``then`` runs once per page with ``item`` = its records."""

    type: ClassVar[str] = "export"
    export: str
    then: tuple[Step, ...] = ()

    def children(self) -> tuple[tuple[Step, ...], ...]:
        return (self.then,)

    def _fields(self) -> dict[str, Any]:
        return {"export": self.export, "then": [s.to_json() for s in self.then]}


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportStep(Step):
    """Send records (``data``, by default the current export page's) through an import."""

    type: ClassVar[str] = "import"
    import_: str
    data: Expr = _PAGE
    fail_on_errors: bool = False

    def expressions(self) -> list[Expr]:
        return [self.data]

    def _fields(self) -> dict[str, Any]:
        data: dict[str, Any] = {"import": self.import_}
        if self.data.source != PAGE_RECORDS:
            data["data"] = self.data.to_json()
        if self.fail_on_errors:
            data["fail_on_errors"] = True
        return data


def _parse_export(data: Mapping[str, Any], common: dict[str, Any]) -> Step:
    _only(data, common["name"], "export", "then")
    return ExportStep(**common, export=_string(data, "export", common["name"]),
                      then=steps_from_json(data.get("then", []), "then"))  # fmt: skip


def _parse_import(data: Mapping[str, Any], common: dict[str, Any]) -> Step:
    name = common["name"]
    _only(data, name, "import", "data", "fail_on_errors")
    fields: dict[str, Any] = {"import_": _string(data, "import", name)}
    if "data" in data:
        value = data["data"]
        if isinstance(value, Mapping) and set(value) == {_expr.EXPR_KEY}:
            value = value[_expr.EXPR_KEY]
        if not isinstance(value, str):
            raise invalid(name, "data", f'must be an expression ({{"$expr": "item"}} or a string), not {value!r}')
        fields["data"] = _expr.expr(value)
    if "fail_on_errors" in data:
        if not isinstance(data["fail_on_errors"], bool):
            raise invalid(name, "fail_on_errors", f"must be true or false, not {data['fail_on_errors']!r}")
        fields["fail_on_errors"] = data["fail_on_errors"]
    return ImportStep(**common, **fields)


register_step_type("export", _parse_export)
register_step_type("import", _parse_import)
