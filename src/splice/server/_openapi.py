"""The OpenAPI document a client generator can use: short names, and a typed path per action.

FastAPI derives the document from the routes; this adds what it cannot know:

- **A path per action.** ``POST /actions/{integration}/{action}`` takes any input, so a
  generated client's ``run_action`` is untyped. Next to it the document lists each action of
  the project at its own path, ``POST /actions/acme/create_contact`` (operation
  ``run_acme_create_contact``), whose body is ``{connection_id, input: <its input model>, wait,
  timeout}`` (``AcmeCreateContactCall``) and whose 200 is ``{run_id, status, output: <its output
  model>}`` (``AcmeCreateContactResult``). A path per action rather than one ``oneOf`` of inputs:
  the path already says which action runs, so a ``oneOf`` would let a client send one action's
  input to another, and generators turn it into a union the caller must pick from by hand.
- **The routes stay generic.** Those paths are served by the templated route (both answer
  alike): the document is built from the project each time the project object changes, so a
  reloaded project's new actions are typed without touching the route table.
- **415 where a body is read** (:mod:`splice.server._errors`), and only there.
- **No made-up titles** on unnamed response types, which generators turn into type names.

Operation ids are the route functions' names (``list_connections``, ``run_action``), given by
``create_app``; the models' component names are their class names. The input and output models
are the project's: a name already taken by another schema gets the integration's prefix
(``AcmeContact``), and pydantic's module-qualified names for two classes of one name become
short ones the same way.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from splice.integration import Script
from splice.project import Project

GENERIC = "/actions/{integration}/{action}"
REF = "#/components/schemas/"
#: component names longer than this are shortened (pydantic qualifies two classes of one name by module)
MAX_NAME = 40
Json = dict[str, Any]
_UNSUPPORTED = {"description": "The body was not sent as JSON (`Content-Type: application/json`)",
                "content": {"application/json": {"schema": {"$ref": f"{REF}ErrorBody"}}}}  # fmt: skip


def install(app: FastAPI, project: Callable[[], Project]) -> None:
    """Serve :func:`document` as ``/openapi.json``, built again whenever ``project()`` is another object."""
    base = app.openapi  # FastAPI's, which caches the part the routes give
    built: dict[str, Any] = {}

    def openapi() -> Json:
        current = project()
        if built.get("project") is not current:
            built.update(project=current, document=document(base(), current))
        return built["document"]  # type: ignore[no-any-return]

    app.openapi = openapi  # type: ignore[method-assign]


def document(routes: Json, project: Project) -> Json:
    """The routes' document with a 415 on each operation that reads a body, and a typed path per action."""
    doc = copy.deepcopy(routes)
    for item in doc["paths"].values():
        for operation in item.values():
            if "requestBody" in operation:
                operation["responses"].setdefault("415", _UNSUPPORTED)
            for response in operation["responses"].values():
                for content in response.get("content", {}).values():
                    _untitled(content.get("schema", {}))
    if GENERIC in doc["paths"]:
        add_action_paths(doc, project)
    return doc


def _untitled(schema: Json) -> None:
    """Drop the title FastAPI makes up for an unnamed response type (``Response Get Connection Metadata``):
    generators name the type after it, twice over (``get_connection_metadata_response_get_connection_metadata``)."""
    if str(schema.get("title", "")).startswith("Response "):
        del schema["title"]


def add_action_paths(doc: Json, project: Project) -> None:
    """Insert ``POST /actions/<integration>/<action>`` for each action, right after the generic path."""
    actions = [s for i in project.integrations.values() for s in i.scripts.values() if s.kind == "action"]
    schemas: Json = doc["components"]["schemas"]
    refs = _model_refs(actions, schemas)
    generic = doc["paths"][GENERIC]["post"]
    typed: Json = {}
    used = {op.get("operationId") for item in doc["paths"].values() for op in item.values()}
    for script in actions:
        call = _with(schemas, "ActionCall", _camel(script) + "Call", "input", refs.get((script.input, "validation")))
        result = _with(schemas, "ActionResult", _camel(script) + "Result", "output",
                       refs.get((script.output, "serialization")))  # fmt: skip
        if script.input is not None and _required_fields(script.input):
            schemas[call]["required"] = ["input"]
        operation_id = _unique(f"run_{script.integration.name}_{script.name}", used)
        typed[f"/actions/{script.integration.name}/{script.name}"] = {
            "post": _operation(generic, script, operation_id, call, result)
        }
    paths: Json = {}
    for path, item in doc["paths"].items():
        paths[path] = item
        if path == GENERIC:
            paths.update(typed)
    doc["paths"] = paths


