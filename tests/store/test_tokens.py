from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from splice._clock import ManualClock
from splice.errors import InvalidInput, NotFound
from splice.store import AccessToken, SecretBox, Store, TokenScope, open_store
from splice.store._engine import MIGRATIONS_DIR, create_engine, parse_url
from splice.store._schema import VERSION_TABLE, access_tokens, connections

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    """The store's notion of now (the ``store`` fixture runs on it); tests move it."""
    return ManualClock(T0)


async def test_create_returns_the_token_and_a_secret_once(store: Store) -> None:
    token, secret = await store.tokens.create("ci")

    assert isinstance(token, AccessToken)
    assert token.id.startswith("tok_") and len(token.id) == 16
    assert token.name == "ci"
    assert token.scope == TokenScope() and token.scope.full_access
    assert secret.startswith("splice_") and len(secret) == 50
    assert token.prefix == secret[:14] and secret.startswith(token.prefix)
    assert token.created_at.tzinfo is UTC
    assert (token.last_used_at, token.revoked_at, token.revoked) == (None, None, False)
    assert await store.tokens.get(token.id) == token
    assert await store.tokens.list() == [token]


async def test_each_token_gets_its_own_id_and_secret(store: Store) -> None:
    made = [await store.tokens.create(f"t{i}") for i in range(5)]
    assert len({token.id for token, _ in made}) == 5
    assert len({secret for _, secret in made}) == 5
    assert [token.name for token in await store.tokens.list()] == [f"t{i}" for i in range(5)]


async def test_verify_finds_the_token_by_its_secret(store: Store) -> None:
    scope = TokenScope(read_only=True, integrations=("acme",))
    token, secret = await store.tokens.create("reader", scope)
    other, other_secret = await store.tokens.create("writer")

    found = await store.tokens.verify(secret)

    assert found is not None and found.id == token.id and found.scope == scope
    assert found.last_used_at is not None and found.last_used_at.tzinfo is UTC
    verified_other = await store.tokens.verify(other_secret)
    assert verified_other is not None and verified_other.id == other.id


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "splice_",
        "splice_" + "A" * 43,  # well-formed, unknown
        "splice_" + "A" * 42,
        "splice_" + "A" * 44,
        "splice_" + "A" * 42 + "=",
        "bearer splice_" + "A" * 43,
        "x" * 10_000,
        None,
        42,
        b"splice_" + b"A" * 43,
    ],
)
async def test_unknown_or_malformed_secrets_verify_to_none(store: Store, secret: Any) -> None:
    await store.tokens.create("ci")
    assert await store.tokens.verify(secret) is None


async def test_a_secret_off_by_one_character_is_refused(store: Store) -> None:
    _, secret = await store.tokens.create("ci")
    last = "B" if secret[-1] != "B" else "C"
    assert await store.tokens.verify(secret[:-1] + last) is None
    assert await store.tokens.verify(secret.upper() if secret != secret.upper() else secret.lower()) is None


async def test_revoke_stops_verify_and_hides_the_token_from_the_default_list(store: Store) -> None:
    token, secret = await store.tokens.create("ci")
    kept, _ = await store.tokens.create("kept")

    revoked = await store.tokens.revoke(token.id)

    assert revoked.revoked and revoked.revoked_at is not None and revoked.revoked_at.tzinfo is UTC
    assert (revoked.id, revoked.name, revoked.prefix) == (token.id, token.name, token.prefix)
    assert await store.tokens.verify(secret) is None
    assert [t.id for t in await store.tokens.list()] == [kept.id]
    assert [t.id for t in await store.tokens.list(include_revoked=True)] == [token.id, kept.id]
    assert await store.tokens.get(token.id) == revoked


async def test_revoking_twice_keeps_the_first_time(store: Store, clock: ManualClock) -> None:
    token, _ = await store.tokens.create("ci")
    first = await store.tokens.revoke(token.id)
    clock.advance(60)
    second = await store.tokens.revoke(token.id)
    assert second == first


@pytest.mark.parametrize("token_id", ["tok_000000000000", "", "x" * 100, None, 7])
async def test_unknown_ids_are_not_found(store: Store, token_id: Any) -> None:
    with pytest.raises(NotFound) as info:
        await store.tokens.get(token_id)
    assert info.value.hint == "splice tokens list"
    with pytest.raises(NotFound):
        await store.tokens.revoke(token_id)


