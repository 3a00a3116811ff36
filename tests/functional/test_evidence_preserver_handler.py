"""The evidence worker under moto: an issued recorded export is held (pending) at once, its copies
are made by functions/evidence_preserver from the queue message the API sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import partial
from typing import Any

import av
import pytest

from chalicelib.models.camera import Camera, CameraKind
from chalicelib.models.principal import Principal, PrincipalKind
from chalicelib.models.video_link import AgencyKind, AgencyProfile, VideoLinkRequest
from chalicelib.services.audit import AuditLog
from chalicelib.services.cameras import CameraRegistry
from chalicelib.services.footage import FootageCatalog
from chalicelib.video.segmenter import make_synthetic_video
from chalicelib.wiring.video_links import build_video_links
from functions.evidence_preserver import handler
from local.keys import PRIVATE_KEY_FILE, ensure_signing_key
from local.lambda_runtime import LambdaContext as RuntimeContext

LambdaContext = partial(RuntimeContext, function_name="gt-test-evidence-preserver")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def test_an_export_is_held_at_once_and_copied_by_the_worker(aws, tmp_path):
    try:
        video = make_synthetic_video(tmp_path / "clip.mp4", 25, 10, (160, 120))
    except (av.FFmpegError, ValueError) as exc:
        pytest.skip(f"PyAV cannot write a synthetic test video: {exc}")
    key_id, _, _ = ensure_signing_key(tmp_path / "keys")
    settings = aws.settings.model_copy(update={"signing_key_secret": str(tmp_path / "keys" / PRIVATE_KEY_FILE),
                                               "cloudfront_key_pair_id": key_id})
    camera = Camera(camera_id="EV-1", kind=CameraKind.CRIME_PREVENTION, district="Jung-gu", lat=37.5665, lon=126.978)
    CameraRegistry(aws.table("cameras"), aws.store("media"), index_key=settings.camera_index_key).load_catalog([camera])
    start = int(datetime.now(UTC).timestamp() * 1000) - 3_600_000
    FootageCatalog.from_settings(aws.store("footage"), aws.table("footage"), settings).ingest("EV-1", video, start)
    agency = Principal(principal_id="police-1", kind=PrincipalKind.AGENCY, name="p", cidrs=("127.0.0.2/32",),
                       attributes=AgencyProfile(kind=AgencyKind.POLICE).to_attributes(), token_hash="0" * 64,
                       created_ms=0)
    body = VideoLinkRequest.model_validate({
        "incident_number": "112-2026-8", "location": {"lat": 37.5665, "lon": 126.978}, "mode": "recorded",
        "window": {"start": _iso(start + 1_000), "end": _iso(start + 15_000)}, "purpose": "CRIME-INVESTIGATION",
        "officer_id": "o-1", "camera_count": 1})

    grant = build_video_links(settings, aws).issue(agency, "127.0.0.2", body)

    hold = aws.table("records").get({"pk": f"EVIDENCE#{grant.request_id}", "sk": "hold"})
    assert hold is not None and hold["status"] == "pending"
    queue = aws.queue("evidence")
    messages = aws.client("sqs").receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in messages] == [{"request_id": grant.request_id}]

    event: dict[str, Any] = {"Records": [{
        "messageId": "m-1", "receiptHandle": "r", "body": messages[0]["Body"], "attributes": {
            "ApproximateReceiveCount": "1", "SentTimestamp": "1", "SenderId": "s", "ApproximateFirstReceiveTimestamp": "1"},
        "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:ap-northeast-2:123456789012:gt-test-evidence", "awsRegion": "ap-northeast-2"}]}
    handler.preserver.cache_clear()
    try:
        assert handler.lambda_handler(event, LambdaContext()) == {"batchItemFailures": []}
        assert handler.lambda_handler(event, LambdaContext()) == {"batchItemFailures": []}  # redelivery: no-op
    finally:
        handler.preserver.cache_clear()

    hold = aws.table("records").get({"pk": f"EVIDENCE#{grant.request_id}", "sk": "hold"})
    assert hold is not None and hold["status"] == "held" and hold["segments"] == 2
    copies = aws.client("s3").list_objects_v2(Bucket=aws.catalog.bucket("evidence"))["Contents"]
    assert len(copies) == 3  # two segments and the manifest
    preserved = [r for r in AuditLog(aws.table("audit")).records(since_ms=0)
                 if r.action == "video-link.evidence-preserved"]
    assert len(preserved) == 1 and preserved[0].details["segments"] == 2
