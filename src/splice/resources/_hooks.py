"""Hooks: project functions with Celigo's argument and return shapes, and Celigo's contract checks.

Users type their hooks with these TypedDicts::

    from splice.resources import PreMapOptions, PreMapResult

    def clean(options: PreMapOptions) -> list[PreMapResult]:
        return [{"data": {**r, "email": r["email"].lower()}} if r.get("email") else {} for r in options["data"]]

The rules are Celigo's: ``pre_map``, ``post_map`` and ``post_submit`` return one item per
record, in order (``{}`` skips, that is ignores, a record); ``pre_save_page`` may change the
page's length, and ``abort: true`` stops the pages after this one. A hook that raises fails
the page (``SCRIPT_ERROR``); one that breaks the contract fails it with ``HOOK_CONTRACT``,
naming the hook, the function, the index and what was expected. Hooks may be sync or async.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Mapping
from typing import Any, NotRequired, TypedDict

from splice.errors import ScriptError, SpliceError
from splice.resources._check import type_name

Hook = Callable[[Any], Any]


class RecordError(TypedDict):
    code: str
    message: str
    source: str


class PreSavePageOptions(TypedDict):
    data: list[Any]
    errors: list[RecordError]
    settings: dict[str, Any]
    page_index: int
    last_export_date_time: str | None
    current_export_date_time: str


class PreSavePageResult(TypedDict):
    data: list[Any]
    errors: NotRequired[list[RecordError]]
    abort: NotRequired[bool]


class PreMapOptions(TypedDict):
    data: list[Any]
    settings: dict[str, Any]


class PreMapResult(TypedDict, total=False):
    data: Any
    errors: list[RecordError]


class PostMapOptions(TypedDict):
    pre_map_data: list[Any]
    post_map_data: list[Any]
    settings: dict[str, Any]


PostMapResult = PreMapResult


class ResponseData(TypedDict):
    status_code: int
    id: Any
    data: Any
    _json: Any
    errors: list[RecordError]
    ignored: bool
    stage: str


class PostSubmitOptions(TypedDict):
    pre_map_data: list[Any]
    post_map_data: list[Any]
    response_data: list[ResponseData]
    settings: dict[str, Any]


def function_name(function: Hook, declared: str | None) -> str:
    return declared or getattr(function, "__qualname__", None) or repr(function)


async def call(hook: str, function: Hook, name: str, options: Mapping[str, Any]) -> Any:
    """The hook's result; anything it raises fails the page, naming the hook and the function."""
    try:
        result = function(options)
        if inspect.isawaitable(result):
            result = await result
    except SpliceError:
        raise
    except Exception as exc:
        raise ScriptError(
            f"{hook} hook {name} raised {type(exc).__name__}: {exc}",
            details={"hook": hook, "function": name, "type": type(exc).__name__, "message": str(exc),
                     "traceback": traceback.format_exc(limit=20)},
        ) from exc  # fmt: skip
    return result


def contract(hook: str, name: str, message: str, index: int | None = None) -> ScriptError:
    return ScriptError(
        f"{hook} hook {name} {message}",
        code="HOOK_CONTRACT",
        details={"hook": hook, "function": name, "index": index},
    )


def check_items(hook: str, name: str, result: Any, count: int, what: str) -> list[dict[str, Any]]:
    """``pre_map``/``post_map``: one ``{data, errors?}`` or ``{}`` per record."""
    if not isinstance(result, list):
        raise contract(hook, name, f"returned {type_name(result)}; it must return a list with one item per {what}")
    if len(result) != count:
        raise contract(
            hook,
            name,
            f"returned {len(result)} items for {count} {what}s; it must return one item per {what} ({{}} to skip one)",
        )
    for index, item in enumerate(result):
        if not isinstance(item, dict) or set(item) - {"data", "errors"} or ("errors" in item and "data" not in item):
            raise contract(
                hook, name, f"returned {_item(item)} at index {index}; each item is {{data}}, {{data, errors}} or {{}}",
                index,
            )  # fmt: skip
        check_errors(hook, name, item.get("errors", []), index)
    return result


def check_page(name: str, result: Any) -> tuple[list[Any], list[dict[str, Any]], bool]:
    """``pre_save_page``: ``{data, errors?, abort?}`` → data, errors, abort."""
    hook = "pre_save_page"
    if not isinstance(result, dict) or set(result) - {"data", "errors", "abort"} or "data" not in result:
        raise contract(hook, name, f"returned {_item(result)}; it must return {{data, errors, abort}}")
    if not isinstance(result["data"], list):
        raise contract(hook, name, f"returned data as {type_name(result['data'])}; data must be a list of records")
    abort = result.get("abort", False)
    if not isinstance(abort, bool):
        raise contract(hook, name, f"returned abort as {type_name(abort)}; abort must be true or false")
    return result["data"], check_errors(hook, name, result.get("errors") or [], None), abort


def check_errors(hook: str, name: str, errors: Any, index: int | None) -> list[dict[str, Any]]:
    at = "" if index is None else f" at index {index}"
    if not isinstance(errors, list):
        raise contract(hook, name, f"returned errors{at} as {type_name(errors)}; errors must be a list", index)
    for error in errors:
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            raise contract(
                hook, name, f"returned an error{at} that is {_item(error)}; an error is {{code, message}}", index
            )
    return errors


def check_responses(name: str, result: Any, count: int) -> list[dict[str, Any]]:
    """``post_submit``: the response data, same length, each item an object with a status code."""
    hook = "post_submit"
    if not isinstance(result, list):
        raise contract(hook, name, f"returned {type_name(result)}; it must return the response_data list")
    if len(result) != count:
        raise contract(
            hook, name, f"returned {len(result)} items for {count} records; it must return response_data, same length"
        )
    for index, item in enumerate(result):
        if not isinstance(item, dict) or not isinstance(item.get("status_code"), int):
            raise contract(
                hook, name, f"returned {_item(item)} at index {index}; each item is a response with a status_code",
                index,
            )  # fmt: skip
        check_errors(hook, name, item.get("errors") or [], index)
    return result


def _item(value: Any) -> str:
    if isinstance(value, dict):
        return f"an object with keys {sorted(map(str, value))}" if value else "{}"
    return type_name(value)
