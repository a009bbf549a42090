"""`ngc-registry audit`: an org's audit log for the operator — who changed what, when, and from which address."""

from __future__ import annotations

import argparse
import json


def _row(event, email: str | None) -> dict:
    return {"when": event.created_at.strftime("%Y-%m-%d %H:%M:%S"), "who": email or "operator",
            "from": event.client_address or "-", "action": event.action, "target": event.target}


def cmd_audit(args: argparse.Namespace) -> int:
    from .command_setup import require_initialised, settings_from
    from .db.base import make_engine, make_sessionmaker, transaction
    from .services import audit, orgs

    settings = settings_from(args)
    require_initialised(settings)
    with transaction(make_sessionmaker(make_engine(settings.db_url))) as session:
        org = orgs.get_org(session, args.org)
        events, total = audit.events(session, org.id, args.page, args.limit)
        rows = [_row(event, email) for event, email in events]
    for row in rows:
        print(json.dumps(row) if args.json else "  ".join(row[k] for k in ("when", "who", "from", "action", "target")))
    if not args.json:
        print(f"{len(rows)} of {total} events (newest first; --page N for older ones)")
    return 0


def add_audit_command(commands, data_options) -> None:
    audit = commands.add_parser("audit", help="an org's audit log: who changed what, when, from where")
    data_options(audit)
    audit.add_argument("--org", required=True, help="the org whose events to show")
    audit.add_argument("--limit", type=int, default=50, help="events per page (default 50)")
    audit.add_argument("--page", type=int, default=0, help="0 for the newest events, 1 for the next ones, ...")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.set_defaults(handler=cmd_audit)
