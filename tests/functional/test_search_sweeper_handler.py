"""The search-sweeper schedule through its handler: a search whose job is lost ends at its deadline with what
came back, announced to 112 once however often the schedule is delivered."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import scheduled_event
from search_support import answers_dispatched_to_112

from chalicelib.models.search import SearchStatus, ShardResult
from chalicelib.services.search.shard import done_key, shard_key
from chalicelib.wiring.search import running_searches, search_records
from functions.search_sweeper import handler
from local.lambda_runtime import LambdaContext

T0 = 1_795_000_000_000
SEARCH_ID = "srch-" + "5e" * 16
CONTEXT = LambdaContext(function_name="search-sweeper")


@pytest.fixture
def sweeper(aws):
    handler.sweeper.cache_clear()
    yield handler
    handler.sweeper.cache_clear()


def scheduled_at(ms: int) -> dict[str, Any]:
    return scheduled_event("schedule/search_sweeper.json", ms)


def _running_search(aws: Any, deadline_ms: int) -> None:
    """A search as SearchService.start leaves it (plan, record, running marker) whose AWS Batch job is unknown
    (its record expired), with shard 0 of 2 finished."""
    media = aws.store("media")
    plan = {"search_id": SEARCH_ID, "cameras": [], "excluded": {}, "shards": [[], []], "window_start_ms": T0,
            "window_end_ms": T0 + 600_000, "max_speed_mps": 1.6}
    media.put(f"searches/{SEARCH_ID}/plan.json", json.dumps(plan).encode(), content_type="application/json")
    search_records(aws).create(SEARCH_ID, "police-112", {"status": "running", "shards": 2, "footage_seconds": "60",
                                                          "deadline_ms": deadline_ms, "job_id": "job-expired"},
                               created_ms=T0)
    running_searches(aws).add(SEARCH_ID, deadline_ms)
    result = ShardResult(search_id=SEARCH_ID, index=0, sightings=[], footage_seconds=30, frames_decoded=300,
                         frames_searched=60, people_detected=0, detector="hog", embedder="color-histogram",
                         elapsed_s=1.0)
    media.put(shard_key(SEARCH_ID, 0), result.model_dump_json().encode(), content_type="application/json")
    media.put(done_key(SEARCH_ID, 0), b"{}", content_type="application/json")


def _dispatched(aws: Any) -> list[dict[str, Any]]:
    return answers_dispatched_to_112(aws)


def test_a_lost_search_ends_at_its_deadline_and_reaches_112_once(sweeper, aws):
    deadline = T0 + 1_800_000
    _running_search(aws, deadline)
    # WHEN the schedule fires before the deadline THEN nothing ends (the job is unknown, but there is time)
    assert sweeper.lambda_handler(scheduled_at(deadline - 60_000), CONTEXT) == {"finalised": [], "errors": []}
    # WHEN it fires after the deadline
    assert sweeper.lambda_handler(scheduled_at(deadline + 60_000), CONTEXT) == {"finalised": [SEARCH_ID],
                                                                                "errors": []}
    # THEN the record ended, and 112 got the partial answer saying why shard 1 is missing
    record = search_records(aws).get(SEARCH_ID, "police-112")
    assert record["status"] == SearchStatus.DONE and record["shards_failed"] == 1
    (sent,) = _dispatched(aws)
    assert sent["search_id"] == SEARCH_ID and sent["partial"] is True
    assert sent["reason"].startswith("1 of 2 shards finished; 1 did not finish within 30 minutes "
                                     "(the batch job is no longer known)")
    # AND a repeated delivery of the same slot ends nothing and sends nothing
    assert sweeper.lambda_handler(scheduled_at(deadline + 60_000), CONTEXT) == {"finalised": [], "errors": []}
    assert _dispatched(aws) == []


def test_the_sweeper_is_scheduled_in_the_catalog(aws):
    spec = aws.catalog.schedules["search-sweeper"]
    assert spec.handler == "functions.search_sweeper.handler.lambda_handler"
    assert spec.name == "gt-test-search-sweeper"
