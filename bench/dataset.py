"""Bench data: files of random bytes, OCI image layouts for skopeo, and a big catalog loaded straight into SQL."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from .common import MIB

BLOCK = 64 * MIB


def random_file(path: Path, size: int, seed: str) -> Path:
    """`size` bytes: one 64 MiB random block repeated, each copy stamped with `seed` and its index (all distinct)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = bytearray(os.urandom(min(BLOCK, size)))
    with open(path, "wb") as out:
        for index, offset in enumerate(range(0, size, BLOCK)):
            stamp = hashlib.sha256(f"{seed}/{index}".encode()).digest()
            block[:32] = stamp
            out.write(memoryview(block)[:min(BLOCK, size - offset)])
    return path


def file_set(root: Path, count: int, total: int, seed: str) -> Path:
    """`count` files of `total / count` bytes each under `root` (made once; reused while sizes match)."""
    size = total // count
    for index in range(count):
        path = root / f"file-{index:02d}.bin"
        if not (path.is_file() and path.stat().st_size == size):
            random_file(path, size, f"{seed}/{index}")
    return root


def restamp(root: Path, tag: str) -> None:
    """Change the first bytes of every file so that its sha256 is new (a fresh upload, no dedup)."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        with open(path, "r+b") as out:
            out.write(hashlib.sha256(f"{tag}/{path.name}".encode()).digest())


def files_in(root: Path) -> list[Path]:
    """The files directly in `root`, by name."""
    return sorted(p for p in root.iterdir() if p.is_file())


def sha256_file(path: Path) -> str:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def total_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def remove(*paths: Path) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


# -- a big catalog, straight into the database (a bench fixture, not an API test) ---------------------------------

CATALOG_NOW = "2026-01-01 00:00:00.000000"
META = json.dumps({"displayName": "Bench model", "shortDescription": "A model of the bench catalog",
                   "application": "Other", "framework": "PyTorch", "precision": "FP16", "modelFormat": "pt",
                   "labels": ["bench"]})


def _ids(db, sql: str, *args) -> int:
    row = db.execute(sql, args).fetchone()
    return row[0] if row and row[0] is not None else 0


def _org(db, name: str) -> int:
    db.execute("INSERT OR IGNORE INTO orgs (name, display_name, description, type, created_at) "
               "VALUES (?, ?, '', 'ENTERPRISE', ?)", (name, name, CATALOG_NOW))
    return _ids(db, "SELECT id FROM orgs WHERE name = ?", name)


def _team(db, org_id: int, name: str) -> int:
    db.execute("INSERT OR IGNORE INTO teams (org_id, name, description, is_deleted, created_at) "
               "VALUES (?, ?, '', 0, ?)", (org_id, name, CATALOG_NOW))
    return _ids(db, "SELECT id FROM teams WHERE org_id = ? AND name = ?", org_id, name)


def _artifact_rows(start_id: int, count: int, spaces: list[tuple[int, int | None, str, bool]]):
    for n in range(count):
        org_id, team_id, prefix, public = spaces[n % len(spaces)]
        name = f"model-{n:06d}"
        yield (start_id + n, "models", f"{prefix}/{name}", org_id, team_id, name, public, CATALOG_NOW, CATALOG_NOW,
               "1.9", META)


def _version_rows(first: int, count: int, per: int):
    for artifact_id in range(first, first + count):
        for v in range(per):
            yield (artifact_id, f"1.{v}", "UPLOAD_COMPLETE", CATALOG_NOW, CATALOG_NOW, 1000 * (v + 1), 1, "{}")


def load_catalog(db_path: Path, models: int, versions_per: int, images: int) -> dict:
    """`models` models with `versions_per` versions each, spread over org `bench`, its team `team1` and a public
    org `pub`, and `images` image repositories when the OCI tables exist; returns what was loaded."""
    import sqlite3

    db = sqlite3.connect(db_path)
    bench = _ids(db, "SELECT id FROM orgs WHERE name = 'bench'")
    team, public_org = _team(db, bench, "team1"), _org(db, "pub")
    spaces = [(bench, None, "bench", False), (bench, team, "bench/team1", False), (public_org, None, "pub", True)]
    first = _ids(db, "SELECT max(id) FROM artifacts") + 1
    with db:
        db.executemany("INSERT INTO artifacts (id, kind, resource_id, org_id, team_id, name, is_public, created_at, "
                       "updated_at, latest_version, meta) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       _artifact_rows(first, models, spaces))
        db.executemany("INSERT INTO versions (artifact_id, version, status, created_at, updated_at, total_size, "
                       "file_count, meta) VALUES (?,?,?,?,?,?,?,?)", _version_rows(first, models, versions_per))
        repos = _load_images(db, bench, images)
    db.execute("ANALYZE")
    db.close()
    return {"models": models, "versions": models * versions_per, "image_repositories": repos}


def _load_images(db, org_id: int, count: int) -> int:
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'image_repositories'").fetchone():
        return 0
    rows = ((f"bench/image-{n:05d}", org_id, f"image-{n:05d}", False, CATALOG_NOW, CATALOG_NOW, "{}")
            for n in range(count))
    db.executemany("INSERT INTO image_repositories (name, org_id, image, is_public, created_at, updated_at, meta) "
                   "VALUES (?,?,?,?,?,?,?)", rows)
    return count
