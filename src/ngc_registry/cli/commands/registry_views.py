"""How models, model-scripts, versions and files read on screen (PROTOCOL.md §4.2/§4.3 "Printed output")."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ...client.registry_kinds import Kind
from ...client.transfer_plan import human_size
from ..output import display_value

LIST_COLUMNS = ["Name", "Repository", "Latest Version", "Application", "Framework", "Precision", "Last Modified",
                "Permission", "Access Type", "Associated Products", "Has Signed Version"]
VERSION_COLUMNS = ["Version", "Accuracy", "Epochs", "Batch Size", "GPU Model", "Memory Footprint", "File Size",
                   "Status", "Created Date", "Signed"]
_DATE_FORMATS = ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z",
                 "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S")


def parse_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    for pattern in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(value, pattern)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def short_date(value: Any) -> str:
    """`Sep 24, 2020`; a value that is not a date is shown as it came."""
    parsed = parse_date(value)
    return parsed.strftime("%b %d, %Y") if parsed else display_value(value)


def utc_time(value: Any) -> str:
    """`2026-01-15 10:20:30 UTC`, as resource info shows dates."""
    parsed = parse_date(value)
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if parsed else display_value(value)


def permission(item: dict) -> str:
    return "unlocked" if item.get("isPublic") else "locked"


def from_search(resource: dict, kind: Kind) -> dict:
    """A search result mapped to artifact fields (§4.2): attributes and labels flattened, dates renamed."""
    renames = {"dateModified": "updatedDate", "dateCreated": "createdDate"}
    item = {renames.get(key, key): value for key, value in resource.items() if key not in ("attributes", "labels")}
    attribute_renames = {"format": "modelFormat", "framework": kind.framework_key}
    for attribute in resource.get("attributes") or []:
        item[attribute_renames.get(attribute.get("key"), attribute.get("key"))] = attribute.get("value")
    for label in resource.get("labels") or []:
        values = label.get("values") or []
        item[label.get("key")] = values if label.get("key") == "productNames" else " ".join(values)
    return item


def repository(item: dict) -> str:
    return item.get("resourceId") or "/".join(p for p in (item.get("orgName"), item.get("teamName"), item.get("name"))
                                              if p)


def list_row(item: dict, kind: Kind) -> list:
    return [item.get("displayName") or item.get("name"), repository(item), item.get("latestVersionIdStr"),
            item.get("application"), item.get(kind.framework_key), item.get("precision"),
            short_date(item.get("updatedDate")), permission(item), item.get("accessType"),
            item.get("productNames"), bool(item.get("hasSignedVersion") in (True, "true", "True"))]


def version_row(version: dict) -> list:
    return [version.get("versionId"), version.get("accuracyReached"), version.get("numberOfEpochs"),
            version.get("batchSize"), version.get("gpuModel"), version.get("memoryFootprint"),
            human_size(version.get("totalSizeInBytes") or 0), version.get("status"),
            short_date(version.get("createdDate")), bool(version.get("isSigned"))]


def artifact_pairs(artifact: dict, kind: Kind) -> list[tuple[str, Any]]:
    date = utc_time if kind.path == "resources" else short_date
    dataset = artifact.get("publicDatasetUsed") or {}
    pairs = [("Name", artifact.get("name")), ("Application", artifact.get("application")),
             ("Framework", artifact.get(kind.framework_key)), ("Model Format", artifact.get("modelFormat")),
             ("Precision", artifact.get("precision")), ("Short Description", artifact.get("shortDescription")),
             ("Display Name", artifact.get("displayName")), ("Logo", artifact.get("logo")),
             ("Org", artifact.get("orgName")), ("Team", artifact.get("teamName")),
             ("Built By", artifact.get("builtBy")), ("Publisher", artifact.get("publisher")),
             ("Created Date", date(artifact.get("createdDate"))), ("Updated Date", date(artifact.get("updatedDate"))),
             ("Has Signed Version", bool(artifact.get("hasSignedVersion"))),
             ("Access Type", artifact.get("accessType")), ("Associated Products", artifact.get("productNames")),
             ("Labels", list(artifact.get("labels") or [])), ("Latest Version ID", artifact.get("latestVersionIdStr")),
             ("Latest Version Size (bytes)", artifact.get("latestVersionSizeInBytes")),
             ("Permission", permission(artifact)),
             ("Public Dataset Used", ", ".join(f"{k}: {v}" for k, v in dataset.items() if v))]
    if kind.path == "resources":
        pairs += [("Created By", artifact.get("createdBy") or artifact.get("createdByUser")),
                  ("Malware Scan Status", artifact.get("malwareScanStatus")),
                  ("Malware Scan Date", utc_time(artifact.get("malwareScanDate"))),
                  ("Can Guest Download", bool(artifact.get("canGuestDownload", artifact.get("isPublic")))),
                  ("Read Only", bool(artifact.get("isReadOnly")))]
    return pairs + [("Overview", artifact.get("description"))]


def version_pairs(version: dict, files: list[dict] | None = None) -> list[tuple[str, Any]]:
    pairs = [("Id", version.get("versionId")), ("Batch Size", version.get("batchSize")),
             ("Memory Footprint", version.get("memoryFootprint")), ("Number Of Epochs", version.get("numberOfEpochs")),
             ("Accuracy Reached", version.get("accuracyReached")), ("GPU Model", version.get("gpuModel")),
             ("Access Type", version.get("accessType")), ("Associated Products", version.get("productNames")),
             ("Created Date", short_date(version.get("createdDate"))), ("Description", version.get("description")),
             ("Status", version.get("status")), ("Signed", bool(version.get("isSigned"))),
             ("Total File Count", version.get("totalFileCount")),
             ("Total Size", human_size(version.get("totalSizeInBytes") or 0)),
             ("Links", [f"{c.get('key')}: {c.get('value')}" for c in version.get("otherContents") or []]),
             ("Custom Metrics", [metrics_line(table) for table in version.get("customMetrics") or []])]
    if files is not None:
        pairs.append(("File List", [f"{f.get('path')}: {human_size(f.get('sizeInBytes') or 0)}" for f in files]))
    return pairs


def metrics_line(table: dict) -> str:
    attributes = ", ".join(f"{a.get('key')}={a.get('value')}" for a in table.get("attributes") or [])
    return f"{table.get('name')}: {attributes}"


def render_info(title: str, pairs: list[tuple[str, Any]]) -> str:
    """The guide's info block; list values are printed one per line under their key."""
    lines = [title]
    for key, value in pairs:
        if isinstance(value, list):
            lines.append(f"{key}:")
            lines += [f"    {display_value(item)}" for item in value]
        else:
            lines.append(f"{key}: {display_value(value)}")
    rule = "-" * max(52, *(len(line) for line in lines))
    return "\n".join([rule, *lines, rule])
