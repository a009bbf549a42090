"""What every web page shares: templates, the visitor behind the session cookie, CSRF checks, flash messages, and
errors rendered as pages instead of the API's JSON envelopes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, APIRouter
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from ... import __version__
from ...errors import BadRequestError, ForbiddenError, RegistryError
from ..auth import policy
from ..auth.policy import GUEST, Action, Principal, Scope
from ..deps import DB
from ..services import accounts, users
from . import ui_security as sec

log = logging.getLogger("ngc_registry.ui")
UI_DIR = Path(__file__).resolve().parent.parent / "ui"
templates = Jinja2Templates(directory=str(UI_DIR / "templates"))


def human_size(value: int | None) -> str:
    if value is None:
        return ""
    size = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


def short_date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


templates.env.filters.update(size=human_size, date=short_date)
templates.env.globals.update(version=__version__)


@dataclass(frozen=True)
class Visitor:
    """Who is looking at the page. Plain values, usable after the request's transaction has ended."""

    principal: Principal
    user_id: int | None
    email: str
    name: str
    csrf: str
    session_token: str | None
    new_browser_id: str | None  # to set as a cookie on the response (first visit)
    administers: bool = False  # shows the Admin menu; every admin page still checks its own action

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None


async def _posted_form(request: Request) -> FormData | None:
    return await request.form() if request.method == "POST" else None


def _visitor(request: Request, session: DB, form: Annotated[FormData | None, Depends(_posted_form)]) -> Visitor:
    secret = request.app.state.token_secret
    token = request.cookies.get(sec.SESSION_COOKIE)
    user = accounts.session_user(session, token) if token else None
    browser_id = request.cookies.get(sec.BROWSER_COOKIE)
    new_browser_id = None if browser_id else sec.new_browser_id()
    binding = token if user else (browser_id or new_browser_id)
    principal = Principal(user_id=user.id, grants=users.grants_of(session, user.id), key_kind="SESSION") \
        if user else GUEST
    visitor = Visitor(principal=principal, user_id=user.id if user else None, email=user.email if user else "",
                      name=(user.name or user.email) if user else "", csrf=sec.csrf_token(secret, binding),
                      session_token=token if user else None, new_browser_id=new_browser_id,
                      administers=_administers(principal))
    request.state.visitor = visitor
    if form is not None:
        _check_form(request, secret, binding if not new_browser_id else None, form)
    return visitor


def _administers(principal: Principal) -> bool:
    return any(policy.allows(principal, Action.LIST_USERS, Scope(org_id=grant.org_id, team_id=grant.team_id))
               for grant in principal.grants)


def _check_form(request: Request, secret: str, binding: str | None, form: FormData) -> None:
    token = form.get("csrf")
    token = token if isinstance(token, str) else None
    from_here = sec.same_origin(request, request.app.state.settings.public_url)
    if not from_here or not sec.csrf_valid(secret, binding, token):
        raise ForbiddenError("This form has expired or did not come from this site. Reload the page and try again.")


CurrentVisitor = Annotated[Visitor, Depends(_visitor)]


def require_user(visitor: Visitor) -> int:
    if not visitor.signed_in:
        raise SignInRequired()
    return visitor.user_id


class SignInRequired(RegistryError):
    code, status, default_message = "UNAUTHORIZED", 401, "Please sign in to see this page."


def _finish(request: Request, response: Response) -> Response:
    visitor = getattr(request.state, "visitor", None)
    if visitor is not None and visitor.new_browser_id:
        sec.set_cookie(request, response, sec.BROWSER_COOKIE, visitor.new_browser_id, max_age=None)
    return response


def page(request: Request, template: str, status: int = 200, **context) -> Response:
    visitor = getattr(request.state, "visitor", None)
    flash = sec.decode_flash(request.app.state.token_secret, request.cookies.get(sec.FLASH_COOKIE))
    response = templates.TemplateResponse(request, template, {"visitor": visitor, "flash": flash, **context},
                                          status_code=status)
    if request.cookies.get(sec.FLASH_COOKIE):
        response.delete_cookie(sec.FLASH_COOKIE, path="/")
    return _finish(request, response)


def redirect(request: Request, to: str, message: str | None = None, level: str = "success") -> Response:
    response = RedirectResponse(sec.safe_next(to), status_code=303)
    if message:
        value = sec.encode_flash(request.app.state.token_secret, level, message)
        sec.set_cookie(request, response, sec.FLASH_COOKIE, value, max_age=120)
    return _finish(request, response)


def error_page(request: Request, error: RegistryError) -> Response:
    """GET: a page saying what went wrong (or the sign-in page); a form post: back to the form, with the reason."""
    if error.status == 401:
        back = request.url.path + _query(request) if request.method == "GET" else sec.referer_path(request)
        return redirect(request, f"/login?next={quote(back)}", SignInRequired.default_message, level="error")
    if request.method == "POST" and error.status in (400, 404, 409) and "referer" in request.headers:
        return redirect(request, sec.referer_path(request), error.message, level="error")
    title = {401: "Sign-in required", 403: "Not allowed", 404: "Not found", 429: "Too many attempts"}
    return page(request, "error.html", status=error.status, title=title.get(error.status, "Something went wrong"),
                message=error.message)


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""


class UIRoute(APIRoute):
    """A route whose errors become pages: the API's JSON envelopes are for clients, not for people."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except RegistryError as error:
                return error_page(request, error)
            except RequestValidationError as error:
                first = (error.errors() or [{}])[0]
                field = ".".join(str(part) for part in first.get("loc", ())[1:])
                return error_page(request, BadRequestError(f"Invalid {field or 'input'}: {first.get('msg', '')}."))

        return guarded


def ui_router() -> APIRouter:
    return APIRouter(route_class=UIRoute, include_in_schema=False)


def base_url(request: Request) -> str:
    """This server as its users reach it: the configured public URL, else the one the request came to."""
    return request.app.state.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
