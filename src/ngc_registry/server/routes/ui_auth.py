"""Sign-in, sign-out and account activation (an invitation's one-time link), and the link itself for the API."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from fastapi import Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from ...errors import InvalidArgumentError
from ..db.tables import User
from ..deps import DB
from ..services import accounts
from . import ui_security as sec
from .ui_base import CurrentVisitor, base_url, page, redirect, ui_router

log = logging.getLogger("ngc_registry.accounts")
router = ui_router()


def _rate_limit(request: Request) -> accounts.RateLimit:
    settings = request.app.state.settings
    return accounts.RateLimit(settings.sign_in_max_failures, settings.sign_in_window_seconds)


def _sign_in(request: Request, session: Session, user: User, to: str, message: str | None = None) -> Response:
    token = accounts.start_session(session, user, request.app.state.settings.session_ttl_seconds)
    response = redirect(request, to, message)
    sec.set_cookie(request, response, sec.SESSION_COOKIE, token, max_age=request.app.state.settings.session_ttl_seconds)
    return response


@router.get("/login")
def login_form(request: Request, visitor: CurrentVisitor, next: str = "/") -> Response:
    if visitor.signed_in:
        return redirect(request, sec.safe_next(next))
    return page(request, "login.html", next=sec.safe_next(next), email="")


@router.post("/login")
def login(request: Request, session: DB, visitor: CurrentVisitor, email: str = Form(""), password: str = Form(""),
          next: str = Form("/")) -> Response:
    limit, client = _rate_limit(request), request.client.host if request.client else "-"
    wait = accounts.retry_after(session, limit, email, client)
    if wait:
        minutes = (wait + 59) // 60
        return page(request, "login.html", status=429, next=sec.safe_next(next), email=email,
                    error=f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes > 1 else ''}.")
    user = accounts.check_password(session, email, password)
    if user is None:
        accounts.record_failure(session, limit, email, client)
        return page(request, "login.html", status=401, next=sec.safe_next(next), email=email,
                    error="Wrong email or password.")
    accounts.clear_failures(session, limit, email)
    return _sign_in(request, session, user, sec.safe_next(next))


@router.post("/logout")
def logout(request: Request, session: DB, visitor: CurrentVisitor) -> Response:
    if visitor.session_token:
        accounts.end_session(session, visitor.session_token)
    response = redirect(request, "/", "You are signed out.")
    response.delete_cookie(sec.SESSION_COOKIE, path="/")
    return response


@router.get("/activate")
def activation_form(request: Request, session: DB, visitor: CurrentVisitor, token: str = "") -> Response:
    user = accounts.activation_user(session, token)
    return page(request, "activate.html", token=token, email=user.email, name=user.name)


@router.post("/activate")
def activate(request: Request, session: DB, visitor: CurrentVisitor, token: str = Form(""),
             password: str = Form(""), confirm: str = Form("")) -> Response:
    user = accounts.activation_user(session, token)
    try:
        if password != confirm:
            raise InvalidArgumentError("The two passwords are different.")
        accounts.activate(session, token, password)
    except InvalidArgumentError as error:
        return page(request, "activate.html", status=400, token=token, email=user.email, name=user.name,
                    error=error.message)
    return _sign_in(request, session, user, "/setup/api-key",
                    "Your password is set and you are signed in. Generate your API key to use the ngc CLI.")


def activation_link(request: Request, session: Session, user: User, org_name: str) -> str:
    """A one-time link for an invited user: returned to the inviter and mailed if possible. Never logged: it lets
    whoever holds it set the user's password."""
    settings = request.app.state.settings
    token = accounts.issue_activation(session, user, settings.activation_ttl_seconds)
    link = f"{base_url(request)}/activate?{urlencode({'token': token})}"
    log.info("invitation for %s to org %s: activation link issued to the inviter", user.email, org_name)
    if settings.smtp_host:
        mail = accounts.MailServer(settings.smtp_host, settings.smtp_port, settings.smtp_from)
        accounts.send_invitation(mail, user.email, org_name, link)
    return link

