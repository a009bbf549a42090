"""One populated registry per test module (the authorization sweep, the fuzzers): two orgs, their teams, a user
for every role on the org and on a team, credentials of every kind, and private and public content in every place.

Built once per module and per database (it costs seconds, not minutes); tests that change it use fresh victims.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
from dataclasses import dataclass
from datetime import timedelta


from ngc_registry.server.app import create_app
from ngc_registry.server.auth.policy import Grant, Principal, Role
from ngc_registry.server.db.base import upgrade_schema
from ngc_registry.server.db.tables import ApiKey, ImageBlobLink, ImageTag, utcnow
from ngc_registry.server.services import accounts, artifacts, bootstrap, images, keys, orgs, users
from ngc_registry.server.settings import Settings

from ..postgres import new_database
from .conftest import AppClient
from .oci_support import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, basic, config_blob, descriptor, sha256

ROLES = [Role.WRITE_ADMIN, Role.WRITE_TEAM_ADMIN, Role.WRITE_USER, Role.READ, Role.USER_ADMIN]
# Where things are. Principals hold their roles in "acme", on the org or on team-a.
PLACES = {"own-org": ("acme", None), "own-team": ("acme", "team-a"), "other-team": ("acme", "team-b"),
          "other-org": ("other", None), "foreign-team": ("other", "team-x")}
FILE = b"weights of a private model"


@dataclass(frozen=True)
class Caller:
    """A credential the sweep sends, and the principal the server must see behind it (None: the credential is
    invalid; `token_names`: the repositories a docker token names)."""

    label: str
    headers: dict
    principal: Principal | None
    token_names: frozenset[str] | None = None


@dataclass
class Place:
    name: str
    org: str
    team: str | None
    org_id: int
    team_id: int | None
    manifest_digest: str = ""
    manifest_body: bytes = b""
    layer_digest: str = ""
    public: bool = False  # the public place holds public content, and nothing else

    @property
    def model(self) -> str:
        return "pub-model" if self.public else f"m-{self.name}"

    @property
    def image(self) -> str:
        return "pub-img" if self.public else f"img-{self.name}"

    @property
    def repository(self) -> str:
        return "/".join(p for p in (self.org, self.team, self.image) if p)

    @property
    def private_names(self) -> list[str]:
        return [self.model, self.image]


class World:
    def __init__(self, settings: Settings):
        done = bootstrap.initialise(settings, "acme", "admin@example.com", "Admin")
        self.app = create_app(settings)
        self.client = AppClient(self.app, raise_server_exceptions=False).__enter__()
        self.admin_key, self.sessions = done.api_key, self.app.state.sessions
        self.counter = itertools.count(1)
        self.places: dict[str, Place] = {}
        self.callers: dict[str, Caller] = {}
        self._ids: dict[str, int] = {}
        self._build()

    def close(self) -> None:
        self.client.__exit__(None, None, None)  # its lifespan's end closes the app's engines

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    # -- building --------------------------------------------------------------------------------------------

    def _build(self) -> None:
        with self.sessions.begin() as session:
            acme, other = orgs.get_org(session, "acme"), orgs.create_org(session, "other")
            for org, team in (("acme", "team-a"), ("acme", "team-b"), ("other", "team-x")):
                orgs.create_team(session, acme if org == "acme" else other, team, team, None)
            other_admin, _ = users.ensure_user(session, "other-admin@example.com", "Other")
            users.grant_roles(session, other_admin, other, None, [Role.WRITE_ADMIN], None)
            self.other_admin_key = keys.rotate_legacy_key(session, other_admin).secret
            for name, (org_name, team_name) in PLACES.items():
                org = orgs.get_org(session, org_name)
                team = orgs.get_team(session, org, team_name) if team_name else None
                self.places[name] = Place(name, org_name, team_name, org.id, team.id if team else None)
        for place in self.places.values():
            self._content(place)
        self._public_content()
        self._callers()
        for place in self.places.values():
            self.creator_of(place)  # looked up once, before victims are made inside transactions

    def key_for(self, place: Place) -> str:
        return self.admin_key if place.org == "acme" else self.other_admin_key

    def call(self, method: str, path: str, key: str | None, headers: dict | None = None, **kwargs):
        return self.client.request(method, path, headers={**(basic(key) if key else {}), **(headers or {})},
                                   **kwargs)

    def _content(self, place: Place) -> None:
        key, space = self.key_for(place), "/".join(p for p in (f"/v2/org/{place.org}", place.team and
                                                              f"team/{place.team}") if p)
        for kind in ("models", "resources"):
            self._expect(self.call("POST", f"{space}/{kind}", key, json={"name": place.model}))
            self._complete_version(space, kind, place.model, "1", key)
            self._expect(self.call("POST", f"{space}/{kind}/{place.model}/versions", key,
                                   json={"versionId": "pending"}))
        place.manifest_digest, place.manifest_body = self.push_image(place.repository, "1", key)
        place.layer_digest = sha256(b"layer of " + place.repository.encode())
        self.push_referrer(place.repository, place.manifest_digest, key)

    def _public_content(self) -> None:
        other = self.places["other-org"]
        public = self.places["public"] = Place("public", "other", None, other.org_id, None, public=True)
        space, key = "/v2/org/other", self.other_admin_key
        for kind in ("models", "resources"):
            self._expect(self.call("POST", f"{space}/{kind}", key, json={"name": public.model, "isPublic": True}))
            self._complete_version(space, kind, public.model, "1", key)
        public.manifest_digest, public.manifest_body = self.push_image(public.repository, "1", key)
        public.layer_digest = sha256(b"layer of " + public.repository.encode())
        self.push_referrer(public.repository, public.manifest_digest, key)
        self._expect(self.call("PATCH", f"/v2/org/other/repos/{public.image}", key, json={"isPublic": True}))

    def _complete_version(self, space: str, kind: str, name: str, version: str, key: str) -> None:
        base = f"{space}/{kind}/{name}"
        self._expect(self.call("POST", f"{base}/versions", key, json={"versionId": version}))
        sha = base64.b64encode(bytes.fromhex(sha256(FILE)[7:])).decode()
        body = {"name": name, "version": version, "artifactType": kind, "filePath": "weights.bin",
                "size": len(FILE), "sha256": sha}
        started = self._expect(self.call("POST", f"{space}/files/multipart", key, json=body)).json()
        self._expect(self.client.put(started["urls"][0].split("testserver", 1)[1], content=FILE))
        self._expect(self.call("PUT", f"{space}/files/multipart", key, json={**body, "uploadID": started["uploadID"]}))
        commit = {"name": name, "version": version, "artifactType": kind,
                  "files": [{"filePath": "weights.bin", "sha256": sha}]}
        self._expect(self.call("POST", f"{space}/files/commit", key, json=commit))
        self._expect(self.call("PATCH", f"{base}/versions/{version}", key, json={"status": "UPLOAD_COMPLETE"}))

    def push_image(self, repository: str, tag: str, key: str) -> tuple[str, bytes]:
        config, layer = config_blob(), b"layer of " + repository.encode()
        for blob in (config, layer):
            self._expect(self.call("POST", f"/v2/{repository}/blobs/uploads/?digest={sha256(blob)}", key,
                                   content=blob))
        manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                               "config": descriptor(config, OCI_CONFIG),
                               "layers": [descriptor(layer, OCI_LAYER)]}).encode()
        self._expect(self.call("PUT", f"/v2/{repository}/manifests/{tag}", key, content=manifest,
                               headers={"Content-Type": OCI_MANIFEST}))
        return sha256(manifest), manifest

    def push_referrer(self, repository: str, subject: str, key: str) -> None:
        empty = b"{}"
        self._expect(self.call("POST", f"/v2/{repository}/blobs/uploads/?digest={sha256(empty)}", key,
                               content=empty))
        manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/x-sig",
                               "config": descriptor(empty, "application/vnd.oci.empty.v1+json"), "layers": [],
                               "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 1}}).encode()
        self._expect(self.call("PUT", f"/v2/{repository}/manifests/{sha256(manifest)}", key, content=manifest,
                               headers={"Content-Type": OCI_MANIFEST}))

    @staticmethod
    def _expect(response):
        assert response.status_code < 300, response.text
        return response

    # -- callers ---------------------------------------------------------------------------------------------

    def _callers(self) -> None:
        acme = self.places["own-org"]
        for role in ROLES:
            for where, team_id in (("org", None), ("team-a", self.places["own-team"].team_id)):
                self._role_caller(role, where, acme.org_id, team_id)
        self._special_callers(acme)

    def _role_caller(self, role: Role, where: str, org_id: int, team_id: int | None) -> None:
        email = f"{role.value.lower()}-{where}@example.com"
        with self.sessions.begin() as session:
            user, _ = users.ensure_user(session, email, email)
            org = orgs.get_org(session, "acme")
            team = orgs.get_team(session, org, "team-a") if team_id else None
            users.grant_roles(session, user, org, team, [role], None)
            key, user_id = keys.rotate_legacy_key(session, user).secret, user.id
        principal = Principal(user_id=user_id, grants=(Grant(org_id, team_id, role),))
        # Org roles call with NGC bearer tokens, team roles with Basic API keys: both ways of authenticating.
        headers = {"Authorization": f"Bearer {self.ngc_token(key)}"} if where == "org" else basic(key)
        self.callers[f"{role.value}@{where}"] = Caller(f"{role.value}@{where}", headers, principal)

    def ngc_token(self, key: str, *scopes: str) -> str:
        query = "&".join(["service=ngc", *(f"scope={scope}" for scope in scopes)])
        return self._expect(self.client.get(f"/token?{query}", headers=basic(key))).json()["token"]

    def _special_callers(self, acme: Place) -> None:
        self.callers["guest"] = Caller("guest", {}, Principal(user_id=None))
        with self.sessions.begin() as session:
            both, _ = users.ensure_user(session, "two-orgs@example.com", "Two")
            for org_name in ("acme", "other"):
                users.grant_roles(session, both, orgs.get_org(session, org_name), None, [Role.WRITE_ADMIN], None)
            bound = keys.create_personal_key(session, both, orgs.get_org(session, "acme"), "ci", 30)
            revoked = keys.rotate_legacy_key(session, both).secret
            keys.rotate_legacy_key(session, both)
            expired = keys.create_personal_key(session, both, orgs.get_org(session, "acme"), "old", 30)
            session.get(ApiKey, expired.row.id).expires_at = utcnow() - timedelta(minutes=1)
            both_id = both.id
        narrowed = Principal(user_id=both_id, grants=(Grant(acme.org_id, None, Role.WRITE_ADMIN),))
        self.callers["nvapi-key-bound-to-acme"] = Caller("nvapi-key-bound-to-acme",
                                                         {"Authorization": f"Bearer {bound.secret}"}, narrowed)
        self.callers["revoked-key"] = Caller("revoked-key", basic(revoked), None)
        self.callers["expired-personal-key"] = Caller("expired-personal-key",
                                                      {"Authorization": f"Bearer {expired.secret}"}, None)
        foreign = self.ngc_token(self.admin_key, "repository:acme/elsewhere:pull,push,delete")
        admin_id = self._user_id("admin@example.com")
        self.callers["token-for-another-repository"] = Caller(
            "token-for-another-repository", {"Authorization": f"Bearer {foreign}"},
            Principal(user_id=admin_id, grants=(Grant(acme.org_id, None, Role.WRITE_ADMIN),)),
            token_names=frozenset({"acme/elsewhere"}))

    def creator_of(self, place: Place) -> int:
        """Who made the place's content (and its victims): the admin of its org."""
        email = "admin@example.com" if place.org == "acme" else "other-admin@example.com"
        if email not in self._ids:
            self._ids[email] = self._user_id(email)
        return self._ids[email]

    def ui_callers(self) -> dict[str, Caller]:
        """The role users with a browser session each, and a guest: the web UI's visitors."""
        found = {"guest": Caller("guest", {}, Principal(user_id=None))}
        for label, caller in self.callers.items():
            if "@" in label:
                with self.sessions.begin() as session:
                    token = accounts.start_session(session, users.get_user(session, caller.principal.user_id), 3600)
                found[label] = Caller(label, {"Cookie": f"ngcr_session={token}"}, caller.principal)
        return found

    def _user_id(self, email: str) -> int:
        with self.sessions.begin() as session:
            return users.find_user(session, email).id

    # -- victims: fresh objects for requests that change or delete ----------------------------------------------

    def victim_artifact(self, place: Place, kind: str = "models") -> str:
        name = self.unique("victim-")
        with self.sessions.begin() as session:
            org = orgs.get_org(session, place.org)
            team = orgs.get_team(session, org, place.team) if place.team else None
            artifact = artifacts.create_artifact(session, kind, org, team, name, {}, self.creator_of(place))
            artifacts.create_version(session, artifact, "1", {}, artifact.created_by)
        return name

    def victim_version(self, place: Place) -> str:
        version = self.unique("d")
        with self.sessions.begin() as session:
            org = orgs.get_org(session, place.org)
            team = orgs.get_team(session, org, place.team) if place.team else None
            artifact = artifacts.get_artifact(session, "models", org, team, place.model)
            artifacts.create_version(session, artifact, version, {}, self.creator_of(place))
        return version

    def victim_member(self, place: Place) -> str:
        """A member of the place (REGISTRY_READ on its org, and on its team when it has one)."""
        email = f"{self.unique('member-')}@example.com"
        with self.sessions.begin() as session:
            user, _ = users.ensure_user(session, email, email)
            org = orgs.get_org(session, place.org)
            users.grant_roles(session, user, org, None, [Role.READ], None)
            if place.team:
                users.grant_roles(session, user, org, orgs.get_team(session, org, place.team), [Role.READ], None)
        return email

    def victim_tag(self, place: Place) -> str:
        tag = self.unique("t")
        with self.sessions.begin() as session:
            repository = images.locate(session, place.repository).repository
            manifest_id = images.get_tag(session, repository, "1").manifest_id
            session.add(ImageTag(repository_id=repository.id, name=tag, manifest_id=manifest_id))
        return tag

    def victim_repository(self, place: Place) -> str:
        image = self.unique("victim-img-")
        name = "/".join(p for p in (place.org, place.team, image) if p)
        with self.sessions.begin() as session:
            images.ensure_repository(session, images.locate(session, name), None)
        return image

    def victim_blob(self, place: Place) -> str:
        digest = sha256(self.unique("blob").encode())
        with self.sessions.begin() as session:
            repository = images.locate(session, place.repository).repository
            session.add(ImageBlobLink(repository_id=repository.id, digest=digest, size=1))
        return digest


def world_settings(request, tmp_path_factory) -> Settings:
    """A fresh, migrated database of the kind the test is parametrized with (`sqlite` or `postgresql`)."""
    data_dir = tmp_path_factory.mktemp("world") / "data"
    if request.param == "sqlite":
        data_dir.mkdir()
        shutil.copyfile(request.getfixturevalue("sqlite_template"), data_dir / "registry.db")
        return Settings(data_dir=data_dir)
    url = new_database(request.getfixturevalue("postgres_url"))
    upgrade_schema(url)
    return Settings(data_dir=data_dir, database_url=url)
