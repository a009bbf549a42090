"""The web catalog's search: models and resources the caller may see, filtered and paged in SQL.

Visibility is the policy's: public content, plus the orgs and teams where `spaces_allowing(VIEW)` says so.
Filters on metadata read the JSON column the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import Text, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from ..auth import policy
from ..auth.policy import Action, Principal
from ..db.tables import Artifact, Org, Team
from .search import glob_to_like, latest_sizes

FACET_FIELDS = ("application", "framework", "precision")
MAX_FACET_VALUES = 50


@dataclass(frozen=True)
class Filters:
    kind: str = "models"
    text: str = ""
    org: str = ""
    team: str = ""
    application: str = ""
    framework: str = ""
    precision: str = ""
    label: str = ""
    page: int = 0
    page_size: int = 20


@dataclass
class Page:
    items: list[Artifact]
    total: int
    sizes: dict[int, int] = field(default_factory=dict)


def visible(principal: Principal):
    """The SQL condition for 'the caller may view this artifact'."""
    org_ids, team_ids = policy.spaces_allowing(principal, Action.VIEW)
    return or_(Artifact.is_public, Artifact.org_id.in_(org_ids) if org_ids else false(),
               Artifact.team_id.in_(team_ids) if team_ids else false())


def _contains(text: str) -> str:
    return f"%{glob_to_like(text)}%"


def _meta(name: str):
    return Artifact.meta[name].as_string()


def _text_clause(text: str):
    pattern = _contains(text)
    return or_(Artifact.resource_id.ilike(pattern, escape="\\"), _meta("displayName").ilike(pattern, escape="\\"),
               _meta("shortDescription").ilike(pattern, escape="\\"))


def _label_clause(label: str):
    # Labels are a JSON list of strings: its text holds the label exactly as json.dumps writes it, quotes included.
    return func.cast(Artifact.meta["labels"], Text()).like(_contains(json.dumps(label)), escape="\\")


def _space_clauses(session: Session, filters: Filters) -> list:
    if not filters.org:
        return []
    org = session.scalar(select(Org).where(Org.name == filters.org))
    if org is None:
        return [false()]
    if not filters.team:
        return [Artifact.org_id == org.id]
    team = session.scalar(select(Team).where(Team.org_id == org.id, Team.name == filters.team))
    return [Artifact.team_id == team.id] if team else [false()]


def _where(session: Session, principal: Principal, filters: Filters) -> list:
    where = [Artifact.kind == filters.kind, visible(principal), *_space_clauses(session, filters)]
    if filters.text.strip():
        where.append(_text_clause(filters.text.strip()))
    for name in FACET_FIELDS:
        if getattr(filters, name):
            where.append(_meta(name) == getattr(filters, name))
    if filters.label:
        where.append(_label_clause(filters.label))
    return where


def find(session: Session, principal: Principal, filters: Filters) -> Page:
    base = select(Artifact).where(*_where(session, principal, filters))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = list(session.scalars(base.options(selectinload(Artifact.org), selectinload(Artifact.team))
                                .order_by(Artifact.updated_at.desc(), Artifact.id.desc())
                                .offset(filters.page * filters.page_size).limit(filters.page_size)))
    return Page(items=rows, total=total, sizes=latest_sizes(session, rows))


def facets(session: Session, principal: Principal, kind: str) -> dict[str, list[str]]:
    """The values the filters can take among what the caller may see: spaces and metadata fields."""
    where = [Artifact.kind == kind, visible(principal)]
    values = {"spaces": _spaces(session, where)}
    for name in FACET_FIELDS:
        query = select(_meta(name)).where(*where, _meta(name).is_not(None)).distinct()
        values[name] = sorted(v for v in session.scalars(query.limit(MAX_FACET_VALUES)) if v)
    return values


def _spaces(session: Session, where: list) -> list[str]:
    query = (select(Org.name, Team.name).select_from(Artifact).join(Org, Org.id == Artifact.org_id)
             .outerjoin(Team, Team.id == Artifact.team_id).where(*where).distinct())
    spaces = set()
    for org_name, team_name in session.execute(query):
        spaces.add(org_name)
        if team_name:
            spaces.add(f"{org_name}/{team_name}")
    return sorted(spaces)
