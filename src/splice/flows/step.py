"""Builders for a flow's steps: ``step.code``, ``step.action``, ``step.branch``, ``step.for_each``.

>>> from splice import expr, step
>>> steps = [
...     step.action("Get contact", "get_contact", input={"id": expr("trigger.payload.id")}),
...     step.code("Tag VIP", tag_vip, retries=2),
...     step.branch("Route", when=[(expr("steps.tag_vip.vip"), [step.action("Notify", "notify_sales")])]),
...     step.for_each("Each order", items=expr("steps.get_contact.orders"), concurrency=4,
...                   steps=[step.code("Check order", check_order)]),
... ]

``retries`` is a number of retries (exponential backoff from 1 s) or a
:class:`~splice.flows.Retry`; ``continue_on_error=True`` lets the flow go on past a failed
step (its result is then ``{"error": {...}}``); ``time_limit`` bounds one attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from splice.flows._expr import Expr, expr
from splice.flows._resource_steps import PAGE_RECORDS, ExportStep, ImportStep
from splice.flows._steps import ActionStep, BranchStep, Case, CodeStep, ForEachStep, Retry, Step, invalid

#: what ``@integration.step()`` sets on the function it registers: its qualified name
STEP_ATTRIBUTE = "__splice_step__"


def code(
    name: str,
    fn: Callable[..., Any] | str,
    *,
    retries: int | Retry | dict[str, Any] = 0,
    continue_on_error: bool = False,
    time_limit: float | None = None,
) -> CodeStep:
    """A code block, ``async def fn(ctx, step_results)`` declared with ``@integration.step()``."""
    function = fn if isinstance(fn, str) else getattr(fn, STEP_ATTRIBUTE, None)
    if not isinstance(function, str):
        raise invalid(name, "function", f"{fn!r} is not a step function; declare it with @integration.step()")
    return CodeStep(name=name, function=function, retry=Retry.parse(retries, name),
                    continue_on_error=continue_on_error, time_limit=time_limit)  # fmt: skip


def action(
    name: str,
    action: str,
    *,
    input: Any = None,
    retries: int | Retry | dict[str, Any] = 0,
    continue_on_error: bool = False,
    time_limit: float | None = None,
) -> ActionStep:
    """Another action (``"get_contact"`` of the flow's integration, or ``"crm.get_contact"``);
    ``input`` may hold :func:`~splice.expr` values anywhere."""
    return ActionStep(name=name, action=action, input=input, retry=Retry.parse(retries, name),
                      continue_on_error=continue_on_error, time_limit=time_limit)  # fmt: skip


def branch(
    name: str,
    *,
    when: Sequence[tuple[Expr, Sequence[Step]]],
    otherwise: Sequence[Step] = (),
) -> BranchStep:
    """The steps of the first case whose expression is true, else ``otherwise``."""
    cases = []
    for index, case in enumerate(when):
        if not isinstance(case, tuple | list) or len(case) != 2 or not isinstance(case[0], Expr):
            raise invalid(name, f"when[{index}]", "each case is (expr('...'), [steps])")
        cases.append(Case(case[0], tuple(case[1])))
    return BranchStep(name=name, cases=tuple(cases), otherwise=tuple(otherwise))


def for_each(
    name: str,
    *,
    items: Expr,
    steps: Sequence[Step],
    concurrency: int = 1,
    continue_on_error: bool = False,
) -> ForEachStep:
    """``steps`` once per item of ``items``, at most ``concurrency`` items at once; nested steps
    see ``item`` and ``index`` (and ``ctx.step_results.item`` in code)."""
    if not isinstance(items, Expr):
        raise invalid(name, "items", "must be an expression: items=expr('steps.get_contact.orders')")
    return ForEachStep(name=name, items=items, steps=tuple(steps), concurrency=concurrency,
                       continue_on_error=continue_on_error)  # fmt: skip


def export(
    name: str,
    export: str,
    *,
    then: Sequence[Step] = (),
    retries: int | Retry | dict[str, Any] = 0,
    time_limit: float | None = None,
) -> ExportStep:
    """Pull an export (``"contacts"`` of the flow's integration, or ``"crm.contacts"``) page by
    page; ``then`` runs once per page, its records as ``item`` (``step.import_`` sends them)."""
    return ExportStep(name=name, export=export, then=tuple(then), retry=Retry.parse(retries, name),
                      time_limit=time_limit)  # fmt: skip


def import_(
    name: str,
    import_: str,
    *,
    data: Expr | None = None,
    fail_on_errors: bool = False,
    retries: int | Retry | dict[str, Any] = 0,
    time_limit: float | None = None,
) -> ImportStep:
    """Send records through an import: ``data`` (an expression; the export page's records,
    ``item``, by default). Records that fail are kept as the run's record errors; the flow goes
    on unless ``fail_on_errors``."""
    if data is not None and not isinstance(data, Expr):
        raise invalid(name, "data", "must be an expression: data=expr('steps.get_contacts.items')")
    return ImportStep(name=name, import_=import_, data=data or expr(PAGE_RECORDS), fail_on_errors=fail_on_errors,
                      retry=Retry.parse(retries, name), time_limit=time_limit)  # fmt: skip
