"""S3 (media: sos/<incident>/<object>) → SQS → follow-up dispatches: each photo, audio or video the phone
uploads after the first dispatch reaches the same agency, with a signed, IP-bound, expiring link.

Partial batch failures; a repeated notification re-queues the same follow-up id, which the agency-dispatch
consumer (idempotent on dispatch and round) posts no second time.
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

from chalicelib.adapters.resources import Resources
from chalicelib.clock import now_ms
from chalicelib.s3_events import s3_objects
from chalicelib.services.dispatch.followups import EvidenceFollowUps
from chalicelib.settings import get_settings
from chalicelib.wiring.dispatch import build_agency_dispatch

logger = Logger(service="sos-evidence")
metrics = Metrics(namespace="GoldenTime", service="sos-evidence")
tracer = Tracer(service="sos-evidence")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@lru_cache(maxsize=1)
def follow_ups() -> EvidenceFollowUps:
    """Built on the first invocation and reused by the warm container."""
    return EvidenceFollowUps(build_agency_dispatch(Resources(get_settings())))


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    try:
        objects = s3_objects(record)
    except ValueError:
        logger.error("not an S3 notification; dropped", extra={"message_id": record.message_id})
        return
    for obj in objects:
        at = now_ms()
        if follow_ups().on_upload(obj.key, at, at) is not None:
            metrics.add_metric(name="EvidenceFollowUps", unit=MetricUnit.Count, value=1)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
