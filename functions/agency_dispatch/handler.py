"""SQS consumer (agency-dispatch): deliver each dispatch to its agency's signed webhook.

Partial batch failures: a dispatch whose agency is down fails alone, backs off (2, 4, 8 ... 60 s of
visibility) and is redelivered by SQS until it lands or reaches the DLQ. Powertools idempotency keyed on
(dispatch, round) makes a duplicate SQS delivery after a success call the agency no second time.
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
from chalicelib.adapters.sqs import SqsQueue
from chalicelib.clock import now_ms
from chalicelib.errors import TransientError
from chalicelib.models.dispatch import DispatchEnvelope
from chalicelib.services.dispatch.service import DispatchService
from chalicelib.settings import get_settings
from chalicelib.wiring.dispatch import build_agency_dispatch
from chalicelib.wiring.saferet import build_evidence_links

logger = Logger(service="agency-dispatch")
metrics = Metrics(namespace="GoldenTime", service="agency-dispatch")
tracer = Tracer(service="agency-dispatch")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
MAX_BACKOFF_S = 60


@dataclass(frozen=True)
class Runtime:
    agencies: DispatchService
    queue: SqsQueue
    idempotency: IdempotencyConfig
    deliver_once: Any


@lru_cache(maxsize=1)
def runtime() -> Runtime:
    resources = Resources(get_settings())
    agencies = build_agency_dispatch(resources, evidence=build_evidence_links(resources))

    def deliver(envelope: DispatchEnvelope) -> dict[str, Any]:
        return agencies.deliver(envelope, now_ms()).model_dump(mode="json")

    persistence = DynamoDBPersistenceLayer(table_name=resources.catalog.table("idempotency"),
                                           boto3_client=resources.client("dynamodb"))
    config = IdempotencyConfig(event_key_jmespath="[dispatch_id, round]", raise_on_no_idempotency_key=True,
                               expires_after_seconds=7 * 24 * 3600)
    deliver_once = idempotent_function(deliver, data_keyword_argument="envelope", persistence_store=persistence,
                                       config=config)
    return Runtime(agencies=agencies, queue=resources.queue("agency-dispatch"), idempotency=config,
                   deliver_once=deliver_once)


def backoff_s(receive_count: int) -> int:
    return int(min(MAX_BACKOFF_S, 2 ** max(1, receive_count)))


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    try:
        envelope = DispatchEnvelope.model_validate_json(record.body)
    except ValidationError:
        logger.error("malformed dispatch message dropped", extra={"message_id": record.message_id})
        return  # permanent: retrying cannot fix it
    rt = runtime()
    try:
        rt.deliver_once(envelope=envelope)
    except TransientError:
        metrics.add_metric(name="DispatchDeliveryFailures", unit=MetricUnit.Count, value=1)
        rt.queue.retry_after(record.receipt_handle, backoff_s(int(record.attributes.approximate_receive_count)))
        raise
    metrics.add_metric(name="DispatchesDelivered", unit=MetricUnit.Count, value=1)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    runtime().idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
