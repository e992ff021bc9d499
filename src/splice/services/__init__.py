"""The Python API by resource: what the CLI, the REST API and scripts' ``ctx.engine`` all call.

Each service takes what it needs (the project, the store, a client factory) and nothing
else; :class:`~splice.runtime.Runtime` builds them once and hands them out as
``rt.connections``, ``rt.env``, ``rt.flows``, ``rt.lookups``, ``rt.records``,
``rt.resource_state``, ``rt.runs`` and ``rt.syncs``.
"""

from splice.services.connections import Connections
from splice.services.env import EnvVars
from splice.services.flows import Flows
from splice.services.lookups import Lookups
from splice.services.records import Records
from splice.services.resource_state import ResourceState
from splice.services.runs import Runs
from splice.services.syncs import Syncs

__all__ = ["Connections", "EnvVars", "Flows", "Lookups", "Records", "ResourceState", "Runs", "Syncs"]
