"""Property tests of the document parsers: manifests, search and filter queries, version metrics, request bodies,
the client's config file and token cache. Hostile input gets the product's own error, never a crash."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ngc_registry.cli.config import read_config_file, resolve_config
from ngc_registry.client.tokens import TokenCache
from ngc_registry.errors import ConfigError, RegistryError
from ngc_registry.server.routes import ngc_orgs, ngc_search
from ngc_registry.server.routes.artifact_views import ArtifactBody, VersionBody
from ngc_registry.server.services import artifacts
from ngc_registry.server.services.images_formats import MANIFEST_TYPES, OCI_INDEX, OCI_MANIFEST, parse_manifest

FAST = settings(max_examples=100, deadline=None, database=None)
DIGEST = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64).map("sha256:".__add__)
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
JSON = st.recursive(JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                    max_leaves=20)
DEEP = ["[" * 100_000, '{"a":' * 50_000, "[" * 3000 + "]" * 3000]


def descriptor(media_type=st.sampled_from(["application/vnd.oci.image.layer.v1.tar", "x/y"])):
    return st.fixed_dictionaries({"mediaType": media_type, "digest": DIGEST, "size": st.integers(0, 2**53)},
                                 optional={"urls": st.lists(st.text(max_size=10), max_size=2),
                                           "platform": st.dictionaries(st.text(max_size=8), st.text(max_size=8))})


MANIFESTS = st.one_of(
    st.fixed_dictionaries({"schemaVersion": st.just(2), "mediaType": st.just(OCI_MANIFEST),
                           "config": descriptor(), "layers": st.lists(descriptor(), max_size=4)},
                          optional={"subject": descriptor(), "artifactType": st.text(max_size=20),
                                    "annotations": st.dictionaries(st.text(max_size=8), st.text(max_size=8))}),
    st.fixed_dictionaries({"schemaVersion": st.just(2), "mediaType": st.just(OCI_INDEX),
                           "manifests": st.lists(descriptor(st.sampled_from(sorted(MANIFEST_TYPES))), max_size=4)}),
)


def mutate(document: dict, key: str, value: object) -> dict:
    return {**document, key: value}


@FAST
@given(MANIFESTS)
def test_well_formed_manifests_parse_and_keep_their_references(document):
    manifest = parse_manifest(json.dumps(document).encode(), None)
    assert manifest.media_type == document["mediaType"]
    digests = [d.digest for d in manifest.required_blobs + manifest.children]
    named = [document["config"]] + document["layers"] if "config" in document else document["manifests"]
    assert set(digests) <= {d["digest"] for d in named}


@FAST
@given(MANIFESTS, st.sampled_from(["config", "layers", "manifests", "subject", "schemaVersion", "mediaType",
                                   "annotations", "artifactType"]), JSON)
def test_any_field_replaced_by_any_json_is_a_clean_refusal_or_a_manifest(document, key, value):
    try:
        parse_manifest(json.dumps(mutate(document, key, value)).encode(), None)
    except RegistryError as error:
        assert error.status == 400


@FAST
@given(st.one_of(st.binary(max_size=300), JSON.map(lambda v: json.dumps(v).encode())),
       st.one_of(st.none(), st.sampled_from(sorted(MANIFEST_TYPES)), st.text(max_size=30)))
@example(b"[" * 100_000, None)
@example(b'{"schemaVersion": 2, "config": ' * 20_000, None)
@example(b'{"schemaVersion": 2, "mediaType": "' + OCI_MANIFEST.encode() + b'", "config": {"mediaType": "a", '
         b'"digest": "sha256:' + b"0" * 64 + b'", "size": NaN}}', None)
def test_any_bytes_are_a_clean_refusal_or_a_manifest(body, content_type):
    try:
        parse_manifest(body, content_type)
    except RegistryError as error:
        assert error.status == 400


# -- search and filter queries (the `q` parameter) ----------------------------------------------------------

@FAST
@given(st.one_of(JSON.map(json.dumps), st.text(max_size=100)))
@example('{"page": 1e999}')
@example('{"pageSize": -1e999}')
@example('{"page": 10000000000000000000000}')
@example('{"filters": 5}')
@example('{"filters": [{"field": "email", "value": 5}]}')
def test_search_and_filter_queries_are_clean_refusals_or_bounded(q):
    try:
        query = ngc_search.parse_query("MODEL", q)
    except RegistryError as error:
        assert error.status == 400
    else:
        assert 0 <= query.page <= ngc_search.MAX_PAGE and 1 <= query.page_size <= 1000
    try:
        ngc_orgs._email_filter(q)
    except RegistryError as error:
        assert error.status == 400


@pytest.mark.parametrize("q", DEEP)
def test_deeply_nested_queries_are_refused_not_crashed(q):
    with pytest.raises(RegistryError):
        ngc_search.parse_query("MODEL", q)
    with pytest.raises(RegistryError):
        ngc_orgs._email_filter(q)


# -- version metrics and request bodies ----------------------------------------------------------------------

METRIC_TABLE = st.fixed_dictionaries({"name": st.text(max_size=10), "attributes": st.lists(
    st.fixed_dictionaries({"key": st.text(max_size=10), "value": JSON_LEAF}), min_size=1, max_size=12)})


@FAST
@given(st.lists(st.one_of(METRIC_TABLE, JSON), max_size=5))
def test_metrics_are_validated_or_refused(tables):
    try:
        artifacts.validate_metrics(tables)
    except RegistryError as error:
        assert error.status == 400
        return
    assert len(tables) <= artifacts.MAX_METRIC_TABLES
    assert all(1 <= len(t["attributes"]) <= artifacts.MAX_METRIC_ATTRIBUTES for t in tables)


@FAST
@given(st.dictionaries(st.sampled_from(["versionId", "accuracyReached", "batchSize", "customMetrics", "gpuModel",
                                        "otherContents", "numberOfEpochs"]), JSON, max_size=5))
@example({"accuracyReached": math.nan})
@example({"accuracyReached": math.inf})
@example({"customMetrics": [{"name": "t", "attributes": [{"key": "k", "value": math.nan}]}]})
def test_version_bodies_hold_only_json_the_server_can_send_back(body):
    try:
        parsed = VersionBody.model_validate(body)
    except ValidationError:
        return
    json.dumps(parsed.meta(), allow_nan=False)  # what the API renders later, with the standard JSON encoder


@FAST
@given(st.dictionaries(st.sampled_from(["name", "labels", "publicDatasetUsed", "isPublic", "description"]), JSON,
                       max_size=4))
def test_artifact_bodies_hold_only_json_the_server_can_send_back(body):
    try:
        parsed = ArtifactBody.model_validate(body)
    except ValidationError:
        return
    json.dumps(parsed.meta("models"), allow_nan=False)


# -- the client's files: ~/.ngc/config and the token cache ------------------------------------------------------

@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=300), st.lists(st.sampled_from(
    ["[CURRENT]", "apikey = k", "org = o", "format_type = json", "format_type = xml", "team=", "[x]", "= v",
     "apikey", "  indented", "org = a\n  b", "%(x)s", "[CURRENT]\n[CURRENT]"]), max_size=8).map("\n".join)))
@example("[CURRENT]\napikey = k\napikey = j")
def test_any_config_file_loads_or_is_a_config_error(tmp_path, text):
    path = tmp_path / "config"
    path.write_text(text, errors="surrogateescape")
    try:
        values = read_config_file(path)
        config = resolve_config({}, {}, values, path)
    except ConfigError:
        return
    assert config.format_type in ("ascii", "csv", "json")


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(JSON)
@example({"k": {"expires_at": "soon", "token": "t"}})
@example({"k": {"expires_at": None, "token": 5}})
@example({"k": {"expires_at": 1e999, "token": ["t"]}})
@example("[" * 100_000)
def test_a_damaged_token_cache_costs_a_token_request_not_a_crash(tmp_path, data):
    path = tmp_path / "tokens.json"
    path.write_text(data if isinstance(data, str) and data.startswith("[[") else json.dumps(data))
    cache = TokenCache(path, clock=lambda: 1000.0)
    token = cache.get("k")
    assert token is None or isinstance(token, str)
    cache.put("other", "token", 3600)
    assert TokenCache(path, clock=lambda: 1000.0).get("other") == "token"
