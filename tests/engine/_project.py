"""The integration the engine tests sync: big paged records from the demo API, resumable.

``items`` saves a checkpoint (the next page's URL) after every page, so an attempt that
was stopped part-way resumes where the last one stopped.
"""

SYNCS = """
from pydantic import BaseModel
from splice import Integration, auth

acme = Integration("acme", base_url="{config.api_url}/api", auth=auth.ApiKey())


class Item(BaseModel):
    id: str
    index: int


class Contact(BaseModel):
    id: str
    email: str


@acme.sync(models=[Item], every="1h", retries=2, retry_delay=0.2)
async def items(ctx):
    checkpoint = await ctx.checkpoint.get()
    url = checkpoint.get("next") or "/paged/big?limit=100&delay_ms={delay_ms}"
    while url:
        page = await ctx.api.get(url)
        await ctx.records.save(page["results"])
        url = page["next"]
        await ctx.checkpoint.save({"next": url})
    await ctx.checkpoint.clear()


@acme.sync(models=[Contact], every="15m", retries=3, retry_delay=0.2)
async def flaky(ctx):
    if ctx.run.attempt < 3:
        raise RuntimeError(f"attempt {ctx.run.attempt} fails")
    await ctx.records.save([{"id": "c1", "email": "a@x.test"}])
    return {"attempt": ctx.run.attempt}


@acme.sync(models=[Contact], cron="0 * * * *", retries=3, retry_delay=0.2, time_limit=1)
async def slow(ctx):
    import asyncio
    await asyncio.sleep(30)


@acme.action
async def ping(ctx, input):
    return {"pong": input}
"""


def syncs(delay_ms: int = 0) -> str:
    return SYNCS.replace("{delay_ms}", str(delay_ms))
