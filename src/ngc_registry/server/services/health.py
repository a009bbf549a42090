"""Readiness: can this process reach the database and write to the store?"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("ngc_registry.health")


def readiness(sessions: sessionmaker[Session], store) -> dict[str, str]:
    """"ok" or "unavailable" for the database and the store (the reasons go to the log, not to the caller)."""
    checks = {}
    for name, probe in (("database", lambda: _ping_database(sessions)), ("store", store.ping)):
        try:
            probe()
            checks[name] = "ok"
        except Exception as error:  # noqa: BLE001  (any failure means "not ready")
            log.warning("readiness: %s unavailable: %s", name, str(error).splitlines()[0] if str(error) else error)
            checks[name] = "unavailable"
    return checks


def _ping_database(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.execute(text("SELECT 1"))
