"""The CRM's data: an in-memory contact store with the validation rules Acme enforces.

Seeded deterministically (``c0001`` / ``user1@example.com`` / ...) so tests can assert on
exact records. Kept free of HTTP so the pagination views in :mod:`splice.demo._api` can
slice it cheaply: the id-ordered list is cached and only rebuilt after a create or
delete, and records are mutated in place so the cache stays valid across updates.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["ContactError", "ContactStore", "contact_id", "contact_number"]

_SEED_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_SERVER_FIELDS = ("id", "updated_at")


class ContactError(Exception):
    """A write the API refuses; ``status`` and ``body`` are what the client gets."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("error", "invalid contact"))
        self.status = status
        self.body = body


def contact_id(number: int) -> str:
    """``c0001`` style ids: zero-padded to at least four digits."""
    return f"c{number:04d}"


def contact_number(cid: str) -> int | None:
    """The number inside a contact id, or ``None`` when it is not one."""
    if len(cid) < 2 or cid[0] != "c" or not cid[1:].isdigit():
        return None
    return int(cid[1:])


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class ContactStore:
    """Contacts keyed by id, in id order, with unique (case-insensitive) emails."""

    def __init__(self, count: int) -> None:
        self._by_id: dict[str, dict[str, Any]] = {}
        self._by_email: dict[str, str] = {}
        for n in range(1, count + 1):
            cid = contact_id(n)
            self._by_id[cid] = {
                "id": cid,
                "email": f"user{n}@example.com",
                "name": f"User {n}",
                "updated_at": _iso(_SEED_EPOCH + timedelta(minutes=n)),
            }
            self._by_email[f"user{n}@example.com"] = cid
        self._next = count + 1
        self._ordered: list[dict[str, Any]] | None = None
        self._numbers: list[int] = []

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, cid: str) -> dict[str, Any] | None:
        """The stored record (the live dict; copy it before handing it to other code)."""
        return self._by_id.get(cid)

    def ordered(self) -> list[dict[str, Any]]:
        """All contacts in id order (cached until the next create or delete)."""
        if self._ordered is None:
            # ids are assigned from a counter and dicts keep insertion order
            self._ordered = list(self._by_id.values())
            self._numbers = [contact_number(c["id"]) or 0 for c in self._ordered]
        return self._ordered

    def page_after(self, after: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``limit`` contacts whose number is above ``after``, and whether more follow.

        Keyset pagination: a walk stays correct while contacts are created or deleted.
        """
        ordered = self.ordered()
        start = bisect_right(self._numbers, after)
        return ordered[start : start + limit], start + limit < len(ordered)

    def create(self, body: Any) -> dict[str, Any]:
        """Validate and store a new contact; returns it with its assigned id."""
        fields = self._validate(body, current=None)
        cid = contact_id(self._next)
        self._next += 1
        contact = {"id": cid, "name": "", **fields, "updated_at": _iso(datetime.now(UTC))}
        self._by_id[cid] = contact
        self._by_email[contact["email"].lower()] = cid
        self._ordered = None
        return contact

    def replace(self, cid: str, body: Any) -> dict[str, Any] | None:
        """PUT semantics: the body becomes the whole contact (email still required)."""
        contact = self._by_id.get(cid)
        if contact is None:
            return None
        fields = self._validate(body, current=contact)
        self._set(contact, {"id": cid, "name": "", **fields})
        return contact

    def patch(self, cid: str, body: Any) -> dict[str, Any] | None:
        """PATCH semantics: the body's fields are merged into the contact."""
        contact = self._by_id.get(cid)
        if contact is None:
            return None
        if not isinstance(body, dict):
            raise ContactError(400, {"error": "body must be a JSON object"})
        merged = {**contact, **body}
        fields = self._validate(merged, current=contact)
        self._set(contact, {"id": cid, **fields})
        return contact

    def delete(self, cid: str) -> bool:
        """Remove a contact; ``False`` when there was none."""
        contact = self._by_id.pop(cid, None)
        if contact is None:
            return False
        self._by_email.pop(contact["email"].lower(), None)
        self._ordered = None
        return True

    def _set(self, contact: dict[str, Any], new: dict[str, Any]) -> None:
        """Overwrite in place (the cached ordered list holds the same dict)."""
        self._by_email.pop(contact["email"].lower(), None)
        contact.clear()
        contact.update(new)
        contact["updated_at"] = _iso(datetime.now(UTC))
        self._by_email[contact["email"].lower()] = contact["id"]

    def _validate(self, body: Any, *, current: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ContactError(400, {"error": "body must be a JSON object"})
        email = body.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise ContactError(422, {"error": "invalid email", "field": "email"})
        owner = self._by_email.get(email.lower())
        if owner is not None and (current is None or owner != current["id"]):
            raise ContactError(409, {"error": "duplicate email"})
        return {k: v for k, v in body.items() if k not in _SERVER_FIELDS}
