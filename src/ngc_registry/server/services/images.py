"""Image repositories `org/[team/]image`: names, the permission check, the repository rows, tags and the catalog.

Every OCI and NGC image operation starts with `authorize`: the policy decides from the caller's roles, and a caller
holding a docker-style token (one with an `access` claim) must also have been granted that action on that name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from ...errors import (
    DeniedError,
    NameInvalidError,
    NameUnknownError,
    OrgNotFoundError,
    TeamNotFoundError,
    UnauthorizedError,
)
from ..auth import policy
from ..auth.policy import Action, Principal, Scope
from ..db.locks import lock_row
from ..db.tables import ImageManifest, ImageRepository, ImageTag, Org, Team, utcnow
from . import audit, orgs

MAX_NAME_LENGTH = 255
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*\Z")
_TAG = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}\Z")

# The docker token action that stands for each policy action.
DOCKER_ACTIONS = {Action.VIEW: "pull", Action.DOWNLOAD: "pull", Action.CREATE: "push", Action.DELETE_IMAGE: "delete"}
CATALOG_GRANT = "catalog:*"


@dataclass(frozen=True)
class Space:
    """Where a repository lives (or would, before its first push): its org, its team and the row once it exists."""

    name: str
    org: Org
    team: Team | None
    image: str
    repository: ImageRepository | None

    def scope(self) -> Scope:
        public = bool(self.repository and self.repository.is_public)
        return Scope(org_id=self.org.id, team_id=self.team.id if self.team else None, public=public)


def split_name(name: str) -> tuple[str, str | None, str]:
    """`org/image` or `org/team/image`, each part an OCI path component."""
    parts = name.split("/")
    if len(name) > MAX_NAME_LENGTH or len(parts) not in (2, 3) or not all(_COMPONENT.match(p) for p in parts):
        raise NameInvalidError(f"Invalid repository name '{name[:300]}': use <org>/[<team>/]<image>, lowercase "
                               "letters and digits separated by '.', '_', '__' or '-'.")
    return (parts[0], None, parts[1]) if len(parts) == 2 else (parts[0], parts[1], parts[2])


def is_valid_tag(tag: str) -> bool:
    return bool(_TAG.match(tag))


def locate(session: Session, name: str) -> Space:
    org_name, team_name, image = split_name(name)
    try:
        org = orgs.get_org(session, org_name)
        team = orgs.get_team(session, org, team_name) if team_name else None
    except (OrgNotFoundError, TeamNotFoundError) as error:
        raise NameUnknownError(f"Repository '{name}' is unknown: {error.message}") from None
    if team is not None and team.name != team_name:
        raise NameUnknownError(f"Repository '{name}' is unknown: team '{team_name}' not found in org '{org_name}'.")
    repository = session.scalar(select(ImageRepository).where(ImageRepository.name == name))
    return Space(name, org, team, image, repository)


def token_allows(principal: Principal, name: str, action: Action) -> bool:
    if principal.token_actions is None:
        return True
    wanted = DOCKER_ACTIONS[action]
    return f"{name}:{wanted}" in principal.token_actions or f"{name}:*" in principal.token_actions


def allows(principal: Principal, space: Space, action: Action) -> bool:
    return policy.allows(principal, action, space.scope()) and token_allows(principal, space.name, action)


def authorize(session: Session, principal: Principal, name: str, action: Action) -> Space:
    """The space of `name` once `action` there is allowed. Guests learn nothing about names they cannot read."""
    try:
        space = locate(session, name)
    except NameUnknownError:
        if principal.is_guest:
            raise UnauthorizedError("Authentication required: this repository is not public.") from None
        raise
    policy.authorize(principal, action, space.scope())
    if not token_allows(principal, name, action):
        if principal.is_guest:
            raise UnauthorizedError("Authentication required: this repository is not public.")
        raise DeniedError(f"Your token does not grant '{DOCKER_ACTIONS[action]}' on '{name}'; "
                          "request a token with that scope.")
    return space


def existing(space: Space) -> ImageRepository:
    if space.repository is None:
        raise NameUnknownError(f"Repository '{space.name}' not found.")
    return space.repository


def repository_for(session: Session, principal: Principal, name: str, action: Action) -> ImageRepository:
    return existing(authorize(session, principal, name, action))


def ensure_repository(session: Session, space: Space, actor_id: int | None) -> ImageRepository:
    """The repository row, created on first use (a push, a mount, or setting its metadata)."""
    if space.repository is not None:
        return space.repository
    repository = ImageRepository(name=space.name, org_id=space.org.id, team_id=space.team.id if space.team else None,
                                 image=space.image, created_by=actor_id, meta={})
    session.add(repository)
    session.flush()
    audit.record(session, actor_id, space.org.id, "images.create", space.name)
    return repository


def touch(repository: ImageRepository) -> None:
    repository.updated_at = utcnow()


def _lexical(session: Session, column):
    """Byte order, as the OCI spec wants, whatever PostgreSQL's locale (SQLite compares bytes already)."""
    return column.collate("C") if session.get_bind().dialect.name == "postgresql" else column


