"""The same scripts replayed from recorded fixtures: no network, no credentials (splice's pytest plugin).

Record a fixture again against the live API with
    splice run acme.create_contact -c c1 --input '{"email": "ada@example.com", "name": "Ada"}' \\
        --record tests/fixtures/create_contact.json
or every fixture at once with `pytest --splice-record` (the connection c1 must exist).
"""


async def test_create_contact(splice_harness):
    run = await splice_harness.run("acme.create_contact", fixture="fixtures/create_contact.json")
    assert run.status == "succeeded", run.error
    assert run.output.email == "ada@example.com"
    assert "created contact" in run.messages


async def test_a_duplicate_email_is_an_action_error(splice_harness):
    run = await splice_harness.run("acme.create_contact", fixture="fixtures/duplicate_contact.json")
    assert run.error["code"] == "ACTION_ERROR"
    assert run.error["details"]["payload"] == {"reason": "duplicate email"}


async def test_count_contacts_walks_every_page(splice_harness):
    run = await splice_harness.run("acme.count_contacts", fixture="fixtures/count_contacts.json")
    assert run.output == {"count": 250}
