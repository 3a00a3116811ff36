"""The footage-retention Lambda, invoked with the sample EventBridge scheduled event under moto."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import av
import pytest
from conftest import load_event

from chalicelib.services.footage import DAY_MS, FootageCatalog
from chalicelib.video.segmenter import make_synthetic_video
from functions.footage_retention import handler

EVENT = "schedule/footage_retention.json"


@dataclass
class LambdaContext:
    function_name: str = "gt-test-footage-retention"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:ap-northeast-2:123456789012:function:gt-test-footage-retention"
    aws_request_id: str = "7f1c2a9e-0000-4000-8000-000000000001"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of synthetic video: two segments."""
    try:
        return make_synthetic_video(tmp_path_factory.mktemp("clip") / "clip.mp4", 12, 10, (160, 120))
    except (av.FFmpegError, ValueError) as exc:
        pytest.skip(f"PyAV cannot write a synthetic test video: {exc}")


@pytest.fixture
def fresh_handler(aws):
    """The handler's per-container catalog rebuilt inside this test's moto."""
    handler.footage_catalog.cache_clear()
    yield handler
    handler.footage_catalog.cache_clear()


def test_scheduled_run_expires_footage_past_retention(fresh_handler, aws, clip, capsys):
    # GIVEN footage shot 40 days before the scheduled slot, and footage shot the day before it
    event = load_event(EVENT)
    slot_ms = int(datetime.fromisoformat(event["time"]).timestamp() * 1000)
    seeding = FootageCatalog.from_settings(aws.store("footage"), aws.table("footage"), aws.settings, preset="ultrafast")
    old = seeding.ingest("cam-001", clip, slot_ms - 40 * DAY_MS, now_ms=slot_ms - 40 * DAY_MS)
    recent = seeding.ingest("cam-001", clip, slot_ms - DAY_MS, now_ms=slot_ms)

    # WHEN EventBridge invokes the function
    result = fresh_handler.lambda_handler(event, LambdaContext())

    # THEN the old segments are gone from the bucket and the table, the recent ones stay
    assert len(old) == 2
    assert result == {"expired": 2}
    assert sorted(aws.store("footage").keys("footage/")) == sorted(s.key for s in recent)
    assert sorted(r["start_ms"] for r in aws.table("footage").scan()) == [s.start_ms for s in recent]
    # AND the run published its metric in embedded metric format
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    metric = next(m for m in emf if "FootageSegmentsExpired" in m)
    assert metric["FootageSegmentsExpired"] == [2.0]
    assert metric["service"] == "footage-retention"
    assert metric["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "GoldenTime"


def test_a_run_with_nothing_expired_reports_zero(fresh_handler, aws, clip):
    event = load_event(EVENT)
    slot_ms = int(datetime.fromisoformat(event["time"]).timestamp() * 1000)
    seeding = FootageCatalog.from_settings(aws.store("footage"), aws.table("footage"), aws.settings, preset="ultrafast")
    seeding.ingest("cam-001", clip, slot_ms - DAY_MS, now_ms=slot_ms)
    assert fresh_handler.lambda_handler(event, LambdaContext()) == {"expired": 0}
    assert len(list(aws.store("footage").keys("footage/"))) == 2
