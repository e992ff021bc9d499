"""The driver: runs a paginator against a ``fetch`` callback that does the actual I/O."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from splice.errors import ApiError
from splice.paginate._base import BasePaginator, PageRequest, PageResponse

Fetch = Callable[[PageRequest], Awaitable[PageResponse]]


async def iterate_pages(paginator: BasePaginator, first: PageRequest, fetch: Fetch) -> AsyncIterator[list[Any]]:
    """Yield each non-empty page's items until the paginator detects the last page.

    ``paginator`` is copied with :meth:`~BasePaginator.fresh`, so it can be shared; ``first``
    is not modified. A response (or an :class:`~splice.errors.ApiError` raised by ``fetch``)
    whose status is in the paginator's ``stop_status`` ends the iteration without a page.

    >>> async for items in iterate_pages(paginate.Offset(limit=50), first, fetch):
    ...     save(items)
    """
    paginator = paginator.fresh()
    request = PageRequest(first.path, dict(first.query), first.data)
    paginator.init_request(request)
    while True:
        try:
            response = await fetch(PageRequest(request.path, dict(request.query), request.data))
        except ApiError as exc:
            if paginator.is_stop_status(exc.status):
                return
            raise
        if paginator.is_stop_status(response.status):
            return
        items = paginator.extract_items(response)
        if items:
            yield items
        paginator.update_state(response, items)
        if not paginator.has_next_page:
            return
        paginator.update_request(request)
