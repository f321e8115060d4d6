"""The one list of services (contracts/services.py) agrees with everything else that names
services: docker-compose.yml, deploy/compose/initdb.sql, the Kafka grants, the local runner and
the agency registry.

docker-compose.yml and initdb.sql stay hand-written (the compose file carries comments and
per-service details, such as the secrets each command reads, that a generator would have to
learn too); these checks are what keep them in step with the list. Adding a service to the list
without adding it to compose, or the other way round, fails here and says what is missing.
"""

import copy
import importlib.util
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.services import (
    AGENCY_SERVICES,
    ALL_SERVICES,
    PORTAL,
    SERVICES,
    Service,
    names,
    service,
)
from deploy import services as runner_services
from deploy.__main__ import DEFAULT_DATABASES, service_processes
from deploy.kafka_security import ADMIN, GRANTS, Credentials, permissions
from services.kit.agencies import AgencyRegistry

pytestmark = [pytest.mark.unit, pytest.mark.structure]

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
INITDB = ROOT / "deploy" / "compose" / "initdb.sql"
AGENCIES_FILE = ROOT / "deploy" / "agencies.yaml"
#: Every service container listens here; compose publishes it on the service's own port.
CONTAINER_PORT = 8000
#: Where a container finds its own Kafka password (a sub-directory of the credentials volume).
KAFKA_SECRETS = "/run/secrets/kafka"
_RUNS = re.compile(r"python -m (services\.[A-Za-z0-9_.]+)")


def compose_problems(compose: dict[str, Any], services: Iterable[Service]) -> list[str]:
    """What the parsed docker-compose.yml gets wrong about `services`; empty if it agrees."""
    containers: dict[str, Any] = compose.get("services") or {}
    listed = list(services)
    unlisted = sorted(set(_service_containers(containers)) - set(names(listed)))
    problems = [f"{name}: runs a service that is not in the list" for name in unlisted]
    for entry in listed:
        if entry.name not in containers:
            problems.append(f"{entry.name}: not in docker-compose.yml")
            continue
        found = _container_problems(containers[entry.name], entry, listed)
        problems.extend(f"{entry.name}: {problem}" for problem in found)
    return problems


def initdb_problems(sql: str, services: Iterable[Service]) -> list[str]:
    """Where the init script's CREATE DATABASE statements differ from the listed databases."""
    created = re.findall(r"CREATE\s+DATABASE\s+\"?([A-Za-z0-9_]+)\"?", sql, re.IGNORECASE)
    wanted = [s.database for s in services if s.database is not None]
    return [
        *(
            f"{name}: created more than once"
            for name in sorted(set(created))
            if created.count(name) > 1
        ),
        *(f"{name}: not created" for name in wanted if name not in created),
        *(f"{name}: created, but no service has it" for name in created if name not in wanted),
    ]


def _service_containers(containers: dict[str, Any]) -> dict[str, str]:
    """The package each container runs, for the containers that run a Samverkan service."""
    running = {name: _RUNS.search(_command(c)) for name, c in containers.items()}
    return {name: found.group(1) for name, found in running.items() if found}


def _container_problems(
    container: dict[str, Any], entry: Service, listed: list[Service]
) -> Iterator[str]:
    env = {str(k): str(v) for k, v in (container.get("environment") or {}).items()}
    if _service_containers({entry.name: container}).get(entry.name) != entry.package:
        yield f"does not run python -m {entry.package}"
    if f"{entry.port}:{CONTAINER_PORT}" not in [str(p) for p in container.get("ports", [])]:
        yield f"does not publish port {entry.port}"
    if env.get("SAMVERKAN_HTTP_PORT") != str(CONTAINER_PORT):
        yield f"does not listen on {CONTAINER_PORT}"
    if env.get("SAMVERKAN_SERVICE", entry.name) != entry.name:
        yield f"SAMVERKAN_SERVICE is {env['SAMVERKAN_SERVICE']}"
    yield from _database_problems(env, entry)
    yield from _kafka_problems(container, env, entry)
    if "SAMVERKAN_SERVICE_URLS" in env:
        yield from _address_problems(json.loads(env["SAMVERKAN_SERVICE_URLS"]), listed)


