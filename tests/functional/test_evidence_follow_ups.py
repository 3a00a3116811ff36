"""Follow-up dispatches as evidence arrives: a photo the phone uploads after the first dispatch goes S3 → SQS
(a real notification from moto) → functions/sos_evidence → the agency-dispatch queue → the agency's webhook on
loopback, with a signed link that opens only from the agency's range, until it expires; a repeated
notification reaches the agency no second time."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from agency_support import Receiver, sqs_records, start_receiver

from chalicelib.models.common import Location
from chalicelib.models.dispatch import AgencyTarget
from chalicelib.models.sos import SosRequest
from chalicelib.settings import get_settings
from chalicelib.wiring.saferet import build_safe_return
from functions.agency_dispatch import handler as delivery
from functions.sos_evidence import handler as evidence
from local.edge_policy import EdgeDenied, verify_signed_url
from local.keys import ensure_signing_key
from local.lambda_runtime import LambdaContext as RuntimeContext

GWANGHWAMUN = (37.5759, 126.9768)
AGENCY_RANGE = "127.0.0.2/32"


LambdaContext = partial(RuntimeContext, function_name="gt-test-sos-evidence", memory_limit_in_mb=256)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def receive(aws: Any, queue: str) -> list[dict[str, Any]]:
    return sqs_records(aws, queue)


def uploads(aws: Any) -> list[dict[str, Any]]:
    """The S3 notifications on the sos-evidence queue, without the s3:TestEvent S3 sends first."""
    return [r for r in receive(aws, "sos-evidence") if "s3:TestEvent" not in r["body"]]


@pytest.fixture
def world(aws, monkeypatch, tmp_path) -> Iterator[tuple[Any, Receiver, dict[str, bytes]]]:
    key_id, _, public = ensure_signing_key(tmp_path)
    monkeypatch.setenv("SIGNING_KEY_SECRET", str(tmp_path / "cloudfront-signing-key.pem"))
    monkeypatch.setenv("CLOUDFRONT_KEY_PAIR_ID", key_id)
    get_settings.cache_clear()
    delivery.runtime.cache_clear()
    evidence.follow_ups.cache_clear()
    for queue in ("agency-dispatch", "sos-evidence"):
        aws.client("sqs").purge_queue(QueueUrl=aws.queue(queue).url)
    services = build_safe_return(aws)
    police = start_receiver()
    police.secret = services.agencies.register(AgencyTarget.POLICE, police.url, principal_id="police-112",
                                               cidr=AGENCY_RANGE).secret
    yield services, police, {key_id: public}
    assert police.server is not None
    police.server.shutdown()
    delivery.runtime.cache_clear()
    evidence.follow_ups.cache_clear()
    get_settings.cache_clear()


def test_a_photo_uploaded_after_the_dispatch_follows_it_to_the_same_agency_once(aws, world):
    services, police, public_keys = world
    # GIVEN a crime SOS already delivered to police 112
    incident = services.sos.create("app-alice", "inc-00000000000000f1", SosRequest(
        location=Location(lat=GWANGHWAMUN[0], lon=GWANGHWAMUN[1]), kind="crime", cancel_window_s=0), now_ms())  # type: ignore[arg-type]
    assert delivery.lambda_handler({"Records": receive(aws, "agency-dispatch")}, LambdaContext()) == \
        {"batchItemFailures": []}
    [first] = police.received
    assert first["dispatch_id"] == incident.incident_id and first["body"]["evidence"] == []
    # WHEN the phone uploads a photo, and S3 notifies the evidence queue
    key = f"sos/{incident.incident_id}/{now_ms()}-0a1b2c3d.jpg"
    aws.store("media").put(key, b"\xff\xd8\xff\xe0 photo", content_type="image/jpeg")
    notices = uploads(aws)
    assert len(notices) == 1
    assert evidence.lambda_handler({"Records": notices}, LambdaContext()) == {"batchItemFailures": []}
    assert delivery.lambda_handler({"Records": receive(aws, "agency-dispatch")}, LambdaContext()) == \
        {"batchItemFailures": []}
    # THEN police 112 received a follow-up for that incident, naming the photo, signed (their verifier passed)
    assert police.bad_signatures == 0
    [_, follow_up] = police.received
    body = follow_up["body"]
    assert follow_up["dispatch_id"].startswith(f"{incident.incident_id}.ev-")
    assert body["type"] == "evidence-follow-up" and body["incident_id"] == incident.incident_id
    assert body["agency"] == "112" and body["district"] == "JN" and body["evidence_keys"] == [key]
    assert "사진" in body["summary"] and "KST" in body["summary"]
    assert body["uploaded_at"].endswith("Z") or "+" in body["uploaded_at"]
    # AND its one link opens from the agency's range only, and only until it expires
    [link] = body["evidence"]
    assert link["key"] == key
    grant = verify_signed_url(link["url"], public_keys=public_keys, source_ip="127.0.0.2")
    assert grant.resource.split("?")[0].endswith(f"/media/{key}")
    with pytest.raises(EdgeDenied):
        verify_signed_url(link["url"], public_keys=public_keys, source_ip="127.0.0.3")
    with pytest.raises(EdgeDenied):
        verify_signed_url(link["url"], public_keys=public_keys, source_ip="127.0.0.2",
                          now=link["expires_ms"] / 1000 + 1)
    # AND it is a dispatch of its own, waiting for the agency's receipt
    assert services.agencies.get(follow_up["dispatch_id"]).status.value == "delivered"
    # WHEN S3 / SQS deliver the same notification again
    assert evidence.lambda_handler({"Records": notices}, LambdaContext()) == {"batchItemFailures": []}
    assert delivery.lambda_handler({"Records": receive(aws, "agency-dispatch")}, LambdaContext()) == \
        {"batchItemFailures": []}
    # THEN the agency is not called again for it
    assert len(police.received) == 2 and police.duplicates == 0


def test_evidence_before_the_dispatch_rides_in_the_first_dispatch(aws, world):
    services, police, _ = world
    # GIVEN an SOS still inside its cancel window, and a recording the phone uploads in it
    incident = services.sos.create("app-alice", "inc-00000000000000f2", SosRequest(
        location=Location(lat=GWANGHWAMUN[0], lon=GWANGHWAMUN[1]), kind="crime", cancel_window_s=30), now_ms())  # type: ignore[arg-type]
    key = f"sos/{incident.incident_id}/{now_ms()}-0a1b2c3e.m4a"
    aws.store("media").put(key, b"audio", content_type="audio/mp4")
    # WHEN the notification is handled THEN no follow-up is queued (nothing was dispatched to follow)
    assert evidence.lambda_handler({"Records": uploads(aws)}, LambdaContext()) == {"batchItemFailures": []}
    assert receive(aws, "agency-dispatch") == []
    # AND when the window closes, the first dispatch carries it
    services.sos.escalate(incident.incident_id, incident.cancel_deadline_ms)
    assert delivery.lambda_handler({"Records": receive(aws, "agency-dispatch")}, LambdaContext()) == \
        {"batchItemFailures": []}
    [first] = police.received
    assert [link["key"] for link in first["body"]["evidence"]] == [key]
    assert json.dumps(first["body"]).count(key) >= 1
