"""An example integration against Acme CRM (the demo API bundled with splice).

Try it:
    python -m splice.demo.server --port 8765 &
    splice connections add acme c1 --credential api_key=demo-key --config api_url=http://127.0.0.1:8765
    splice run acme.create_contact --connection c1 --input '{"email": "ada@example.com", "name": "Ada"}'
"""

from pydantic import BaseModel

from splice import ActionError, ConnectionError, Integration, auth, paginate


class AcmeConfig(BaseModel):
    api_url: str = "http://127.0.0.1:8765"


acme = Integration(
    "acme",
    base_url="{config.api_url}/api",
    auth=auth.ApiKey(in_="header", name="X-API-Key"),
    paginate=paginate.Cursor(cursor_path="meta.next", cursor_param="cursor", items_path="data"),
    config=AcmeConfig,
    test_path="/whoami",
)


class NewContact(BaseModel):
    email: str
    name: str = ""


class Contact(BaseModel):
    id: str
    email: str
    name: str = ""


@acme.action(input=NewContact, output=Contact)
async def create_contact(ctx, input: NewContact) -> Contact:
    """Create a contact; a duplicate or invalid email comes back as a structured error."""
    try:
        data = await ctx.api.post("/contacts", input.model_dump())
    except ConnectionError as exc:
        if exc.status in (409, 422):
            raise ActionError({"reason": exc.data.get("error")}, status=exc.status) from None
        raise
    ctx.log.info("created contact", id=data["id"])
    return Contact(**data)


class ContactCount(BaseModel):
    count: int


@acme.action(output=ContactCount)
async def count_contacts(ctx, input) -> ContactCount:
    """Walk every page of contacts."""
    count = 0
    async for page in ctx.api.paginate("/contacts", query={"limit": 100}):
        count += len(page)
    return ContactCount(count=count)
