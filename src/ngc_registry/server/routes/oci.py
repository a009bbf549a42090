"""OCI distribution API v1.1 at /v2/: pull, push (monolithic, chunked, mount), tags, referrers, catalog, delete.

Each handler streams bytes itself and does its metadata work in short transactions on a worker thread (`_db`), so
no database connection is held while a layer is in flight. Permissions: `services.images.authorize`.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from ...errors import DigestInvalidError, PayloadTooLargeError, SizeInvalidError, UnauthorizedError
from ..blob_files import BlobFileResponse
from ..db.base import transaction
from ..db.tables import ImageUpload
from ..services import images, images_auth, images_blobs, images_manifests
from ..services.images_formats import OCI_INDEX
from .storage import MERGE_BYTES, remote_blob

router = APIRouter()

API_VERSION = {"Docker-Distribution-API-Version": "registry/2.0"}
NAME = "/v2/{name:path}"
UPLOADS = NAME + "/blobs/uploads"


async def _db(request: Request, work, *args):
    """`work(session, principal, *args)` in one transaction on a worker thread, as the request's caller.

    Two first pushes to one repository race to create the same rows; the loser runs again and finds them.
    """
    state, header = request.app.state, request.headers.get("authorization")

    def run():
        for attempt in (1, 2):
            try:
                with transaction(state.sessions) as session:
                    return work(session, images_auth.authenticate(session, header, state.token_secret), *args)
            except IntegrityError:
                if attempt == 2:
                    raise

    return await run_in_threadpool(run)


def _caller(_session, principal):
    return principal


async def _receive(request: Request, writer) -> str:
    """Stream the body into a HashingWriter, in ~1 MiB writes on a worker thread; durable when this returns."""
    pending: list[bytes] = []
    buffered = 0
    try:
        async for chunk in request.stream():
            pending.append(chunk)
            buffered += len(chunk)
            if buffered >= MERGE_BYTES:
                await run_in_threadpool(writer.write, b"".join(pending))
                pending, buffered = [], 0
        if pending:
            await run_in_threadpool(writer.write, b"".join(pending))
        return await run_in_threadpool(writer.finish)
    except BaseException:
        await run_in_threadpool(writer.discard)
        raise


async def _read_manifest(request: Request) -> bytes:
    limit = request.app.state.settings.max_manifest_bytes
    too_large = PayloadTooLargeError(f"Manifests are limited to {limit} bytes.")
    if int(request.headers.get("content-length") or 0) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def _next_link(path: str, n: int, last: str) -> str:
    return f'<{path}?n={n}&last={quote(last, safe="")}>; rel="next"'


def _created(name: str, kind: str, digest: str, **extra: str) -> Response:
    headers = {**API_VERSION, "Location": f"/v2/{name}/{kind}/{digest}", "Docker-Content-Digest": digest, **extra}
    return Response(status_code=201, headers=headers)


def _upload_status(name: str, upload: ImageUpload, status: int) -> Response:
    return Response(status_code=status, headers={
        **API_VERSION, "Location": f"/v2/{name}/blobs/uploads/{upload.id}",
        "Range": images_blobs.uploaded_range(upload), "Docker-Upload-UUID": upload.id})


@router.get("/v2/")
async def base(request: Request) -> JSONResponse:
    if (await _db(request, _caller)).is_guest:
        raise UnauthorizedError("Authentication required.")
    return JSONResponse({}, headers=API_VERSION)


@router.get("/v2/_catalog")
async def catalog(request: Request, n: int = Query(1000, ge=0, le=10000), last: str | None = None) -> JSONResponse:
    names, more = await _db(request, images.catalog, n, last)
    headers = {**API_VERSION, "Link": _next_link("/v2/_catalog", n, names[-1])} if more else API_VERSION
    return JSONResponse({"repositories": names}, headers=headers)


@router.get(NAME + "/tags/list")
async def list_tags(name: str, request: Request, n: int | None = Query(None, ge=0, le=10000),
                    last: str | None = None) -> JSONResponse:
    tags, more = await _db(request, images.tags_for, name, n, last)
    headers = {**API_VERSION, "Link": _next_link(f"/v2/{name}/tags/list", n, tags[-1])} if more else API_VERSION
    return JSONResponse({"name": name, "tags": tags}, headers=headers)


@router.get(NAME + "/referrers/{digest}")
async def list_referrers(name: str, digest: str, request: Request,
                         artifact_type: str | None = Query(None, alias="artifactType")) -> JSONResponse:
    found = await _db(request, images_manifests.referrers, name, digest, artifact_type)
    headers = {**API_VERSION, "OCI-Filters-Applied": "artifactType"} if artifact_type else API_VERSION
    return JSONResponse({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": found}, media_type=OCI_INDEX,
                        headers=headers)


@router.api_route(NAME + "/manifests/{reference}", methods=["GET", "HEAD"])
async def get_manifest(name: str, reference: str, request: Request) -> Response:
    store = request.app.state.store
    row, path = await _db(request, images_manifests.get_manifest, store, name, reference)
    headers = {**API_VERSION, "Docker-Content-Digest": row.digest}
    if path is None:
        return Response(await run_in_threadpool(_read_all, store, row.digest), media_type=row.media_type,
                        headers=headers)
    return BlobFileResponse(path, media_type=row.media_type, headers=headers)


def _read_all(store, digest: str) -> bytes:
    """A manifest's bytes (manifests are limited to max_manifest_bytes)."""
    with store.open_blob(digest) as stream:
        return stream.read()


