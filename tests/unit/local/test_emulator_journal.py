"""Which emulator requests the journal keeps, and when a checkpoint is due."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest

from local.emulator_state import PersistentState, StateStore, classify


def environ(method: str = "POST", path: str = "/", *, target: str = "", auth_service: str = "", query: str = "",
            body: bytes = b"") -> dict[str, object]:
    env: dict[str, object] = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
                              "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    if target:
        env["HTTP_X_AMZ_TARGET"] = target
    if auth_service:
        env["HTTP_AUTHORIZATION"] = (f"AWS4-HMAC-SHA256 Credential=local/20261130/ap-northeast-2/{auth_service}/"
                                     "aws4_request, SignedHeaders=host, Signature=00")
    return env


@pytest.mark.parametrize(("env", "service", "journaled"), [
    (environ(target="DynamoDB_20120810.PutItem", auth_service="dynamodb"), "dynamodb", True),
    (environ(target="DynamoDB_20120810.TransactWriteItems", auth_service="dynamodb"), "dynamodb", True),
    (environ(target="DynamoDB_20120810.Query", auth_service="dynamodb"), "dynamodb", False),
    (environ(target="AmazonSQS.SendMessage", auth_service="sqs"), "sqs", True),
    (environ(target="AmazonSQS.ReceiveMessage", auth_service="sqs"), "sqs", False),
    (environ(target="AmazonSQS.ChangeMessageVisibility", auth_service="sqs"), "sqs", False),
    (environ(target="secretsmanager.GetSecretValue", auth_service="secretsmanager"), "secretsmanager", False),
    (environ(auth_service="sns", body=b"Action=Publish&TopicArn=arn"), "sns", True),
    (environ(auth_service="sns", body=b"Action=ListTopics"), "sns", False),
    (environ("PUT", "/bucket/key", auth_service="s3", body=b"data"), "s3", True),
    (environ("GET", "/bucket/key", auth_service="s3"), "s3", False),
    # a presigned POST upload carries no Authorization header: S3
    (environ("POST", "/bucket", body=b"--form--"), "s3", True),
    (environ("GET", "/bucket/key", query="X-Amz-Credential=local%2F20261130%2Fap-northeast-2%2Fs3%2Faws4_request"),
     "s3", False),
    (environ("GET", "/moto-api/"), "moto-api", False),
])
def test_writes_are_journaled_and_reads_are_not(env, service, journaled):
    request = classify(env)  # type: ignore[arg-type]
    assert (request.service, request.journaled) == (service, journaled)


def test_the_body_is_read_once_and_left_for_moto():
    env = environ(target="DynamoDB_20120810.PutItem", body=b'{"TableName": "t"}')
    assert classify(env).body == b'{"TableName": "t"}'  # type: ignore[arg-type]
    assert env["wsgi.input"].read() == b'{"TableName": "t"}'  # type: ignore[attr-defined]


def test_a_checkpoint_waits_for_writes_to_pause_unless_the_journal_grows_long(tmp_path: Path):
    state = PersistentState(lambda e, s: [], StateStore(tmp_path), idle_s=2.0, max_entries=3, max_age_s=300.0)
    now = 1000.0
    assert not state.due(now, now)  # nothing written
    state.store.dirty.add("dynamodb")
    state._last_request = now
    assert not state.due(now + 1, now)  # still writing
    assert state.due(now + 2.5, now)  # writes paused
    for _ in range(3):
        state.store.journal.append({"n": 1})
    assert state.due(now + 0.1, now)  # under load, but the journal is long


def test_no_checkpoint_while_requests_wait_behind_a_long_one(tmp_path: Path):
    # GIVEN a DynamoDB query that holds the emulator's DynamoDB lock, and a write queued behind it
    release = threading.Event()

    def moto(env, start_response):
        if env["HTTP_X_AMZ_TARGET"].endswith("Query"):
            release.wait(10)
        start_response("200 OK", [])
        return [b"{}"]

    state = PersistentState(moto, StateStore(tmp_path), idle_s=2.0, max_entries=50_000, max_age_s=300.0)
    state.store.dirty.add("dynamodb")
    calls = [threading.Thread(target=lambda t=t: state(environ(target=f"DynamoDB_20120810.{t}"), lambda *_: None))
             for t in ("Query", "PutItem")]
    for call in calls:
        call.start()
    time.sleep(0.2)
    # WHEN the checkpoint loop looks long after the last answer THEN it waits: that is load, not a pause
    assert not state.due(time.monotonic() + 10, time.monotonic())
    release.set()
    for call in calls:
        call.join(10)
    # AND once both are answered and requests pause, it is due
    assert not state.due(time.monotonic(), time.monotonic())
    assert state.due(time.monotonic() + 2.5, time.monotonic())
