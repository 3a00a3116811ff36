"""S3 (edge-logs cloudfront/…gz, CloudFront standard logging) → SQS → one audit record per edge request.

Every request that names a link becomes an ``edge.access`` record (agency, source IP, object,
outcome) — the records the local media edge writes; requests naming none are counted and sampled.
Partial batch failures: a log file that fails is retried alone.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.adapters.resources import Resources
from chalicelib.services.audit import AuditLog
from chalicelib.services.video_links.edge_audit import EdgeAccessAudit
from chalicelib.services.video_links.edge_logs import parse_standard_log
from chalicelib.settings import get_settings
from functions.selective_monitor.runtime import uploads_of

logger = Logger(service="edge-access-log")
metrics = Metrics(namespace="GoldenTime", service="edge-access-log")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@lru_cache(maxsize=1)
def wiring() -> tuple[Resources, EdgeAccessAudit]:
    resources = Resources(get_settings())
    return resources, EdgeAccessAudit(AuditLog(resources.table("audit")), resources.table("records"))


def record_handler(record: SQSRecord) -> int:
    resources, audit = wiring()
    s3 = resources.client("s3")
    written = 0
    for upload in uploads_of(record):
        data = s3.get_object(Bucket=upload["bucket"], Key=upload["key"])["Body"].read()
        for access in parse_standard_log(data):
            audit(access)
            written += 1
    metrics.add_metric(name="EdgeRequestsLogged", unit=MetricUnit.Count, value=written)
    return written


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
