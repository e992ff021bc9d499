"""Pydantic validation errors as splice reports them: a field path and a message, never the value."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as JSON-safe dicts: field path and message (the input value left out)."""
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "(root)", "message": err["msg"]}
        for err in exc.errors(include_url=False)
    ]


def describe_validation(exc: ValidationError) -> str:
    return "; ".join(f"{e['field']}: {e['message']}" for e in validation_errors(exc))
