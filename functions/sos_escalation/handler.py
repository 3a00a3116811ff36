"""SQS consumer (messages delayed by the cancel window): escalate each SOS to 112 unless cancelled.

Exactly once: ``SosService.escalate`` moves the incident pending → escalated with a conditional
write, and only the winner dispatches, so a duplicate delivery (or the watchdog) does nothing.
"""

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
from chalicelib.clock import now_ms
from chalicelib.models.sos import EscalationRequest
from chalicelib.services.saferet.sos import SosService
from chalicelib.settings import get_settings
from chalicelib.wiring.saferet import build_safe_return

logger = Logger(service="sos-escalation")
metrics = Metrics(namespace="GoldenTime", service="sos-escalation")
tracer = Tracer(service="sos-escalation")
processor = BatchProcessor(event_type=EventType.SQS)


@lru_cache(maxsize=1)
def sos_service() -> SosService:
    """Built on the first invocation and reused by the warm container."""
    return build_safe_return(Resources(get_settings())).sos


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    metrics.add_metric(name="SosEscalationMessages", unit=MetricUnit.Count, value=1)
    try:
        request = EscalationRequest.model_validate_json(record.body)
    except ValidationError:
        logger.error("malformed escalation message dropped", extra={"message_id": record.message_id})
        return  # permanent: retrying cannot fix it
    incident = sos_service().escalate(request.incident_id, now_ms())
    if incident is not None:
        metrics.add_metric(name="SosEscalated", unit=MetricUnit.Count, value=1)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
