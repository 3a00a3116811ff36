"""Capture what the platform publishes (guardian SMS, control-center alerts, 112 dispatch) on a
local SQS queue, so tests and the demo can read it back (development only)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters.resources import Resources


def capture_topic(resources: Resources, topic: str, queue_name: str) -> str:
    """Subscribe a new SQS queue (raw delivery) to a catalog topic; returns the queue URL."""
    sqs = resources.client("sqs")
    url = str(sqs.create_queue(QueueName=queue_name)["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    resources.client("sns").subscribe(TopicArn=resources.topic(topic).arn, Protocol="sqs", Endpoint=arn,
                                      Attributes={"RawMessageDelivery": "true"})
    return url


def drain(resources: Resources, queue_url: str, *, wait_s: int = 0) -> list[dict[str, Any]]:
    """Every message on the queue now (received and deleted), bodies parsed as JSON."""
    sqs = resources.client("sqs")
    out: list[dict[str, Any]] = []
    while True:
        reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s,
                                    AttributeNames=["All"], MessageAttributeNames=["All"])
        messages = reply.get("Messages", [])
        if not messages:
            return out
        for message in messages:
            body = json.loads(message["Body"])
            body["_sent_ms"] = int(message.get("Attributes", {}).get("SentTimestamp", 0))
            out.append(body)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        wait_s = 0
