"""Uploads racing the collector: with no grace period, the collector sweeps content the moment nothing refers to
it, while the same content is uploaded again and again. No upload may fail and no referenced blob may be lost."""

from __future__ import annotations

import threading

import pytest

from .oci_support import Oci, repo, sha256
from .ops_support import check, collect, download, model

pytestmark = pytest.mark.filesystem_store  # looks at the files of the store itself

FILES = {"weights.bin": b"the same weights every time " * 300, "config.json": b'{"layers": 12}'}
LAYERS = [b"the same layer every time " * 200, b"and another one " * 100]
ROUNDS = 12


class Collector(threading.Thread):
    """Runs collections back to back until stopped."""

    def __init__(self, registry):
        super().__init__(daemon=True)
        self.registry, self.stop, self.runs, self.freed, self.errors = registry, threading.Event(), 0, 0, []

    def run(self):
        while not self.stop.is_set():
            try:
                self.freed += collect(self.registry, grace=0).freed_objects
                self.runs += 1
            except Exception as error:  # noqa: BLE001  (reported by the test)
                self.errors.append(error)

    def finish(self):
        self.stop.set()
        self.join(timeout=60)


def _ngc_round(registry, number: int):
    """Upload the same files as a new version after deleting the previous one (so nothing refers to them)."""
    flow = model(registry, "racing", str(number), FILES)
    assert download(registry, flow, "racing", str(number)) == FILES
    assert flow.call("DELETE", f"/models/racing/versions/{number}").status_code == 200


def _oci_round(registry, oci: Oci, number: int):
    """Push the same image, mount its layer elsewhere, then delete the repositories."""
    name, other = repo("racing"), repo(f"mounted-{number % 2}")
    digest, _ = oci.push_image(name, "v1", LAYERS)
    mounted = oci.call("POST", f"/v2/{other}/blobs/uploads/?mount={sha256(LAYERS[0])}&from={name}")
    assert mounted.status_code in (201, 202), mounted.text  # 202: swept meanwhile, upload it instead
    assert oci.call("GET", f"/v2/{name}/manifests/{digest}").status_code == 200
    assert oci.call("GET", f"/v2/{name}/blobs/{sha256(LAYERS[0])}").content == LAYERS[0]
    for repository in (name, other):
        deleted = registry.call("DELETE", f"/v2/org/{repository.replace('/', '/repos/', 1)}", registry.admin_key)
        assert deleted.status_code in (200, 404)


def test_uploads_racing_the_collector_never_lose_a_blob(registry):
    oci = Oci(registry, registry.admin_key)
    collector = Collector(registry)
    collector.start()
    try:
        for number in range(ROUNDS):
            _ngc_round(registry, number)
            _oci_round(registry, oci, number)
        model(registry, "racing", "final", FILES)
        oci.push_image(repo("racing"), "final", LAYERS)
    finally:
        collector.finish()
    assert collector.errors == [] and collector.runs > 0
    assert collector.freed > 0  # the content was swept (and uploaded again) while the rounds ran
    report = check(registry)
    assert report.problems == [] and report.rehashed == report.blobs
    final = model(registry, "racing", "after", FILES)
    assert download(registry, final, "racing", "final") == FILES
