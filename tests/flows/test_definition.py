"""Flows as data: Python declarations and JSON documents give the same canonical document, and a
bad one is refused naming the step and the field."""

from __future__ import annotations

import pytest
from tests.conftest import ProjectFactory

from splice.errors import InvalidInput, ProjectError
from splice.flows import Flow, camel_case, snake_case
from splice.flows._check import check_flow
from splice.project import load_project

FLOWS = """
from splice import Integration, expr, step

acme = Integration("acme", base_url="http://127.0.0.1:9")


@acme.action
async def get_contact(ctx, input):
    return {"id": input["id"], "orders": [1, 2]}


@acme.action
async def notify_sales(ctx, input):
    return None


@acme.trigger()
async def contact_events(ctx, request):
    return {"payload": request.json()}


@acme.step()
async def tag_vip(ctx, step_results):
    return {"vip": True}


@acme.step()
async def check_order(ctx, step_results):
    return step_results.item


acme.flow(
    "onboard",
    trigger="contact_events",
    steps=[
        step.action("Get contact", "get_contact", input={"id": expr("trigger.payload.id")}),
        step.code("Tag VIP", tag_vip, retries=2),
        step.branch("Route", when=[(expr("steps.tag_vip.vip"), [step.action("Notify", "notify_sales")])]),
        step.for_each("Each order", items=expr("steps.get_contact.orders"), concurrency=4,
                      steps=[step.code("Check order", check_order)]),
    ],
    on_error=[step.code("Alert", tag_vip)],
)
"""


def test_names_in_snake_and_camel_case() -> None:
    assert snake_case("Get contact") == "get_contact" and camel_case("Get contact") == "getContact"
    assert snake_case("Tag VIP") == "tag_vip" and camel_case("Tag VIP") == "tagVip"


def test_a_python_flow_is_a_canonical_document_that_round_trips(make_project: ProjectFactory) -> None:
    project = load_project(make_project({"acme.py": FLOWS}))
    flow = project.flow("acme.onboard")
    document = flow.document()
    assert document["id"] == "acme.onboard" and document["source"] == "code"
    assert document["trigger"] == {"type": "webhook", "trigger": "contact_events", "respond": "trigger"}
    assert [s["type"] for s in document["steps"]] == ["action", "code", "branch", "for_each"]
    assert document["steps"][0]["input"] == {"id": {"$expr": "trigger.payload.id"}}
    assert document["steps"][1]["function"] == "acme.tag_vip"
    assert document["steps"][1]["retries"]["attempts"] == 2
    again = Flow.from_document(document, source="code")
    assert again.document() == document
    check_flow(again, project.integrations)
    assert flow.step("getContact").name == "Get contact" and flow.step("check_order").name == "Check order"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d["steps"][0].update(type="teleport"), "step 'Get contact': type: unknown step type 'teleport'"),
        (lambda d: d["steps"][0].update(action="nope"), "step 'Get contact': action: acme has no action 'nope'"),
        (lambda d: d["steps"][0].update(action="crm.x"), "unknown integration 'crm'"),
        (lambda d: d["steps"][1].update(function="acme.get_contact"), "acme.get_contact is a action, not a step"),
        (lambda d: d["steps"][0].update(input={"id": {"$expr": "trigger.("}}), "step 'Get contact': input: expression"),
        (lambda d: d["steps"][1].update(name="get contact"), "two steps are called 'Get contact' and 'get contact'"),
        (lambda d: d["steps"][2]["when"][0].update(steps=[]), "step 'Route': when[0].steps: a branch's case needs"),
        (lambda d: d["steps"][3].update(concurrency=0), "step 'Each order': concurrency: must be a whole number"),
        (lambda d: d["steps"][3].update(items=5), "step 'Each order': items: must be an expression"),
        (lambda d: d["steps"][0].update(colour="red"), "step 'Get contact': colour: unknown field"),
        (lambda d: d.update(steps="all of them"), "the flow: steps: must be a list of steps"),
        (lambda d: d.update(trigger={"type": "webhook", "trigger": "nope"}), "acme has no trigger 'nope'"),
        (lambda d: d.update(trigger={"type": "schedule", "every": "1y"}), "the flow: trigger: every='1y'"),
        (lambda d: d["steps"][1].update(retries={"attempts": 99}), "retries.attempts: must be a whole number"),
        (lambda d: d["steps"][1].update(time_limit=-1), "step 'Tag VIP': time_limit"),
        (lambda d: d.update(name="Bad Name"), "the flow: name: 'Bad Name' must be lower-case"),
    ],
)
def test_a_bad_document_names_the_step_and_the_field(make_project: ProjectFactory, change, fragment: str) -> None:
    project = load_project(make_project({"acme.py": FLOWS}))
    document = project.flow("acme.onboard").document()
    change(document)
    with pytest.raises(InvalidInput) as refused:
        check_flow(Flow.from_document(document), project.integrations)
    assert refused.value.code == "INVALID_FLOW"
    assert fragment in refused.value.message


def test_a_bad_python_flow_fails_the_project_load_naming_it(make_project: ProjectFactory) -> None:
    broken = FLOWS.replace('step.action("Notify", "notify_sales")', 'step.action("Notify", "notify_salez")')
    with pytest.raises(ProjectError, match=r"flow acme\.onboard: step 'Notify': action: acme has no action"):
        load_project(make_project({"acme.py": broken}))
