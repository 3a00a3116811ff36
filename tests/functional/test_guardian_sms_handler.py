"""Guardian texts: an SOS publishes on the guardian-sms topic, the subscribed queue's consumer sends each
text once, in the guardian's language with Seoul time, to the outbox the admin CLI lists."""

from __future__ import annotations

import copy
import json
import time
from functools import partial
from typing import Any

import pytest
from conftest import load_event

from chalicelib.adapters.sms import TableSmsOutbox
from chalicelib.cli import main as cli
from chalicelib.models.common import Location
from chalicelib.models.device import Device, GuardianContact
from chalicelib.models.sos import SosRequest
from chalicelib.services.owned import OwnedRecords
from chalicelib.wiring.saferet import build_safe_return
from functions.guardian_sms import handler as sms
from local.lambda_runtime import LambdaContext as RuntimeContext

OWNER = "app-alice"
GWANGHWAMUN = (37.5759, 126.9768)


LambdaContext = partial(RuntimeContext, function_name="gt-test-guardian-sms", memory_limit_in_mb=256)


@pytest.fixture
def services(aws):
    sms.runtime.cache_clear()
    yield build_safe_return(aws)
    sms.runtime.cache_clear()


def queued(aws) -> list[dict[str, Any]]:
    """The guardian-sms queue's messages as the Lambda SQS event carries them."""
    reply = aws.client("sqs").receive_message(QueueUrl=aws.queue("guardian-sms").url, MaxNumberOfMessages=10)
    template = load_event("sqs/plain_message.json")["Records"][0]
    records = []
    for message in reply.get("Messages", []):
        record = copy.deepcopy(template)
        record.update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"], body=message["Body"])
        records.append(record)
    return records


def test_an_sos_texts_each_guardian_once_in_their_language(aws, services, capsys):
    # GIVEN a device with a Korean-speaking and an English-speaking guardian
    device = Device(device_id="dev-00000000000000f1", owner_id=OWNER, platform="android", created_ms=0, guardians=[
        GuardianContact(name="엄마", phone="+821012345678"),
        GuardianContact(name="Sam", phone="+821087654321", locale="en")])
    OwnedRecords(aws.table("records"), "DEVICE").create(device.device_id, OWNER, device.model_dump(mode="json"),
                                                         created_ms=0)
    # WHEN a fire SOS escalates at once
    request = SosRequest(location=Location(lat=GWANGHWAMUN[0], lon=GWANGHWAMUN[1]), kind="fire", device_id=device.device_id,  # type: ignore[arg-type]
                         cancel_window_s=0)
    services.sos.create(OWNER, "inc-00000000000000f1", request, time.time_ns() // 1_000_000)
    records = queued(aws)
    # AND the consumer runs the batch twice (SQS is at-least-once)
    assert sms.lambda_handler({"Records": records}, LambdaContext()) == {"batchItemFailures": []}
    assert sms.lambda_handler({"Records": records}, LambdaContext()) == {"batchItemFailures": []}
    # THEN each guardian got one text: Korean with KST and 119 for the first, English for the second
    sent = {e.phone: e for e in TableSmsOutbox(aws.table("records")).recent()}
    assert len(sent) == 2 and len(TableSmsOutbox(aws.table("records")).recent()) == 2
    korean, english = sent["+821012345678"].text, sent["+821087654321"].text
    assert "소방(119)" in korean and "종로구" in korean and "KST" in korean and "화재" in korean
    assert "fire and ambulance (119)" in english and "Jongno-gu" in english and "KST" in english
    # AND the admin CLI lists the outbox
    capsys.readouterr()  # the handlers' own log lines
    assert cli(["sms", "outbox", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {e["phone"] for e in listed} == {"+821012345678", "+821087654321"}
