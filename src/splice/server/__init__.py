"""splice's REST server: ``create_app(runtime)`` and the uvicorn server ``splice serve`` runs it with."""

from splice.server._app import create_app
from splice.server._uvicorn import ApiServer

__all__ = ["ApiServer", "create_app"]