def _database_problems(env: dict[str, str], entry: Service) -> Iterator[str]:
    dsn = env.get("SAMVERKAN_DB_DSN")
    database = None if dsn is None else dsn.rsplit("/", 1)[-1].split("?", 1)[0]
    if database != entry.database:
        yield f"database is {database}, the list says {entry.database}"


def _kafka_problems(
    container: dict[str, Any], env: dict[str, str], entry: Service
) -> Iterator[str]:
    mounts = [v for v in container.get("volumes", []) if isinstance(v, dict)]
    secrets = [m["volume"]["subpath"] for m in mounts if m.get("target") == KAFKA_SECRETS]
    login = env.get("SAMVERKAN_KAFKA_USERNAME")
    if entry.kafka_login and (login, secrets) != (entry.name, [entry.name]):
        yield f"logs in to Kafka as {login} with the password of {secrets}, not as itself"
    if not entry.kafka_login and (secrets or any(v.startswith("SAMVERKAN_KAFKA") for v in env)):
        yield "has Kafka settings, but the list gives it no Kafka login"


def _address_problems(urls: dict[str, str], listed: list[Service]) -> Iterator[str]:
    """The portal's service addresses: listed services at their container address, every
    agency service among them (the portal finds an agency's records at its host)."""
    for name, url in urls.items():
        if name not in names(listed):
            yield f"calls {name}, which is not in the list"
        elif url != f"http://{name}:{CONTAINER_PORT}":
            yield f"calls {name} at {url}"
    for name in names(s for s in listed if s.hosts_agencies):
        if name not in urls:
            yield f"has no address for the agency service {name}"


def _command(container: dict[str, Any]) -> str:
    command = container.get("command", "")
    return " ".join(map(str, command)) if isinstance(command, list) else str(command)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_the_list_is_consistent():
    assert len(set(names(ALL_SERVICES))) == len(ALL_SERVICES)
    assert len({s.port for s in ALL_SERVICES}) == len(ALL_SERVICES)
    assert PORTAL in ALL_SERVICES and PORTAL not in SERVICES
    assert all(service(s.name) is s for s in ALL_SERVICES)
    for entry in ALL_SERVICES:
        assert importlib.util.find_spec(f"{entry.package}.__main__"), entry.package
        assert entry.database in (None, f"samverkan_{entry.name}"), entry.name
        # Topics are granted to a Kafka principal: without a login there is nobody to grant.
        assert entry.kafka_login or not (entry.writes or entry.reads), entry.name
    # The handoff loop keeps its state and follows the handoff topics.
    assert all(s in SERVICES for s in AGENCY_SERVICES)
    with pytest.raises(KeyError, match="no service"):
        service("nobody")


def test_the_runner_names_the_listed_services():
    assert names(SERVICES) == runner_services.SERVICES
    assert PORTAL.name == runner_services.PORTAL


def test_the_runner_starts_exactly_the_listed_services(tmp_path):
    assert [s.database for s in ALL_SERVICES if s.database is not None] == DEFAULT_DATABASES
    databases = {name: f"postgresql://runner/{name}" for name in DEFAULT_DATABASES}
    processes = service_processes("127.0.0.1:9092", databases, Credentials.generate(), tmp_path, {})
    assert [p.name for p in processes] == list(names(ALL_SERVICES))
    for process, entry in zip(processes, ALL_SERVICES, strict=True):
        assert process.port == entry.port, entry.name
        assert process.database_dsn == databases.get(entry.database or "", ""), entry.name
        login = process.kafka_login.get("SAMVERKAN_KAFKA_USERNAME")
        assert login == (entry.name if entry.kafka_login else None), entry.name
    (portal,) = [p for p in processes if p.name == PORTAL.name]
    urls = json.loads(portal.extra_env["SAMVERKAN_SERVICE_URLS"])
    assert urls == {s.name: f"http://127.0.0.1:{s.port}" for s in SERVICES}


