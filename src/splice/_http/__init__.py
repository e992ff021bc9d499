"""HTTP plumbing shared by auth flows, paginators and the parent-side gateway."""

from splice._http.models import Request, Response

__all__ = ["Request", "Response"]
