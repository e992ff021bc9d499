"""The dashboard on PostgreSQL: the same browser tests as on SQLite, against a server whose store is
a fresh PostgreSQL database (skipped where PostgreSQL cannot be reached; required in CI).

The tests are the SQLite modules' own, imported: pytest runs them here with this module's
``site``. They cover the queries the pages make that differ by database: runs filtered by
connection scope, a flow run's steps, records paged by keyset over 10k rows, and live tables.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests._databases import make_database_url, run_in_thread
from tests.ui.conftest import Site, serve_site
from tests.ui.test_runs import (  # noqa: F401 - collected here, on PostgreSQL
    test_a_failed_flow_run_retried_from_its_failed_step_turns_green,
    test_an_import_runs_errored_record_is_retried_from_its_page,
    test_sign_in_shows_runs_and_sign_out_ends_the_session,
)
from tests.ui.test_tenants import (  # noqa: F401 - collected here, on PostgreSQL
    test_a_connection_scoped_token_sees_and_acts_on_its_tenant_only,
    test_a_sync_triggered_from_the_dashboard_shows_progress_then_its_records_page_through,
)

from splice.demo.server import DemoAPI

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, demo: DemoAPI) -> Iterator[Site]:
    url, cleanup = run_in_thread(make_database_url("postgres", tmp_path_factory.mktemp("pg")))
    try:
        yield from serve_site(tmp_path_factory.mktemp("ui"), demo, url)
    finally:
        run_in_thread(cleanup())
