"""OCI distribution API. So far only the base endpoint, which tells docker-style clients how to authenticate."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ...errors import UnauthorizedError
from ..deps import Caller

router = APIRouter()


@router.get("/v2/")
def base(principal: Caller) -> JSONResponse:
    if principal.is_guest:
        raise UnauthorizedError("Authentication required.")
    return JSONResponse({}, headers={"Docker-Distribution-API-Version": "registry/2.0"})
