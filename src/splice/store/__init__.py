"""splice's database: connections, env vars, runs and logs, state, locks, records and schedules.

SQLite by default (one file, WAL), PostgreSQL for many machines; the same schema and the
same behaviour on both, migrated by alembic when opened.

>>> secrets = SecretBox.from_environment(Path(".splice/secret.key"))
>>> async with await open_store("sqlite:///.splice/splice.db", secrets) as store:
...     await store.connections.create("acme", "c1", {"api_key": "..."})
"""

from splice.store._connections import Connection
from splice.store._crypto import SecretBox
from splice.store._record_codec import Stream
from splice.store._records import RecordPage, SaveResult
from splice.store._runs import LogLine, LogRecord, RunRecord
from splice.store._schedules import ScheduleStore, SyncSchedule
from splice.store._store import Store, open_store

__all__ = [
    "Connection",
    "LogLine",
    "LogRecord",
    "RecordPage",
    "RunRecord",
    "SaveResult",
    "ScheduleStore",
    "SecretBox",
    "Store",
    "Stream",
    "SyncSchedule",
    "open_store",
]
