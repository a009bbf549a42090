"""The web UI: server-rendered pages over the same services and the same `authorize()` as the APIs."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from . import ui_admin, ui_admin_teams, ui_auth, ui_catalog, ui_setup
from .ui_base import UI_DIR
from .ui_security import SecurityHeaders


def install(app: FastAPI) -> None:
    """Mount the pages, their static files (CSS, JS: no inline script anywhere) and the security headers."""
    app.mount("/static", StaticFiles(directory=str(UI_DIR / "static")), name="static")
    for module in (ui_auth, ui_setup, ui_catalog, ui_admin, ui_admin_teams):
        app.include_router(module.router, max_body_size=app.state.settings.max_json_bytes)
    app.add_middleware(SecurityHeaders)
