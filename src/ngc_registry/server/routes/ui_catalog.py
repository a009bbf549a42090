"""The catalog: search and filters, and the page of a model or a model-script (resource).

Images: the OCI work adds them in parallel. To show them, add "images" to KINDS with its search, and an image page
(tags, sizes, architectures, digests, `docker pull`) in a ui_images.py module next to this one.
"""

from __future__ import annotations

import math

from fastapi import Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from ...errors import BadRequestError, NotFoundError
from ...refs import parse_target
from ..auth import policy
from ..auth.policy import Action
from ..db.tables import Artifact, Version
from ..deps import DB
from ..services import artifacts, catalog
from .artifact_views import RESOURCE_TEXT_FIELDS
from .ngc_artifacts import download_url, find, scope_of
from .ui_base import CurrentVisitor, Visitor, page, redirect, ui_router
from .ui_markdown import render_markdown

router = ui_router()

KINDS = {"models": "Models", "resources": "Model-scripts"}
CLI_KIND = {"models": "model", "resources": "resource"}
PAGE_SIZE = 20
RESOURCE_SECTIONS = {"quickStartGuide": "Quick start guide", "setup": "Setup", "performance": "Performance",
                     "advanced": "Advanced"}


@router.get("/")
def home(request: Request, visitor: CurrentVisitor) -> Response:
    return redirect(request, "/catalog")


def _filters(kind: str, q: str, space: str, application: str, framework: str, precision: str, label: str,
             page_number: int) -> catalog.Filters:
    if kind not in KINDS:
        raise BadRequestError(f"Unknown kind '{kind}': choose one of {', '.join(KINDS)}.")
    org, _, team = space.partition("/")
    return catalog.Filters(kind=kind, text=q[:200], org=org, team=team, application=application,
                           framework=framework, precision=precision, label=label[:200],
                           page=max(page_number - 1, 0), page_size=PAGE_SIZE)


@router.get("/catalog")
def catalog_page(request: Request, session: DB, visitor: CurrentVisitor, kind: str = "models", q: str = "",
                 space: str = "", application: str = "", framework: str = "", precision: str = "", label: str = "",
                 page_number: int = Query(1, le=1_000_000)) -> Response:
    filters = _filters(kind, q, space, application, framework, precision, label, page_number)
    found = catalog.find(session, visitor.principal, filters)
    pages = max(math.ceil(found.total / PAGE_SIZE), 1)
    query = {k: v for k, v in request.query_params.items() if k != "page_number"}
    return page(request, "catalog.html", kinds=KINDS, filters=filters, space=space, found=found,
                facets=catalog.facets(session, visitor.principal, kind), page_number=filters.page + 1,
                pages=pages, query=query)


def _selected_version(session: Session, artifact: Artifact, versions: list[Version], wanted: str) -> Version | None:
    if wanted:
        return artifacts.get_version(session, artifact, wanted)
    if artifact.latest_version:
        return next((v for v in versions if v.version == artifact.latest_version), None)
    return versions[0] if versions else None


def _commands(kind: str, target: str, version: Version | None) -> list[tuple[str, str]]:
    noun = CLI_KIND[kind]
    commands = [("Show its information", f"ngc registry {noun} info {target}")]
    if version is not None:
        commands.append(("Download this version", f"ngc registry {noun} download-version {target}:{version.version}"))
        commands.append(("List its files", f"ngc registry {noun} info {target}:{version.version} --files"))
    return commands


def _artifact_page(request: Request, session: Session, visitor: Visitor, kind: str, org: str, team: str | None,
                   name: str, version: str) -> Response:
    artifact = find(session, visitor.principal, kind, org, team, name)
    versions = artifacts.list_versions(session, artifact)
    selected = _selected_version(session, artifact, versions, version)
    files = artifacts.version_files(session, selected) if selected else []
    sections = {title: render_markdown(artifact.meta.get(field)) for field, title in RESOURCE_SECTIONS.items()
                if field in RESOURCE_TEXT_FIELDS and artifact.meta.get(field)}
    return page(request, "artifact.html", kind=kind, kind_label=KINDS[kind], artifact=artifact, meta=artifact.meta,
                versions=versions, selected=selected, files=files, sections=sections,
                overview=render_markdown(artifact.meta.get("description")),
                version_notes=render_markdown((selected.meta.get("description") if selected else "") or ""),
                can_download=policy.allows(visitor.principal, Action.DOWNLOAD, scope_of(artifact)),
                complete=selected is not None and selected.status == artifacts.COMPLETE,
                commands=_commands(kind, artifact.resource_id, selected))


@router.get("/catalog/{kind:kind}/{org}/{name}")
def artifact_page(kind: str, org: str, name: str, request: Request, session: DB, visitor: CurrentVisitor,
                  version: str = "") -> Response:
    return _artifact_page(request, session, visitor, kind, org, None, name, version)


@router.get("/catalog/{kind:kind}/{org}/{team}/{name}")
def team_artifact_page(kind: str, org: str, team: str, name: str, request: Request, session: DB,
                       visitor: CurrentVisitor, version: str = "") -> Response:
    return _artifact_page(request, session, visitor, kind, org, team, name, version)


@router.get("/catalog/{kind:kind}/download")
def download_file(kind: str, request: Request, session: DB, visitor: CurrentVisitor, resource: str = "",
                  version: str = "", path: str = "") -> Response:
    """One file of a version: checked like the API's download, then a redirect to a fresh signed storage URL."""
    target = parse_target(resource, version_allowed=False)
    artifact = find(session, visitor.principal, kind, target.org, target.team, target.name, Action.DOWNLOAD)
    row = artifacts.get_version(session, artifact, version)
    if row.status != artifacts.COMPLETE:
        raise BadRequestError(f"'{artifact.resource_id}:{version}' is still being uploaded.")
    files = artifacts.version_files(session, row, path)
    if not files:
        raise NotFoundError(f"File '{path}' not found in '{artifact.resource_id}:{version}'.")
    return redirect_to_storage(download_url(request, files[0].digest, files[0].path, files[0].size))


def redirect_to_storage(url: str) -> Response:
    return Response(status_code=303, headers={"Location": url, "Cache-Control": "no-store"})