@router.put(NAME + "/manifests/{reference}")
async def put_manifest(name: str, reference: str, request: Request) -> Response:
    body = await _read_manifest(request)
    digest, subject = await _db(request, images_manifests.put_manifest, request.app.state.store, name, reference,
                                body, request.headers.get("content-type"))
    return _created(name, "manifests", digest, **({"OCI-Subject": subject} if subject else {}))


@router.delete(NAME + "/manifests/{reference}")
async def delete_manifest(name: str, reference: str, request: Request) -> Response:
    await _db(request, images_manifests.delete_manifest, name, reference)
    return Response(status_code=202, headers=API_VERSION)


async def _monolithic(request: Request, name: str, digest: str) -> Response:
    """POST ?digest= with the whole blob as the body: verified, published, linked in one request."""
    store = request.app.state.store
    await _db(request, images_blobs.authorize_push, name)
    writer = await run_in_threadpool(store.temp_writer)
    sha256 = await _receive(request, writer)
    try:
        await run_in_threadpool(images_blobs.verify, store, writer.path, sha256, digest)
    except DigestInvalidError:
        await run_in_threadpool(writer.discard)
        raise
    await _db(request, images_blobs.add_verified_blob, store, name, digest, writer.path, writer.size)
    return _created(name, "blobs", digest)


@router.post(UPLOADS + "/")
@router.post(UPLOADS)
async def start_upload(name: str, request: Request, digest: str | None = None, mount: str | None = None,
                       source: str | None = Query(None, alias="from")) -> Response:
    if mount and await _db(request, images_blobs.mount, request.app.state.store, name, mount, source):
        return _created(name, "blobs", mount)
    if digest is not None:
        return await _monolithic(request, name, images_blobs.parse_digest(digest))
    upload = await _db(request, images_blobs.start_upload, name)
    return _upload_status(name, upload, 202)


@router.get(UPLOADS + "/{upload_id}")
async def upload_status(name: str, upload_id: str, request: Request) -> Response:
    upload = await _db(request, images_blobs.open_upload, name, upload_id)
    return _upload_status(name, upload, 204)


