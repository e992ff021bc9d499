"""An import's mapping: fields from JSONata expressions, lookups into lookup caches, static values.

Each field's ``extract`` is a JSONata expression over the record (``$`` is the record; ``$record``
and ``$settings`` are bound too), compiled once per process with the bounds of
:mod:`splice.flows._expr` (wall clock, recursion depth, sequence length) and evaluated once per
record by jsonatapy. ``generate`` is a dotted path, so ``"address.city"`` builds nested objects.

Lookups read lookup caches, whose keys and values are strings. They are not called per record:
:meth:`CompiledMapping.lookup_keys` collects every key a page needs, the caller fetches each
cache's entries in one batch (jsonatapy's functions are sync-only, a cache read is not), and
:meth:`CompiledMapping.apply` reads them.

A field that fails for one record (its expression, a lookup miss with ``on_miss="error"``, a
value that is not of its ``data_type``) makes that record an error
``{code, message, source: "mapping", field}``; the other records go on.

>>> Mapping(fields=(Field(generate="email", extract="$lowercase(Email)"),
...                 Field(generate="owner.id", lookup=Lookup("owners", "OwnerName", on_miss="error"))),
...         static={"source": "crm"})
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from collections.abc import Mapping as Entries
from dataclasses import dataclass, field
from typing import Any

import jsonatapy
import orjson

from splice.errors import InvalidInput
from splice.flows import _expr
from splice.resources._check import Where, record_error, shown, type_name

ON_MISS = ("default", "error", "null")
DATA_TYPES = ("boolean", "booleanarray", "integer", "number", "numberarray", "object", "objectarray", "string",
              "stringarray")  # fmt: skip
#: largest mapped record, as JSON
MAX_RECORD_BYTES = 1024 * 1024
NO_DEFAULT: Any = type("NoDefault", (), {"__repr__": lambda self: "NO_DEFAULT"})()


@dataclass(frozen=True, slots=True)
class Lookup:
    """A field's value from a lookup cache: the entry whose key is ``key_expr`` over the record.

    A key not in the cache gives ``default`` (``on_miss="default"``), null (``"null"``) or makes
    the record an error (``"error"``).
    """

    cache: str
    key_expr: str
    default: Any = None
    on_miss: str = "default"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"cache": self.cache, "key_expr": self.key_expr}
        if self.default is not None:
            data["default"] = self.default
        if self.on_miss != "default":
            data["on_miss"] = self.on_miss
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class Field:
    """One generated field: ``extract`` (a JSONata expression) or ``lookup``, then ``data_type``.

    When the value is nothing (no match, or null), ``default`` is used; with no default the
    field is left out, as Celigo's mapper does.
    """

    generate: str
    extract: str | None = None
    data_type: str | None = None
    default: Any = NO_DEFAULT
    lookup: Lookup | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"generate": self.generate}
        if self.extract is not None:
            data["extract"] = self.extract
        if self.data_type is not None:
            data["data_type"] = self.data_type
        if self.default is not NO_DEFAULT:
            data["default"] = self.default
        if self.lookup is not None:
            data["lookup"] = self.lookup.to_json()
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class Mapping:
    """A record's new shape: ``static`` values first, then each field (a later one wins)."""

    fields: tuple[Field, ...] = ()
    static: dict[str, Any] = field(default_factory=dict)

    def check(self, where: Where) -> None:
        CompiledMapping(self, where)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"fields": [f.to_json() for f in self.fields]}
        if self.static:
            data["static"] = self.static
        return data

    @classmethod
    def from_json(cls, data: Any, where: Where) -> Mapping:
        where.only(data, "mapping", {"fields", "static"})
        fields = data.get("fields", [])
        if not isinstance(fields, list):
            raise where.invalid("mapping.fields", f"must be a list of fields, not {type_name(fields)}")
        static = data.get("static", {})
        if not isinstance(static, dict):
            raise where.invalid("mapping.static", f"must be an object, not {type_name(static)}")
        mapping = cls(fields=tuple(_field(item, where, f"mapping.fields[{i}]") for i, item in enumerate(fields)),
                      static=static)  # fmt: skip
        mapping.check(where)
        return mapping


def _field(data: Any, where: Where, at: str) -> Field:
    where.only(data, at, {"generate", "extract", "data_type", "default", "lookup"})
    values = dict(data)
    if "lookup" in values and values["lookup"] is not None:
        lookup = where.only(values["lookup"], f"{at}.lookup", {"cache", "key_expr", "default", "on_miss"})
        for key in ("cache", "key_expr"):
            where.string(lookup.get(key), f"{at}.lookup.{key}")
        values["lookup"] = Lookup(**lookup)
    if "generate" not in values:
        raise where.invalid(f"{at}.generate", "is required (the dotted path of the field to write)")
    return Field(**values)


