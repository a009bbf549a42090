"""How image repositories, tags and image transfers read on screen (guide §5.1, PROTOCOL.md §4.2 and §4.5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...client.oci_media import short_digest
from ...client.oci_reference import ImageRef
from ...client.oci_transfer import EXISTS, FAILED, MOUNTED, TRANSFERRED, ImageTransferResult
from ...client.transfer_plan import human_duration, human_size, speed
from ..output import display_value

LIST_COLUMNS = ["Name", "Repository", "Latest Tag", "Image Size", "Updated Date", "Permission"]
TAG_COLUMNS = ["Tag", "Updated Date", "Image Size", "Signed?"]
RULE = "-" * 60
_DATE_FORMATS = ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z")
_ATTRIBUTE_RENAMES = {"size": "latestImageSize"}
_PUSH_WORDS = {EXISTS: "Layer already exists", MOUNTED: "Mounted from another repository", TRANSFERRED: "Pushed",
               FAILED: "Failed"}
_PULL_WORDS = {EXISTS: "Already complete", TRANSFERRED: "Pull complete", FAILED: "Failed"}


def short_date(value: Any) -> str:
    """`Oct 18, 2019`; a value that is not a date is shown as it came."""
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(str(value), pattern).strftime("%b %d, %Y")
        except ValueError:
            continue
    return display_value(value)


def render_info(title: str, pairs: list[tuple[str, Any]]) -> str:
    """The guide's info block; list values are printed one per line under their key."""
    lines = [title]
    for key, value in pairs:
        if isinstance(value, list):
            lines += [f"{key}:"] + [f"    {display_value(item)}" for item in value]
        else:
            lines.append(f"{key}: {display_value(value)}")
    rule = "-" * max(52, *(len(line) for line in lines))
    return "\n".join([rule, *lines, rule])


def size_text(value: Any) -> str:
    try:
        return human_size(int(value))
    except (TypeError, ValueError):
        return ""


def yes_no(value: Any) -> str:
    return "Yes" if value in (True, "true", "True") else "No"


def permission(item: dict) -> str:
    return "unlocked" if item.get("isPublic") in (True, "true", "True") else "locked"


def from_search(resource: dict) -> dict:
    """A CONTAINER search result as an image repository: attributes and labels flattened, dates renamed."""
    renames = {"dateModified": "updatedDate", "dateCreated": "createdDate"}
    item = {renames.get(key, key): value for key, value in resource.items() if key not in ("attributes", "labels")}
    for attribute in resource.get("attributes") or []:
        item[_ATTRIBUTE_RENAMES.get(attribute.get("key"), attribute.get("key"))] = attribute.get("value")
    for label in resource.get("labels") or []:
        values = label.get("values") or []
        item[label.get("key")] = values if label.get("key") == "productNames" else " ".join(values)
    return item


def repository_name(item: dict) -> str:
    parts = (item.get("orgName"), item.get("teamName"), item.get("name"))
    return item.get("resourceId") or "/".join(part for part in parts if part)


def list_row(item: dict) -> list:
    return [item.get("displayName") or item.get("name"), repository_name(item), item.get("latestTag"),
            size_text(item.get("latestImageSize")), short_date(item.get("updatedDate")), permission(item)]


def tag_row(image: dict) -> list:
    return [image.get("tag"), short_date(image.get("updatedDate")), size_text(image.get("size")),
            yes_no(image.get("isSigned"))]


def repository_pairs(ref: ImageRef, repo: dict) -> list[tuple[str, Any]]:
    return [("Name", ref.repository), ("Display Name", repo.get("displayName")),
            ("Short Description", repo.get("shortDescription")), ("Built By", repo.get("builtBy")),
            ("Publisher", repo.get("publisher")), ("Multinode Support", yes_no(repo.get("isMultinodeSupported"))),
            ("Multi-Arch Support", yes_no(len(repo.get("latestArchitectureVariants") or []) > 1)),
            ("Logo", repo.get("logo")), ("Labels", list(repo.get("labels") or [])),
            ("Public", yes_no(repo.get("isPublic"))), ("Access Type", repo.get("accessType")),
            ("Associated Products", repo.get("productNames")), ("Last Updated", short_date(repo.get("updatedDate"))),
            ("Latest Image Size", size_text(repo.get("latestImageSize"))),
            ("Signed Tag?", yes_no(repo.get("hasSignedTag", repo.get("isSigned")))),
            ("Latest Tag", repo.get("latestTag")), ("Tags", list(repo.get("tags") or []))]


def architectures(image: dict, tag: dict) -> str:
    variants = [variant.get("architecture") for variant in tag.get("architectureVariants") or []]
    return image.get("architecture") or ", ".join(v for v in variants if v)


def image_pairs(ref: ImageRef, image: dict, tag: dict) -> list[tuple[str, Any]]:
    return [("Name", str(ref)), ("Architecture", architectures(image, tag)), ("Image Size", size_text(tag.get("size"))),
            ("Digest", tag.get("digest")), ("Schema Version", image.get("schemaVersion")),
            ("Signed?", yes_no(tag.get("isSigned"))), ("Last Updated", short_date(tag.get("updatedDate")))]


# -- transfers ------------------------------------------------------------------------------------------------


def blob_lines(result: ImageTransferResult, outcomes: tuple[str, ...]) -> list[str]:
    """`<12 hex>: Pushed` (docker's words) for each blob whose outcome is one of `outcomes`."""
    words = _PUSH_WORDS if result.direction == "Push" else _PULL_WORDS
    return [f"{short_digest(item.digest)}: {words[item.outcome]}" + (f": {item.reason}" if item.reason else "")
            for item in result.outcomes.values() if item.outcome in outcomes]


def summary_lines(result: ImageTransferResult) -> list[str]:
    moved = "Uploaded" if result.direction == "Push" else "Downloaded"
    seconds = result.seconds
    lines = [RULE, f"{result.direction} of '{result.image}' status: {result.status}."]
    if result.digest and result.status == "Completed":
        lines.append(f"Digest: {result.digest}")
    if result.local_path:
        lines.append(f"Local path: {result.local_path}")
    already = "already in the registry" if result.direction == "Push" else "already here"
    lines += [f"Layers {moved.lower()}: {result.count(TRANSFERRED)}", f"Layers {already}: {result.count(EXISTS)}"]
    if result.count(MOUNTED):
        lines.append(f"Layers mounted from another repository: {result.count(MOUNTED)}")
    if result.failures:
        lines.append(f"Layers failed: {len(result.failures)}")
    rate = speed(result.bytes_transferred, seconds)
    lines += [f"{moved} {human_size(result.bytes_transferred)} in {human_duration(seconds)}, speed: {rate}", RULE]
    return lines


def summary_json(result: ImageTransferResult) -> dict:
    return {"image": result.image, "direction": result.direction, "status": result.status, "digest": result.digest,
            "localPath": str(result.local_path) if result.local_path else None,
            "layersTransferred": result.count(TRANSFERRED), "layersSkipped": result.count(EXISTS),
            "layersMounted": result.count(MOUNTED), "bytesTransferred": result.bytes_transferred,
            "manifests": result.manifests, "failures": result.failures,
            "startedAt": str(result.started), "completedAt": str(result.completed),
            "durationSeconds": round(result.seconds, 3)}
