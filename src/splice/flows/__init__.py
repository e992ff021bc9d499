"""Flows: a trigger plus durable steps (Prismatic's code blocks, Celigo's flows), as data.

>>> acme.flow("onboard", trigger="contact_events", steps=[step.code("Tag VIP", tag_vip)])
"""

from splice.flows import step
from splice.flows._expr import Expr, expr
from splice.flows._flow import Flow, FlowTrigger
from splice.flows._steps import (
    ActionStep,
    BranchStep,
    Case,
    CodeStep,
    ForEachStep,
    Retry,
    Step,
    camel_case,
    register_step_type,
    snake_case,
    walk,
)

__all__ = [
    "ActionStep",
    "BranchStep",
    "Case",
    "CodeStep",
    "Expr",
    "Flow",
    "FlowTrigger",
    "ForEachStep",
    "Retry",
    "Step",
    "camel_case",
    "expr",
    "register_step_type",
    "snake_case",
    "step",
    "walk",
]
