"""A short schemathesis pass over the published OpenAPI document, on the local platform over real
HTTP, with a valid token of every principal kind: no 5xx, and every answer as the document says
(status, content type, headers, body). ``make bench-reliability`` runs the long pass."""

from __future__ import annotations

import os

import pytest
from fuzz_support import fuzz, fuzz_principals
from schemathesis import GenerationMode

from chalicelib.adapters.resources import Resources
from chalicelib.settings import get_settings

pytestmark = pytest.mark.e2e
EXAMPLES = 20  # per operation, allowed kind and mode: about half a minute per mode on the suite's machine


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_fuzzing_finds_no_server_error_and_no_schema_break(local_platform, mode):
    tokens = fuzz_principals(Resources(get_settings()), f"{mode.value}-{os.getpid()}")
    report = fuzz(local_platform.api_url, tokens, examples=EXAMPLES, modes=(mode,))
    assert report.requests > 500
    assert report.server_errors == 0, report.findings
    assert report.findings == []
    # the pass reached past authentication and validation, into the services
    assert {200, 201} & set(report.statuses)
