"""Wire shapes of models and resources (PROTOCOL.md §4.3), and the request bodies that change them."""

from __future__ import annotations

import json
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..db.tables import Artifact, User, Version, VersionFile
from ..services.transfers import digest_to_b64
from .views import ngc_date

KEYS = {
    "models": {"artifact": "model", "version": "modelVersion", "versions": "modelVersions", "files": "modelFiles",
               "framework": "framework", "search": "MODEL"},
    "resources": {"artifact": "recipe", "version": "recipeVersion", "versions": "recipeVersions",
                  "files": "recipeFiles", "framework": "trainingFramework", "search": "RECIPE"},
}
RESOURCE_TEXT_FIELDS = ("advanced", "performance", "quickStartGuide", "setup")


class ArtifactBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = Field(default=None, max_length=128)
    application: str | None = Field(default=None, max_length=256)
    framework: str | None = Field(default=None, max_length=256)
    trainingFramework: str | None = Field(default=None, max_length=256)
    modelFormat: str | None = Field(default=None, max_length=256)
    precision: str | None = Field(default=None, max_length=256)
    shortDescription: str | None = Field(default=None, max_length=4096)
    description: str | None = Field(default=None, max_length=1 << 20)
    displayName: str | None = Field(default=None, max_length=256)
    builtBy: str | None = Field(default=None, max_length=256)
    publisher: str | None = Field(default=None, max_length=256)
    ownerName: str | None = Field(default=None, max_length=256)
    logo: str | None = Field(default=None, max_length=2048)
    labels: list[str] | None = Field(default=None, max_length=100)
    labelsV2: list[str] | None = Field(default=None, max_length=100)
    publicDatasetUsed: dict[str, str | None] | None = None
    advanced: str | None = Field(default=None, max_length=1 << 20)
    performance: str | None = Field(default=None, max_length=1 << 20)
    quickStartGuide: str | None = Field(default=None, max_length=1 << 20)
    setup: str | None = Field(default=None, max_length=1 << 20)
    bias: str | None = Field(default=None, max_length=1 << 16)
    explainability: str | None = Field(default=None, max_length=1 << 16)
    privacy: str | None = Field(default=None, max_length=1 << 16)
    safetyAndSecurity: str | None = Field(default=None, max_length=1 << 16)
    isPublic: bool | None = None

    def meta(self, kind: str) -> dict:
        """The metadata to store: framework under one name, labels from either field, no name or visibility."""
        values = self.model_dump(exclude_unset=True, exclude={"name", "isPublic", "labelsV2", "trainingFramework"})
        framework = self.trainingFramework if self.trainingFramework is not None else self.framework
        if framework is not None:
            values["framework"] = framework
        if self.labelsV2 is not None and self.labels is None:
            values["labels"] = self.labelsV2
        if kind == "models":
            for field in RESOURCE_TEXT_FIELDS:
                values.pop(field, None)
        return values


class VersionBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    versionId: str | None = Field(default=None, max_length=128)
    description: str | None = Field(default=None, max_length=1 << 20)
    accuracyReached: float | None = Field(default=None, allow_inf_nan=False)
    batchSize: int | None = Field(default=None, ge=0)
    gpuModel: str | None = Field(default=None, max_length=256)
    memoryFootprint: str | None = Field(default=None, max_length=64)
    numberOfEpochs: int | None = Field(default=None, ge=0)
    otherContents: list[dict[str, str]] | None = Field(default=None, max_length=32)
    customMetrics: list[dict] | None = None
    ownerName: str | None = Field(default=None, max_length=256)
    releaseNotes: str | None = Field(default=None, max_length=1 << 20)
    performance: str | None = Field(default=None, max_length=1 << 20)
    quickStartGuide: str | None = Field(default=None, max_length=1 << 20)
    setup: str | None = Field(default=None, max_length=1 << 20)
    status: str | None = None

    @field_validator("customMetrics")
    @classmethod
    def _plain_json(cls, value: list[dict] | None) -> list[dict] | None:
        """Only what the API can send back: no NaN or Infinity, no lone surrogates."""
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode()
        return value

    def meta(self) -> dict:
        return self.model_dump(exclude_unset=True, exclude={"versionId", "status"})


def artifact_view(artifact: Artifact, latest: Version | None = None) -> dict:
    return _artifact_wire(artifact, artifact.org.name, artifact.team.name if artifact.team else None,
                          _email(artifact.creator), latest.id if latest else None,
                          latest.total_size if latest else None)


def artifact_card_view(card: NamedTuple) -> dict:
    """`artifacts.artifact_card`'s row on the wire, as `artifact_view` puts the ORM artifact."""
    return _artifact_wire(card, card.org_name, card.team_name, card.creator_email, card.latest_id, card.latest_size)


def _artifact_wire(artifact, org_name: str, team_name: str | None, creator_email: str | None, latest_id: int | None,
                   latest_size: int | None) -> dict:
    meta = dict(artifact.meta)
    framework = meta.pop("framework", None)
    view = {
        **meta, "name": artifact.name, "orgName": org_name, "teamName": team_name,
        KEYS[artifact.kind]["framework"]: framework, "labels": meta.get("labels", []),
        "displayName": meta.get("displayName") or artifact.name, "isPublic": artifact.is_public,
        "createdDate": ngc_date(artifact.created_at), "updatedDate": ngc_date(artifact.updated_at),
        "createdByUser": creator_email, "latestVersionIdStr": artifact.latest_version, "hasSignedVersion": False,
        "canGuestDownload": artifact.is_public, "isReadOnly": False,
        "accessType": "PUBLIC" if artifact.is_public else "PRIVATE",
    }
    if latest_id is not None:
        view["latestVersionSizeInBytes"] = latest_size
        view["latestVersionId"] = latest_id
    return view


def version_view(version: Version) -> dict:
    return _version_wire(version, _email(version.creator))


def version_card_view(card: NamedTuple) -> dict:
    """`artifacts.version_card`'s row on the wire, as `version_view` puts the ORM version."""
    return _version_wire(card, card.creator_email)


def _version_wire(version, creator_email: str | None) -> dict:
    return {**version.meta, "versionId": version.version, "id": version.id, "status": version.status,
            "storageVersion": "V2", "totalFileCount": version.file_count, "totalSizeInBytes": version.total_size,
            "createdDate": ngc_date(version.created_at), "updatedDate": ngc_date(version.updated_at),
            "createdByUser": creator_email, "isSigned": False}


def _email(user: User | None) -> str | None:
    return user.email if user else None


def file_view(row: VersionFile) -> dict:
    return {"path": row.path, "sizeInBytes": row.size, "sha256": digest_to_b64(row.digest),
            "createdDate": ngc_date(row.created_at)}
