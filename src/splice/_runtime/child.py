"""Running one script given its start message and a channel — the same code in both modes.

In process mode this runs in the forked child; in debugging mode inside the parent's
event loop. Everything the run returns (output or error) is a JSON-safe dict, because it
crosses the process boundary.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

import splice
from splice import _json
from splice._runtime import output
from splice._runtime.channel import Channel
from splice._runtime.kinds import kind_of
from splice._validation import describe_validation, validation_errors
from splice.context import Context, RunInfo
from splice.context._config import config_value
from splice.errors import InvalidInput, LimitExceeded, ScriptError, SpliceError
from splice.integration import Script

_SPLICE_DIR = str(Path(splice.__file__).resolve().parent)
#: largest result a run may return, as JSON
MAX_OUTPUT_BYTES = 16 * 1024 * 1024
#: in a sandboxed child: recognises what the sandbox refused (``splice._sandbox.Explainer``)
Explain = Callable[[BaseException], SpliceError | None]


def build_context(start: dict[str, Any], channel: Channel, script: Script) -> Context:
    """``ctx`` from the start message; its capabilities are those the parent says the kind grants,
    its config the integration's config model made again from the JSON the parent sent."""
    run = start["run"]
    info = RunInfo(
        id=run["id"],
        integration=run["integration"],
        script=run["script"],
        connection_id=run.get("connection_id"),
        started_at=datetime.fromisoformat(run["started_at"]),
        attempt=run.get("attempt", 1),
        flow=run.get("flow"),
        step=run.get("step"),
        test_mode=run.get("test_mode", False),
        idempotency_key=run.get("idempotency_key") or run["id"],
    )
    return Context(
        channel,
        run=info,
        credentials=start.get("credentials") or {},
        config=config_value(script.integration.config_model, start.get("config") or {}),
        env=start.get("env") or {},
        kind=script.kind,
        capabilities=frozenset(start.get("capabilities") or ()),
        paginator=script.integration.paginate,
        script=script,
        scratch_dir=start.get("scratch_dir"),
    )


async def run_script(
    start: dict[str, Any], channel: Channel, script: Script, explain: Explain | None = None
) -> dict[str, Any]:
    """Run ``script``; return ``{"ok": True, "output": ...}`` or ``{"ok": False, "error": ...}``.

    ``explain`` (sandboxed children) turns an exception the sandbox caused into a clear error.
    """
    try:
        ctx = build_context(start, channel, script)
    except SpliceError as exc:
        return {"t": "done", "ok": False, "error": exc.to_dict()}
    token = output.current_sink.set(ctx.log.info)
    try:
        result = await kind_of(script).invoke(script, ctx, start.get("input"))
        return {"t": "done", "ok": True, "output": _dump_output(script, result)}
    except SpliceError as exc:
        return {"t": "done", "ok": False, "error": exc.to_dict()}
    except MemoryError:
        error = LimitExceeded(
            "the run exceeded its memory limit",
            code="MEMORY_LIMIT_EXCEEDED",
            hint="raise runtime.memory_limit_mb in splice.toml or process less data at once",
        )
        return {"t": "done", "ok": False, "error": error.to_dict()}
    except Exception as exc:  # any other exception fails the run with its traceback
        error = script_error(exc)
        refused = explain(exc) if explain is not None else None
        if refused is not None:
            refused.details.setdefault("traceback", error.details["traceback"])
            error = refused
        return {"t": "done", "ok": False, "error": error.to_dict()}
    finally:
        sys.stdout.flush()
        ctx.log.flush()
        output.current_sink.reset(token)


def _dump_output(script: Script, result: Any) -> Any:
    """The result as JSON-safe data, checked against the output model and the size limit."""
    result = kind_of(script).result(script, result)
    if script.output is not None:
        try:
            model = (
                result
                if isinstance(result, script.output)
                else script.output.model_validate(result.model_dump() if isinstance(result, BaseModel) else result)
            )
        except ValidationError as exc:
            raise ScriptError(
                f"{script.qualname} returned output that does not match {script.output.__name__}: "
                f"{describe_validation(exc)}",
                code="INVALID_OUTPUT",
                details={"errors": validation_errors(exc)},
            ) from None
        result = model
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    if not kind_of(script).builds_output and _at_least(result, MAX_OUTPUT_BYTES) > MAX_OUTPUT_BYTES:
        raise _too_large(f"{script.qualname} returned over {MAX_OUTPUT_BYTES:,} bytes of JSON, the limit")
    try:
        encoded = _json.encode(result, f"{script.qualname} returned a value that", "output", strict=False)
    except InvalidInput as exc:  # not JSON, or NaN / Infinity, which would arrive as null
        raise ScriptError(exc.message, code="INVALID_OUTPUT", details=exc.details) from None
    if len(encoded) > MAX_OUTPUT_BYTES:
        raise _too_large(
            f"{script.qualname} returned {len(encoded):,} bytes of JSON; the limit is {MAX_OUTPUT_BYTES:,}"
        )
    return orjson.loads(encoded)


def _too_large(message: str) -> LimitExceeded:
    return LimitExceeded(
        message,
        code="OUTPUT_TOO_LARGE",
        hint="return less, or store large data with ctx.state / your own storage and return a reference",
    )


def _at_least(value: Any, limit: int, budget: int = 100_000) -> int:
    """A lower bound of ``value``'s JSON size, from its strings, looking at ``budget`` items at most.

    orjson reserves the worst case for a string up front and crashes (SIGSEGV) when a memory
    limit refuses it, so a result that is clearly too large is refused before encoding.
    """
    size, stack = 0, [value]
    while stack and budget > 0 and size <= limit:
        budget -= 1
        item = stack.pop()
        if isinstance(item, str | bytes):
            size += len(item) + 2
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        else:
            size += 1
    return size


def script_error(exc: BaseException) -> ScriptError:
    """The exception's type, message and traceback, with frames inside splice left out."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_SPLICE_DIR)]
    text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames))
    text += "".join(traceback.format_exception_only(exc))
    return ScriptError(
        f"{type(exc).__name__}: {exc}",
        details={"type": type(exc).__name__, "message": str(exc), "traceback": text},
    )
