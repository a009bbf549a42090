"""Schemathesis against the NGC API through the ASGI app: requests generated from `/openapi.json` (valid ones, and
invalid ones) get no 5xx, and every answer matches the description (status, content type, body schema).

Half of the generated requests use the world's real org, team, model and image names, so that they reach the code
behind the 404s. Deterministic by default; `NGC_FUZZ_EXAMPLES=200 NGC_FUZZ_RANDOM=1` explores further.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks

from ngc_registry.refs import is_ngc_path

from .world import World, world_settings

EXAMPLES = int(os.environ.get("NGC_FUZZ_EXAMPLES", "12"))
RANDOM = os.environ.get("NGC_FUZZ_RANDOM") == "1"
# Answers are checked against the description; `positive_data_acceptance` is left out because the description
# cannot say everything a valid name is (reserved words, which roles exist, which org a key may bind to).
CHECK_NAMES = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
               "response_headers_conformance", "response_schema_conformance", "negative_data_rejection")
# Not the NGC API: byte transfer through signed URLs, and the operator's probes (plain text for Prometheus).
NOT_FUZZED = ("/_storage/", "/metrics", "/healthz", "/readyz")
REAL = {"org": "acme", "org_name": "acme", "team": "team-a", "team_name": "team-a", "kind": "models",
        "name": "m-own-team", "version": "1", "repo": "img-own-team", "tag": "1", "resource_type": "MODEL",
        "ident": "admin@example.com"}
GROUPS = 4


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    built = World(world_settings(request, tmp_path_factory))
    yield built
    built.close()


def ngc_operations(world: World) -> list:
    schema = schemathesis.openapi.from_dict(world.app.openapi())
    found = [result.ok() for result in schema.get_all_operations()]
    return sorted((op for op in found if is_ngc_path(op.path) and not op.path.startswith(NOT_FUZZED)),
                  key=lambda op: (op.path, op.method))


def checks() -> list:
    load_all_checks()
    return [check for check in CHECKS.get_all() if check.__name__ in CHECK_NAMES]


def checks_for(response, selected: list) -> list:
    """A 413 (a generated body over the 1 MiB limit) rejects the request too; schemathesis' list of rejections
    lacks it."""
    if response.status_code != 413:
        return selected
    return [check for check in selected if check.__name__ != "negative_data_rejection"]


def strategy(operation):
    names = {parameter.name for parameter in operation.path_parameters}
    real = {name: value for name, value in REAL.items() if name in names}
    generated = [operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE)]
    if real:
        generated.append(operation.as_strategy(path_parameters=real))
    return st.one_of(*generated)


def fuzz(world: World, operation, headers: dict, failures: list[str]) -> None:
    selected = checks()

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not RANDOM,
              suppress_health_check=list(HealthCheck))
    @given(strategy(operation))
    def run(case):
        response = case.call(app=world.app, headers=headers)
        try:
            case.validate_response(response, checks=checks_for(response, selected))
        except BaseException as failure:  # schemathesis' FailureGroup: collect, report all operations at once
            failures.append(f"{operation.method.upper()} {operation.path}: {str(failure)[:1200]}")

    try:
        run()
    except BaseException as error:  # an exception out of the app itself (it would have been a 500)
        failures.append(f"{operation.method.upper()} {operation.path}: {type(error).__name__}: {error}"[:1200])


def test_the_description_names_errors_and_kinds(world):
    description = world.app.openapi()
    for path, item in description["paths"].items():
        for method, operation in item.items():
            envelope = "NgcError" if is_ngc_path(path) else "OciError"
            assert {"400", "401", "403", "404", "413"} <= set(operation["responses"]), (method, path)
            assert envelope in str(operation["responses"]["403"]), (method, path)
            assert "422" not in operation["responses"], (method, path)
            kinds = [p for p in operation.get("parameters", []) if p["name"] == "kind" and p["in"] == "path"]
            assert all(p["schema"]["enum"] == ["models", "resources"] for p in kinds), (method, path)
    ids = [op["operationId"] for item in description["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("group", range(GROUPS))
def test_generated_requests_get_no_5xx_and_answers_match_the_description(world, group):
    headers = world.callers["REGISTRY_WRITE_ADMIN@org"].headers
    failures: list[str] = []
    for operation in ngc_operations(world)[group::GROUPS]:
        fuzz(world, operation, headers, failures)
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures[:20])
