"""Sandboxed Jinja2 templates for exports' and imports' paths, queries, headers and bodies.

A resource's templates come from its JSON document, that is from users, so they render in
Jinja2's ``ImmutableSandboxedEnvironment`` (``{{ ''.__class__.__mro__ }}`` raises
``SecurityError``; lists and dicts of the context cannot be changed) with ``StrictUndefined``
(a typo is an error, not an empty string) and no autoescaping (the output is a URL or JSON,
not HTML). A template is compiled once per process and source; rendering is bounded to
:data:`MAX_OUTPUT` characters.

A template is a string, or a JSON value (a request body) whose strings are templates. In a JSON
value, a string that is exactly one ``{{ expression }}`` keeps the expression's own type, so
``{"first": "{{ export.page_size }}"}`` sends a number:

>>> render_value({"first": "{{ n }}", "q": "id > {{ n }}"}, {"n": 5}, Where("export", "x"), "body")
{'first': 5, 'q': 'id > 5'}
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

import jinja2
import orjson
from jinja2.sandbox import ImmutableSandboxedEnvironment

from splice.errors import InvalidInput
from splice.resources._check import Where

#: most characters one template may render
MAX_OUTPUT = 1024 * 1024
_ENV = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)
_ENV.policies["json.dumps_function"] = lambda value, **_: orjson.dumps(value).decode()
_SINGLE = re.compile(r"^\{\{(?P<expr>(?:(?!\}\}|\{\{).)*)\}\}$", re.DOTALL)


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


@functools.lru_cache(maxsize=4096)
def _template(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


@functools.lru_cache(maxsize=4096)
def _expression(source: str) -> Any:
    return _ENV.compile_expression(source, undefined_to_none=False)


def check(value: Any, where: Where, field: str) -> None:
    """Compile every template in ``value`` (a string or a JSON value), naming the field that does not."""
    if isinstance(value, str):
        if not is_template(value):
            return
        try:
            single = _SINGLE.match(value)
            _template(value)
            if single:
                _expression(single["expr"])
        except jinja2.TemplateSyntaxError as exc:
            raise where.invalid(field, f"template does not compile: {exc.message} (line {exc.lineno})") from None
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check(item, where, f"{field}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check(item, where, f"{field}[{index}]")


def mentions(value: Any, name: str) -> bool:
    """Whether any template in ``value`` names ``name`` (so the context must carry it)."""
    if isinstance(value, str):
        return name in value and is_template(value)
    if isinstance(value, Mapping):
        return any(mentions(v, name) for v in value.values())
    if isinstance(value, list):
        return any(mentions(v, name) for v in value)
    return False


def render(source: str, context: Mapping[str, Any], where: Where, field: str) -> str:
    """The string a template renders to; a failure names the resource, the field and Jinja's message."""
    if not is_template(source):
        return source
    try:
        text = _template(source).render(context)
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise _failed(exc, where, field) from None
    if len(text) > MAX_OUTPUT:
        raise _too_large(where, field)
    return text


def render_value(value: Any, context: Mapping[str, Any], where: Where, field: str) -> Any:
    """A JSON value with each string rendered; ``"{{ x }}"`` alone keeps ``x``'s type."""
    if isinstance(value, str):
        single = _SINGLE.match(value) if "{{" in value else None
        if single is None:
            return render(value, context, where, field)
        try:
            result = _expression(single["expr"])(**context)
            if isinstance(result, jinja2.Undefined):
                str(result)  # raises UndefinedError with Jinja's message
            orjson.dumps(result)
        except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
            raise _failed(exc, where, field) from None
        if isinstance(result, str) and len(result) > MAX_OUTPUT:
            raise _too_large(where, field)
        return result
    if isinstance(value, Mapping):
        return {k: render_value(v, context, where, f"{field}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, context, where, f"{field}[{i}]") for i, v in enumerate(value)]
    return value


def _failed(exc: Exception, where: Where, field: str) -> InvalidInput:
    reason = exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else str(exc)
    kind = type(exc).__name__
    return InvalidInput(
        f"{where}: {field}: template failed ({kind}): {reason}",
        code="EXPRESSION_FAILED",
        details={"resource": where.kind, "name": where.name, "field": field},
    )


def _too_large(where: Where, field: str) -> InvalidInput:
    return InvalidInput(
        f"{where}: {field}: template renders more than {MAX_OUTPUT:,} characters",
        code="EXPRESSION_FAILED",
        details={"resource": where.kind, "name": where.name, "field": field},
    )
