"""This registry as the bench runs it: a fresh data dir, `ngc-registry init` and `serve` on loopback, `ngc` env."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx

from .common import BIN, OUT, children_of, free_port, run, wait_until

ORG = "bench"
ADMIN = "admin@bench.example"


@dataclass
class OurServer:
    data_dir: Path
    key: str
    port: int
    process: subprocess.Popen | None = None
    extra_env: dict | None = None  # e.g. PYTHONPATH of another source tree (bench/ab.py)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pids(self) -> list[int]:
        """The serving processes: the workers when uvicorn runs several, else the one process."""
        if not self.process:
            return []
        return children_of(self.process.pid) or [self.process.pid]

    def start(self, *extra: str) -> OurServer:
        self.port = free_port()
        log = open(OUT / f"server-{self.port}.log", "w")
        self.process = subprocess.Popen([BIN / "ngc-registry", "serve", "--data-dir", self.data_dir,
                                         "--host", "127.0.0.1", "--port", str(self.port), *extra],
                                        stdout=log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **(self.extra_env or {})})
        wait_until(self._healthy, 60, "the registry to start")
        return self

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"ngc-registry serve exited; see {OUT}/server-{self.port}.log")
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def ngc_env(self, home: Path, **extra: str) -> dict:
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NGC_")}
        env.update(NGC_CLI_HOME=str(home), NGC_CLI_API_URL=self.url, NGC_CLI_API_KEY=self.key, NGC_CLI_ORG=ORG,
                   NGC_CLI_FORMAT_TYPE="json", **(self.extra_env or {}), **extra)
        return env


def init_server(data_dir: Path, extra_env: dict | None = None) -> OurServer:
    """A new, empty registry in `data_dir` (removed first) with org `bench` and its admin's key."""
    shutil.rmtree(data_dir, ignore_errors=True)
    done = run([BIN / "ngc-registry", "init", "--data-dir", data_dir, "--org", ORG, "--admin-email", ADMIN,
                "--admin-name", "Bench Admin"], env={**os.environ, **(extra_env or {})})
    key = done.stdout.strip().splitlines()[-1].removeprefix("API key: ")
    return OurServer(data_dir, key, 0, extra_env=extra_env)


def ngc(env: dict, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return run([BIN / "ngc", *args], env=env, timeout=timeout)
