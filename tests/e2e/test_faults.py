"""`serve --faults`: AWS calls fail transiently on purpose and the pump delivers messages twice, and still
every study is read once, every SOS reaches 112 once and every search is answered once."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from reliability_support import run_workload
from search_support import VIDEO, write_clip
from serve_support import against, serve  # noqa: F401 - against is a fixture

from local.emulator import Emulator
from local.faults import FaultInjector

pytestmark = pytest.mark.e2e
# The suite runs a fraction of the counts (100 uploads, 100 SOS, 3 searches: `make bench-reliability`).
STUDIES, SOS, SEARCHES = (int(os.environ.get(n, d)) for n, d in (("GT_FAULT_STUDIES", "8"), ("GT_FAULT_SOS", "15"),
                                                                  ("GT_FAULT_SEARCHES", "1")))


def test_injected_faults_are_transient_errors_botocore_retries(tmp_path: Path):
    # GIVEN a real emulator and the injector failing 30 % of calls
    emulator = Emulator(port=0, state_dir=tmp_path / "aws", log_file=tmp_path / "emulator.log")
    emulator.start()
    kw = {"endpoint_url": emulator.endpoint_url, "region_name": "ap-northeast-2",
          "aws_access_key_id": "local", "aws_secret_access_key": "local"}
    injector = FaultInjector(0.3, seed=1)
    injector.install()
    try:
        patient = boto3.session.Session().client("sqs", config=Config(retries={"max_attempts": 10, "mode": "standard"}),
                                                 **kw)
        hasty = boto3.session.Session().client("sqs", config=Config(retries={"max_attempts": 1, "mode": "standard"}),
                                               **kw)
        # WHEN a client with retries makes 40 calls, and one without retries makes 40
        url = patient.create_queue(QueueName="faults")["QueueUrl"]
        for i in range(40):
            patient.send_message(QueueUrl=url, MessageBody=str(i))
        errors = []
        for _ in range(40):
            try:
                hasty.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
            except ClientError as exc:
                errors.append(exc.response)
    finally:
        injector.uninstall()
    try:
        # THEN the patient client never saw one and every message arrived (counted by a client without faults);
        # the other saw 503s, each one a fault the injector answered
        assert injector.injected > 10
        clean = boto3.session.Session().client("sqs", **kw)
        count = clean.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        assert count["Attributes"]["ApproximateNumberOfMessages"] == "40"
        assert errors and all(e["ResponseMetadata"]["HTTPStatusCode"] == 503 for e in errors)
    finally:
        emulator.stop()


def test_under_faults_every_item_comes_out_exactly_once(tmp_path: Path, against):  # noqa: F811
    # GIVEN the platform served with 20 % of AWS calls failing and 10 % of messages delivered twice
    served = serve(tmp_path / "state", "--faults", "0.2")
    try:
        clip = write_clip(tmp_path / "clip.avi", 220, 40) if SEARCHES and VIDEO.exists() else None
        # WHEN X-ray uploads, SOS and searches are sent by a client that retries what the API calls transient
        started = time.monotonic()
        outcome = run_workload(served.api_url, against(served), studies=STUDIES, sos=SOS,
                               searches=SEARCHES if clip else 0, clip=clip)
    finally:
        served.stop()
    print(outcome.phases_s, outcome.refused)
    # THEN everything acknowledged came out exactly once: read, dispatched to 112, answered
    assert len(outcome.acknowledged["study"]) >= STUDIES * 0.9, outcome.refused
    assert len(outcome.acknowledged["sos"]) == SOS, outcome.refused
    assert outcome.lost() == {"study": [], "sos": [], "search": []}, time.monotonic() - started
    assert outcome.duplicated() == {"study": [], "sos": [], "search": []}
    # AND the faults really happened: the platform reports them when it stops
    report = next(line for line in (tmp_path / "state" / "serve.log").read_text().splitlines()
                  if line.startswith("faults injected"))
    injected, delivered_twice = (int(n) for n in re.findall(r"(\d+) (?:of|messages)", report))
    assert injected > 50 and delivered_twice > 0, report
