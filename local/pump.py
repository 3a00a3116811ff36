"""The event pump: what Lambda's SQS event source mapping does, locally.

Long-polls each bound queue, hands the handler the exact Lambda SQS event (up to ``batch_size``
records with messageId, receiptHandle, attributes incl. ApproximateReceiveCount), deletes what
succeeded and leaves ``batchItemFailures`` (or the whole batch when the handler raises) to
reappear after the visibility timeout, so the queue's redrive policy moves poison messages to
the DLQ. Nothing is deleted before the handler has answered, so a crash loses nothing.
"""

from __future__ import annotations

import functools
import json
import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from local.faults import DuplicateDelivery
from local.lambda_runtime import Handler, LambdaContext
from local.workers import Workers

logger = logging.getLogger(__name__)
STOP_GRACE_S = 6.0  # how long a batch in hand may take to finish when the pump stops


@dataclass(frozen=True)
class QueueBinding:
    function_name: str
    queue_url: str
    queue_arn: str
    handler: Handler
    batch_size: int = 10
    timeout_s: float = 30.0


@dataclass(frozen=True)
class PollResult:
    received: int = 0
    succeeded: int = 0
    failed: int = 0
    ignored: int = 0
    crashed: bool = False


def _is_s3_test_event(body: str) -> bool:
    try:
        return bool(json.loads(body).get("Event") == "s3:TestEvent")
    except (ValueError, AttributeError):
        return False


def _record(message: dict[str, Any], arn: str, region: str) -> dict[str, Any]:
    attributes = message.get("MessageAttributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: {"stringValue": value.get("StringValue"), "binaryValue": value.get("BinaryValue"),
                   "stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
            for name, value in attributes.items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    }


class EventPump:
    def __init__(self, sqs: Any, bindings: list[QueueBinding], *, region: str, wait_seconds: int = 1,
                 duplicates: DuplicateDelivery | None = None) -> None:
        self._sqs = sqs
        self._duplicates = duplicates
        self._bindings = bindings
        self._region = region
        self._wait_seconds = wait_seconds
        self._workers = Workers()
        self._stop = self._workers.stopping

    def poll_once(self, binding: QueueBinding, *, wait_seconds: int | None = None) -> PollResult:
        reply = self._sqs.receive_message(
            QueueUrl=binding.queue_url, MaxNumberOfMessages=binding.batch_size,
            WaitTimeSeconds=self._wait_seconds if wait_seconds is None else wait_seconds,
            AttributeNames=["All"], MessageAttributeNames=["All"])
        messages = reply.get("Messages", [])
        if not messages:
            return PollResult()
        tests = [m for m in messages if _is_s3_test_event(m["Body"])]
        for message in tests:
            self._delete(binding, message)
        batch = [m for m in messages if m not in tests]
        if not batch:
            return PollResult(received=len(messages), ignored=len(tests))
        with self._workers.turn() as go:  # a batch received during a pause waits for its end, still in flight
            if not go:  # stopping: SQS hands it out again after its visibility timeout
                return PollResult(received=len(messages), ignored=len(tests))
            return self._hand_over(binding, batch, received=len(messages), ignored=len(tests))

    def _hand_over(self, binding: QueueBinding, batch: list[dict[str, Any]], *, received: int,
                   ignored: int) -> PollResult:
        event = {"Records": [_record(m, binding.queue_arn, self._region) for m in batch]}
        context = LambdaContext(function_name=binding.function_name, timeout_s=binding.timeout_s)
        try:
            response = binding.handler(event, context)
        except Exception:
            logger.exception("%s crashed; %d message(s) will be redelivered", binding.function_name, len(batch))
            return PollResult(received=received, failed=len(batch), ignored=ignored, crashed=True)
        failed_ids = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])} \
            if isinstance(response, dict) else set()
        for message in batch:
            if message["MessageId"] in failed_ids:
                continue
            if self._duplicates is not None and self._duplicates.again():
                self._redeliver(binding, message)  # SQS is at-least-once: consumers must cope
            else:
                self._delete(binding, message)
        return PollResult(received=received, succeeded=len(batch) - len(failed_ids & {m["MessageId"] for m in batch}),
                          failed=len(failed_ids), ignored=ignored)

    def _delete(self, binding: QueueBinding, message: dict[str, Any]) -> None:
        self._sqs.delete_message(QueueUrl=binding.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _redeliver(self, binding: QueueBinding, message: dict[str, Any]) -> None:
        self._sqs.change_message_visibility(QueueUrl=binding.queue_url, ReceiptHandle=message["ReceiptHandle"],
                                            VisibilityTimeout=0)

    def _run(self, binding: QueueBinding) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(binding)
            except Exception:  # the emulator going away at shutdown, a transient error
                if self._stop.is_set():
                    return
                logger.exception("poll of %s failed", binding.function_name)
                self._stop.wait(1.0)

    def paused(self) -> AbstractContextManager[None]:
        """No batch reaches a handler inside (the one a handler is on finishes first)."""
        return self._workers.paused()

    def start(self) -> None:
        # One poller per queue, like one warm container: handlers keep module-level state (Powertools'
        # BatchProcessor, Metrics) that a container never shares between concurrent invocations.
        for binding in self._bindings:
            self._workers.spawn(f"pump-{binding.function_name}", functools.partial(self._run, binding))

    @property
    def duplicated(self) -> int:
        return self._duplicates.duplicated if self._duplicates is not None else 0

    def stop(self) -> None:
        self._workers.stop(join_timeout_s=STOP_GRACE_S)
