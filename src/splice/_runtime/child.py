"""Running one script given its start message and a channel — the same code in both modes.

In process mode this runs in the forked child; in debugging mode inside the parent's
event loop. Everything the run returns (output or error) is a JSON-safe dict, because it
crosses the process boundary.
"""

from __future__ import annotations

import sys
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

import splice
from splice._runtime import output
from splice._runtime.channel import Channel
from splice.context import Context, RunInfo
from splice.errors import InvalidInput, LimitExceeded, ScriptError, SpliceError
from splice.integration import Script, describe_validation, validation_errors
from splice.triggers import WebhookRequest, WebhookResponse

_SPLICE_DIR = str(Path(splice.__file__).resolve().parent)
#: largest result a run may return, as JSON
MAX_OUTPUT_BYTES = 16 * 1024 * 1024


def build_context(start: dict[str, Any], channel: Channel, script: Script) -> Context:
    run = start["run"]
    info = RunInfo(
        id=run["id"],
        integration=run["integration"],
        script=run["script"],
        connection_id=run.get("connection_id"),
        started_at=datetime.fromisoformat(run["started_at"]),
        attempt=run.get("attempt", 1),
        test_mode=run.get("test_mode", False),
    )
    return Context(
        channel,
        run=info,
        credentials=start.get("credentials") or {},
        config=start.get("config") or {},
        env=start.get("env") or {},
        paginator=script.integration.paginate,
        script=script,
    )


async def run_script(start: dict[str, Any], channel: Channel, script: Script) -> dict[str, Any]:
    """Run ``script``; return ``{"ok": True, "output": ...}`` or ``{"ok": False, "error": ...}``."""
    ctx = build_context(start, channel, script)
    token = output.current_sink.set(ctx.log.info)
    try:
        result = await _call(script, ctx, start.get("input"))
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
        return {"t": "done", "ok": False, "error": script_error(exc).to_dict()}
    finally:
        sys.stdout.flush()
        output.current_sink.reset(token)


async def _call(script: Script, ctx: Context, raw_input: Any) -> Any:
    if script.kind == "action":
        return await script.fn(ctx, parse_input(script, raw_input))
    if script.kind == "trigger":
        return await script.fn(ctx, WebhookRequest.from_json(raw_input or {}))
    return await script.fn(ctx)


def parse_input(script: Script, raw: Any) -> Any:
    """The action's input as its declared model; a clear error naming the bad field."""
    if script.input is None:
        return raw
    try:
        return script.input.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        raise InvalidInput(
            f"invalid input for {script.qualname}: {describe_validation(exc)}",
            details={"errors": validation_errors(exc)},
        ) from None


def _dump_output(script: Script, result: Any) -> Any:
    """The result as JSON-safe data, checked against the output model and the size limit."""
    if script.kind == "trigger":
        result = WebhookResponse.from_result(result).to_json()
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
    try:
        encoded = orjson.dumps(result)
    except TypeError as exc:
        raise ScriptError(
            f"{script.qualname} returned a value that is not JSON-serialisable: {exc}", code="INVALID_OUTPUT"
        ) from None
    if len(encoded) > MAX_OUTPUT_BYTES:
        raise LimitExceeded(
            f"{script.qualname} returned {len(encoded):,} bytes of JSON; the limit is {MAX_OUTPUT_BYTES:,}",
            code="OUTPUT_TOO_LARGE",
            hint="return less, or store large data with ctx.state / your own storage and return a reference",
        )
    return orjson.loads(encoded)


def script_error(exc: BaseException) -> ScriptError:
    """The exception's type, message and traceback, with frames inside splice left out."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_SPLICE_DIR)]
    text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames))
    text += "".join(traceback.format_exception_only(exc))
    return ScriptError(
        f"{type(exc).__name__}: {exc}",
        details={"type": type(exc).__name__, "message": str(exc), "traceback": text},
    )
