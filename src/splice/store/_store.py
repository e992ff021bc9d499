"""The :class:`Store` facade: one database, its sub-stores, and secret rotation."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncEngine

from splice._clock import Clock, SystemClock
from splice.store._checkpoints import CheckpointStore
from splice.store._connections import ConnectionStore
from splice.store._crypto import SecretBox
from splice.store._deploys import DeployStore
from splice.store._engine import Database, connect, redact_url
from splice.store._env import EnvStore
from splice.store._flows import FlowStore
from splice.store._locks import LockStore
from splice.store._lookups import LookupStore
from splice.store._oauth_states import OAuthStateStore
from splice.store._records import RecordStore
from splice.store._resources import ResourceStore
from splice.store._run_errors import RunErrorStore
from splice.store._runs import RunStore
from splice.store._schedules import ScheduleStore
from splice.store._state import StateStore
from splice.store._tokens import TokenStore
from splice.store._webhook_deliveries import WebhookDeliveryStore
from splice.store._workers import WorkerStore


class Store:
    """Everything splice keeps in its database, as sub-stores.

    ``connections``, ``env``, ``runs``, ``state``, ``locks``, ``records``,
    ``checkpoints``, ``schedules``, ``tokens``, ``oauth_states``, ``webhook_deliveries``,
    ``flows``, ``lookups``, ``resources`` (exports, imports, … created over the API),
    ``run_errors`` (records a run could not process), ``workers`` and ``deploys`` (deployed
    versions of the project). Get one with
    :func:`open_store`; close it with :meth:`close` or ``async with``. ``clock`` decides when
    OAuth states and webhook deliveries expire and when a token was last used.
    """

    def __init__(self, db: Database, secrets: SecretBox, clock: Clock | None = None) -> None:
        self._db = db
        self._secrets = secrets
        clock = clock or SystemClock()
        self.connections = ConnectionStore(db, secrets)
        self.env = EnvStore(db, secrets)
        self.runs = RunStore(db)
        self.state = StateStore(db)
        self.locks = LockStore(db)
        self.records = RecordStore(db, secrets)
        self.checkpoints = CheckpointStore(db)
        self.schedules = ScheduleStore(db)
        self.tokens = TokenStore(db, clock)
        self.oauth_states = OAuthStateStore(db, secrets, clock)
        self.webhook_deliveries = WebhookDeliveryStore(db, clock)
        self.flows = FlowStore(db, clock)
        self.resources = ResourceStore(db, clock)
        self.run_errors = RunErrorStore(db, clock)
        self.lookups = LookupStore(db)
        self.workers = WorkerStore(db)
        self.deploys = DeployStore(db)

    @property
    def url(self) -> str:
        """The database URL with any password replaced by ``***``."""
        return redact_url(self._db.engine.url)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._db.dialect

    @property
    def engine(self) -> AsyncEngine:
        """The shared engine, for other splice stores that keep tables in the same database."""
        return self._db.engine

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    async def rotate_secrets(self) -> int:
        """Re-encrypt every secret with the primary key, in one transaction; returns the count.

        Run after :meth:`SecretBox.rotate_key_file`. Sync records are not re-encrypted
        (there may be millions): they stay readable while the old key is still configured as
        a later key, and each is re-encrypted with the new key when it next changes, so keep
        the old key until the records written under it have been reset or rewritten.
        """
        async with self._db.write() as conn:
            count = await self.connections.rotate_secrets(conn)
            count += await self.env.rotate_secrets(conn)
            count += await self.oauth_states.rotate_secrets(conn)
        return count

    async def close(self) -> None:
        await self.runs.drain()
        await self._db.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def open_store(url: str, secrets: SecretBox, *, clock: Clock | None = None) -> Store:
    """Open the database at ``url``, migrating it to the current schema if needed.

    Fast when already migrated (one query), and safe when several processes open at once.

    >>> async with await open_store("sqlite:///.splice/splice.db", secrets) as store:
    ...     await store.connections.find()
    """
    return Store(await connect(url), secrets, clock)
