"""SQS (evidence: one recorded export's request id) → copy its segments under a legal hold into the
Object-Lock evidence bucket and audit their SHA-256 manifest. Idempotent (a held request is skipped);
partial batch failures."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.adapters.resources import Resources
from chalicelib.services.video_links.export import ExportPreserver
from chalicelib.settings import get_settings
from chalicelib.wiring.video_links import export_preserver

logger = Logger(service="evidence-preserver")
metrics = Metrics(namespace="GoldenTime", service="evidence-preserver")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@lru_cache(maxsize=1)
def preserver() -> ExportPreserver:
    resources = Resources(get_settings())
    return export_preserver(resources.settings, resources)


def record_handler(record: SQSRecord) -> int:
    request_id = str(json.loads(record.body)["request_id"])
    preserved = preserver().preserve(request_id)
    metrics.add_metric(name="EvidenceSegmentsPreserved", unit=MetricUnit.Count, value=preserved)
    logger.info("export preserved", extra={"request_id": request_id, "segments": preserved})
    return preserved


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
