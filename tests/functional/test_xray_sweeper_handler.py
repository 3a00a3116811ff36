"""The xray-sweeper schedule: studies stuck pending past their deadline become failed, with why."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import scheduled_event

from chalicelib.models.xray import StudyCreate
from chalicelib.services.xray.studies import XrayStudies
from functions.xray_sweeper import handler
from local.lambda_runtime import LambdaContext


@pytest.fixture
def sweeper(aws):
    handler.resources.cache_clear()
    yield handler
    handler.resources.cache_clear()


def scheduled_at(ms: int) -> dict[str, Any]:
    return scheduled_event("schedule/footage_retention.json", ms)


def test_overdue_pending_studies_fail_with_the_reason(sweeper, aws):
    # GIVEN three studies created at t0: one never uploaded, one uploaded but never read, one done
    studies = XrayStudies(aws.table("records"), aws.store("xray"))
    t0 = 1_795_000_000_000
    never = studies.create("hc-jongno", StudyCreate(), now_ms=t0)
    stuck = studies.create("hc-jongno", StudyCreate(filename="a.png"), now_ms=t0)
    aws.store("xray").put(stuck.upload.key, b"\x89PNG...")
    fresh = studies.create("hc-jongno", StudyCreate(), now_ms=t0 + 3_600_000)
    deadline = studies.get(never.study_id).deadline_ms

    # WHEN the schedule runs before the deadline THEN nothing changes
    assert sweeper.lambda_handler(scheduled_at(deadline - 1000), LambdaContext(function_name="xray-sweeper")) == {"failed": []}

    # WHEN it runs after the deadline
    result = sweeper.lambda_handler(scheduled_at(deadline + 60_000), LambdaContext(function_name="xray-sweeper"))

    # THEN both overdue studies are failed with their own reason; the newer one stays pending
    assert sorted(result["failed"]) == sorted([never.study_id, stuck.study_id])
    never_reason, stuck_reason = studies.get(never.study_id).reason, studies.get(stuck.study_id).reason
    assert never_reason is not None
    assert stuck_reason is not None
    assert never_reason.code == "upload_missing"
    assert stuck_reason.code == "read_deadline_passed"
    assert "dead-letter" in stuck_reason.message
    assert studies.get(fresh.study_id).status == "pending"
    # AND a second run finds nothing left to do
    again = sweeper.lambda_handler(scheduled_at(deadline + 120_000), LambdaContext(function_name="xray-sweeper"))
    assert again == {"failed": []}


def test_the_sweeper_is_scheduled_in_the_catalog(aws):
    spec = aws.catalog.schedules["xray-sweeper"]
    assert spec.handler == "functions.xray_sweeper.handler.lambda_handler"
    assert aws.catalog.queue("xray-uploads").consumer == "functions.xray_reader.handler.lambda_handler"
