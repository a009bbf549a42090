"""Catalog search over models and resources: `resourceId` globs, visibility from the policy, paging in SQL."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from ..auth import policy
from ..auth.policy import Action, Principal
from ..db.tables import Artifact, Org, Team, Version


@dataclass(frozen=True)
class Query:
    kind: str
    pattern: str = "*"
    page: int = 0
    page_size: int = 100


def glob_to_like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def _visible(principal: Principal):
    org_ids, team_ids = policy.spaces_allowing(principal, Action.VIEW)
    return or_(Artifact.is_public, Artifact.org_id.in_(org_ids) if org_ids else false(),
               Artifact.team_id.in_(team_ids) if team_ids else false())


def _run(session: Session, query: Query, *where) -> tuple[list[Artifact], int]:
    base = select(Artifact).where(Artifact.kind == query.kind,
                                  Artifact.resource_id.like(glob_to_like(query.pattern), escape="\\"), *where)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.scalars(base.options(selectinload(Artifact.org), selectinload(Artifact.team))
                           .order_by(Artifact.resource_id).offset(query.page * query.page_size)
                           .limit(query.page_size))
    return list(rows), total


def search_catalog(session: Session, principal: Principal, query: Query) -> tuple[list[Artifact], int]:
    """Public content of orgs the caller does not belong to (their own orgs come from `search_space`)."""
    member_orgs = {grant.org_id for grant in principal.grants}
    outside = Artifact.org_id.not_in(member_orgs) if member_orgs else Artifact.is_public
    return _run(session, query, Artifact.is_public, outside)


def search_space(session: Session, principal: Principal, query: Query, org: Org,
                 team: Team | None) -> tuple[list[Artifact], int]:
    """What the caller may see in an org, or in a team and the org space above it."""
    where = [Artifact.org_id == org.id, _visible(principal)]
    if team is not None:
        where.append(or_(Artifact.team_id.is_(None), Artifact.team_id == team.id))
    return _run(session, query, *where)


def latest_sizes(session: Session, artifacts: list[Artifact]) -> dict[int, int]:
    ids = [a.id for a in artifacts if a.latest_version]
    if not ids:
        return {}
    rows = session.execute(select(Version.artifact_id, Version.version, Version.total_size)
                           .where(Version.artifact_id.in_(ids)))
    latest = {a.id: a.latest_version for a in artifacts}
    return {aid: size for aid, version, size in rows if latest.get(aid) == version}