def page_after(query, column, n: int | None, last: str | None, session: Session) -> tuple[list, bool]:
    """One page of a lexically ordered listing, starting after `last`; the flag says whether more follow."""
    column = _lexical(session, column)
    if last:
        query = query.where(column > last)
    query = query.order_by(column)
    if n is None:
        return list(session.scalars(query)), False
    if n == 0:
        return [], False
    rows = list(session.scalars(query.limit(n + 1)))
    return rows[:n], len(rows) > n


def list_tags(session: Session, repository: ImageRepository, n: int | None, last: str | None) -> tuple[list, bool]:
    query = select(ImageTag.name).where(ImageTag.repository_id == repository.id)
    return page_after(query, ImageTag.name, n, last, session)


def tags_for(session: Session, principal: Principal, name: str, n: int | None, last: str | None) -> tuple[list, bool]:
    return list_tags(session, repository_for(session, principal, name, Action.VIEW), n, last)


def visible(principal: Principal):
    """SQL condition: repositories the caller may view (the same rule as `policy.allows`)."""
    org_ids, team_ids = policy.spaces_allowing(principal, Action.VIEW)
    return or_(ImageRepository.is_public, ImageRepository.org_id.in_(org_ids) if org_ids else false(),
               ImageRepository.team_id.in_(team_ids) if team_ids else false())


def _token_names(principal: Principal) -> set[str] | None:
    """The repositories a docker token lets the caller list, or None when the token does not narrow it."""
    if principal.token_actions is None or CATALOG_GRANT in principal.token_actions:
        return None
    return {grant.rsplit(":", 1)[0] for grant in principal.token_actions if grant.endswith((":pull", ":*"))}


def catalog(session: Session, principal: Principal, n: int, last: str | None) -> tuple[list[str], bool]:
    query = select(ImageRepository.name).where(visible(principal))
    names = _token_names(principal)
    if names is not None:
        query = query.where(ImageRepository.name.in_(names) if names else false())
    return page_after(query, ImageRepository.name, n, last, session)


def tags_by_recency(session: Session, repository: ImageRepository) -> list[ImageTag]:
    return list(session.scalars(select(ImageTag).where(ImageTag.repository_id == repository.id)
                                .options(selectinload(ImageTag.manifest))
                                .order_by(ImageTag.updated_at.desc(), ImageTag.name)))


def get_tag(session: Session, repository: ImageRepository, tag: str) -> ImageTag | None:
    return session.scalar(select(ImageTag).where(ImageTag.repository_id == repository.id, ImageTag.name == tag)
                          .options(selectinload(ImageTag.manifest)))


def refresh_latest_tag(session: Session, repository: ImageRepository) -> None:
    """After tags go away: the latest tag is the most recently pushed one still there."""
    if repository.latest_tag and get_tag(session, repository, repository.latest_tag) is not None:
        return
    remaining = tags_by_recency(session, repository)
    repository.latest_tag = remaining[0].name if remaining else None