def _operation(generic: Json, script: Script, operation_id: str, call: str, result: str) -> Json:
    operation = copy.deepcopy(generic)
    operation["operationId"] = operation_id
    operation["summary"] = f"Run {script.qualname}"
    operation["description"] = (script.description + "\n\n" if script.description else "") + (
        f"`POST {GENERIC}` with this action's input and output types."
    )
    operation["parameters"] = [p for p in operation.get("parameters", []) if p.get("in") != "path"]
    if not operation["parameters"]:
        del operation["parameters"]
    operation["requestBody"]["content"]["application/json"]["schema"] = {"$ref": REF + call}
    operation["responses"]["200"]["content"]["application/json"]["schema"] = {"$ref": REF + result}
    return operation


def _with(schemas: Json, base: str, name: str, field: str, ref: Json | None) -> str:
    """``base`` with ``field`` typed by ``ref``, as a component called ``name``; ``base`` itself when untyped."""
    if ref is None:
        return base
    schema = copy.deepcopy(schemas[base])
    schema["title"] = name
    schema["properties"][field] = {**ref, "description": f"the {field} model of this action"}
    name = _free(name, schemas, schema)
    schemas[name] = schema
    return name


def _model_refs(actions: list[Script], schemas: Json) -> dict[tuple[type[BaseModel], JsonSchemaMode], Json]:
    """The input (validation) and output (serialization) models' schemas, merged into ``schemas``.

    One integration at a time: pydantic names a model by its class name unless another of the
    same name is in the same call, so only names that two integrations share clash here.
    """
    refs: dict[tuple[type[BaseModel], JsonSchemaMode], Json] = {}
    for integration in dict.fromkeys(script.integration for script in actions):
        wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
        for script in (s for s in actions if s.integration is integration):
            for model, mode in ((script.input, "validation"), (script.output, "serialization")):
                if model is not None:
                    wanted[(model, mode)] = None  # type: ignore[index]
        if wanted:
            refs.update(_merged(list(wanted), schemas, _camel_name(integration.name)))
    return refs


def _merged(
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]], schemas: Json, prefix: str
) -> dict[tuple[type[BaseModel], JsonSchemaMode], Json]:
    """``wanted``'s schemas added to ``schemas`` under free short names; their refs."""
    refs, top = models_json_schema(wanted, ref_template=REF + "{model}")
    renamed: dict[str, str] = {}
    for name, schema in top.get("$defs", {}).items():
        renamed[name] = _free(_short(name), schemas, schema, prefix, set(renamed.values()))
    for name, schema in top.get("$defs", {}).items():
        schemas[renamed[name]] = _renamed(schema, renamed)
    return {key: _renamed(ref, renamed) for key, ref in refs.items()}


def _name(ref: Json) -> str:
    return str(ref.get("$ref", ""))[len(REF) :]


def _short(name: str) -> str:
    """pydantic's ``module__Class__2`` (two classes of one name in one call) → ``Class``."""
    parts = [part for part in name.split("__") if part and not part.isdigit()]
    return parts[-1] if parts and ("__" in name or len(name) > MAX_NAME) else name


def _free(name: str, schemas: Json, schema: Json, prefix: str = "", taken: set[str] | None = None) -> str:
    """``name``, or with ``prefix``, or numbered: the first not taken by another schema."""
    taken = taken or set()
    candidates = [name, *([prefix + name] if prefix and not name.startswith(prefix) else [])]
    candidates += [f"{candidates[-1]}{n}" for n in range(2, 100)]
    for candidate in candidates:
        if candidate not in taken and schemas.get(candidate, schema) == schema:
            return candidate
    raise AssertionError(f"no free component name for {name}")  # 100 schemas of one name


def _renamed(value: Any, renamed: dict[str, str]) -> Any:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and _name(value) in renamed:
            return {**value, "$ref": REF + renamed[_name(value)]}
        return {key: _renamed(item, renamed) for key, item in value.items()}
    if isinstance(value, list):
        return [_renamed(item, renamed) for item in value]
    return value


def _required_fields(model: type[BaseModel]) -> bool:
    return any(field.is_required() for field in model.model_fields.values())


def _unique(name: str, used: set[Any]) -> str:
    """``name``, numbered when two actions give the same one (``a_b.c`` and ``a.b_c``)."""
    unique = next(n for n in (name, *(f"{name}_{i}" for i in range(2, 1000))) if n not in used)
    used.add(unique)
    return unique


def _camel(script: Script) -> str:
    return _camel_name(script.integration.name) + _camel_name(script.name)


def _camel_name(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name) if part)
