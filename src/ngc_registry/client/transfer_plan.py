"""Pure arithmetic and checks of transfers: byte ranges, multipart parts, safe local paths, digests, sizes."""

from __future__ import annotations

import base64
import hashlib
import math
import unicodedata
from pathlib import Path, PurePosixPath

from ..errors import TransferFailedError

RANGE_SIZE = 512 * 1024 * 1024
DEFAULT_PART_SIZE = 500_000_000
READ_SIZE = 1024 * 1024
PARTIAL_DIR = ".ngc-partial"

ByteRange = tuple[int, int]


class UnsafePathError(TransferFailedError):
    """A file path from the server or the source that would escape, or not fit, the transfer's directory."""


def split_ranges(size: int, range_size: int = RANGE_SIZE) -> list[ByteRange]:
    """Half-open [start, end) ranges covering `size` bytes; an empty file has none."""
    if size < 0 or range_size <= 0:
        raise ValueError("size must be >= 0 and range_size > 0")
    return [(start, min(start + range_size, size)) for start in range(0, size, range_size)]


def part_count(size: int, part_size: int = DEFAULT_PART_SIZE) -> int:
    """Parts of a multipart upload: at least one, so an empty file still gets one (empty) part."""
    return max(math.ceil(size / part_size), 1)


def part_range(number: int, size: int, part_size: int = DEFAULT_PART_SIZE) -> ByteRange:
    """The bytes of part `number` (1-based)."""
    if not 1 <= number <= part_count(size, part_size):
        raise ValueError(f"part {number} out of range")
    start = (number - 1) * part_size
    return start, min(start + part_size, size)


def check_relative_path(path: str) -> str:
    """A relative POSIX path with plain components only; raise UnsafePathError otherwise."""
    reason = _unsafe_reason(path) if isinstance(path, str) else "not a string"
    if reason:
        raise UnsafePathError(f"Refusing file path {path!r}: {reason}.")
    return path


def _unsafe_reason(path: str) -> str | None:
    if not path:
        return "it is empty"
    if "\x00" in path or any(unicodedata.category(char) == "Cc" for char in path):
        return "it contains NUL or control characters"
    if "\\" in path:
        return "it contains a backslash"
    if path.startswith("/"):
        return "it is absolute"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "it contains '.', '..' or an empty component"
    if parts[0] == PARTIAL_DIR:
        return f"'{PARTIAL_DIR}' is reserved for partial downloads"
    return None


def local_path(root: Path, path: str) -> Path:
    """Where `path` of a version lands under `root`; never outside it."""
    destination = root.joinpath(*PurePosixPath(check_relative_path(path)).parts)
    resolved_root = root.resolve()
    if resolved_root not in destination.resolve().parents:
        raise UnsafePathError(f"Refusing file path {path!r}: it resolves outside {root}.")
    return destination


def source_relative_path(relative: Path) -> str:
    """The POSIX path of an upload source file as the server must receive it (NFC, checked)."""
    text = relative.as_posix()
    if unicodedata.normalize("NFC", text) != text:
        raise UnsafePathError(f"Refusing file path {text!r}: the server needs names in Unicode NFC form.")
    return check_relative_path(text)


def b64_digest(hasher) -> str:
    """NGC's sha256 spelling: base64 of the binary digest."""
    return base64.b64encode(hasher.digest()).decode()


def file_sha256(path: Path, start: int = 0, read_size: int = READ_SIZE) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb", buffering=0) as stream:
        stream.seek(start)
        while chunk := stream.read(read_size):
            hasher.update(chunk)
    return b64_digest(hasher)


def human_size(size: float) -> str:
    """`230.92 MB` (binary multiples, as NGC's client prints them)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1024 or unit == "TB":
            return f"{size:.2f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def human_duration(seconds: float) -> str:
    """`38s`, `2m 5s`, `1h 0m 3s`."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def speed(size: int, seconds: float) -> str:
    return f"{human_size(size / max(seconds, 1e-3))}/s"
