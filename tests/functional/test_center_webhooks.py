"""Center webhooks under moto, POSTed to a real HTTP receiver on loopback that verifies each signature the way
the documented scheme says (written here from the words, not from our signer): subscription through the API
with the secret shown once and never stored, every outcome delivered once, a failing receiver retried then
dead-lettered, and the admin CLI's replay."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from dicom_results_support import settled_study
from webhook_contract_support import Delivery, assert_per_contract, operation
from xray_api_support import call

from chalicelib import cli
from chalicelib.api import context
from chalicelib.models.principal import PrincipalKind
from chalicelib.models.xray import Reason, StudyCreate, StudyNotice
from chalicelib.services.audit import AuditLog
from chalicelib.services.xray.studies import XrayStudies
from functions.center_webhooks import handler
from local.lambda_runtime import function_name_of, resolve_handler
from local.pump import EventPump, QueueBinding

CENTER = "hc-mapo"
CONSUMER = "functions.center_webhooks.handler.lambda_handler"


class Receiver:
    """A center's webhook endpoint. Verification as documented: HMAC-SHA256 keyed with the secret's UTF-8 bytes
    over "<X-GT-Timestamp>." + the raw body, hex, sent as "v1=<hex>"; timestamps within 300 s."""

    def __init__(self) -> None:
        self.secret = ""
        self.answer = 200
        self.attempts = 0
        self.accepted: list[tuple[str, dict[str, Any]]] = []  # (delivery id, body) of verified deliveries
        self.refused = 0
        self.posts: list[Delivery] = []  # every POST as it arrived (headers, raw body)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts += 1
                receiver.posts.append(Delivery(headers=dict(self.headers.items()), body=body))
                stamp, given = self.headers.get("X-GT-Timestamp", ""), self.headers.get("X-GT-Signature", "")
                expected = "v1=" + hmac.new(receiver.secret.encode("utf-8"), stamp.encode() + b"." + body,
                                            hashlib.sha256).hexdigest()
                fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= 300
                if not (fresh and hmac.compare_digest(expected, given)):
                    receiver.refused += 1
                    self.send_response(401)
                elif receiver.answer == 200:
                    receiver.accepted.append((self.headers["X-GT-Delivery-Id"], json.loads(body)))
                    self.send_response(200)
                else:
                    self.send_response(receiver.answer)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/gt-hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def token(aws):
    context.reset_platform()
    _, issued = cli.create_principal(PrincipalKind.HEALTH_CENTER, "Mapo", principal_id=CENTER, resources=aws)
    yield issued
    context.reset_platform()


@pytest.fixture
def pump(aws, monkeypatch) -> Iterator[tuple[EventPump, QueueBinding]]:
    monkeypatch.setattr(handler, "MAX_BACKOFF_S", 0)  # a failed message comes back at once, not after seconds
    handler.runtime.cache_clear()
    sqs = aws.client("sqs")
    spec = aws.catalog.queue("center-webhooks")
    url = sqs.get_queue_url(QueueName=spec.name)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "0"})
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    binding = QueueBinding(function_name=function_name_of(CONSUMER), queue_url=url, queue_arn=arn,
                           handler=resolve_handler(CONSUMER), batch_size=spec.batch_size, timeout_s=spec.consumer_timeout_s)
    yield EventPump(sqs, [binding], region="ap-northeast-2", wait_seconds=0), binding
    handler.runtime.cache_clear()


def subscribe(token: str, url: str) -> dict[str, Any]:
    status, _, body = call("PUT", "/v1/xray/webhook", token, body=json.dumps({"url": url}).encode(),
                           headers=[("Content-Type", "application/json")])
    assert status == 200, body
    return dict(body)


def settle(aws, outcome: str) -> StudyNotice:
    """A study of CENTER settled as ``outcome`` (done, rejected, failed), its notice published on center-notify."""
    studies = XrayStudies(aws.table("records"), aws.store("xray"))
    now_ms = int(time.time() * 1000)
    study = studies.get(studies.create(CENTER, StudyCreate(filename="chest.dcm"), now_ms=now_ms).study_id)
    if outcome == "done":
        template = settled_study(study.study_id, CENTER, completed_ms=now_ms)
        assert template.reading is not None and template.source is not None
        study = studies.complete(study, template.reading, template.source, now_ms=now_ms)
    elif outcome == "rejected":
        study = studies.reject(study, Reason(code="colour_photo", message="a colour photograph"), None, now_ms=now_ms)
    else:
        study = studies.fail(study, Reason(code="reading_failed", message="the reader failed"), now_ms=now_ms)
    notice = StudyNotice(study_id=study.study_id, center_id=CENTER, status=study.status,
                         triage=study.reading.triage if study.reading else None,
                         reason_code=study.reason.code if study.reason else None)
    aws.topic("center-notify").publish(notice.model_dump_json(), attributes={"center_id": CENTER})
    return notice


def test_subscribing_shows_the_secret_once_and_stores_none(aws, token, receiver):
    issued = subscribe(token, receiver.url)
    assert issued["key_version"] == 1 and len(issued["secret"]) == 64
    status, _, view = call("GET", "/v1/xray/webhook", token)
    assert status == 200 and view == {"url": receiver.url, "key_version": 1, "created_at": view["created_at"]}
    assert view["created_at"].endswith("+09:00")
    stored = json.dumps([item for item in aws.table("records").scan()], default=str)
    assert receiver.url in stored and issued["secret"] not in stored
    again = subscribe(token, receiver.url)
    assert again["key_version"] == 2 and again["secret"] != issued["secret"]
    for url in ("ftp://example.org/x", "http://example.org/hook", "https://user:pw@example.org/x"):
        status, _, body = call("PUT", "/v1/xray/webhook", token, body=json.dumps({"url": url}).encode(),
                               headers=[("Content-Type", "application/json")])
        assert status == 422, (url, body)


def test_every_outcome_is_posted_signed_once(aws, token, receiver, pump):
    receiver.secret = subscribe(token, receiver.url)["secret"]
    notices = [settle(aws, outcome) for outcome in ("done", "rejected", "failed")]
    events, binding = pump
    first = events.poll_once(binding)
    assert (first.received, first.succeeded) == (3, 3)
    # THEN each outcome arrived once, verified, with what a center needs to act on it
    by_study = {body["study_id"]: body for _, body in receiver.accepted}
    assert receiver.refused == 0 and len(receiver.accepted) == 3
    done, rejected, failed = (by_study[n.study_id] for n in notices)
    assert (done["type"], done["triage"], done["non_clinical"]) == ("xray.study.done", "urgent", True)
    assert set(done["positive_findings"]) == {"opacity", "cardiac_silhouette"}
    assert (rejected["type"], rejected["reason_code"]) == ("xray.study.rejected", "colour_photo")
    assert failed["type"] == "xray.study.failed"
    assert len({delivery for delivery, _ in receiver.accepted}) == 3
    # WHEN SNS/SQS deliver the same notices again (at-least-once)
    for notice in notices:
        aws.topic("center-notify").publish(notice.model_dump_json(), attributes={"center_id": CENTER})
    again = events.poll_once(binding)
    # THEN they are acknowledged and nothing is POSTed twice
    assert (again.received, again.succeeded) == (3, 3)
    assert receiver.attempts == 3


def test_every_outcome_is_delivered_as_the_published_contract_says(aws, token, receiver, pump):
    # GIVEN a center subscribed, and a study of each outcome settled
    receiver.secret = subscribe(token, receiver.url)["secret"]
    notices = [settle(aws, outcome) for outcome in ("done", "rejected", "failed")]
    # WHEN the consumer delivers them
    events, binding = pump
    assert events.poll_once(binding).succeeded == 3
    # THEN each POST verifies as documented and its headers and body are what openapi.json's webhooks publish
    assert len(receiver.posts) == 3
    bodies = [assert_per_contract("xray-study-event", post, receiver.secret) for post in receiver.posts]
    for post, body in zip(receiver.posts, bodies, strict=True):
        assert (post.header("X-GT-Delivery-Id"), post.header("X-GT-Event")) == (body["delivery_id"], body["type"])
    assert {b["study_id"] for b in bodies} == {n.study_id for n in notices}
    [event] = [p for p in operation("xray-study-event")["parameters"] if p["name"] == "X-GT-Event"]
    assert sorted(b["type"] for b in bodies) == sorted(event["schema"]["enum"])


def test_a_rotated_secret_is_the_only_one_that_verifies(aws, token, receiver, pump):
    receiver.secret = subscribe(token, receiver.url)["secret"]
    subscribe(token, receiver.url)  # rotated: the receiver still holds the old secret
    settle(aws, "done")
    events, binding = pump
    assert events.poll_once(binding).failed == 1
    assert receiver.refused == 1 and receiver.accepted == []


def test_a_failing_webhook_is_retried_dead_lettered_and_replayed_once(aws, token, receiver, pump, capsys):
    receiver.secret = subscribe(token, receiver.url)["secret"]
    receiver.answer = 503
    notice = settle(aws, "done")
    events, binding = pump
    spec = aws.catalog.queue("center-webhooks")
    # WHEN the receiver fails every try
    tries = [events.poll_once(binding) for _ in range(spec.max_receive_count + 1)]
    # THEN it was tried max_receive_count times, then the notice sits in the DLQ
    assert sum(t.failed for t in tries) == spec.max_receive_count == receiver.attempts
    sqs = aws.client("sqs")
    dlq = sqs.get_queue_url(QueueName=spec.dlq_name)["QueueUrl"]
    depth = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "1"
    # WHEN the receiver is back and the admin replays the dead letters
    receiver.answer = 200
    assert cli.main(["xray-webhooks", "replay", "--dlq"]) == 0
    assert "1 dead-lettered" in capsys.readouterr().out
    events.poll_once(binding)
    # THEN the outcome arrives once
    assert [body["study_id"] for _, body in receiver.accepted] == [notice.study_id]
    # AND every try is in the audit log: the failures, then the delivery
    since_ms = int((time.time() - 3600) * 1000)
    tries = [r for r in AuditLog(aws.table("audit")).records(since_ms=since_ms) if r.action == "webhook.delivery"]
    assert sorted(r.result for r in tries) == ["failed"] * spec.max_receive_count + ["ok"]
    # AND a replay of that study sends it again under the same delivery id (the receiver de-duplicates)
    assert cli.main(["xray-webhooks", "replay", "--study", notice.study_id]) == 0
    events.poll_once(binding)
    assert [delivery for delivery, _ in receiver.accepted] == [receiver.accepted[0][0]] * 2
