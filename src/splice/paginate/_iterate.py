"""The driver: runs a paginator against a ``fetch`` callback that does the actual I/O."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from splice.errors import ApiError
from splice.paginate._base import BasePaginator, PageRequest, PageResponse
from splice.paginate._page_data import PageData

Fetch = Callable[[PageRequest], Awaitable[PageResponse]]


async def iterate_pages(paginator: BasePaginator, first: PageRequest, fetch: Fetch) -> AsyncIterator[PageData[Any]]:
    """Yield each non-empty page's items until the paginator detects the last page.

    Each page is a :class:`~splice.paginate.PageData`: a list of the items that also carries
    the request that fetched it, the response and its 0-based index.

    ``paginator`` is copied with :meth:`~BasePaginator.fresh`, so it can be shared; ``first``
    is not modified. A response (or an :class:`~splice.errors.ApiError` raised by ``fetch``)
    whose status is in the paginator's ``stop_status`` ends the iteration without a page.

    >>> async for page in iterate_pages(paginate.Offset(limit=50), first, fetch):
    ...     save(page, offset=page.request.query["offset"])
    """
    paginator = paginator.fresh()
    request = PageRequest(first.path, dict(first.query), first.data)
    paginator.init_request(request)
    index = 0
    while True:
        sent = PageRequest(request.path, dict(request.query), request.data)
        try:
            response = await fetch(sent)
        except ApiError as exc:
            if paginator.is_stop_status(exc.status):
                return
            raise
        if paginator.is_stop_status(response.status):
            return
        items = paginator.extract_items(response)
        if items:
            yield PageData(items, sent, response, index)
            index += 1
        paginator.update_state(response, items)
        if not paginator.has_next_page:
            return
        paginator.update_request(request)
