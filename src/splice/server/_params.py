"""Path and query parameters holding a NUL character: 422 ``INVALID_INPUT`` on every route, naming the parameter.

PostgreSQL can neither store nor compare text holding NUL, so such an id failed there with a
500 where SQLite answered 404. No id, name, key or filter needs one, so every route refuses
them alike, before anything looks them up; the store refuses them in the ids it is handed too
(:func:`splice.store._schema.check_text`), for the Python API and ids inside JSON bodies.
"""

from __future__ import annotations

from fastapi import Request

from splice.store._schema import check_text


async def refuse_nul(request: Request) -> None:
    """``async`` on purpose: FastAPI runs plain ``def`` dependencies in a thread pool, per request."""
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        check_text(value, name)
