"""splice's database: connections, env vars, runs and logs, state, records, schedules, tokens
and lookup caches.

Also locks, checkpoints, pending OAuth flows and accepted webhook deliveries.

SQLite by default (one file, WAL), PostgreSQL for many machines; the same schema and the
same behaviour on both, migrated by alembic when opened.

>>> secrets = SecretBox.from_environment(Path(".splice/secret.key"))
>>> async with await open_store("sqlite:///.splice/splice.db", secrets) as store:
...     await store.connections.create("acme", "c1", {"api_key": "..."})
"""

from splice.store._connections import Connection
from splice.store._crypto import SecretBox
from splice.store._deploys import DeployStore, ProjectVersion
from splice.store._flows import FlowStore, StoredFlow
from splice.store._lookups import CacheSize, LookupStore
from splice.store._oauth_states import OAuthStateStore
from splice.store._record_codec import Stream
from splice.store._records import RECORD_FILTERS, RecordPage, SaveResult
from splice.store._resources import ResourceStore, StoredResource
from splice.store._run_errors import RunError, RunErrorStore
from splice.store._runs import RUN_STATUSES, LogLine, LogRecord, RunRecord, short_id
from splice.store._schedules import ScheduleStore, SyncSchedule
from splice.store._store import Store, open_store
from splice.store._tokens import AccessToken, TokenScope, TokenStore
from splice.store._webhook_deliveries import WebhookDeliveryStore

__all__ = [
    "RECORD_FILTERS",
    "RUN_STATUSES",
    "AccessToken",
    "CacheSize",
    "Connection",
    "DeployStore",
    "FlowStore",
    "LogLine",
    "LogRecord",
    "LookupStore",
    "OAuthStateStore",
    "ProjectVersion",
    "RecordPage",
    "ResourceStore",
    "RunError",
    "RunErrorStore",
    "RunRecord",
    "SaveResult",
    "ScheduleStore",
    "SecretBox",
    "Store",
    "StoredFlow",
    "StoredResource",
    "Stream",
    "SyncSchedule",
    "TokenScope",
    "TokenStore",
    "WebhookDeliveryStore",
    "open_store",
    "short_id",
]
