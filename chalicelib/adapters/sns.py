"""Notifier on SNS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import StoreError


class SnsNotifier:
    def __init__(self, client: Any, arn: str) -> None:
        self._sns = client
        self.arn = arn

    def publish(self, message: str, *, subject: str | None = None,
                attributes: Mapping[str, str] | None = None) -> str:
        kwargs: dict[str, Any] = {"TopicArn": self.arn, "Message": message}
        if subject:
            kwargs["Subject"] = subject[:100]
        if attributes:
            kwargs["MessageAttributes"] = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
        try:
            return str(self._sns.publish(**kwargs)["MessageId"])
        except ClientError as exc:
            raise StoreError(f"publish to {self.arn}: {exc}") from exc
