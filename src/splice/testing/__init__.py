"""Test your scripts offline: record a run's API exchanges once, replay them in pytest.

``splice run SCRIPT -c CONN --record tests/fixtures/x.json`` records a real run (secrets
replaced by placeholders); in the project's tests the ``splice_harness`` pytest fixture (this
package is a pytest plugin, registered by entry point) replays it through splice's real code
path with no network and no credentials::

    async def test_create_contact(splice_harness):
        run = await splice_harness.run("acme.create_contact", fixture="fixtures/create_contact.json")
        assert run.output.email == "ada@example.com"

``pytest --splice-record`` records every fixture again against the live API.
"""

from splice.testing._format import FORMAT_VERSION, Fixture, load_fixture
from splice.testing._harness import AttrDict, Harness, HarnessRun, credentials_before, record_fixture, write_fixture
from splice.testing._record import RecordingTransport
from splice.testing._replay import ReplayTransport
from splice.testing._secrets import Placeholders, find_secrets

__all__ = [
    "FORMAT_VERSION",
    "AttrDict",
    "Fixture",
    "Harness",
    "HarnessRun",
    "Placeholders",
    "RecordingTransport",
    "ReplayTransport",
    "credentials_before",
    "find_secrets",
    "load_fixture",
    "record_fixture",
    "write_fixture",
]
