"""Acme CRM over OAuth2 client credentials, with the actions `splice demo` runs."""

from pydantic import BaseModel

from splice import ActionError, ConnectionError, Integration, auth, expr, paginate, step
from splice.triggers import Body, HmacSignature


class AcmeConfig(BaseModel):
    api_url: str


acme = Integration(
    "acme",
    base_url="{config.api_url}/api",
    auth=auth.OAuth2ClientCredentials(token_url="{config.api_url}/oauth/token", scopes=["crm"]),
    paginate=paginate.Cursor(
        cursor_path="meta.next",
        cursor_param="cursor",
        limit_param="limit",
        limit=50,
        items_path="data",
    ),
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
    """Create a contact; duplicates and invalid emails become structured errors."""
    try:
        data = await ctx.api.post("/contacts", input.model_dump())
    except ConnectionError as exc:
        if exc.status in (409, 422):
            raise ActionError({"reason": (exc.data or {}).get("error")}, status=exc.status) from None
        raise
    ctx.log.info("created contact", id=data["id"])
    return Contact(**data)


class Strategy(BaseModel):
    strategy: str = "cursor"


class PageCount(BaseModel):
    strategy: str
    pages: int
    items: int


STRATEGIES = {
    "cursor": (
        "/paged/cursor",
        paginate.Cursor(cursor_path="meta.next", cursor_param="cursor", limit_param="limit", limit=40),
    ),
    "link": ("/paged/link", paginate.LinkHeader()),
    "next_url": ("/paged/next-url", paginate.NextUrl(path="next", items_path="results")),
    "offset": (
        "/paged/offset",
        paginate.Offset(offset_param="offset", limit_param="limit", limit=40, items_path="items"),
    ),
    "page": (
        "/paged/page",
        paginate.Page(page_param="page", limit_param="per_page", limit=40, items_path="data"),
    ),
}


@acme.action(input=Strategy, output=PageCount)
async def list_contacts(ctx, input: Strategy) -> PageCount:
    """Walk every contact with one of the five pagination strategies."""
    path, strategy = STRATEGIES[input.strategy]
    pages = items = 0
    async for page in ctx.api.paginate(path, strategy=strategy):
        pages += 1
        items += len(page)
    print(f"{input.strategy}: {items} contacts in {pages} pages")
    return PageCount(strategy=input.strategy, pages=pages, items=items)


@acme.action
async def rate_limited(ctx, input) -> dict:
    """A call the API answers with 429 twice before it succeeds: splice backs off and retries."""
    key = (input or {}).get("key", "demo")
    return await ctx.api.get("/flaky", query={"key": key, "fail": 2, "status": 429, "retry_after": 0.2})


@acme.action
async def remember(ctx, input) -> dict:
    """State and metadata: count how often this ran for this connection."""
    count = await ctx.state.get("count", 0) + 1
    await ctx.state.put("count", count)
    meta = await ctx.metadata.update({"last_run": ctx.run.id})
    return {"count": count, "metadata": meta}


@acme.sync(models=[Contact], every="15m", track_deletes=True)
async def contacts(ctx):
    """Every contact, page by page; contacts gone from the API are marked deleted after a good run."""
    async for page in ctx.api.paginate("/contacts"):
        await ctx.records.save(page)


# --- a flow a webhook starts: fetch, branch, loop, call an action ------------------------------


@acme.trigger(
    signature=HmacSignature(
        header="X-Acme-Signature", secret_env="ACME_WEBHOOK_SECRET", timestamp_header="X-Acme-Timestamp"
    ),
    connection_from=Body("account"),
)
async def contact_events(ctx, request):
    """Acme's webhook: the event starts the onboarding flow; Acme gets its 202 at once."""
    return {"payload": request.json(), "response": {"status": 202, "body": "queued"}}


@acme.action
async def get_contact(ctx, input) -> dict:
    """One contact by id."""
    return await ctx.api.get(f"/contacts/{input['id']}")


@acme.step()
async def score(ctx, step_results):
    """A code block: decide from the contact what the flow does next."""
    contact = step_results.get_contact
    tags = [part for part in contact["email"].split("@")[1].split(".") if part]
    return {"vip": contact["email"].endswith("example.com"), "tags": tags}


@acme.step()
async def tag(ctx, step_results):
    """Runs once per tag (two at a time), each its own step run with its own logs."""
    ctx.log.info("tagging", contact=step_results.trigger["id"], tag=step_results.item)
    return {"tag": step_results.item, "index": step_results.index}


acme.flow(
    "onboarding",
    trigger="contact_events",
    steps=[
        step.action("Get contact", "get_contact", input={"id": expr("trigger.payload.id")}),
        step.code("Score", score, retries=2),
        step.branch("VIP?", when=[(expr("steps.score.vip"), [step.action("Remember", "remember")])]),
        step.for_each("Each tag", items=expr("steps.score.tags"), concurrency=2, steps=[step.code("Tag", tag)]),
    ],
)
