"""SQS consumer (guardian-sms, subscribed to the guardian-sms topic): send each guardian text through AWS End
User Messaging SMS (or the outbox where the stage has no origination identity).

Partial batch failures; Powertools idempotency over the whole message, so a duplicate delivery sends no
second text; an opted-out number is skipped, not retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from chalicelib.adapters.resources import Resources
from chalicelib.models.sms import GuardianText
from chalicelib.services.saferet.guardians import send_text
from chalicelib.settings import get_settings
from chalicelib.wiring.saferet import build_sms_sender

logger = Logger(service="guardian-sms")
metrics = Metrics(namespace="GoldenTime", service="guardian-sms")
tracer = Tracer(service="guardian-sms")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@dataclass(frozen=True)
class Runtime:
    idempotency: IdempotencyConfig
    send_once: Any


@lru_cache(maxsize=1)
def runtime() -> Runtime:
    resources = Resources(get_settings())
    sender = build_sms_sender(resources)

    def send(message: GuardianText) -> dict[str, Any]:
        return {"message_id": send_text(sender, message)}

    persistence = DynamoDBPersistenceLayer(table_name=resources.catalog.table("idempotency"),
                                           boto3_client=resources.client("dynamodb"))
    config = IdempotencyConfig(expires_after_seconds=24 * 3600)  # key: the hash of the whole message
    return Runtime(idempotency=config, send_once=idempotent_function(
        send, data_keyword_argument="message", persistence_store=persistence, config=config))


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    try:
        message = GuardianText.model_validate_json(record.body)
    except ValidationError:
        logger.error("malformed guardian text dropped", extra={"message_id": record.message_id})
        return
    result = runtime().send_once(message=message)
    metrics.add_metric(name="GuardianTextsSent" if result["message_id"] else "GuardianTextsOptedOut",
                       unit=MetricUnit.Count, value=1)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    runtime().idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
