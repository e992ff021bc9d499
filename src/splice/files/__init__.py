"""File definitions: delimited (CSV/TSV), fixed-width and X12 EDI files, parsed into records and generated back.

Each definition is a frozen value that both reads and writes, so an export and an import can
share one, and ``generate(parse(x)) == x`` byte for byte for the files the formats' docstrings
describe. Large files stream: ``iter_parse`` reads a binary stream in chunks and ``iter_generate``
yields bytes in chunks, so memory stays bounded by a record, not the file.

>>> orders = file_definition({"format": "delimited", "separator": ";"})
>>> records = orders.parse(b"id;name\\r\\n1;Ann\\r\\n")
>>> orders.generate(records)
b'id;name\\r\\n1;Ann\\r\\n'

Errors: a file that does not fit raises :class:`~splice.errors.FileInvalid` (``FILE_INVALID``) whose
``details`` say where (``line``, ``column``, ``segment``, ``record``, ``field``); a definition that
is wrong raises ``InvalidInput`` with code ``INVALID_RESOURCE`` naming the field.
"""

from splice.files._definition import FileFormat, file_definition
from splice.files._delimited import Delimited
from splice.files._fixed import Column, FixedWidth
from splice.files._x12 import X12

__all__ = ["X12", "Column", "Delimited", "FileFormat", "FixedWidth", "file_definition"]
