"""Setup: the API key (guide §3.1), personal keys, and how to install the CLI (guide chapter 2).

A new key is shown in the response to the form that created it, and never again: no page reads a secret back.
"""

from __future__ import annotations

from fastapi import Form, Path, Request
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from ...errors import NotFoundError
from ..auth import policy
from ..auth.policy import Action, Scope
from ..db.tables import Org
from ..deps import DB
from ..services import accounts, audit, keys, orgs, users
from .ui_base import CurrentVisitor, Visitor, base_url, page, redirect, require_user, ui_router
from .views import roles_view

router = ui_router()
EXPIRY_CHOICES = (30, 90, 180, 365)


def _registry_host(request: Request) -> str:
    return base_url(request).split("://", 1)[-1]


def usage(request: Request) -> dict:
    """What the key pages print: the server's address for NGC_CLI_API_URL and for docker login."""
    return {"api_url": base_url(request), "registry_host": _registry_host(request)}


@router.get("/setup")
def setup(request: Request, session: DB, visitor: CurrentVisitor) -> Response:
    user = users.get_user(session, require_user(visitor))
    return page(request, "setup.html", roles=roles_view(users.grants_shown(session, user.id)),
                has_legacy_key=accounts.has_api_key(session, user.id))


@router.get("/setup/api-key")
def api_key_page(request: Request, session: DB, visitor: CurrentVisitor, step: str = "") -> Response:
    user_id = require_user(visitor)
    return page(request, "api_key.html", step="confirm" if step == "confirm" else "intro",
                has_key=accounts.has_api_key(session, user_id), **usage(request))


@router.post("/setup/api-key")
def generate_api_key(request: Request, session: DB, visitor: CurrentVisitor) -> Response:
    user = users.get_user(session, require_user(visitor))
    new = keys.rotate_legacy_key(session, user)
    audit.record(session, user.id, None, "api_key.generate", user.email)
    return page(request, "api_key.html", step="shown", secret=new.secret, **usage(request))


def _key_orgs(session: Session, visitor: Visitor) -> list[Org]:
    """Orgs a personal key can be bound to: those the user may see."""
    member_of = {grant.org_id for grant in visitor.principal.grants}
    return [org for org in orgs.list_orgs(session, member_of)
            if policy.allows(visitor.principal, Action.VIEW_ORG, Scope(org_id=org.id))]


def _keys_page(request: Request, session: Session, visitor: Visitor, status: int = 200, **extra) -> Response:
    user = users.get_user(session, require_user(visitor))
    return page(request, "keys.html", status=status, keys=keys.list_personal_keys(session, user),
                orgs=_key_orgs(session, visitor), expiry_choices=EXPIRY_CHOICES, **usage(request), **extra)


@router.get("/setup/keys")
def personal_keys(request: Request, session: DB, visitor: CurrentVisitor) -> Response:
    return _keys_page(request, session, visitor)


@router.post("/setup/keys")
def create_personal_key(request: Request, session: DB, visitor: CurrentVisitor, name: str = Form(""),
                        org: str = Form(""), expiry_days: int = Form(90)) -> Response:
    user = users.get_user(session, require_user(visitor))
    org_row = orgs.get_org(session, org)
    policy.authorize(visitor.principal, Action.VIEW_ORG, Scope(org_id=org_row.id))
    new = keys.create_personal_key(session, user, org_row, name, expiry_days)
    audit.record(session, user.id, org_row.id, "personal_key.create", f"{user.email} {new.row.name}")
    return _keys_page(request, session, visitor, new_key=new.row, secret=new.secret)


@router.post("/setup/keys/{key_id}/revoke")
def revoke_personal_key(request: Request, session: DB, visitor: CurrentVisitor,
                        key_id: int = Path(ge=1, le=2**31 - 1)) -> Response:
    user = users.get_user(session, require_user(visitor))
    row = keys.revoke_personal_key(session, user, key_id)
    audit.record(session, user.id, row.org_id, "personal_key.revoke", f"{user.email} {row.name}")
    return redirect(request, "/setup/keys", f"Key '{row.name}' is revoked: it no longer works.")


def _downloads(request: Request) -> list[str]:
    folder = request.app.state.settings.downloads_dir
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir() if path.is_file() and path.suffix in (".whl", ".gz"))


@router.get("/setup/cli")
def install_cli(request: Request, visitor: CurrentVisitor) -> Response:
    return page(request, "cli.html", downloads=_downloads(request), **usage(request))


@router.get("/setup/cli/files/{name}")
def download_cli(name: str, request: Request, visitor: CurrentVisitor) -> Response:
    if name not in _downloads(request):
        raise NotFoundError(f"No file '{name}' is offered here.")
    return FileResponse(request.app.state.settings.downloads_dir / name, filename=name,
                        media_type="application/octet-stream")