async def _append_chunk(request: Request, name: str, upload: ImageUpload) -> ImageUpload:
    """Store the request body as the upload's next part file, then count it; an empty body changes nothing."""
    store, upload_id = request.app.state.store, upload.id
    chunk_range = images_blobs.parse_content_range(request.headers.get("content-range"))
    images_blobs.check_chunk_start(upload, chunk_range)
    number = upload.chunks + 1
    writer = await run_in_threadpool(store.chunk_writer, upload_id, number, upload.size)
    sha256 = await _receive(request, writer)
    if writer.size == 0 and chunk_range is None:
        await run_in_threadpool(writer.discard)
        return upload
    try:
        images_blobs.check_chunk_length(chunk_range, writer.size)
    except SizeInvalidError:
        await run_in_threadpool(writer.discard)
        raise
    await run_in_threadpool(store.keep_part, writer, upload_id, number)
    return await _db(request, images_blobs.record_chunk, name, upload_id, upload.size, writer.size, sha256)


@router.patch(UPLOADS + "/{upload_id}")
async def upload_chunk(name: str, upload_id: str, request: Request) -> Response:
    upload = await _db(request, images_blobs.open_upload, name, upload_id)
    return _upload_status(name, await _append_chunk(request, name, upload), 202)


@router.put(UPLOADS + "/{upload_id}")
async def finish_upload(name: str, upload_id: str, request: Request, digest: str | None = None) -> Response:
    """Close an upload (with an optional last chunk): verify the whole blob, publish it, link it."""
    store, upload = request.app.state.store, await _db(request, images_blobs.open_upload, name, upload_id)
    expected = images_blobs.parse_digest(digest)
    upload = await _append_chunk(request, name, upload)
    path, sha256, size = await run_in_threadpool(store.upload_chunks, upload_id, upload.chunks, upload.sha256,
                                                 upload.size)
    try:
        await run_in_threadpool(images_blobs.verify, store, path, sha256, expected)
    except DigestInvalidError:
        await run_in_threadpool(store.delete_source, path)
        await _cancel(request, name, upload_id)
        raise
    await _db(request, images_blobs.complete_upload, store, name, upload_id, expected, path, size)
    await run_in_threadpool(store.drop_upload, upload_id)
    return _created(name, "blobs", expected)


async def _cancel(request: Request, name: str, upload_id: str) -> None:
    await _db(request, images_blobs.cancel_upload, name, upload_id)
    await run_in_threadpool(request.app.state.store.drop_upload, upload_id)


@router.delete(UPLOADS + "/{upload_id}")
async def cancel_upload(name: str, upload_id: str, request: Request) -> Response:
    await _cancel(request, name, upload_id)
    return Response(status_code=204, headers=API_VERSION)


class _BlobResponse(BlobFileResponse):
    """A blob, with `Range: bytes=a-b,c-d,...` answered as distribution (Go's http.ServeContent) answers it.

    One multipart part per range asked, in the order asked: podman's partial pulls of zstd:chunked layers ask for
    one range per file, often adjacent ones, and count the parts; Starlette's merging of adjacent ranges made them
    fail and download the whole layer again. Ranges adding up to more than the blob get the whole blob (200).
    """

    max_ranges = 1024  # containers/storage asks for up to 1024 at once

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        ranges = super()._parse_range_header(http_range, file_size)  # 400 or 416 when malformed; [] past max_ranges
        if ranges:
            ranges = cls._parse_ranges(http_range.split("=", 1)[1], file_size)
        return ranges if sum(end - start for start, end in ranges) <= file_size else []


@router.api_route(NAME + "/blobs/{digest}", methods=["GET", "HEAD"])
async def get_blob(name: str, digest: str, request: Request) -> Response:
    path, size = await _db(request, images_blobs.blob_for_pull, request.app.state.store, name, digest)
    if path is None:
        return await remote_blob(request, digest, size, {**API_VERSION, "Docker-Content-Digest": digest})
    return _BlobResponse(path, media_type="application/octet-stream",
                         headers={**API_VERSION, "Docker-Content-Digest": digest})


@router.delete(NAME + "/blobs/{digest}")
async def delete_blob(name: str, digest: str, request: Request) -> Response:
    await _db(request, images_blobs.delete_blob, name, digest)
    return Response(status_code=202, headers=API_VERSION)
