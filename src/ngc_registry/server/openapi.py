"""The OpenAPI description at `/openapi.json`, completed for clients and fuzzers (schemathesis): every operation
lists the error envelope it may answer with, NGC answers carry `requestStatus`, and path parameters that a route
converter restricts (`{kind:kind}`) name their values. FastAPI derives the rest from the routes themselves."""

from __future__ import annotations

import copy
import warnings

from fastapi import FastAPI

from ..refs import is_ngc_path

_STATUS = {"type": "object", "required": ["statusCode", "requestId"],
           "properties": {"statusCode": {"type": "string"}, "statusDescription": {"type": "string"},
                          "requestId": {"type": "string"}}}
NGC_ERROR = {"type": "object", "required": ["requestStatus"], "properties": {"requestStatus": _STATUS}}
OCI_ERROR = {"type": "object", "required": ["errors"], "properties": {"errors": {
    "type": "array", "minItems": 1, "items": {"type": "object", "required": ["code", "message"],
                                              "properties": {"code": {"type": "string"},
                                                             "message": {"type": "string"}}}}}}
ERRORS = {400: "Invalid request", 401: "Authentication required or credentials invalid", 403: "Not allowed",
          404: "Not found", 405: "Method not allowed", 409: "Conflict (already exists, or content mismatch)",
          413: "Request body too large", 416: "Range not satisfiable", 429: "Too many requests",
          503: "Temporarily unavailable", 507: "Insufficient storage"}
# NGC answers whose body is not an NGC document (token endpoint, health probes, the description itself).
_PLAIN_NGC = ("/token", "/health", "/healthz", "/readyz", "/metrics", "/openapi.json", "/_storage/")
_PATH_ENUMS = {"kind": ["models", "resources"]}


def _error_responses(path: str) -> dict:
    name = "NgcError" if is_ngc_path(path) else "OciError"
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}
    return {str(status): {"description": text, "content": content} for status, text in ERRORS.items()}


def _requires_request_status(path: str, operation: dict) -> None:
    if not is_ngc_path(path) or path.startswith(_PLAIN_NGC):
        return
    for media in operation.get("responses", {}).get("200", {}).get("content", {}).values():
        schema = media.setdefault("schema", {})
        if "$ref" not in schema:
            schema.setdefault("required", []).append("requestStatus")
            schema.setdefault("properties", {})["requestStatus"] = copy.deepcopy(_STATUS)


def _complete_operation(path: str, method: str, operation: dict) -> None:
    operation["operationId"] = f"{method}{path}".replace("/", "_").replace("{", "").replace("}", "")
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path" and parameter.get("name") in _PATH_ENUMS:
            parameter["schema"] = {"type": "string", "enum": _PATH_ENUMS[parameter["name"]]}
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)  # validation errors are answered as 400 with the envelope
    for status, response in _error_responses(path).items():
        responses.setdefault(status, response)
    _requires_request_status(path, operation)


def complete(schema: dict) -> dict:
    schema.setdefault("components", {}).setdefault("schemas", {}).update(NgcError=NGC_ERROR, OciError=OCI_ERROR)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                _complete_operation(path, method, operation)
    return schema


def install_openapi(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict:
        if getattr(app.state, "openapi_completed", None) is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # GET and HEAD of one function share an operation id until renamed
                app.state.openapi_completed = complete(copy.deepcopy(generate()))
        return app.state.openapi_completed

    app.openapi = openapi