def test_the_kafka_grants_cover_exactly_the_listed_principals_and_topics():
    with_login = [s for s in ALL_SERVICES if s.kafka_login]
    assert list(GRANTS) == list(names(with_login))
    for entry in with_login:
        assert GRANTS[entry.name].writes == entry.writes, entry.name
        assert GRANTS[entry.name].reads == entry.reads, entry.name
    assert {rule.principal for rule in permissions()} == {f"User:{s.name}" for s in with_login}
    assert set(Credentials.generate().passwords) == {ADMIN, *names(with_login)}


def test_compose_runs_every_listed_service_with_its_port_database_and_login(compose):
    assert compose_problems(compose, ALL_SERVICES) == []


def test_initdb_creates_exactly_the_listed_databases():
    assert initdb_problems(INITDB.read_text(encoding="utf-8"), ALL_SERVICES) == []


def test_every_agency_is_hosted_by_an_agency_service_and_every_one_hosts_some():
    registry = AgencyRegistry.load(AGENCIES_FILE)
    hosts = {agency.service for agency in registry.all()}
    assert hosts == set(names(AGENCY_SERVICES))


def _without_container(compose: dict[str, Any], name: str) -> dict[str, Any]:
    changed = copy.deepcopy(compose)
    del changed["services"][name]
    return changed


def _with_env(compose: dict[str, Any], name: str, variable: str, value: str) -> dict[str, Any]:
    changed = copy.deepcopy(compose)
    changed["services"][name]["environment"][variable] = value
    return changed


def test_a_listed_service_missing_from_compose_is_a_problem(compose):
    assert compose_problems(_without_container(compose, "reporting"), ALL_SERVICES) == [
        "reporting: not in docker-compose.yml"
    ]


def test_a_compose_service_missing_from_the_list_is_a_problem(compose):
    listed = [s for s in ALL_SERVICES if s.name != "reporting"]
    assert compose_problems(compose, listed) == [
        "reporting: runs a service that is not in the list"
    ]


def test_the_portal_may_call_only_listed_services(compose):
    listed = [s for s in ALL_SERVICES if s.name != "social"]
    problems = compose_problems(_without_container(compose, "social"), listed)
    assert problems == ["portal: calls social, which is not in the list"]


@pytest.mark.parametrize(
    ("name", "variable", "value", "problem"),
    [
        ("school", "SAMVERKAN_DB_DSN", "postgresql://postgres@postgres:5432/samverkan_social",
         "school: database is samverkan_social, the list says samverkan_school"),
        ("audit", "SAMVERKAN_KAFKA_USERNAME", "admin",
         "audit: logs in to Kafka as admin with the password of ['audit'], not as itself"),
        ("portal", "SAMVERKAN_KAFKA_USERNAME", "portal",
         "portal: has Kafka settings, but the list gives it no Kafka login"),
        ("portal", "SAMVERKAN_DB_DSN", "postgresql://postgres@postgres:5432/samverkan_portal",
         "portal: database is samverkan_portal, the list says None"),
        ("social", "SAMVERKAN_HTTP_PORT", "9000", f"social: does not listen on {CONTAINER_PORT}"),
    ],
)  # fmt: skip
def test_a_compose_service_that_differs_from_its_entry_is_a_problem(
    compose, name, variable, value, problem
):
    changed = _with_env(compose, name, variable, value)
    assert compose_problems(changed, ALL_SERVICES) == [problem]


def test_a_published_port_other_than_the_listed_one_is_a_problem(compose):
    changed = copy.deepcopy(compose)
    changed["services"]["employment"]["ports"] = [f"9003:{CONTAINER_PORT}"]
    assert compose_problems(changed, ALL_SERVICES) == [
        f"employment: does not publish port {service('employment').port}"
    ]


def test_initdb_problems_name_missing_and_extra_databases():
    sql = "CREATE DATABASE samverkan_school;\nCREATE DATABASE samverkan_extra;\n"
    listed = [service("school"), service("social"), PORTAL]
    assert initdb_problems(sql, listed) == [
        "samverkan_social: not created",
        "samverkan_extra: created, but no service has it",
    ]