async def test_last_used_is_written_at_most_once_a_minute(
    store: Store, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, secret = await store.tokens.create("ci")
    writes = 0
    real_write = store.tokens._db.write

    def counting_write() -> Any:
        nonlocal writes
        writes += 1
        return real_write()

    monkeypatch.setattr(store.tokens._db, "write", counting_write)

    async def used_at(after: timedelta) -> datetime | None:
        clock.set(T0 + after)
        verified = await store.tokens.verify(secret)
        assert verified is not None
        assert verified.last_used_at == (await store.tokens.get(token.id)).last_used_at
        return verified.last_used_at

    assert await used_at(timedelta(seconds=1)) == T0 + timedelta(seconds=1)
    assert await used_at(timedelta(seconds=30)) == T0 + timedelta(seconds=1)
    assert await used_at(timedelta(seconds=60)) == T0 + timedelta(seconds=1)
    assert writes == 1
    assert await used_at(timedelta(seconds=61)) == T0 + timedelta(seconds=61)
    assert await used_at(timedelta(seconds=62)) == T0 + timedelta(seconds=61)
    assert writes == 2


async def test_the_secret_is_stored_only_as_its_sha256(store: Store, database_url: str) -> None:
    _, secret = await store.tokens.create("ci", TokenScope(integrations=["acme"]))
    hidden = secret[14:].encode()

    async with store.engine.connect() as conn:
        [row] = (await conn.execute(sa.text("SELECT * FROM access_tokens"))).all()
    cells = [bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode() for value in row]

    assert not any(hidden in cell for cell in cells)
    assert hashlib.sha256(secret.encode()).digest() in cells
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        data = b"".join(file.read_bytes() for file in path.parent.glob(path.name + "*"))
        assert b"splice_" in data
        assert hidden not in data


async def test_tokens_survive_reopening_and_other_stores_verify_them(store: Store, database_url: str) -> None:
    token, secret = await store.tokens.create("ci", TokenScope(read_only=True, connections=("c1",)))
    async with await open_store(database_url, SecretBox.generate()) as other:
        found = await other.tokens.verify(secret)
        assert found is not None and found.id == token.id
        assert found.scope == TokenScope(read_only=True, connections=("c1",))
        await other.tokens.revoke(token.id)
    assert await store.tokens.verify(secret) is None


@pytest.mark.parametrize("name", ["", " ", "\t", "x" * 129, "two\nlines", None, 5])
async def test_bad_names_are_refused(store: Store, name: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        await store.tokens.create(name)
    assert info.value.hint
    assert await store.tokens.list(include_revoked=True) == []


async def test_names_up_to_128_characters_and_unicode_are_fine(store: Store) -> None:
    long, _ = await store.tokens.create("x" * 128)
    fancy, _ = await store.tokens.create("déploiement ✓")
    assert [t.name for t in await store.tokens.list()] == [long.name, "déploiement ✓"]
    assert fancy.name == "déploiement ✓"


async def test_create_refuses_a_scope_that_is_not_a_token_scope(store: Store) -> None:
    with pytest.raises(InvalidInput):
        await store.tokens.create("ci", {"read_only": True})  # type: ignore[arg-type]


# -- TokenScope ---------------------------------------------------------------------------

FULL = TokenScope()
READ = TokenScope(read_only=True)
ACME = TokenScope(integrations=("acme",))
ACME_READ = TokenScope(read_only=True, integrations=("acme", "beta"))
C1 = TokenScope(connections=("c1",))
ACME_C1 = TokenScope(integrations=("acme",), connections=("c1", "c2"))


@pytest.mark.parametrize(
    ("scope", "integration", "connection", "write", "allowed"),
    [
        (FULL, None, None, True, True),
        (FULL, "acme", "c1", True, True),
        (READ, "acme", "c1", False, True),
        (READ, "acme", "c1", True, False),
        (READ, None, None, False, True),
        (READ, None, None, True, False),
        (ACME, "acme", None, True, True),
        (ACME, "acme", "c9", True, True),
        (ACME, "beta", "c1", False, False),
        (ACME, None, None, False, False),
        (ACME_READ, "beta", "c1", False, True),
        (ACME_READ, "beta", "c1", True, False),
        (ACME_READ, "gamma", "c1", False, False),
        (C1, "acme", "c1", True, True),
        (C1, "beta", "c1", True, True),
        (C1, "acme", "c2", False, False),
        (C1, "acme", None, False, False),
        (C1, None, "c1", False, True),
        (ACME_C1, "acme", "c2", True, True),
        (ACME_C1, "beta", "c1", False, False),
        (ACME_C1, "acme", "c3", False, False),
        (ACME_C1, "acme", None, False, False),
    ],
)
def test_scope_allows(
    scope: TokenScope, integration: str | None, connection: str | None, write: bool, allowed: bool
) -> None:
    assert scope.allows(integration, connection, write=write) is allowed


@pytest.mark.parametrize(
    ("scope", "description"),
    [
        (FULL, "full access"),
        (READ, "read-only"),
        (ACME, "integrations: acme"),
        (ACME_READ, "read-only, integrations: acme, beta"),
        (C1, "connections: c1"),
        (ACME_C1, "integrations: acme; connections: c1, c2"),
        (
            TokenScope(read_only=True, integrations=("a",), connections=("c",)),
            "read-only, integrations: a; connections: c",
        ),
    ],
)
def test_scope_description(scope: TokenScope, description: str) -> None:
    assert scope.description == description


@pytest.mark.parametrize("scope", [FULL, READ, ACME, ACME_READ, C1, ACME_C1])
def test_scope_round_trips_through_a_dict(scope: TokenScope) -> None:
    assert TokenScope.from_dict(scope.to_dict()) == scope


def test_scope_from_dict_defaults_and_normalises() -> None:
    assert TokenScope.from_dict({}) == FULL
    assert TokenScope.from_dict({"integrations": ["acme", "acme"]}) == ACME
    assert TokenScope(integrations=["acme"]).integrations == ("acme",)  # type: ignore[arg-type]
    assert ACME.to_dict() == {"read_only": False, "integrations": ["acme"], "connections": None}


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"read_only": "yes"},
        {"read_only": 1},
        {"integrations": "acme"},
        {"integrations": []},
        {"integrations": [""]},
        {"integrations": [None]},
        {"integrations": ["a/b"]},
        {"connections": [""]},
        {"connections": 3},
        {"connections": ()},
        {"admin": True},
    ],
)
def test_bad_scopes_are_refused(data: Any) -> None:
    with pytest.raises(InvalidInput):
        TokenScope.from_dict(data)


