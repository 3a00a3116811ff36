"""S3 (media monitor/<camera>/…) → SQS → selective monitor: detect, track, evaluate the camera's
rules, raise events with snapshots. Partial batch failures; one analysis per uploaded object."""

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
from chalicelib.errors import PermanentError
from chalicelib.settings import get_settings
from functions.selective_monitor.runtime import MonitorRuntime, build_runtime, uploads_of

logger = Logger(service="selective-monitor")
metrics = Metrics(namespace="GoldenTime", service="selective-monitor")
tracer = Tracer(service="selective-monitor")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@lru_cache(maxsize=1)
def runtime() -> MonitorRuntime:
    """Built on the first invocation (detector loaded and warmed) and reused by the warm container."""
    return build_runtime(Resources(get_settings()))


@tracer.capture_method
def record_handler(record: SQSRecord) -> list[dict[str, Any]]:
    outcomes = []
    for upload in uploads_of(record):
        try:
            outcome = runtime().analyse_once(upload=upload)
        except PermanentError as exc:  # unusable object: say why and acknowledge it, retrying cannot help
            logger.warning("object not analysed", extra={"key": upload["key"], "reason": str(exc)})
            metrics.add_metric(name="FramesRejected", unit=MetricUnit.Count, value=1)
            continue
        metrics.add_metric(name="FramesProcessed", unit=MetricUnit.Count, value=outcome["frames"])
        metrics.add_metric(name="EventsRaised", unit=MetricUnit.Count, value=len(outcome["events"]))
        if outcome["observed_ms"]:
            metrics.add_metric(name="SurfacedShare", unit=MetricUnit.Percent,
                               value=100.0 * outcome["surfaced_ms"] / outcome["observed_ms"])
        logger.info("object analysed", extra=outcome)
        outcomes.append(outcome)
    return outcomes


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    runtime().idempotency.register_lambda_context(context)
    runtime().refresh_detector()  # a newly activated detector applies from this batch on
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
