"""The one registry of error codes, shared by the server (which renders them) and the client (which raises them).

Each code has a wire name, an HTTP status, a default message and the CLI exit code it maps to. The server renders
a `RegistryError` as the NGC envelope on NGC paths and as the OCI envelope on OCI paths; the client turns a
response back into the same typed exception; the CLI prints its message and exits with its exit code.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_TRANSFER_FAILED = 3
EXIT_TERMINATED = 4
EXIT_INCOMPLETE = 5
EXIT_INTERRUPTED = 130


class RegistryError(Exception):
    """Base of every error the product raises on purpose. Subclasses are generated from `_CODES` below."""

    code = "INTERNAL_ERROR"
    status = 500
    default_message = "Internal server error."
    exit_code = EXIT_ERROR
    oci_code = "UNKNOWN"

    def __init__(self, message: str | None = None, *, detail: object = None, status: int | None = None):
        self.message = message or self.default_message
        self.detail = detail
        if status is not None:
            self.status = status
        super().__init__(self.message)

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "detail": self.detail}


# wire name: (HTTP status, default message, OCI code, CLI exit code)
_CODES: dict[str, tuple[int, str, str, int]] = {
    "BAD_REQUEST": (400, "Bad request.", "UNSUPPORTED", EXIT_ERROR),
    "INVALID_ARGUMENT": (400, "Invalid argument.", "UNSUPPORTED", EXIT_USAGE),
    "INVALID_NAME": (400, "Invalid name.", "NAME_INVALID", EXIT_ERROR),
    "UNAUTHORIZED": (401, "Authentication required.", "UNAUTHORIZED", EXIT_ERROR),
    "INVALID_API_KEY": (401, "Invalid API key", "UNAUTHORIZED", EXIT_ERROR),
    "FORBIDDEN": (403, "Access denied.", "DENIED", EXIT_ERROR),
    "NOT_FOUND": (404, "Not found.", "NAME_UNKNOWN", EXIT_ERROR),
    "ORG_NOT_FOUND": (404, "Org not found.", "NAME_UNKNOWN", EXIT_ERROR),
    "TEAM_NOT_FOUND": (404, "Team not found.", "NAME_UNKNOWN", EXIT_ERROR),
    "USER_NOT_FOUND": (404, "User not found.", "NAME_UNKNOWN", EXIT_ERROR),
    "KEY_NOT_FOUND": (404, "Key not found.", "NAME_UNKNOWN", EXIT_ERROR),
    "ROLE_NOT_FOUND": (400, "Role not found.", "UNSUPPORTED", EXIT_ERROR),
    "ALREADY_EXISTS": (409, "Already exists.", "UNSUPPORTED", EXIT_ERROR),
    "INTEGRITY_ERROR": (409, "Uploaded content does not match its digest.", "DIGEST_INVALID", EXIT_TRANSFER_FAILED),
    "RANGE_NOT_SATISFIABLE": (416, "Requested range not satisfiable.", "BLOB_UPLOAD_INVALID", EXIT_ERROR),
    "PAYLOAD_TOO_LARGE": (413, "Request body too large.", "SIZE_INVALID", EXIT_ERROR),
    "RATE_LIMITED": (429, "Too many requests.", "TOOMANYREQUESTS", EXIT_ERROR),
    "NOT_IMPLEMENTED": (501, "Not implemented.", "UNSUPPORTED", EXIT_ERROR),
    "INTERNAL_ERROR": (500, "Internal server error.", "UNKNOWN", EXIT_ERROR),
    "UNAVAILABLE": (503, "Service unavailable.", "UNAVAILABLE", EXIT_ERROR),
    "INSUFFICIENT_STORAGE": (507, "Insufficient storage.", "UNKNOWN", EXIT_ERROR),
    "CONNECTION_FAILED": (0, "Unable to connect to the server.", "UNKNOWN", EXIT_ERROR),
    "CONFIG_ERROR": (0, "Invalid configuration.", "UNKNOWN", EXIT_ERROR),
    "TRANSFER_FAILED": (0, "Transfer failed.", "UNKNOWN", EXIT_TRANSFER_FAILED),
    # The OCI distribution codes, under their own names (spec.md, "Error Codes").
    "BLOB_UNKNOWN": (404, "Blob unknown to registry.", "BLOB_UNKNOWN", EXIT_ERROR),
    "BLOB_UPLOAD_UNKNOWN": (404, "Blob upload unknown to registry.", "BLOB_UPLOAD_UNKNOWN", EXIT_ERROR),
    "BLOB_UPLOAD_INVALID": (400, "Blob upload invalid.", "BLOB_UPLOAD_INVALID", EXIT_ERROR),
    "DIGEST_INVALID": (400, "Provided digest did not match uploaded content.", "DIGEST_INVALID", EXIT_ERROR),
    "MANIFEST_UNKNOWN": (404, "Manifest unknown.", "MANIFEST_UNKNOWN", EXIT_ERROR),
    "MANIFEST_INVALID": (400, "Manifest invalid.", "MANIFEST_INVALID", EXIT_ERROR),
    "MANIFEST_BLOB_UNKNOWN": (400, "Manifest references a blob unknown to the registry.", "MANIFEST_BLOB_UNKNOWN",
                              EXIT_ERROR),
    "NAME_UNKNOWN": (404, "Repository name not known to registry.", "NAME_UNKNOWN", EXIT_ERROR),
    "NAME_INVALID": (400, "Invalid repository name.", "NAME_INVALID", EXIT_ERROR),
    "TAG_INVALID": (400, "Invalid tag.", "TAG_INVALID", EXIT_ERROR),
    "SIZE_INVALID": (400, "Provided length did not match content length.", "SIZE_INVALID", EXIT_ERROR),
    "UNSUPPORTED": (405, "The operation is unsupported.", "UNSUPPORTED", EXIT_ERROR),
    "DENIED": (403, "Requested access to the resource is denied.", "DENIED", EXIT_ERROR),
}


def _class_name(code: str) -> str:
    return "".join(part.capitalize() for part in code.split("_")) + "Error"


# Each specific code subclasses the generic one of its HTTP status, so `except NotFoundError` also catches
# ORG_NOT_FOUND, BLOB_UNKNOWN and the rest.
_GENERIC_BY_STATUS = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND"}


def _make_class(code: str, base: type[RegistryError], status: int, message: str, oci: str,
                exit_code: int) -> type[RegistryError]:
    attrs = {"code": code, "status": status, "default_message": message, "oci_code": oci, "exit_code": exit_code}
    return type(_class_name(code), (base,), attrs)


def _build_registry() -> dict[str, type[RegistryError]]:
    built = {code: _make_class(code, RegistryError, *_CODES[code]) for code in _GENERIC_BY_STATUS.values()}
    for code, spec in _CODES.items():
        if code not in built:
            base = built.get(_GENERIC_BY_STATUS.get(spec[0], ""), RegistryError)
            built[code] = _make_class(code, base, *spec)
    return built


ERRORS: dict[str, type[RegistryError]] = _build_registry()

BadRequestError = ERRORS["BAD_REQUEST"]
InvalidArgumentError = ERRORS["INVALID_ARGUMENT"]
InvalidNameError = ERRORS["INVALID_NAME"]
UnauthorizedError = ERRORS["UNAUTHORIZED"]
InvalidApiKeyError = ERRORS["INVALID_API_KEY"]
ForbiddenError = ERRORS["FORBIDDEN"]
NotFoundError = ERRORS["NOT_FOUND"]
OrgNotFoundError = ERRORS["ORG_NOT_FOUND"]
TeamNotFoundError = ERRORS["TEAM_NOT_FOUND"]
UserNotFoundError = ERRORS["USER_NOT_FOUND"]
KeyNotFoundError = ERRORS["KEY_NOT_FOUND"]
RoleNotFoundError = ERRORS["ROLE_NOT_FOUND"]
AlreadyExistsError = ERRORS["ALREADY_EXISTS"]
PayloadTooLargeError = ERRORS["PAYLOAD_TOO_LARGE"]
IntegrityError = ERRORS["INTEGRITY_ERROR"]
RangeNotSatisfiableError = ERRORS["RANGE_NOT_SATISFIABLE"]
RateLimitedError = ERRORS["RATE_LIMITED"]
InternalError = ERRORS["INTERNAL_ERROR"]
NotImplementedYetError = ERRORS["NOT_IMPLEMENTED"]
UnavailableError = ERRORS["UNAVAILABLE"]
InsufficientStorageError = ERRORS["INSUFFICIENT_STORAGE"]
ConnectionFailedError = ERRORS["CONNECTION_FAILED"]
ConfigError = ERRORS["CONFIG_ERROR"]
TransferFailedError = ERRORS["TRANSFER_FAILED"]
BlobUnknownError = ERRORS["BLOB_UNKNOWN"]
BlobUploadUnknownError = ERRORS["BLOB_UPLOAD_UNKNOWN"]
BlobUploadInvalidError = ERRORS["BLOB_UPLOAD_INVALID"]
DigestInvalidError = ERRORS["DIGEST_INVALID"]
ManifestUnknownError = ERRORS["MANIFEST_UNKNOWN"]
ManifestInvalidError = ERRORS["MANIFEST_INVALID"]
ManifestBlobUnknownError = ERRORS["MANIFEST_BLOB_UNKNOWN"]
NameUnknownError = ERRORS["NAME_UNKNOWN"]
NameInvalidError = ERRORS["NAME_INVALID"]
TagInvalidError = ERRORS["TAG_INVALID"]
SizeInvalidError = ERRORS["SIZE_INVALID"]
UnsupportedError = ERRORS["UNSUPPORTED"]
DeniedError = ERRORS["DENIED"]

_BY_STATUS = {400: BadRequestError, 401: UnauthorizedError, 403: ForbiddenError, 404: NotFoundError,
              409: AlreadyExistsError, 413: PayloadTooLargeError, 416: RangeNotSatisfiableError,
              422: BadRequestError, 429: RateLimitedError, 501: NotImplementedYetError, 503: UnavailableError,
              507: InsufficientStorageError}


def error_from_wire(status: int, code: str | None, message: str | None) -> RegistryError:
    """Rebuild the typed error a server sent: by wire code when known, else by HTTP status."""
    cls = ERRORS.get(code or "") or _BY_STATUS.get(status) or InternalError
    return cls(message or None, status=status)
