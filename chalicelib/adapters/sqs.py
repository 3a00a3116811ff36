"""MessageQueue on SQS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import StoreError


class SqsQueue:
    def __init__(self, client: Any, url: str) -> None:
        self._sqs = client
        self.url = url

    @classmethod
    def by_name(cls, client: Any, name: str) -> SqsQueue:
        try:
            return cls(client, client.get_queue_url(QueueName=name)["QueueUrl"])
        except ClientError as exc:
            raise StoreError(f"queue {name}: {exc}") from exc

    def send(self, body: str, *, delay_s: int = 0, attributes: Mapping[str, str] | None = None) -> str:
        message_attributes = {k: {"DataType": "String", "StringValue": v} for k, v in (attributes or {}).items()}
        try:
            reply = self._sqs.send_message(QueueUrl=self.url, MessageBody=body, DelaySeconds=delay_s,
                                           MessageAttributes=message_attributes)
        except ClientError as exc:
            raise StoreError(f"send to {self.url}: {exc}") from exc
        return str(reply["MessageId"])

    def retry_after(self, receipt_handle: str, delay_s: int) -> None:
        """Back off: keep a failed message invisible for ``delay_s`` before SQS redelivers it."""
        try:
            self._sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=receipt_handle,
                                                VisibilityTimeout=delay_s)
        except ClientError as exc:
            raise StoreError(f"change visibility on {self.url}: {exc}") from exc
