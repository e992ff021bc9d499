"""One router per resource; :data:`ROUTERS` is the order they appear in the OpenAPI document."""

from splice.server.routes import (
    actions,
    connect,
    connections,
    env,
    flows,
    integrations,
    logs,
    lookups,
    records,
    runs,
    state,
    syncs,
    tokens,
    webhooks,
)

ROUTERS = [
    integrations.router,
    connections.router,
    connect.router,
    actions.router,
    flows.router,
    syncs.router,
    records.router,
    runs.router,
    logs.router,
    state.router,
    lookups.router,
    env.router,
    tokens.router,
    webhooks.router,
]
