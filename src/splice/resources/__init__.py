"""Celigo's platform resources as values — exports, imports, mappings, paging, hooks — and the
pipeline that runs them, I/O-free but for an injected :class:`Http` callable.

>>> contacts = Export.from_json({"name": "contacts", "integration": "acme", "path": "/contacts",
...                              "records_path": "data", "paging": {"method": "token", "path": "next"}})
>>> page = await export_page(contacts, http)
>>> results = await import_records(crm_contacts, page.data, http, lookups=caches)
"""

from splice.resources._async import AsyncHelper, poll_wait, waiting
from splice.resources._check import Where
from splice.resources._export import Delta, Export
from splice.resources._file import FileDefinition
from splice.resources._hooks import (
    PostMapOptions,
    PostMapResult,
    PostSubmitOptions,
    PreMapOptions,
    PreMapResult,
    PreSavePageOptions,
    PreSavePageResult,
    RecordError,
    ResponseData,
)
from splice.resources._http import Http, HttpAnswer
from splice.resources._import import IgnoreExisting, Import
from splice.resources._importer import (
    ImportResult,
    Lookups,
    StaticLookups,
    import_records,
    run_mapping,
)
from splice.resources._mapping import Field, Lookup, Mapping
from splice.resources._paging import Paging
from splice.resources._pipeline import ExportPage, export_page, export_pages, run_virtual_with_paging

__all__ = [
    "AsyncHelper",
    "Delta",
    "Export",
    "ExportPage",
    "Field",
    "FileDefinition",
    "Http",
    "HttpAnswer",
    "IgnoreExisting",
    "Import",
    "ImportResult",
    "Lookup",
    "Lookups",
    "Mapping",
    "Paging",
    "PostMapOptions",
    "PostMapResult",
    "PostSubmitOptions",
    "PreMapOptions",
    "PreMapResult",
    "PreSavePageOptions",
    "PreSavePageResult",
    "RecordError",
    "ResponseData",
    "StaticLookups",
    "Where",
    "export_page",
    "export_pages",
    "import_records",
    "poll_wait",
    "run_mapping",
    "run_virtual_with_paging",
    "waiting",
]
