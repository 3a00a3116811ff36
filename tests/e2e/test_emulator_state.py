"""The emulator's own state survives its own crash: checkpoint + journal, replayed through moto."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.emulator import Emulator

pytestmark = pytest.mark.e2e
REGION = "ap-northeast-2"


def clients(emulator: Emulator) -> tuple[Any, Any, Any]:
    kw = {"endpoint_url": emulator.endpoint_url, "region_name": REGION, "aws_access_key_id": "local",
          "aws_secret_access_key": "local"}
    return boto3.client("s3", **kw), boto3.client("sqs", **kw), boto3.client("dynamodb", **kw)


def crash(emulator: Emulator) -> None:
    """kill -9: no last checkpoint, only what the journal already holds."""
    assert emulator._process is not None
    emulator._process.send_signal(signal.SIGKILL)
    emulator._process.wait()
    emulator._process = None


@pytest.mark.parametrize("checkpoint_between", [False, True])
def test_writes_acknowledged_before_a_kill_9_of_the_emulator_survive_it(tmp_path: Path, checkpoint_between):
    # GIVEN an emulator with state under tmp_path, and writes to S3, SQS and DynamoDB
    state = tmp_path / "aws"
    emulator = Emulator(port=0, state_dir=state, log_file=tmp_path / "emulator.log")
    emulator.start()
    s3, sqs, ddb = clients(emulator)
    s3.create_bucket(Bucket="gt-restart", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="gt-restart", Key="a/b.bin", Body=b"\x00\x01" * 5000)
    queue = sqs.create_queue(QueueName="gt-restart")["QueueUrl"]
    sent = [sqs.send_message(QueueUrl=queue, MessageBody=f"m{i}")["MessageId"] for i in range(3)]
    delayed = sqs.send_message(QueueUrl=queue, MessageBody="sos", DelaySeconds=4)["MessageId"]
    consumed = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1)["Messages"][0]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=consumed["ReceiptHandle"])
    ddb.create_table(TableName="gt-restart", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="gt-restart", Item={"pk": {"S": "sos-1"}, "state": {"S": "pending"}})
    if checkpoint_between:  # a restart that finds a checkpoint and a journal on top of it
        emulator.stop()
        emulator.start()
        s3, sqs, ddb = clients(emulator)
    ddb.put_item(TableName="gt-restart", Item={"pk": {"S": "sos-1"}, "state": {"S": "escalated"}},
                 ConditionExpression="#s = :p", ExpressionAttributeNames={"#s": "state"},
                 ExpressionAttributeValues={":p": {"S": "pending"}})

    # WHEN the emulator is killed without warning and started again on the same state
    crash(emulator)
    emulator.start()
    s3, sqs, ddb = clients(emulator)
    try:
        # THEN every acknowledged write is there: the object, the item's last state, the messages
        # not deleted (with their ids), and the delayed one only once its delay is over
        assert s3.get_object(Bucket="gt-restart", Key="a/b.bin")["Body"].read() == b"\x00\x01" * 5000
        item = ddb.get_item(TableName="gt-restart", Key={"pk": {"S": "sos-1"}})["Item"]
        assert item["state"] == {"S": "escalated"}
        with pytest.raises(ClientError):  # the conditional transition still happens once only
            ddb.put_item(TableName="gt-restart", Item={"pk": {"S": "sos-1"}, "state": {"S": "escalated"}},
                         ConditionExpression="#s = :p", ExpressionAttributeNames={"#s": "state"},
                         ExpressionAttributeValues={":p": {"S": "pending"}})
        received: dict[str, str] = {}
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and delayed not in received:
            reply = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for m in reply.get("Messages", []):
                received[m["MessageId"]] = m["Body"]
        assert consumed["MessageId"] not in received
        assert set(received) == (set(sent) - {consumed["MessageId"]}) | {delayed}
        assert received[delayed] == "sos"
    finally:
        emulator.stop()


def test_a_second_emulator_on_the_same_state_refuses_to_start(tmp_path: Path):
    # GIVEN an emulator holding its state directory
    first = Emulator(port=0, state_dir=tmp_path / "aws", log_file=tmp_path / "first.log")
    first.start()
    try:
        # WHEN a second one is pointed at the same directory
        second = Emulator(port=0, state_dir=tmp_path / "aws", log_file=tmp_path / "second.log")
        # THEN it refuses, rather than overwrite the first one's state
        with pytest.raises(RuntimeError, match="exited at start"):
            second.start(timeout_s=20)
        assert "another emulator is using" in (tmp_path / "second.log").read_text()
    finally:
        first.stop()
