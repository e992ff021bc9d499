"""Record the demo project's fixtures again: ``.venv/bin/python -m tests.demo.record_fixtures``.

The demo project is copied to a temporary folder (its ``.splice`` store must not land in the
package), connected to a demo API started here, and every test of ``test_offline.py`` that
replays a fixture is run once live through :class:`splice.testing.Harness` with ``record=True``.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from tests.demo.test_offline import DEMO, FIXTURES, WEBHOOK

from splice.demo.server import DemoAPI
from splice.runtime import Runtime
from splice.testing import Harness

CLIENT = {"client_id": "demo-client", "client_secret": "demo-secret"}


async def main() -> None:
    api = DemoAPI()
    await api.start()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "demo"
        shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns(".splice", "__pycache__"))
        try:
            async with await Runtime.open(root) as rt:
                await rt.connections.add("acme", "c1", CLIENT, config={"api_url": api.url})
                await rt.env.set("ACME_WEBHOOK_SECRET", "demo-webhook-secret")
            harness = Harness(root, record=True, base=FIXTURES.parent)
            await harness.run("acme.create_contact", fixture=FIXTURES / "create_contact.json",
                              input={"email": "ada@example.com", "name": "Ada"}, connection="c1")  # fmt: skip
            await harness.run("acme.create_contact", fixture=FIXTURES / "duplicate_contact.json",
                              input={"email": "user1@example.com"}, connection="c1")  # fmt: skip
            await harness.run("acme.rate_limited", fixture=FIXTURES / "rate_limited.json", input={"key": "rec"},
                              connection="c1")  # fmt: skip
            await harness.run("acme.contacts", fixture=FIXTURES / "contacts_sync.json", connection="c1")
            await harness.trigger("acme.contact_events", fixture=FIXTURES / "contact_event.json", json=WEBHOOK)
            await harness.run_flow("acme.onboarding", fixture=FIXTURES / "onboarding.json", payload=WEBHOOK,
                                   connection="c1")  # fmt: skip
        finally:
            await api.stop()
    for path in sorted(FIXTURES.glob("*.json")):
        print(f"recorded {path.relative_to(Path.cwd())}")


if __name__ == "__main__":
    asyncio.run(main())
