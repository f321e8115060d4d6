"""Every HTTP API fuzzed from its own OpenAPI document: schemathesis generates requests for
each operation, valid and invalid, sent with a valid API key; no answer may be a server error.

Live streams (Server-Sent Events) are left out: they never end, so there is no answer to judge.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import BaseSchema
from schemathesis.core.result import Ok

from chaos.deployment import Deployment

log = logging.getLogger(__name__)

#: Who calls each service's API: a principal its routes accept.
CALLERS = {
    "school": "ale.school.ale-gymnasium.caseworker",
    "social": "ale.social.caseworker",
    "employment": "af.goteborg.caseworker",
    "audit": "auditor",
    "reporting": "goteborg.kaa.agency_system",
}


@dataclass
class FuzzReport:
    """How many requests were sent per service and which answered with a server error."""

    requests: Counter[str] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)


def fuzz(deployment: Deployment, examples: int) -> FuzzReport:
    """Up to `examples` generated requests per operation of every service (blocking)."""
    report = FuzzReport()
    for name, process in deployment.services.items():
        headers = deployment.headers(CALLERS[name])
        agency = CALLERS[name].rpartition(".")[0]
        schema = schemathesis.openapi.from_url(f"{process.url}/openapi.json")
        fuzz_api(report, name, schema, process.url, headers, agency, examples)
    return report


def fuzz_api(
    report: FuzzReport,
    name: str,
    schema: BaseSchema,
    url: str,
    headers: dict[str, str],
    agency: str,
    examples: int,
) -> None:
    """Up to `examples` generated requests per operation of `schema`, sent to `url` with
    `headers` (the caller's credentials), half of them acting for `agency` (blocking)."""
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            report.server_errors.append(f"{name}: its OpenAPI document is invalid: {result}")
            continue
        operation = result.ok()
        if operation.path.endswith("/stream"):
            continue
        report.operations[name] += 1
        _fuzz_operation(report, name, url, headers, operation, examples, agency)


def _fuzz_operation(
    report: FuzzReport,
    service: str,
    url: str,
    headers: dict[str, str],
    operation: schemathesis.APIOperation[Any, Any, Any, Any],
    examples: int,
    agency: str,
) -> None:
    # Half the cases act for the caller's own agency, so that they get past authorisation
    # to the handlers; the other half are as generated.
    cases = st.tuples(operation.as_strategy(), st.booleans()).map(
        lambda drawn: _as_own_agency(drawn[0], agency) if drawn[1] else drawn[0]
    )

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def probe(case: schemathesis.Case[Any]) -> None:
        response = case.call(base_url=url, headers=headers, timeout=30)
        report.requests[service] += 1
        if response.status_code >= 500:
            report.server_errors.append(
                f"{service} {case.method} {case.formatted_path}: {response.status_code}"
                f" {response.text[:200]}"
            )

    probe()


#: Where a request names the agency it acts or reads for.
AGENCY_FIELDS = ("agency", "sender", "school")


def _as_own_agency(case: schemathesis.Case[Any], agency: str) -> schemathesis.Case[Any]:
    """The case, acting or reading for `agency` wherever it names one."""
    for parameters in (case.path_parameters, case.query):
        if parameters and "agency" in parameters:
            parameters["agency"] = agency
    if isinstance(case.body, dict):
        for name in AGENCY_FIELDS:
            if name in case.body:
                case.body[name] = agency
    return case
