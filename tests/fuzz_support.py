"""Schemathesis over the published OpenAPI document, with a valid token for every principal kind.

Used by the suite (a short pass, tests/e2e/test_fuzz_api.py) and by ``make bench-reliability``
(>= 10,000 requests). Every request counts; a 5xx or a response that breaks the document is a
finding. Generation is derandomized (the seed is fixed), so a finding reproduces.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chalicelib.adapters.resources import Resources
from chalicelib.cli import create_principal
from chalicelib.models.principal import PrincipalKind

# STOW-RS bodies (PS3.18): Schemathesis has no serializer for multipart/related; arbitrary bytes stand in (hostile
# or boundary-less multipart, which the route must refuse with a 4xx).
schemathesis.openapi.media_type('multipart/related; type="application/dicom"', st.binary(max_size=512),
                                aliases=("multipart/related",))

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
SEED = 14


@dataclass
class FuzzReport:
    requests: int = 0
    server_errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    findings: list[str] = field(default_factory=list)

    def note(self, finding: str) -> None:
        if len(self.findings) < 50:
            self.findings.append(finding)


def fuzz_principals(resources: Resources, suffix: str) -> dict[PrincipalKind, str]:
    """One principal of every kind; the agency is bound to loopback, where the fuzzer calls from."""
    tokens = {}
    for kind in PrincipalKind:
        attributes = {"agency_kind": "police", "modes": "live,recorded"} if kind is PrincipalKind.AGENCY else None
        cidrs = ["127.0.0.1/32"] if kind is PrincipalKind.AGENCY else []
        _, tokens[kind] = create_principal(kind, f"fuzz {kind.value}", principal_id=f"fuzz-{kind.value}-{suffix}",
                                           cidrs=cidrs, attributes=attributes, resources=resources)
    return tokens


def _describe(case: Any, response: requests.Response | None, error: BaseException | str) -> str:
    status = response.status_code if response is not None else "-"
    body = response.text[:300] if response is not None else ""
    return f"{case.method} {case.formatted_path} -> {status}: {str(error)[:600]} | body={case.body!r:.200} | {body}"


def allowed_kinds(operation: Any) -> set[PrincipalKind]:
    """The kinds the document says may call ``operation`` ("Principal kinds allowed: app, operator")."""
    text = str(operation.definition.raw.get("description", ""))
    _, _, listed = text.partition("Principal kinds allowed:")
    return {PrincipalKind(k.strip()) for k in listed.split(",") if k.strip()}


def fuzz(base_url: str, tokens: dict[PrincipalKind, str], *, examples: int, refused_examples: int = 2,
         modes: tuple[GenerationMode, ...] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
         rng_seed: int = SEED, report: FuzzReport | None = None) -> FuzzReport:
    """``examples`` generated cases per operation, allowed principal kind and generation mode;
    ``refused_examples`` for each kind the operation refuses (they must get a documented 403)."""
    schema = schemathesis.openapi.from_url(f"{base_url}/v1/openapi.json")
    report = report or FuzzReport()
    session = requests.Session()
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # the published document must load whole
        operation = result.ok()
        allowed = allowed_kinds(operation)
        for kind, token in tokens.items():
            count = examples if kind in allowed or not allowed else refused_examples
            for mode in modes:
                _fuzz_operation(operation, mode, base_url, session, {"Authorization": f"Bearer {token}"},
                                count, report, rng_seed)
    return report


def _fuzz_operation(operation: Any, mode: GenerationMode, base_url: str, session: requests.Session,
                    headers: dict[str, str], examples: int, report: FuzzReport, rng_seed: int) -> None:
    @seed(rng_seed)
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = None
        try:
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        except requests.RequestException as exc:
            report.requests += 1
            report.server_errors += 1
            report.note(_describe(case, None, f"transport: {exc}"))
            return
        report.requests += 1
        report.statuses[response.status_code] += 1
        if response.status_code >= 500:
            report.server_errors += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # every check failure (a FailureGroup) is a finding
            report.note(_describe(case, response, exc))

    run()
