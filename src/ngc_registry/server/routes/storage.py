"""Byte transfer through signed URLs (`/_storage/<signed>`): ranged GETs of blobs, PUTs of upload parts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ...errors import BadRequestError, NotFoundError
from ..auth import signed_urls
from ..db.base import transaction
from ..db.tables import Upload
from ..services import transfers

router = APIRouter()

MERGE_BYTES = 1 << 20


class BlobFileResponse(FileResponse):
    chunk_size = 1 << 20  # Starlette's 64 KiB default costs 4x the CPU on large files


@router.get("/_storage/{token}")
async def get_blob(token: str, request: Request) -> Response:
    obj = signed_urls.verify(request.app.state.storage_secret, token, "GET")
    if obj["s"] == 0:
        return Response(b"", status_code=200, media_type="application/octet-stream")
    path = request.app.state.store.blob_path(obj["d"])
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
