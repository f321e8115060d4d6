"""The Docker Compose stack stays consistent with the code: settings, databases, image."""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from contracts import services as service_list
from services.audit.settings import AuditSettings
from services.kit.settings import DatabaseSettings, HttpSettings, KafkaSettings, ServiceSettings
from services.portal.settings import PortalSettings

pytestmark = [pytest.mark.unit, pytest.mark.contracts]

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
INITDB = ROOT / "deploy" / "compose" / "initdb.sql"

AGENCY_SERVICES = service_list.names(service_list.AGENCY_SERVICES)
REQUIRED_ENV = (
    "SAMVERKAN_SERVICE",
    "SAMVERKAN_KAFKA_BOOTSTRAP",
    "SAMVERKAN_DB_DSN",
    "SAMVERKAN_HTTP_HOST",
    "SAMVERKAN_HTTP_PORT",
)
PACKAGES = ("contracts", "services", "deploy")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    found = compose.get("services")
    assert isinstance(found, dict)
    assert found
    return found


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping, whichever of the two compose forms it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        return {pair[0]: (pair[1] if len(pair) > 1 else "") for pair in pairs}
    return {str(name): "" if value is None else str(value) for name, value in env.items()}


def _depends_on(service: dict[str, Any]) -> list[str]:
    deps = service.get("depends_on") or []
    return list(deps) if isinstance(deps, dict | list) else []


def _settings_env_names() -> set[str]:
    """Every environment name the settings classes read: env_prefix + FIELD."""
    names: set[str] = set()
    classes: tuple[type[BaseSettings], ...] = (
        ServiceSettings,
        AuditSettings,
        PortalSettings,
        KafkaSettings,
        DatabaseSettings,
        HttpSettings,
    )
    for cls in classes:
        prefix = cls.model_config.get("env_prefix") or ""
        assert prefix.startswith("SAMVERKAN_"), cls.__name__
        for field_name, field in cls.model_fields.items():
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings):
                # Nested settings read their own prefixed variables, not PREFIX_FIELD.
                continue
            names.add((prefix + field_name).upper())
    return names


def _database_name(dsn: str) -> str:
    match = re.fullmatch(r"postgres(?:ql)?://[^/]+/([A-Za-z0-9_]+)(?:\?.*)?", dsn)
    assert match, f"unparseable DSN {dsn!r}"
    return match.group(1)


def _created_databases() -> set[str]:
    sql = INITDB.read_text(encoding="utf-8")
    return set(re.findall(r"CREATE\s+DATABASE\s+\"?([A-Za-z0-9_]+)\"?", sql, re.IGNORECASE))


def _host_port(entry: Any) -> str | None:
    """The published host port of one `ports` entry, short or long syntax."""
    if isinstance(entry, dict):
        published = entry.get("published")
        return None if published is None else str(published)
    parts = str(entry).split("/", 1)[0].split(":")
    return parts[-2] if len(parts) >= 2 else None


def test_every_service_has_an_image_or_a_build(services):
    for name, service in services.items():
        assert "image" in service or "build" in service, name


def test_the_infrastructure_uses_the_official_images(services):
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["postgres"]["image"].split(":")[0] == "postgres"


def test_kafka_runs_single_node_kraft_without_topic_auto_creation(services):
    env = _environment(services["kafka"])
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    # CLIENT is SASL_PLAINTEXT: every client logs in (tests/unit/test_kafka_security.py).
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "CLIENT://kafka:9092"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"].lower() == "false"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"


def test_the_agency_services_exist_with_their_settings(services):
    for name in AGENCY_SERVICES:
        assert name in services, name
        service = services[name]
        env = _environment(service)
        for var in REQUIRED_ENV:
            assert var in env, f"{name}: {var} missing"
        assert env["SAMVERKAN_SERVICE"] == name
        assert env["SAMVERKAN_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert "build" in service, name
        assert f"services.{name}" in " ".join(map(str, service["command"]))


def test_every_samverkan_variable_is_a_real_setting(services):
    allowed = _settings_env_names()
    assert {"SAMVERKAN_SERVICE", "SAMVERKAN_DB_DSN", "SAMVERKAN_KAFKA_BOOTSTRAP"} <= allowed
    for name, service in services.items():
        unknown = {v for v in _environment(service) if v.startswith("SAMVERKAN_")} - allowed
        assert not unknown, f"{name}: {sorted(unknown)} are not settings fields"


def test_every_service_database_is_created_by_initdb(services):
    created = _created_databases()
    assert {f"samverkan_{name}" for name in AGENCY_SERVICES} <= created
    for name, service in services.items():
        dsn = _environment(service).get("SAMVERKAN_DB_DSN")
        if dsn is not None:
            assert _database_name(dsn) in created, name


def test_initdb_is_mounted_into_postgres(services):
    volumes = [str(v) for v in services["postgres"].get("volumes", [])]
    assert any(
        "deploy/compose/initdb.sql" in v and "/docker-entrypoint-initdb.d/" in v for v in volumes
    )


def test_published_host_ports_are_unique(services):
    published = [
        port
        for service in services.values()
        for entry in service.get("ports", [])
        if (port := _host_port(entry)) is not None
    ]
    assert len(published) == len(set(published)), published


def test_every_dependency_exists(services):
    for name, service in services.items():
        for dep in _depends_on(service):
            assert dep in services, f"{name} depends on unknown {dep}"


def test_the_agency_services_wait_for_the_database_and_the_topics(services):
    assert "python -m deploy topics" in " ".join(map(str, services["topics"]["command"]))
    for name in AGENCY_SERVICES:
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy", name
        assert deps["topics"]["condition"] == "service_completed_successfully", name


def test_every_samverkan_service_gets_its_secrets_from_the_generated_volume(services):
    for name, service in services.items():
        # The portal holds no principals and no pseudonym key: it calls the services' APIs.
        if not str(service.get("command", "")).count("services.") or name == "portal":
            continue
        assert (
            _environment(service)["SAMVERKAN_PRINCIPALS_FILE"] == "/run/secrets/app/principals.yaml"
        )
        assert "SAMVERKAN_PSEUDONYM_KEY=$$(cat /run/secrets/app/pseudonym.key)" in " ".join(
            service["command"]
        )
        mounts = [v for v in service["volumes"] if isinstance(v, dict)]
        assert {"target": "/run/secrets/app", "subpath": "app"} in [
            {"target": v["target"], "subpath": v["volume"]["subpath"]} for v in mounts
        ], name
    assert "SAMVERKAN_AUDIT_SIGNING_KEY=$$(cat" in " ".join(services["audit"]["command"])
    assert "SAMVERKAN_PORTAL_SESSION_SECRET=$$(cat" in " ".join(services["portal"]["command"])


def test_kafka_and_postgres_have_healthchecks(services):
    for name in ("kafka", "postgres"):
        assert services[name].get("healthcheck", {}).get("test"), name


def test_the_dockerfile_copies_the_packages_and_installs_the_project():
    text = DOCKERFILE.read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines()]
    copies = [line.split()[1:] for line in lines if line.upper().startswith("COPY ")]
    copied = {Path(src).name for args in copies for src in args[:-1]}
    for package in (*PACKAGES, "pyproject.toml"):
        assert package in copied, f"{package} is not copied"
    assert any(re.match(r"RUN\s+pip install \.(\s|$)", line) for line in lines)
    assert re.search(r"^USER\s+(?!root\b)\S+", text, re.MULTILINE), "image must not run as root"


def test_docker_compose_accepts_the_file():
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client")
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, check=False, timeout=30
    )
    if probe.returncode != 0:
        pytest.skip("no docker compose plugin")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
