"""``rt.env``: operator variables (``splice env set``); values go in, only names come out."""

from __future__ import annotations

from splice.store import Store


class EnvVars:
    """Operator variables, encrypted at rest; scripts read them as ``ctx.env``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def set(self, name: str, value: str) -> None:
        await self.store.env.set(name, value)

    async def unset(self, name: str) -> None:
        await self.store.env.unset(name)

    async def names(self) -> list[str]:
        return await self.store.env.names()
