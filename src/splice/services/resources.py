"""Platform resources (SPEC §5) by type: find, get, create, update, patch, delete — one layer for all.

Exports, imports and the other resource types differ only in their document; this service
does what they share. A resource declared in the project's code is listed and read like the
others but is read-only here (``READ_ONLY``: change the code); one created over the API (or
``ctx.engine``) is stored. Ids are ``integration.name`` like flows': readable, and the
integration that owns a resource is in its id. ``PATCH`` takes a JSON Patch (RFC 6902,
Celigo's form), applied to the stored document, which is then checked whole again.

>>> await rt.exports.create({"integration": "acme", "name": "contacts", "path": "/contacts"})
>>> await rt.exports.patch("acme.contacts", [{"op": "replace", "path": "/page_size", "value": 500}])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import jsonpatch

from splice._runtime.versions import Versions
from splice.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from splice.project import Project
from splice.store import Store
from splice.store._resources import StoredResource, not_found


class Resource(Protocol):
    """What every resource value has (its document is :meth:`to_json`)."""

    integration: str
    name: str
    external_id: str | None

    def to_json(self) -> dict[str, Any]: ...


class ResourceType(Protocol):
    """One type of resource: how a document becomes a value, and which ones the code declares."""

    #: the plural used in URLs, state scopes and ``ctx.engine``: ``"exports"``
    name: str

    def parse(self, document: Mapping[str, Any]) -> Resource:
        """A checked value; :class:`InvalidInput` naming the field otherwise."""
        ...

    def declared(self, project: Project) -> list[Resource]: ...


class Declared:
    """A resource type read from JSON by ``parser`` and declared on integrations in the attribute
    of its name (``Declared("exports", Export.from_json)``: ``integration.exports``)."""

    def __init__(self, name: str, parser: Callable[[dict[str, Any]], Resource]) -> None:
        self.name = name
        self.parser = parser

    def parse(self, document: Mapping[str, Any]) -> Resource:
        return self.parser(dict(document))

    def declared(self, project: Project) -> list[Resource]:
        return [value for i in project.integrations.values() for value in getattr(i, self.name).values()]


def resource_id(value: Resource) -> str:
    return f"{value.integration}.{value.name}"


class Resources:
    """``rt.exports``, ``rt.imports``, …: the resources of one type, declared and stored."""

    def __init__(self, type: ResourceType, versions: Versions, store: Store) -> None:
        self.type = type
        self.versions = versions
        self.store = store

    @property
    def project(self) -> Project:
        return self.versions.project

    def _declared(self) -> dict[str, Resource]:
        return {resource_id(value): value for value in self.type.declared(self.project)}

    async def find(
        self, *, external_id: str | None = None, integrations: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Every document (the code's first), narrowed to an ``external_id`` and to integrations."""
        found = [
            document(value, "code")
            for value in self._declared().values()
            if (external_id is None or value.external_id == external_id)
            and (integrations is None or value.integration in integrations)
        ]
        stored = await self.store.resources.find(self.type.name, external_id=external_id, integrations=integrations)
        return found + [_api(one) for one in stored]

    async def get(self, id: str) -> dict[str, Any]:
        return document(await self.value(id), "code") if id in self._declared() else await self._stored(id)

    async def value(self, id: str) -> Resource:
        """The resource as a value (what runs use)."""
        declared = self._declared().get(id)
        if declared is not None:
            return declared
        return self.type.parse(_editable(await self._stored(id)))

    async def create(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Store a new resource from its document; its id is ``integration.name``."""
        value = self._check(data)
        id = resource_id(value)
        if id in self._declared():
            raise AlreadyExists(f"{self._singular} {id!r} is declared in the project's code",
                                details={"id": id}, hint="give it another name")  # fmt: skip
        return _api(await self.store.resources.create(self.type.name, document(value, "api")))

    async def update(self, id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """Replace a stored resource's document whole (``PUT``): fields left out take their defaults."""
        self._writable(id)
        if not isinstance(data, Mapping):
            raise InvalidInput(f"a {self._singular} is a JSON object, not {type(data).__name__}")
        for key, expected in _named(id).items():
            if key in data and data[key] != expected:
                raise InvalidInput(f"{key} {data[key]!r} does not match the id {id!r} (its {key} is {expected!r})",
                                   hint="a resource keeps its id: create another one to rename it")  # fmt: skip
        value = self._check({**data, **_named(id)})
        return _api(await self.store.resources.replace(self.type.name, document(value, "api")))

    async def patch(self, id: str, operations: Any) -> dict[str, Any]:
        """Apply a JSON Patch (a list of ``{"op", "path", "value"}``) and store the result, checked."""
        self._writable(id)
        current = await self._stored(id)
        if not isinstance(operations, list):
            raise InvalidInput(
                "a PATCH body is a JSON Patch: a list of operations such as "
                '[{"op": "replace", "path": "/page_size", "value": 500}]',
                hint="PUT replaces the whole document instead",
            )
        try:
            patched = jsonpatch.apply_patch(_editable(current), operations)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, ValueError) as exc:
            raise InvalidInput(f"the JSON Patch does not apply to {self._singular} {id!r}: {exc}") from None
        return await self.update(id, patched)

    async def delete(self, id: str) -> None:
        """Delete a stored resource and the state kept for it (``rt.resource_state``)."""
        self._writable(id)
        await self.store.resources.delete(self.type.name, id)
        await self.store.state.delete_scope(self.type.name.removesuffix("s"), id)

    @property
    def _singular(self) -> str:
        return self.type.name.removesuffix("s").replace("_", " ")

    def _check(self, data: Mapping[str, Any]) -> Resource:
        if not isinstance(data, Mapping):
            raise InvalidInput(f"a {self._singular} is a JSON object, not {type(data).__name__}")
        value = self.type.parse({k: v for k, v in data.items() if k not in _OUTPUT_ONLY})
        if value.integration not in self.project.integrations:
            known = ", ".join(sorted(self.project.integrations))
            raise NotFound(f"{self._singular} {value.name!r}: unknown integration {value.integration!r} "
                           f"(known: {known})", details={"integration": value.integration})  # fmt: skip
        return value

    def _writable(self, id: str) -> None:
        if id in self._declared():
            raise Conflict(
                f"{self._singular} {id!r} is declared in the project's code, so it is read-only here",
                code="READ_ONLY",
                details={"id": id},
                hint="change it in the project's code, or create another one over the API",
            )

    async def _stored(self, id: str) -> dict[str, Any]:
        try:
            return _api(await self.store.resources.get(self.type.name, id))
        except NotFound:
            raise not_found(self.type.name, id) from None


#: keys the API adds to a document; a document sent back with them is taken as it is
_OUTPUT_ONLY = frozenset({"id", "source", "created_at", "updated_at"})


def document(value: Resource, source: str) -> dict[str, Any]:
    return {"id": resource_id(value), **value.to_json(), "source": source}


def _api(stored: StoredResource) -> dict[str, Any]:
    return {**stored.document, "source": "api", "created_at": stored.created_at.isoformat(),
            "updated_at": stored.updated_at.isoformat()}  # fmt: skip


def _editable(current: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in current.items() if k not in _OUTPUT_ONLY}


def _named(id: str) -> dict[str, str]:
    integration, _, name = id.partition(".")
    return {"integration": integration, "name": name}
