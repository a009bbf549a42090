"""Server tests: the real app driven over HTTP with Starlette's TestClient, each on two real deployments: a SQLite
file with the filesystem store, and PostgreSQL with the S3 store on a real Swift (tests that look at the
filesystem store itself are marked `filesystem_store` and keep it on PostgreSQL too)."""

from __future__ import annotations

import base64
import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from ngc_registry.server.app import create_app
from ngc_registry.server.db.base import upgrade_schema
from ngc_registry.server.services.bootstrap import initialise
from ngc_registry.server.settings import Settings

from ..postgres import new_database, postgres_url  # noqa: F401  (fixture)
from ..swift import swift  # noqa: F401  (fixture)

ORG = "acme"


class AppClient(TestClient):
    """The app in process; absolute URLs of other hosts (presigned object-store URLs) go over the network."""

    def request(self, method, url, **kwargs):
        target = httpx.URL(str(url))
        if target.is_absolute_url and target.host != self.base_url.host:
            with httpx.Client() as network:
                return network.request(method, target, **kwargs)
        return super().request(method, url, **kwargs)


@dataclass
class Registry:
    client: TestClient
    admin_key: str

    def token(self, key: str, *scopes: str) -> str:
        basic = base64.b64encode(f"$oauthtoken:{key}".encode()).decode()
        query = "service=ngc&" + "&".join(f"scope={s}" for s in scopes)
        response = self.client.get(f"/token?{query}", headers={"Authorization": f"Basic {basic}"})
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def headers(self, key: str | None) -> dict:
        if key is None:
            return {}
        bearer = key if key.startswith("nvapi-") else self.token(key)
        return {"Authorization": f"Bearer {bearer}"}

    def call(self, method: str, path: str, key: str | None = None, **kwargs):
        return self.client.request(method, path, headers=self.headers(key), **kwargs)

    def add_user(self, email: str, roles: list[str], team: str | None = None, org: str = ORG) -> str:
        """Add a user with roles (as the admin) and return a fresh API key for them."""
        where = f"/v2/org/{org}/team/{team}/users" if team else f"/v2/org/{org}/users"
        response = self.call("POST", where, self.admin_key, json={"email": email, "name": email, "roleTypes": roles})
        assert response.status_code == 200, response.text
        return self.api_key_for(email)

    def api_key_for(self, email: str) -> str:
        from ngc_registry.server.services import keys, users

        with self.client.app.state.sessions.begin() as session:
            return keys.rotate_legacy_key(session, users.find_user(session, email)).secret

    def add_team(self, name: str, org: str = ORG) -> dict:
        response = self.call("POST", f"/v2/org/{org}/teams", self.admin_key, json={"name": name, "description": name})
        assert response.status_code == 200, response.text
        return response.json()["team"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated, empty SQLite database: copying it is much faster than migrating for every test."""
    path = tmp_path_factory.mktemp("template") / "registry.db"
    upgrade_schema(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database(postgres_url) -> str:
    """One migrated database per test process, emptied before each test (faster than a database per test)."""
    url = new_database(postgres_url)
    upgrade_schema(url)
    return url


def empty_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    from ngc_registry.server.db.tables import Base

    engine = create_engine(url)
    with engine.begin() as connection:
        tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path) -> Settings:
    """Every server test runs on a fresh SQLite file and on a fresh PostgreSQL database, both already migrated."""
    data_dir = tmp_path / "data"
    if request.param == "sqlite":
        data_dir.mkdir()
        shutil.copyfile(request.getfixturevalue("sqlite_template"), data_dir / "registry.db")
        return Settings(data_dir=data_dir)
    url = request.getfixturevalue("postgres_database")
    empty_postgres(url)
    if request.node.get_closest_marker("filesystem_store"):
        return Settings(data_dir=data_dir, database_url=url)
    return Settings(data_dir=data_dir, database_url=url, **s3_options(request.getfixturevalue("swift")))


def s3_options(swift) -> dict:  # noqa: F811
    """A fresh bucket; OCI blobs stream through the server (test_oci_s3.py covers the 307 to Swift)."""
    env = swift.env()
    return dict(storage=f"s3://{swift.new_bucket()}/registry", s3_endpoint_url=swift.endpoint,
                s3_access_key_id=env["AWS_ACCESS_KEY_ID"], s3_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                s3_redirect=False)


@pytest.fixture
def registry(settings) -> Registry:
    done = initialise(settings, ORG, "admin@example.com", "Admin")
    app = create_app(settings)
    with AppClient(app) as client:
        yield Registry(client=client, admin_key=done.api_key)  # leaving the client's lifespan closes the engines