# --- evaluation ----------------------------------------------------------------------------

#: ``compile(source)`` → an object with ``evaluate(data, bindings=None)`` raising ValueError on failure
Compiler = Callable[[str], Any]
_LOCAL = threading.local()


def compile_jsonata(source: str) -> Any:
    """jsonatapy, with :mod:`splice.flows._expr`'s bounds; one cache per thread (compiled
    expressions may not cross threads)."""
    cache: dict[str, Any] = _LOCAL.__dict__.setdefault("cache", {})
    found = cache.get(source)
    if found is None:
        found = jsonatapy.compile(
            source, timeout=_expr.TIME_LIMIT_MS, max_stack_depth=_expr.MAX_DEPTH,
            max_sequence_length=_expr.MAX_SEQUENCE,
        )  # fmt: skip
        if len(cache) > 4096:
            cache.clear()
        cache[source] = found
    return found


class Expression:
    __slots__ = ("binds", "compiled", "field", "source", "where")

    def __init__(self, source: Any, where: Where, at: str, compiler: Compiler) -> None:
        where.string(source, at)
        try:
            self.compiled = compiler(source)
        except ValueError as exc:
            raise where.invalid(at, f"expression {source!r} does not parse: {exc}") from None
        self.source, self.where, self.field = source, where, at
        self.binds = "$record" in source or "$settings" in source

    def __call__(self, record: Any, settings: Any) -> Any:
        try:
            if self.binds:
                return self.compiled.evaluate(record, {"record": record, "settings": settings})
            return self.compiled.evaluate(record)
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            raise InvalidInput(
                f"{self.where}: {self.field}: expression {self.source!r} failed: {exc}",
                code="EXPRESSION_FAILED",
                details={"expression": self.source},
            ) from None


class CompiledMapping:
    """A mapping ready to run: its expressions compiled, its paths split (checks name the field)."""

    def __init__(self, mapping: Mapping, where: Where, compiler: Compiler = compile_jsonata) -> None:
        self.where = where
        if not isinstance(mapping.static, dict):
            raise where.invalid("mapping.static", f"must be an object, not {type_name(mapping.static)}")
        where.json_value(mapping.static, "mapping.static")
        self.static = orjson.dumps(_nest(list(mapping.static.items()), where, "mapping.static"))
        self.fields = [_Compiled(f, where, f"mapping.fields[{i}]", compiler) for i, f in enumerate(mapping.fields)]
        _nest([(f.field.generate, None) for f in self.fields] + list(mapping.static.items()), where, "mapping.fields")
        self.lookups = [(i, f) for i, f in enumerate(self.fields) if f.key is not None]

    def lookup_keys(self, record: Any, settings: Any) -> list[Any]:
        """Each lookup field's key for ``record`` (a string, None, or the InvalidInput of its expression)."""
        keys: list[Any] = []
        for _, compiled in self.lookups:
            try:
                keys.append(key_string(compiled.key(record, settings)))  # type: ignore[misc]
            except InvalidInput as exc:
                keys.append(exc)
        return keys

    def apply(self, record: Any, keys: list[Any], entries: Entries[str, Entries[str, str]],
              settings: Any) -> tuple[Any, list[dict[str, Any]]]:  # fmt: skip
        """The mapped record and its errors (the record is None when there are errors)."""
        out: dict[str, Any] = orjson.loads(self.static)
        errors: list[dict[str, Any]] = []
        key_iter = iter(keys)
        for compiled in self.fields:
            try:
                key = next(key_iter) if compiled.key is not None else None
                value = compiled.value(record, key, entries, settings)
            except InvalidInput as exc:
                errors.append(record_error(exc, "mapping", field=compiled.field.generate))
                continue
            if value is not NO_DEFAULT:
                _put(out, compiled.parts, value)
        if not errors and len(encoded := orjson.dumps(out)) > MAX_RECORD_BYTES:
            exc = InvalidInput(
                f"{self.where}: the mapped record is {len(encoded):,} bytes of JSON; the limit is {MAX_RECORD_BYTES:,}",
                code="INVALID_RECORD",
            )
            errors.append(record_error(exc, "mapping", field=None))
        return (None if errors else out), errors


