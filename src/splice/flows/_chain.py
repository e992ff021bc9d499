"""Which flows led to a request: how a cycle of flows starting each other through webhooks is cut.

A flow's steps reach the outside world over HTTP, and a webhook may start a flow, so flow A
can start flow B whose step calls the webhook that starts A again — forever. Every request a
flow's step sends carries :data:`HEADER`: the ids of the flows that led to it, encrypted and
authenticated with the project's secret key (Fernet, like credentials), so a third party
learns nothing from it and no caller can forge it to block a flow. A webhook that arrives
with it passes the chain on to the flows it starts, and a flow already in the chain is
refused (``FLOW_CYCLE``). A header that does not open (another project's, tampered) counts as
no chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from splice.errors import InvalidInput, SpliceError

if TYPE_CHECKING:
    from splice.store import SecretBox

#: the request header that carries the chain
HEADER = "Splice-Flow-Chain"
#: longest chain kept (a longer one is a cycle through flows that change ids, or an attack)
MAX_CHAIN = 32


def refuse_cycle(flow_id: str, chain: tuple[str, ...]) -> None:
    """``FLOW_CYCLE`` when ``flow_id`` is already in the chain of flows that led here."""
    if flow_id in chain:
        raise InvalidInput(
            f"flow {flow_id} would start itself again ({' → '.join((*chain, flow_id))})",
            code="FLOW_CYCLE",
            hint="flows that start each other must end somewhere: break the cycle",
        )


def seal(secrets: SecretBox, chain: tuple[str, ...]) -> str:
    """The header's value for a step of a flow run started through ``chain`` (its own id last)."""
    return secrets.encrypt(list(chain[-MAX_CHAIN:])).decode()


def opened(secrets: SecretBox, headers: Mapping[str, str]) -> tuple[str, ...]:
    """The chain a request carries; empty when it has none or one that does not open."""
    value = headers.get(HEADER)
    if not value:
        return ()
    try:
        chain = secrets.decrypt(value.encode())
    except (SpliceError, ValueError, TypeError):
        return ()
    if not isinstance(chain, list) or not all(isinstance(f, str) for f in chain):
        return ()
    return tuple(chain[-MAX_CHAIN:])
