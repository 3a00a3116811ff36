"""center-notify (SNS, raw delivery) → SQS → PACS delivery: each done study's SR and heat map are C-STOREd into
its center's PACS. Partial batch failures: a PACS that is down fails only its records, which are retried and,
past the queue's receive count, dead-lettered."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from chalicelib.adapters.resources import Resources
from chalicelib.models.xray import StudyNotice
from chalicelib.services.xray.pacs_delivery import PacsDelivery
from chalicelib.settings import get_settings
from functions.pacs_delivery.runtime import build_delivery

logger = Logger(service="pacs-delivery")
metrics = Metrics(namespace="GoldenTime", service="pacs-delivery")
tracer = Tracer(service="pacs-delivery")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@lru_cache(maxsize=1)
def delivery() -> PacsDelivery:
    """Built on the first invocation and reused by the warm container."""
    return build_delivery(Resources(get_settings()))


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    try:
        notice = StudyNotice.model_validate_json(record.body)
    except ValidationError:
        logger.error("malformed study notice dropped", extra={"message_id": record.message_id})
        return  # permanent: retrying cannot fix it
    for delivered in delivery().deliver(notice):
        metrics.add_metric(name="PacsObjectsStored", unit=MetricUnit.Count, value=1)
        logger.info("stored in PACS", extra={"study_id": delivered.study_id, "kind": delivered.kind})


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
