"""Checking a flow against the project it runs in: its trigger, functions and actions exist.

Kept out of the flow's value (:mod:`splice.flows._flow`) because it needs every loaded
integration (a flow may use another integration's steps and actions).
"""

from __future__ import annotations

from collections.abc import Mapping

from splice.errors import InvalidInput, NotFound
from splice.flows._flow import Flow
from splice.flows._steps import MAX_STEPS, ActionStep, CodeStep, check_shape, invalid, snake_case, walk
from splice.integration import Integration, Script
from splice.schedule import Schedule

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def check_flow(flow: Flow, integrations: Mapping[str, Integration]) -> None:
    """Everything a flow must be to run in ``project``; a clear error naming the step and field."""
    if not flow.name or set(flow.name) - _NAME_CHARS or not flow.name[0].isalpha() or len(flow.name) > 64:
        raise invalid(None, "name", f"{flow.name!r} must be lower-case letters, digits and _ (starting with a letter)")
    home = _integration(integrations, flow.integration, None, "integration")
    if not flow.steps:
        raise invalid(None, "steps", "a flow needs at least one step")
    _check_trigger(flow, home)
    every = list(walk((*flow.steps, *flow.on_error)))
    if len(every) > MAX_STEPS:
        raise invalid(None, "steps", f"a flow may have at most {MAX_STEPS} steps, nested ones included ({len(every)})")
    seen: dict[str, str] = {}
    for one in every:
        check_shape(one)
        key = snake_case(one.name)
        if key in seen:
            raise invalid(one.name, "name", f"two steps are called {seen[key]!r} and {one.name!r} (names are "
                                           "compared as snake_case); step names must be unique in a flow")  # fmt: skip
        seen[key] = one.name
        if isinstance(one, CodeStep):
            step_function(integrations, home, one)
        if isinstance(one, ActionStep):
            step_action(integrations, home, one)


def step_function(integrations: Mapping[str, Integration], home: Integration, step: CodeStep) -> Script:
    """The ``@integration.step()`` function a code step names (``"tag_vip"`` or ``"acme.tag_vip"``)."""
    script = _script(integrations, home, step.function, step.name, "function")
    if script.kind != "step":
        raise invalid(step.name, "function", f"{script.qualname} is a {script.kind}, not a step; declare it "
                                             "with @integration.step()")  # fmt: skip
    return script


def step_action(integrations: Mapping[str, Integration], home: Integration, step: ActionStep) -> Script:
    script = _script(integrations, home, step.action, step.name, "action")
    if script.kind != "action":
        raise invalid(step.name, "action", f"{script.qualname} is a {script.kind}, not an action")
    return script


def _script(
    integrations: Mapping[str, Integration], home: Integration, name: str, step: str, field_name: str
) -> Script:
    integration_name, dot, script_name = name.rpartition(".")
    integration = _integration(integrations, integration_name, step, field_name) if dot else home
    try:
        return integration.script(script_name)
    except NotFound:
        known = ", ".join(sorted(integration.scripts)) or "none"
        raise invalid(
            step, field_name, f"{integration.name} has no {field_name} {script_name!r} (it has: {known})"
        ) from None


def _integration(integrations: Mapping[str, Integration], name: str, step: str | None, field_name: str) -> Integration:
    found = integrations.get(name)
    if found is None:
        known = ", ".join(sorted(integrations)) or "none"
        raise invalid(step, field_name, f"unknown integration {name!r} (this project has: {known})")
    return found


def _check_trigger(flow: Flow, home: Integration) -> None:
    trigger = flow.trigger
    if trigger.type == "webhook":
        if not isinstance(trigger.trigger, str) or not trigger.trigger:
            raise invalid(None, "trigger.trigger", "a webhook flow names the trigger whose payload starts it")
        found = home.scripts.get(trigger.trigger)
        if found is None or found.kind != "trigger":
            known = ", ".join(s.name for s in home.scripts.values() if s.kind == "trigger") or "none"
            raise invalid(
                None, "trigger.trigger", f"{home.name} has no trigger {trigger.trigger!r} (its triggers: {known})"
            )
        if trigger.respond not in ("trigger", "flow"):
            raise invalid(None, "trigger.respond", f"must be 'trigger' or 'flow', not {trigger.respond!r}")
    elif trigger.type == "schedule":
        try:
            Schedule.parse(every=trigger.every, cron=trigger.cron)
        except InvalidInput as exc:
            raise invalid(None, "trigger", exc.message, hint=exc.hint) from None
