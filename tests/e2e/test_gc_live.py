"""`ngc-registry gc --grace 0` run again and again against a live server while `ngc` and skopeo upload the same
content, remove it and upload it again: every upload succeeds, fsck finds nothing wrong, and the content comes
back out byte for byte."""

from __future__ import annotations

import threading

import pytest

from .conftest import init_registry, start_server
from .ops_support import Cli, Content, admin, need, ok
from .test_oci_skopeo import Skopeo

pytestmark = pytest.mark.e2e

ROUNDS = 3


class GcLoop(threading.Thread):
    """Runs `ngc-registry gc --grace 0` back to back until stopped, keeping every summary line."""

    def __init__(self, data_dir):
        super().__init__(daemon=True)
        self.data_dir, self.stop, self.summaries, self.failures = data_dir, threading.Event(), [], []

    def run(self):
        while not self.stop.is_set():
            done = admin("gc", "--data-dir", str(self.data_dir), "--grace", "0", timeout=120)
            (self.summaries if done.returncode == 0 else self.failures).append(done.stdout + done.stderr)

    def finish(self):
        self.stop.set()
        self.join(timeout=180)


def _round(cli: Cli, skopeo: Skopeo, content: Content, number: int) -> None:
    version = f"{content.model}:{number}"
    ok(cli("registry", "model", "upload-version", "--source", str(content.files), version))
    ok(cli("registry", "model", "remove", "-y", version))
    skopeo.push(content.layout, "v1", f"{content.image}:round{number}")
    skopeo.ok("delete", "--creds", skopeo.creds, "--tls-verify=false", skopeo.ref(f"{content.image}:round{number}"))


def test_uploads_while_gc_runs_lose_nothing(tmp_path):
    need("skopeo", "skopeo")
    data_dir = tmp_path / "registry" / "data"
    server = start_server(data_dir, init_registry(data_dir))
    content, home = Content(tmp_path / "content"), tmp_path / "skopeo-home"
    home.mkdir()
    cli, skopeo = Cli(server, tmp_path / "ngc-home"), Skopeo(server, home)
    loop = GcLoop(data_dir)
    try:
        ok(cli("registry", "model", "create", content.model))
        loop.start()
        for number in range(ROUNDS):
            _round(cli, skopeo, content, number)
        content.put_version(server, "final")
        loop.finish()
        assert loop.failures == [] and loop.summaries, loop.failures
        assert any(" 0 bytes in 0 objects" not in summary for summary in loop.summaries), loop.summaries
        checked = admin("fsck", "--data-dir", str(data_dir))
        assert checked.returncode == 0, checked.stdout
        content.check(server, "after-gc", version="final")
    finally:
        loop.finish()
        server.stop()