def test_scope_constructor_validates_too() -> None:
    with pytest.raises(InvalidInput):
        TokenScope(integrations=("",))
    with pytest.raises(InvalidInput):
        TokenScope(connections="c1")  # type: ignore[arg-type]


# -- migration ----------------------------------------------------------------------------


def _alembic(connection: sa.Connection, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    getattr(command, action)(config, revision)


async def test_a_0003_database_upgrades_to_0004_and_back(fresh_database: str) -> None:
    engine = create_engine(parse_url(fresh_database))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_alembic, "upgrade", "0003")
            await conn.execute(
                connections.insert().values(
                    integration="acme", id="c1", credentials=b"x", config={}, metadata={},
                    status="ok", status_error=None, created_at=T0, updated_at=T0,
                )
            )  # fmt: skip
    finally:
        await engine.dispose()

    async with await open_store(fresh_database, SecretBox.generate()) as store:
        token, secret = await store.tokens.create("ci")
        assert (await store.tokens.verify(secret)) is not None
        await store.oauth_states.put("s1", "acme", "c1", {"verifier": "v"}, ttl=60)
        async with store.engine.connect() as conn:
            assert (await conn.execute(sa.select(connections.c.id))).scalars().all() == ["c1"]
            assert (await conn.execute(sa.select(access_tokens.c.id))).scalars().all() == [token.id]

    engine = create_engine(parse_url(fresh_database))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_alembic, "downgrade", "0003")
            assert (await conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))).scalar() == "0003"
            tables = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
            assert "access_tokens" not in tables and "oauth_states" not in tables
            assert (await conn.execute(sa.select(connections.c.id))).scalars().all() == ["c1"]
    finally:
        await engine.dispose()
