"""The catalog in a real browser: a model uploaded through the NGC API, its rendered overview and metrics, a file
download, and a hostile model card that must render harmlessly."""

from __future__ import annotations

import base64
import hashlib
import uuid
from pathlib import Path

import httpx
import pytest

from . import test_browser as web
from .test_browser import ADMIN_EMAIL, ADMIN_PASSWORD, NARROW, screenshot, sign_in

# This module's own server, browser and screenshot folder: the same fixtures as the browser tests'.
registry, browser, page, shots = web.registry, web.browser, web.page, web.shots

pytestmark = [pytest.mark.e2e, pytest.mark.shared_registry]

OVERVIEW = """# Speech recognizer

A **conformer** model for English speech.

## Usage

| input | output |
|-------|--------|
| 16 kHz audio | text |

```bash
ngc registry model download-version nvidia/speech:1
```
"""
HOSTILE = """# Innocent card

<script>window.__pwned = 1</script>

[click me](javascript:window.__pwned=2)

<a href="javascript:window.__pwned=3">raw link</a> <img src="x" onerror="window.__pwned=4">
<a href="https://example.com/docs" onclick="window.__pwned=5">docs</a>
"""
METRICS = [{"name": "Accuracy", "attributes": [{"key": "WER", "value": "4.2%"}, {"key": "CER", "value": "1.9%"}]}]
FILES = {"model.onnx": b"\x00onnx weights\x01" * 500, "config/labels.txt": b"hello\nworld\n"}


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class Uploader:
    """The NGC upload sequence over HTTP, as the official client sends it."""

    def __init__(self, registry):
        basic = httpx.BasicAuth("$oauthtoken", registry.admin_key)
        token = httpx.get(f"{registry.url}/token", params={"service": "ngc"}, auth=basic).json()["token"]
        self.http = httpx.Client(base_url=f"{registry.url}/v2/org/{registry.org}",
                                 headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def call(self, method: str, path: str, **kwargs) -> dict:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def model(self, name: str, version: str, files: dict[str, bytes], **meta) -> None:
        self.call("POST", "/models", json={"name": name, "application": "Speech", "framework": "PyTorch",
                                           "precision": "FP16", **meta})
        self.call("POST", f"/models/{name}/versions", json={"versionId": version, "customMetrics": METRICS,
                                                             "accuracyReached": 95.8, "gpuModel": "A100"})
        for path, data in files.items():
            self._send(name, version, path, data)
        commit = [{"commitType": "ADDITION", "filePath": p, "sha256": b64sha(d)} for p, d in files.items()]
        self.call("POST", "/files/commit?upload-pending=True", json={
            "name": name, "artifactType": "models", "version": version, "files": commit, "baseVersion": None})
        self.call("PATCH", f"/models/{name}/versions/{version}", json={"status": "UPLOAD_COMPLETE"})

    def _send(self, name: str, version: str, path: str, data: bytes) -> None:
        body = {"name": name, "version": version, "artifactType": "models", "filePath": path, "size": len(data),
                "sha256": b64sha(data)}
        started = self.call("POST", "/files/multipart", json=body)
        size = started["partSize"]
        for index, url in enumerate(started["urls"]):
            assert httpx.put(url, content=data[index * size:(index + 1) * size]).status_code == 200
        self.call("PUT", "/files/multipart", json={**body, "uploadID": started["uploadID"]})


def test_model_uploaded_through_the_api_is_browsable_and_downloadable(registry, page, shots):
    name = f"speech-{uuid.uuid4().hex[:6]}"
    Uploader(registry).model(name, "1", FILES, description=OVERVIEW, shortDescription="English speech recognition",
                             displayName="Speech Recognizer", labels=["asr", "english"])
    uploader = Uploader(registry)
    uploader.model(f"detector-{name[-6:]}", "2.1", {"detector.plan": b"plan"}, displayName="Object Detector",
                   framework="TensorRT", precision="INT8", application="Object Detection", labels=["vision"],
                   shortDescription="Real-time detection of 80 object classes")
    uploader.model(f"embedder-{name[-6:]}", "0.3", {"embedder.pt": b"pt"}, displayName="Text Embedder",
                   application="Retrieval", precision="BF16", isPublic=True,
                   shortDescription="Sentence embeddings for semantic search")
    sign_in(page, registry.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"{registry.url}/catalog")
    screenshot(page, shots, "catalog")
    page.fill("input[name=q]", name)
    page.click("button:has-text('Search')")
    assert page.locator("a.result-title").count() == 1
    page.click("a.result-title:has-text('Speech Recognizer')")

    assert page.inner_text(".markdown h1") == "Speech recognizer"
    assert page.inner_text(".markdown strong") == "conformer"
    assert "16 kHz audio" in page.inner_text(".markdown table")
    metrics = page.inner_text("table.metrics")
    assert "WER" in metrics and "4.2%" in metrics
    assert "locked" in page.inner_text(".artifact-head .badges")
    assert f"download-version {registry.org}/{name}:1" in page.inner_text(".side-col")
    screenshot(page, shots, "model")

    with page.expect_download() as download:
        page.click("tr:has-text('labels.txt') >> text=Download")
    assert download.value.suggested_filename == "labels.txt"
    assert Path(download.value.path()).read_bytes() == FILES["config/labels.txt"]

    page.set_viewport_size(NARROW)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, shots, "model-narrow", full_page=False)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= NARROW["width"], "the page must not scroll sideways on a narrow window"


def test_hostile_model_card_renders_harmlessly(registry, page):
    name = f"hostile-{uuid.uuid4().hex[:6]}"
    Uploader(registry).model(name, "1", {"weights.bin": b"weights"}, description=HOSTILE, isPublic=True)
    violations = []
    page.on("console", lambda message: violations.append(message.text) if message.type == "error" else None)
    page.goto(f"{registry.url}/catalog/models/{registry.org}/{name}")  # as a guest: the model is public

    assert page.inner_text(".markdown h1") == "Innocent card"
    for link in page.locator("a").all():
        assert not (link.get_attribute("href") or "").lower().startswith("javascript:")
    page.click("text=raw link")
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".markdown script, .markdown [onerror], .markdown [onclick]").count() == 0
    assert page.get_attribute(".markdown a:has-text('docs')", "href") == "https://example.com/docs"
    assert "unlocked" in page.inner_text(".artifact-head .badges")
    assert not [text for text in violations if "Content Security Policy" in text]
