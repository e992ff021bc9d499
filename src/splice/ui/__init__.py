"""The web dashboard ``splice serve`` shows at ``/ui``: runs with live logs, flow steps, connections,
syncs, records and flows, for whoever signs in with an access token (and only what it may see)."""

from splice.ui._app import create_ui

__all__ = ["create_ui"]
