"""The one list of Samverkan's services: what each is called and where it runs, which topics it
reads and writes, its database, and whether it hosts agencies or logs in to Kafka.

Pure data, so that the runner, the portal, the chaos run and the tests can read it without
importing a service. The local runner's processes and ports, the Kafka principals and their
ACLs (``deploy.kafka_security.GRANTS``) are derived from it; docker-compose.yml and
deploy/compose/initdb.sql are written by hand and checked against it by a structure test
(tests/structure/test_service_list.py). Adding a service starts with an entry here.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from contracts.topics import ACCESS, CONSENTS, EVENT_TOPICS, HANDOFFS, PARTICIPATION, SIGNALS, Topic


@dataclass(frozen=True)
class Service:
    """One service: an OS process (``python -m <package>``) with its own HTTP API."""

    name: str
    package: str
    #: Its HTTP port on the local runner and its published port in docker-compose.
    port: int
    #: Its own PostgreSQL database, or None for a service that keeps no state.
    database: str | None
    #: Whether it logs in to Kafka as its own principal (named like the service).
    kafka_login: bool = True
    #: Contract topics its principal may write and read; each also writes dead letters.
    writes: tuple[Topic, ...] = ()
    reads: tuple[Topic, ...] = ()
    #: Whether it runs the handoff loop for agencies (deploy/agencies.yaml names it as a host).
    hosts_agencies: bool = False


# Every agency service runs the handoff loop: it emits and follows handoffs, records consents
# and follows everyone's (a consent may cover several agencies), and logs reads of records.
_AGENCY_WRITES = (HANDOFFS, CONSENTS, ACCESS)
_AGENCY_READS = (HANDOFFS, CONSENTS)

SCHOOL = Service(
    name="school",
    package="services.school",
    port=8001,
    database="samverkan_school",
    writes=(*_AGENCY_WRITES, SIGNALS),
    reads=_AGENCY_READS,
    hosts_agencies=True,
)
SOCIAL = Service(
    name="social",
    package="services.social",
    port=8002,
    database="samverkan_social",
    writes=_AGENCY_WRITES,
    reads=_AGENCY_READS,
    hosts_agencies=True,
)
EMPLOYMENT = Service(
    name="employment",
    package="services.employment",
    port=8003,
    database="samverkan_employment",
    writes=(*_AGENCY_WRITES, PARTICIPATION),
    reads=_AGENCY_READS,
    hosts_agencies=True,
)
AUDIT = Service(
    name="audit",
    package="services.audit",
    port=8004,
    database="samverkan_audit",
    # It logs what auditors read, as every service does.
    writes=(ACCESS,),
    reads=EVENT_TOPICS,
)
REPORTING = Service(
    name="reporting",
    package="services.reporting",
    port=8005,
    database="samverkan_reporting",
    reads=(HANDOFFS, PARTICIPATION, CONSENTS),
)
#: The web interface: it only calls the other services' HTTP APIs, so it has no database, no
#: Kafka login and no topics.
PORTAL = Service(
    name="portal",
    package="services.portal",
    port=8006,
    database=None,
    kafka_login=False,
)

#: Every service, in the order the local runner starts them (the portal last: it calls the rest).
ALL_SERVICES: tuple[Service, ...] = (SCHOOL, SOCIAL, EMPLOYMENT, AUDIT, REPORTING, PORTAL)
#: The services with a database and a Kafka login: all but the portal.
SERVICES: tuple[Service, ...] = tuple(
    s for s in ALL_SERVICES if s.database is not None and s.kafka_login
)
#: The services that host agencies and run the handoff loop for them.
AGENCY_SERVICES: tuple[Service, ...] = tuple(s for s in ALL_SERVICES if s.hosts_agencies)

_BY_NAME = {s.name: s for s in ALL_SERVICES}


def service(name: str) -> Service:
    """The service called ``name``; KeyError if the list has none."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no service {name!r} in {__name__}") from None


def names(services: Iterable[Service]) -> tuple[str, ...]:
    """The names of ``services``, in their order."""
    return tuple(s.name for s in services)
