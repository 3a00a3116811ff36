"""The footage-retention Lambda, invoked with the sample EventBridge scheduled event under moto."""

from __future__ import annotations

import json
from datetime import datetime
from functools import partial
from pathlib import Path

import av
import pytest
from botocore.exceptions import ClientError
from conftest import load_event

from chalicelib.adapters.evidence import S3EvidenceVault
from chalicelib.services.footage import DAY_MS, FootageCatalog
from chalicelib.services.video_links.evidence import EvidenceLocker
from chalicelib.video.segmenter import make_synthetic_video
from functions.footage_retention import handler
from local.lambda_runtime import LambdaContext as RuntimeContext

EVENT = "schedule/footage_retention.json"


LambdaContext = partial(RuntimeContext, function_name="gt-test-footage-retention", memory_limit_in_mb=512)


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
    handler.evidence.cache_clear()
    yield handler
    handler.footage_catalog.cache_clear()
    handler.evidence.cache_clear()


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
    assert result == {"expired": 2, "evidence_released": 0}
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
    assert fresh_handler.lambda_handler(event, LambdaContext()) == {"expired": 0, "evidence_released": 0}
    assert len(list(aws.store("footage").keys("footage/"))) == 2


def test_exported_evidence_is_kept_while_held_and_destroyed_after_release(fresh_handler, aws, clip):
    # GIVEN footage exported for an incident 40 days before the slot (copied under a legal hold)
    event = load_event(EVENT)
    slot_ms = int(datetime.fromisoformat(event["time"]).timestamp() * 1000)
    seeding = FootageCatalog.from_settings(aws.store("footage"), aws.table("footage"), aws.settings, preset="ultrafast")
    shot = seeding.ingest("cam-007", clip, slot_ms - 40 * DAY_MS, now_ms=slot_ms - 40 * DAY_MS)
    hold_days = aws.settings.evidence_hold_days
    closed_at = [slot_ms / 1000 - 40 * 86_400]
    locker = EvidenceLocker(vault=S3EvidenceVault(aws.client("s3"), aws.catalog.bucket("evidence")),
                            footage_store=aws.store("footage"), records=aws.table("records"), signer=None,
                            issuer="test", hold_days=hold_days, clock=lambda: closed_at[0])
    _, manifest = locker.preserve("vl-00000000000000e1", "112-2026-7", "police-1", shot)
    vault = aws.client("s3")
    bucket = aws.catalog.bucket("evidence")

    def held_keys() -> list[str]:
        return sorted(o["Key"] for o in vault.list_objects_v2(Bucket=bucket).get("Contents", []))

    # WHEN the hourly job runs while the incident is open
    first = fresh_handler.lambda_handler(event, LambdaContext())

    # THEN the 30-day footage is gone but the held copies (and their manifest) stay, under a legal hold
    assert first == {"expired": 2, "evidence_released": 0}
    assert held_keys() == sorted([*(e["evidence_key"] for e in manifest), "evidence/vl-00000000000000e1/manifest.json"])
    assert all(vault.get_object_legal_hold(Bucket=bucket, Key=e["evidence_key"])["LegalHold"]["Status"] == "ON"
               for e in manifest)
    versions = vault.list_object_versions(Bucket=bucket, Prefix=manifest[0]["evidence_key"])["Versions"]
    with pytest.raises(ClientError):  # Object Lock refuses to destroy a held version
        vault.delete_object(Bucket=bucket, Key=manifest[0]["evidence_key"], VersionId=versions[0]["VersionId"])

    # WHEN the incident was closed 40 days before the slot (hold 90 days): still held
    locker.release_after_close(["vl-00000000000000e1"])
    still_held = fresh_handler.lambda_handler(event, LambdaContext())
    kept = held_keys()
    # WHEN it was closed more than the hold period before the slot
    closed_at[0] = slot_ms / 1000 - hold_days * 86_400 - 3600
    locker.release_after_close(["vl-00000000000000e1"])
    released = fresh_handler.lambda_handler(event, LambdaContext())

    # THEN the copies stay until close + hold period, and every version goes after it
    assert hold_days > 40 and still_held["evidence_released"] == 0 and len(kept) == len(manifest) + 1
    assert released["evidence_released"] == len(manifest) + 1
    assert held_keys() == []
