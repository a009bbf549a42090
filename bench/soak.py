"""`make soak`: many concurrent clients for minutes against a fresh registry on loopback — zero errors, memory flat.

Each client loops until the deadline (or the request budget) over a mix of small requests (model info, search,
tags, the current user), uploads (OCI blobs of 8–128 KB, NGC model versions with one file) and downloads (a seeded
blob, checked against its digest; a model file through its signed URL). The server's resident memory is sampled
every 5 seconds. Exit status 1 when any request failed or memory grew by more than `--max-growth-mb` after the
first minute. A summary is printed and written to bench/out/soak.json.

    python -m bench.soak --clients 200 --duration 300        # what `make soak` runs
    python -m bench.soak --clients 20 --duration 20          # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

from .common import OUT, children_of, rss_of
from .servers import ORG, init_server

MB = 1 << 20
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def rss_mb(pid: int) -> float:
    """Resident memory of the server and its worker processes, in MB."""
    return sum(rss_of(each, "VmRSS") for each in [pid, *children_of(pid)]) / MB


class Soak:
    def __init__(self, url: str, key: str, args):
        self.url, self.key, self.args = url, key, args
        self.deadline = time.monotonic() + args.duration
        self.budget = args.max_requests
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.outcomes: Counter = Counter()
        self.failures: list[str] = []
        self.seeded = os.urandom(4 * MB)

    def more(self) -> bool:
        return time.monotonic() < self.deadline and self.budget > 0

    async def timed(self, action: str, request, expected: tuple[int, ...] = (200,)) -> httpx.Response | None:
        self.budget -= 1
        started = time.perf_counter()
        try:
            response = await request
        except httpx.HTTPError as error:
            self._fail(action, f"{type(error).__name__}: {error}")
            return None
        self.latency[action].append(time.perf_counter() - started)
        self.outcomes[(action, response.status_code)] += 1
        if response.status_code not in expected:
            self._fail(action, f"{response.status_code} {response.text[:200]}")
            return None
        return response

    def _fail(self, action: str, reason: str) -> None:
        self.outcomes[(action, "error")] += 1
        if len(self.failures) < 50:
            self.failures.append(f"{action}: {reason}")

    # -- the mix ------------------------------------------------------------------------------------------------

    async def small(self, http: httpx.AsyncClient, headers: dict) -> None:
        choice = random.randrange(4)
        if choice == 0:
            await self.timed("model info", http.get(f"/v2/org/{ORG}/models/seed", headers=headers))
        elif choice == 1:
            query = json.dumps({"query": "resourceId:soak/*", "page": 0, "pageSize": 25})
            await self.timed("search", http.get("/v2/search/catalog/resources/MODEL", params={"q": query},
                                                headers=headers))
        elif choice == 2:
            await self.timed("tags", http.get(f"/v2/{ORG}/seed/tags/list", headers=headers))
        else:
            await self.timed("who am I", http.get("/v2/users/me", headers=headers))

    async def upload_blob(self, http: httpx.AsyncClient, headers: dict, number: int) -> None:
        blob = os.urandom(random.randint(8 << 10, 128 << 10))
        await self.timed("blob upload", http.post(f"/v2/{ORG}/client-{number % 20}/blobs/uploads/",
                                                  params={"digest": sha(blob)}, content=blob, headers=headers),
                         (201,))

    async def upload_version(self, http: httpx.AsyncClient, headers: dict, number: int, counter: int) -> None:
        version, data = f"c{number}-{counter}", os.urandom(random.randint(1 << 10, 64 << 10))
        base = f"/v2/org/{ORG}"
        if not await self.timed("version create", http.post(f"{base}/models/uploads/versions",
                                                             json={"versionId": version}, headers=headers)):
            return
        body = {"name": "uploads", "version": version, "artifactType": "models", "filePath": "f.bin",
                "size": len(data), "sha256": b64sha(data)}
        started = await self.timed("multipart start", http.post(f"{base}/files/multipart", json=body,
                                                                headers=headers))
        if not started or not await self.timed("part upload", http.put(started.json()["urls"][0], content=data)):
            return
        body["uploadID"] = started.json()["uploadID"]
        await self.timed("multipart complete", http.put(f"{base}/files/multipart", json=body, headers=headers))
        commit = {"name": "uploads", "version": version, "files": [{"filePath": "f.bin", "sha256": b64sha(data)}]}
        await self.timed("commit", http.post(f"{base}/files/commit", json=commit, headers=headers))
        await self.timed("version complete", http.patch(f"{base}/models/uploads/versions/{version}",
                                                        json={"status": "UPLOAD_COMPLETE"}, headers=headers))

    async def download(self, http: httpx.AsyncClient, headers: dict) -> None:
        if random.random() < 0.5:
            response = await self.timed("blob download", http.get(f"/v2/{ORG}/seed/blobs/{sha(self.seeded)}",
                                                                   headers=headers))
            if response is not None and sha(response.content) != sha(self.seeded):
                self._fail("blob download", "digest mismatch")
            return
        urls = await self.timed("file URLs", http.get(f"/v2/org/{ORG}/models/seed/1/files", headers=headers))
        if urls is not None:
            await self.timed("file download", http.get(urls.json()["urls"][0]))

    async def client(self, http: httpx.AsyncClient, headers: dict, number: int) -> None:
        counter = 0
        while self.more():
            roll = random.random()
            if roll < 0.6:
                await self.small(http, headers)
            elif roll < 0.75:
                await self.upload_blob(http, headers, number)
            elif roll < 0.8:
                counter += 1
                await self.upload_version(http, headers, number, counter)
            else:
                await self.download(http, headers)


async def seed(soak: Soak, http: httpx.AsyncClient, headers: dict) -> None:
    """A model with one complete version, an image with a tag and a 4 MB blob, and the model uploads go to."""
    base = f"/v2/org/{ORG}"
    for name in ("seed", "uploads"):
        assert (await http.post(f"{base}/models", json={"name": name}, headers=headers)).status_code == 200
    data = os.urandom(MB)
    await http.post(f"{base}/models/seed/versions", json={"versionId": "1"}, headers=headers)
    body = {"name": "seed", "version": "1", "filePath": "w.bin", "size": len(data), "sha256": b64sha(data)}
    started = (await http.post(f"{base}/files/multipart", json=body, headers=headers)).json()
    await http.put(started["urls"][0], content=data)
    await http.put(f"{base}/files/multipart", json={**body, "uploadID": started["uploadID"]}, headers=headers)
    await http.post(f"{base}/files/commit", json={"name": "seed", "version": "1",
                                                  "files": [{"filePath": "w.bin", "sha256": b64sha(data)}]},
                    headers=headers)
    await http.patch(f"{base}/models/seed/versions/1", json={"status": "UPLOAD_COMPLETE"}, headers=headers)
    config = b'{"architecture": "amd64", "os": "linux"}'
    for blob in (config, soak.seeded):
        await http.post(f"/v2/{ORG}/seed/blobs/uploads/", params={"digest": sha(blob)}, content=blob,
                        headers=headers)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST, "config": {
        "mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config), "size": len(config)},
        "layers": [{"mediaType": "application/octet-stream", "digest": sha(soak.seeded),
                    "size": len(soak.seeded)}]}).encode()
    await http.put(f"/v2/{ORG}/seed/manifests/1", content=manifest,
                   headers={**headers, "Content-Type": MANIFEST})
    soak.outcomes.clear()


async def sample_memory(pid: int, soak: Soak, samples: list) -> None:
    started = time.monotonic()
    while soak.more():
        samples.append((round(time.monotonic() - started), round(rss_mb(pid), 1)))
        await asyncio.sleep(5)


async def run(url: str, key: str, pid: int, args) -> tuple[Soak, list]:
    soak, samples = Soak(url, key, args), []
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
        token = (await http.get("/token", params={"service": "ngc"}, auth=("$oauthtoken", key))).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        await seed(soak, http, headers)
        soak.deadline = time.monotonic() + args.duration
        await asyncio.gather(sample_memory(pid, soak, samples),
                             *(soak.client(http, headers, number) for number in range(args.clients)))
    return soak, samples


def summary(soak: Soak, samples: list, args, seconds: float) -> dict:
    requests = sum(count for (_, status), count in soak.outcomes.items() if status != "error")
    errors = sum(count for (_, status), count in soak.outcomes.items() if status == "error")
    warm = [mb for at, mb in samples if at >= min(60, args.duration / 3)] or [mb for _, mb in samples]
    growth = max(warm) - warm[0] if warm else 0.0
    latency = {action: {"count": len(values), "p50_ms": round(statistics.median(values) * 1000, 1),
                        "p99_ms": round(sorted(values)[int(len(values) * 0.99) - 1] * 1000, 1)}
               for action, values in sorted(soak.latency.items()) if values}
    return {"clients": args.clients, "seconds": round(seconds, 1), "requests": requests, "errors": errors,
            "requests_per_second": round(requests / max(seconds, 1e-3), 1),
            "rss_mb_first_last_max": [samples[0][1], samples[-1][1], max(mb for _, mb in samples)] if samples else [],
            "rss_growth_after_warmup_mb": round(growth, 1), "memory_flat": growth <= args.max_growth_mb,
            "latency": latency, "failures": soak.failures, "rss_samples": samples}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=300, help="seconds of load after seeding")
    parser.add_argument("--max-requests", type=int, default=5_000_000, help="stop earlier after this many")
    parser.add_argument("--max-growth-mb", type=float, default=64, help="allowed RSS growth after the first minute")
    parser.add_argument("--server-flags", default="", help="extra `ngc-registry serve` flags, e.g. '--workers 2'")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    server = init_server(Path(tempfile.mkdtemp(prefix="ngc-soak-")) / "data").start(*args.server_flags.split())
    try:
        started = time.monotonic()
        soak, samples = asyncio.run(run(server.url, server.key, server.process.pid, args))
        result = summary(soak, samples, args, time.monotonic() - started)
    finally:
        server.stop()
        shutil.rmtree(server.data_dir.parent, ignore_errors=True)
    (OUT / "soak.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "rss_samples"}, indent=2))
    return 0 if result["errors"] == 0 and result["memory_flat"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
