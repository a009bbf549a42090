"""Byte transfer through signed URLs (`/_storage/<signed>`): ranged GETs of blobs, PUTs of upload parts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import MalformedRangeHeader, RangeNotSatisfiable

from ...errors import BadRequestError, NotFoundError
from ..auth import signed_urls
from ..blob_files import BlobFileResponse
from ..db.base import transaction
from ..db.tables import Upload
from ..services import transfers

router = APIRouter()

MERGE_BYTES = 1 << 20
REDIRECT_TTL = 20 * 60


def redirect_ttl(settings) -> int:
    """How long a redirect to the object store stays valid: never longer than the registry's own signed URLs."""
    return min(REDIRECT_TTL, settings.signed_url_ttl)


@router.get("/_storage/{token}")
async def get_blob(token: str, request: Request) -> Response:
    obj = signed_urls.verify(request.app.state.storage_secret, token, "GET")
    if obj["s"] == 0:
        return Response(b"", status_code=200, media_type="application/octet-stream")
    store = request.app.state.store
    path = store.local_path(obj["d"])
    if path is None:  # URLs signed before the registry moved to an object store
        url = store.download_url(obj["d"], obj["n"], redirect_ttl(request.app.state.settings))
        return RedirectResponse(url, status_code=307)
    if not path.is_file():
        raise NotFoundError("The object behind this URL no longer exists.")
    return BlobFileResponse(path, media_type="application/octet-stream", filename=obj["n"],
                            content_disposition_type="attachment")


def _load_upload(state, upload_id: str) -> Upload:
    with transaction(state.sessions) as session:
        upload = session.get(Upload, upload_id)
        if upload is None or upload.digest is not None:
            raise BadRequestError("This upload is complete or no longer exists.")
        return upload


def _save_part(state, upload_id: str, number: int, writer) -> str:
    digest = writer.finish()
    with transaction(state.sessions) as session:
        transfers.record_part(session, upload_id, number, writer.size, digest)
    return digest


async def _receive(request: Request, writer) -> None:
    pending: list[bytes] = []
    buffered = 0
    async for chunk in request.stream():
        pending.append(chunk)
        buffered += len(chunk)
        if buffered >= MERGE_BYTES:
            await run_in_threadpool(writer.write, b"".join(pending))
            pending, buffered = [], 0
    if pending:
        await run_in_threadpool(writer.write, b"".join(pending))


@router.put("/_storage/{token}")
async def put_part(token: str, request: Request) -> JSONResponse:
    state = request.app.state
    obj = signed_urls.verify(state.storage_secret, token, "PUT")
    if state.store.presigns:  # signed before the registry moved to an object store
        raise BadRequestError("This upload URL is no longer valid: start the upload again.")
    upload = await run_in_threadpool(_load_upload, state, obj["u"])
    transfers.check_part_number(upload, obj["p"])
    writer = await run_in_threadpool(transfers.PartWriter, state.store, upload, obj["p"])
    try:
        await _receive(request, writer)
        transfers.check_part(upload, obj["p"], writer.size)
    except BaseException:
        await run_in_threadpool(writer.discard)
        raise
    digest = await run_in_threadpool(_save_part, state, upload.id, obj["p"], writer)
    return JSONResponse({"partNumber": obj["p"], "size": writer.size, "sha256": digest or None})


def _one_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The single byte range asked for (start, end exclusive), parsed as local blobs' ranges are; None for the
    whole blob (no range, several, or one that is malformed or unsatisfiable)."""
    if not header or size == 0:
        return None
    try:
        ranges = BlobFileResponse._parse_range_header(header, size)
    except (MalformedRangeHeader, RangeNotSatisfiable):
        return None
    return ranges[0] if len(ranges) == 1 else None


async def remote_blob(request: Request, digest: str, size: int, headers: dict[str, str]) -> Response:
    """A blob of an object store: a 307 to a presigned URL (unless turned off), else streamed through."""
    store, state = request.app.state.store, request.app.state
    headers = {**headers, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
    if request.method == "HEAD":
        return Response(status_code=200, headers={**headers, "Content-Length": str(size)})
    if state.settings.s3_redirect:
        url = await run_in_threadpool(store.download_url, digest, None, redirect_ttl(state.settings))
        return RedirectResponse(url, status_code=307, headers=headers)
    chosen = _one_range(request.headers.get("range"), size)
    span = f"bytes={chosen[0]}-{chosen[1] - 1}" if chosen else None
    stream = await run_in_threadpool(store.open_blob, digest, span)
    if chosen:
        headers["Content-Range"] = f"bytes {chosen[0]}-{chosen[1] - 1}/{size}"
    headers["Content-Length"] = str(chosen[1] - chosen[0] if chosen else size)
    return StreamingResponse(_chunks(stream), status_code=206 if chosen else 200, headers=headers)


async def _chunks(stream):
    try:
        while chunk := await run_in_threadpool(stream.read, MERGE_BYTES):
            yield chunk
    finally:
        stream.close()
