"""The audit log over the API (`GET /v2/org/{org}/audit`, for those the policy lets VIEW_AUDIT), and the middleware
that tells the audit where each request came from."""

from __future__ import annotations

from fastapi import APIRouter, Query

from ..auth import policy
from ..auth.policy import Action, Scope
from ..db.tables import AuditEvent
from ..deps import DB, Caller, PlainRoute
from ..rendering import ngc_status
from ..services import audit, orgs
from .views import ngc_date, paged

router = APIRouter(route_class=PlainRoute)
MAX_PAGE_NUMBER = 1_000_000


class ClientAddress:
    """Makes the caller's address (as uvicorn reports it, proxy headers from trusted proxies applied) known to
    `audit.record` for the length of the request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        client = scope.get("client")
        token = audit.client_address.set(client[0] if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            audit.client_address.reset(token)


def event_view(event: AuditEvent, email: str | None) -> dict:
    return {"id": event.id, "createdDate": ngc_date(event.created_at), "actor": email or "operator",
            "action": event.action, "target": event.target, "clientAddress": event.client_address}


@router.get("/v2/org/{org_name}/audit")
def org_audit(org_name: str, session: DB, principal: Caller,
              page_size: int = Query(100, alias="page-size", ge=1, le=1000),
              page_number: int = Query(0, alias="page-number", ge=0, le=MAX_PAGE_NUMBER)) -> dict:
    """The org's changes, newest first: who, what, when and from which address."""
    org = orgs.get_org(session, org_name)
    policy.authorize(principal, Action.VIEW_AUDIT, Scope(org_id=org.id))
    found, total = audit.events(session, org.id, page_number, page_size)
    body = paged([event_view(event, email) for event, email in found], "auditEvents", page_number, page_size, total)
    return {**body, "requestStatus": ngc_status()}
