"""Command line for the local stack.

``run`` starts Kafka, PostgreSQL, the topics, one database per service and the
services themselves, until Ctrl-C or SIGTERM; ``up`` does the same without the
services; ``prepare`` fetches what they need (Kafka jars, PostgreSQL binaries)
ahead of time; ``topics`` creates the contract topics, the service principals
and their ACLs on any broker, e.g. the one in docker-compose, whose passwords
``credentials`` generates.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

from contracts.services import PORTAL, SERVICES
from contracts.topics import topic_specs
from services.kit.agencies import AgencyRegistry

from . import deadletters
from ._process import run_sync
from .credentials import (
    demo_principals,
    new_pseudonym_key,
    write_app_secrets,
    write_principals,
)
from .kafka_jars import REPO_ROOT, fetch_jars
from .kafka_security import ADMIN, Credentials, create_principals, grant, write_compose_files
from .postgres import ensure_binaries
from .services import ServiceProcess, portal_process
from .stack import Stack
from .topics import ensure_topics

DEFAULT_WORKDIR = REPO_ROOT / ".run" / "stack"
DEFAULT_DATABASES = [s.database for s in SERVICES if s.database is not None]


def parse_topics(text: str) -> list[tuple[str, int]]:
    """Parse ``"name:partitions,..."`` into ``[(name, partitions), ...]``."""
    topics: list[tuple[str, int]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, count = item.rpartition(":")
        if not sep or not name or not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(f"expected name:partitions, got {item!r}")
        topics.append((name, int(count)))
    return topics


def parse_names(text: str) -> list[str]:
    """Parse ``"a,b,c"`` into ``["a", "b", "c"]``."""
    return [name.strip() for name in text.split(",") if name.strip()]


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so the `finally` below stops both servers.
    raise KeyboardInterrupt


def _secrets(workdir: Path) -> dict[str, str]:
    """Fresh API keys and pseudonym key for this run; the environment the services need."""
    keys_file = workdir / "api-keys.json"
    registry = AgencyRegistry.load(REPO_ROOT / "deploy" / "agencies.yaml")
    write_principals(demo_principals(registry), workdir / "principals.yaml", keys_file)
    print(f"API keys        : {keys_file} (Authorization: Bearer <key>)")
    return {
        "SAMVERKAN_PRINCIPALS_FILE": str(workdir / "principals.yaml"),
        "SAMVERKAN_PSEUDONYM_KEY": new_pseudonym_key(),
    }


def service_processes(
    kafka_bootstrap: str,
    databases: Mapping[str, str],
    credentials: Credentials,
    log_dir: Path,
    env: Mapping[str, str],
) -> list[ServiceProcess]:
    """Every service in contracts/services.py as a process, not started yet: each at its port,
    on its database (by name in ``databases``), logged in to Kafka as itself; the portal last,
    pointed at the others."""
    processes: list[ServiceProcess] = []
    for listed in SERVICES:
        assert listed.database is not None  # SERVICES are the ones with a database
        processes.append(
            ServiceProcess(
                name=listed.name,
                database_dsn=databases[listed.database],
                kafka_bootstrap=kafka_bootstrap,
                log_dir=log_dir,
                port=listed.port,
                kafka_login=credentials.service_env(listed.name),
                extra_env=dict(env),
            )
        )
    portal = portal_process({p.name: p for p in processes}, log_dir, PORTAL.port)
    return [*processes, portal]


def _start_services(stack: Stack, workdir: Path) -> list[ServiceProcess]:
    """Start every service on ``stack``, one after the other, and say where each is."""
    processes = service_processes(
        stack.kafka.bootstrap,
        stack.databases,
        stack.kafka.credentials,
        workdir / "logs",
        _secrets(workdir),
    )
    for process in processes:
        process.start()
        if process.name == PORTAL.name:
            print(f"web portal          : {process.url}/  (sign in: api-keys.json)", flush=True)
        else:
            print(
                f"service {process.name:<12}: {process.url}/docs  (log {process.log_file})",
                flush=True,
            )
    return processes


def up(
    workdir: Path,
    databases: Sequence[str],
    topics: Sequence[tuple[str, int]],
    with_services: bool = False,
) -> int:
    """Start the stack (and the services), print where everything is, block until a signal."""
    signal.signal(signal.SIGTERM, _interrupt)
    stack = Stack(workdir)
    services: list[ServiceProcess] = []
    try:
        info = stack.start(databases, topics)
        print(f"Kafka bootstrap : {info['kafka_bootstrap']}")
        for name, dsn in info["databases"].items():
            print(f"database {name:<8}: {dsn}")
        for name, path in info["logs"].items():
            print(f"log {name:<13}: {path}")
        print(f"stack.json      : {stack.info_file}")
        if with_services:
            services = _start_services(stack, workdir)
        print("Running; Ctrl-C or SIGTERM stops it.", flush=True)
        waited = {signal.SIGINT, signal.SIGTERM}
        # Blocked and waited for synchronously: no race between a check and a sleep.
        signal.pthread_sigmask(signal.SIG_BLOCK, waited)
        received = signal.sigwait(waited)
        # Unblocked again; from here on further signals are ignored until all is stopped.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, waited)
        print(f"{signal.Signals(received).name}: stopping", flush=True)
    except KeyboardInterrupt:
        print("interrupted: stopping", flush=True)
    finally:
        # Shutting down: a second Ctrl-C must not leave services or servers orphaned.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for service in reversed(services):
            service.stop()
        stack.stop()
    print("stopped")
    return 0


def prepare() -> int:
    """Fetch the Kafka jars and install PostgreSQL if needed, without starting them."""
    print(f"Kafka jars      : {fetch_jars()}")
    print(f"PostgreSQL bin  : {ensure_binaries()}")
    return 0


def topics(bootstrap: str, wanted: Sequence[tuple[str, int]], credentials_dir: Path) -> int:
    """Create the missing topics, the service principals and their ACLs at ``bootstrap``."""
    credentials = Credentials.load(credentials_dir)
    admin = {"bootstrap_servers": bootstrap, **credentials.client_config(ADMIN)}
    run_sync(ensure_topics(admin, wanted))
    for name, partitions in wanted:
        print(f"topic {name} ({partitions} partitions) ready")
    run_sync(create_principals(admin, credentials))
    run_sync(grant(admin))
    print(f"principals and ACLs ready: {', '.join(sorted(set(credentials.passwords) - {ADMIN}))}")
    return 0


def credentials(directory: Path) -> int:
    """Generate Kafka passwords for docker-compose (kept if present) and the broker's files."""
    made = write_compose_files(directory)
    registry = AgencyRegistry.load(REPO_ROOT / "deploy" / "agencies.yaml")
    write_app_secrets(directory / "app", registry)
    print(f"API keys        : {directory / 'app' / 'api-keys.json'}")
    for principal in sorted(made.passwords):
        print(f"kafka principal {principal:<10}: {directory / principal / 'password'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m deploy``."""
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for command, text in [
        ("run", "start Kafka, PostgreSQL and the services; wait for a signal"),
        ("up", "start Kafka and PostgreSQL only; wait for a signal"),
    ]:
        run = commands.add_parser(command, help=text)
        run.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
        run.add_argument("--databases", type=parse_names, default=DEFAULT_DATABASES, help="a,b")
        run.add_argument("--topics", type=parse_topics, default=topic_specs(), help="name:N,...")
    commands.add_parser("prepare", help="fetch Kafka jars and PostgreSQL binaries")
    commands.add_parser("demo", help="play the handoff flows against the running services")
    create = commands.add_parser("topics", help="create missing topics on a running broker")
    create.add_argument("--bootstrap", required=True, help="host:port")
    create.add_argument("--topics", type=parse_topics, default=topic_specs(), help="name:N,...")
    create.add_argument(
        "--credentials",
        type=Path,
        default=DEFAULT_WORKDIR / "kafka" / "credentials",
        help="directory of <principal>/password files",
    )
    secrets = commands.add_parser("credentials", help="generate Kafka passwords for compose")
    secrets.add_argument("--dir", type=Path, required=True)
    deadletters.add_arguments(
        commands.add_parser("deadletters", help="list dead letters; replay chosen ones")
    )
    args = parser.parse_args(argv)
    if args.command == "prepare":
        return prepare()
    if args.command == "demo":
        from .demo import main as demo

        return demo()
    if args.command == "topics":
        return topics(args.bootstrap, args.topics, args.credentials)
    if args.command == "credentials":
        return credentials(args.dir)
    if args.command == "deadletters":
        return deadletters.run(args, sys.stdout)
    return up(args.workdir, args.databases, args.topics, with_services=args.command == "run")


if __name__ == "__main__":
    sys.exit(main())
