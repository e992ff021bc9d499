"""``/connect``: (being written)."""

from __future__ import annotations

from fastapi import APIRouter

from splice.server._errors import ERROR_RESPONSES

router = APIRouter(tags=["connect"], responses=ERROR_RESPONSES)
