"""The two artifact kinds of the model registry and how each appears on the wire (PROTOCOL.md §4.3) and on screen.

Kept free of HTTP imports so that command modules can name a kind without loading httpx at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """How one artifact kind appears on the wire and on screen."""

    path: str
    artifact_key: str
    version_key: str
    versions_key: str
    files_key: str
    framework_key: str
    search_type: str
    title: str


MODELS = Kind("models", "model", "modelVersion", "modelVersions", "modelFiles", "framework", "MODEL", "Model")
RESOURCES = Kind("resources", "recipe", "recipeVersion", "recipeVersions", "recipeFiles", "trainingFramework",
                 "RECIPE", "Model-script")