class _Compiled:
    __slots__ = ("coerce", "extract", "field", "key", "parts", "where")

    def __init__(self, one: Field, where: Where, at: str, compiler: Compiler) -> None:
        if not isinstance(one, Field):
            raise where.invalid(at, f"must be a Field, not {type_name(one)}")
        self.field, self.where = one, where
        self.parts = where.string(one.generate, f"{at}.generate").split(".")
        if one.data_type is not None:
            where.choice(one.data_type, f"{at}.data_type", DATA_TYPES, "data type")
        self.coerce = _COERCE.get(one.data_type or "")
        where.json_value(None if one.default is NO_DEFAULT else one.default, f"{at}.default")
        if (one.extract is None) == (one.lookup is None):
            raise where.invalid(at, "a field takes extract (an expression) or lookup, one of the two")
        self.extract = None if one.extract is None else Expression(one.extract, where, f"{at}.extract", compiler)
        self.key = None
        if one.lookup is not None:
            lookup = one.lookup
            where.string(lookup.cache, f"{at}.lookup.cache")
            where.choice(lookup.on_miss, f"{at}.lookup.on_miss", ON_MISS, "miss policy")
            where.json_value(lookup.default, f"{at}.lookup.default")
            self.key = Expression(lookup.key_expr, where, f"{at}.lookup.key_expr", compiler)

    def value(self, record: Any, key: Any, entries: Entries[str, Entries[str, str]], settings: Any) -> Any:
        if self.extract is None:  # a lookup's miss policy already chose its value, null included
            value = self._looked_up(key, entries)
            if value is None:
                return None
        else:
            value = self.extract(record, settings)
            if value is None:
                return self.field.default
        return value if self.coerce is None else self._coerced(value)

    def _looked_up(self, key: Any, entries: Entries[str, Entries[str, str]]) -> Any:
        if isinstance(key, InvalidInput):
            raise key
        lookup = self.field.lookup
        assert lookup is not None  # for the type checker: only lookup fields have a key
        found = entries.get(lookup.cache, {}).get(key) if key is not None else None
        if found is not None:
            return found
        if lookup.on_miss == "error":
            raise InvalidInput(
                f"{self.where}: field {self.field.generate!r}: lookup cache {lookup.cache!r} has no key {key!r}",
                code="INVALID_RECORD",
                details={"cache": lookup.cache, "key": key},
            )
        return None if lookup.on_miss == "null" else lookup.default

    def _coerced(self, value: Any) -> Any:
        try:
            return self.coerce(value)  # type: ignore[misc]
        except (ValueError, TypeError, OverflowError):
            raise InvalidInput(
                f"{self.where}: field {self.field.generate!r}: {shown(value)} is not a {self.field.data_type}",
                code="INVALID_RECORD",
                details={"data_type": self.field.data_type},
            ) from None


def key_string(value: Any) -> str | None:
    """A lookup key as the cache keeps it: strings as they are, numbers and booleans as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return orjson.dumps(value).decode()


def _nest(items: list[tuple[str, Any]], where: Where, at: str) -> dict[str, Any]:
    """Dotted paths as nested objects; a path inside another's value is refused."""
    out: dict[str, Any] = {}
    leaves: set[tuple[str, ...]] = set()
    for path, value in items:
        parts = tuple(path.split("."))
        if any(parts[:n] in leaves for n in range(1, len(parts))) or any(
            leaf[: len(parts)] == parts and len(leaf) > len(parts) for leaf in leaves
        ):
            raise where.invalid(at, f"{path!r} and another field write the same place (one is inside the other)")
        leaves.add(parts)
        _put(out, list(parts), value)
    return out


def _put(out: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        out = out.setdefault(part, {})
    out[parts[-1]] = value


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return orjson.dumps(value).decode()


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(value)
    number = float(value) if isinstance(value, str) else value
    if not math.isfinite(number):
        raise ValueError(value)
    return int(number) if isinstance(number, float) and number.is_integer() and isinstance(value, str) else number


def _integer(value: Any) -> int:
    number = _number(value)
    if number != int(number):
        raise ValueError(value)
    return int(number)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _string(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(value)


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(value)
    return value


def _array(each: Callable[[Any], Any]) -> Callable[[Any], list[Any]]:
    return lambda value: [each(v) for v in (value if isinstance(value, list) else [value])]


_COERCE: dict[str, Callable[[Any], Any]] = {
    "string": _string, "number": _number, "integer": _integer, "boolean": _boolean, "object": _object,
    "stringarray": _array(_string), "numberarray": _array(_number), "booleanarray": _array(_boolean),
    "objectarray": _array(_object),
}  # fmt: skip
