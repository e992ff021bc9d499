"""Pagination strategies: how ``ctx.api.paginate()`` finds the next page and the last one.

>>> from splice import paginate
>>> paginate.Cursor(cursor_path="meta.next", cursor_param="cursor", items_path="data")
>>> paginate.Offset(limit=100, total_path="total")

Paginators are I/O-free: :func:`iterate_pages` drives one with a ``fetch`` callback, so the
same class works in a run's child process while the parent does the HTTP. (splice writes its
own because no library offers I/O-free paginators to drive over a process boundary.) Each page
it yields is a :class:`PageData`: a list of items with ``.request``, ``.response`` and ``.index``.
"""

from splice.paginate._base import BasePaginator, PageRequest, PageResponse
from splice.paginate._cursor import Cursor
from splice.paginate._iterate import iterate_pages
from splice.paginate._link_header import LinkHeader
from splice.paginate._next_url import NextUrl
from splice.paginate._offset import Offset
from splice.paginate._page import Page
from splice.paginate._page_data import PageData

__all__ = [
    "BasePaginator",
    "Cursor",
    "LinkHeader",
    "NextUrl",
    "Offset",
    "Page",
    "PageData",
    "PageRequest",
    "PageResponse",
    "iterate_pages",
]