def latest_manifest(session: Session, repository: ImageRepository) -> ImageManifest | None:
    tag = get_tag(session, repository, repository.latest_tag) if repository.latest_tag else None
    return tag.manifest if tag else None


def update_repository(session: Session, repository: ImageRepository, meta: dict, latest_tag: str | None,
                      actor_id: int | None) -> None:
    if latest_tag is not None and get_tag(session, repository, latest_tag) is None:
        raise NameUnknownError(f"Tag '{latest_tag}' not found in '{repository.name}'.")
    lock_row(session, repository)  # concurrent changes to other fields are kept
    if latest_tag is not None:
        repository.latest_tag = latest_tag
    repository.meta = {**repository.meta, **meta}
    touch(repository)
    audit.record(session, actor_id, repository.org_id, "images.update", repository.name)


def set_public(session: Session, repository: ImageRepository, public: bool, actor_id: int | None) -> None:
    repository.is_public = public
    touch(repository)
    audit.record(session, actor_id, repository.org_id, f"images.public={public}", repository.name)


def delete_repository(session: Session, repository: ImageRepository, actor_id: int | None) -> None:
    """Rows go at once (tags, manifests, links); the bytes stay in the store until garbage collection."""
    audit.record(session, actor_id, repository.org_id, "images.delete", repository.name)
    session.delete(repository)


def _search(session: Session, principal: Principal, like: str, page: int, size: int, *where) -> tuple[list, int]:
    base = select(ImageRepository).where(ImageRepository.name.like(like, escape="\\"), visible(principal), *where)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.scalars(base.options(selectinload(ImageRepository.org), selectinload(ImageRepository.team))
                           .order_by(ImageRepository.name).offset(page * size).limit(size))
    return list(rows), total


def search_catalog(session: Session, principal: Principal, like: str, page: int, size: int) -> tuple[list, int]:
    """Public repositories of orgs the caller does not belong to (their own orgs come from `search_space`)."""
    member_orgs = {grant.org_id for grant in principal.grants}
    outside = ImageRepository.org_id.not_in(member_orgs) if member_orgs else ImageRepository.is_public
    return _search(session, principal, like, page, size, ImageRepository.is_public, outside)


def search_space(session: Session, principal: Principal, like: str, page: int, size: int, org: Org,
                 team: Team | None) -> tuple[list, int]:
    """What the caller may see in an org, or in a team and the org space above it."""
    where = [ImageRepository.org_id == org.id]
    if team is not None:
        where.append(or_(ImageRepository.team_id.is_(None), ImageRepository.team_id == team.id))
    return _search(session, principal, like, page, size, *where)


def latest_sizes(session: Session, repositories: list[ImageRepository]) -> dict[int, int]:
    """Image size of each repository's latest tag, in one query."""
    if not repositories:
        return {}
    rows = session.execute(
        select(ImageRepository.id, ImageManifest.image_size)
        .join(ImageTag, and_(ImageTag.repository_id == ImageRepository.id, ImageTag.name == ImageRepository.latest_tag))
        .join(ImageManifest, ImageManifest.id == ImageTag.manifest_id)
        .where(ImageRepository.id.in_([r.id for r in repositories])))
    return {repository_id: size for repository_id, size in rows}


def edit_repository(session: Session, principal: Principal, name: str, meta: dict, public: bool | None,
                    latest_tag: str | None) -> ImageRepository:
    """Set metadata (and, for those allowed to publish, visibility); a repository not pushed yet is created."""
    space = authorize(session, principal, name, Action.CREATE)
    if public is not None:
        policy.authorize(principal, Action.PUBLISH, space.scope())
    repository = ensure_repository(session, space, principal.user_id)
    if public is not None and public != repository.is_public:
        set_public(session, repository, public, principal.user_id)
    update_repository(session, repository, meta, latest_tag, principal.user_id)
    return repository


def remove_repository(session: Session, principal: Principal, name: str) -> None:
    delete_repository(session, repository_for(session, principal, name, Action.DELETE_IMAGE), principal.user_id)
