"""S3 (uploads/…) → SQS → X-ray reader: one batched inference per SQS batch, partial batch failures,
one reading per uploaded object (Powertools idempotency on the catalog's idempotency table)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.adapters.resources import Resources
from chalicelib.services.xray.reader import upload_id
from chalicelib.settings import get_settings
from functions.xray_reader.runtime import ReaderRuntime, batch_uploads, build_runtime, uploads_of

logger = Logger(service="xray-reader")
metrics = Metrics(namespace="GoldenTime", service="xray-reader")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)  # report, do not raise


@lru_cache(maxsize=1)
def runtime() -> ReaderRuntime:
    """Built on the first invocation (model loaded, verified, warmed) and reused by the warm container."""
    return build_runtime(Resources(get_settings()))


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    rt = runtime()
    rt.idempotency.register_lambda_context(context)
    rt.classifier.refresh()  # a newly activated (or rolled back) model version applies from this batch on
    uploads = batch_uploads(event.get("Records", []))
    batch = rt.reader.prepare(uploads)
    metrics.add_metric(name="XrayImagesScored", unit=MetricUnit.Count, value=batch.batch_size)
    settled = rt.settle(uploads, batch)  # every upload's reading stored and its center notified, concurrently

    def read(record: SQSRecord) -> list[dict[str, Any]]:
        outcomes = []
        for upload in uploads_of(record):
            outcome = settled.get(upload_id(upload)) or rt.settle([upload], batch)[upload_id(upload)]
            if isinstance(outcome, IdempotencyAlreadyInProgressError):
                raise outcome  # another container is reading this very object: retry later, fail nothing
            if isinstance(outcome, Exception):
                if upload.receive_count >= rt.max_receives:  # last try before the DLQ: the study says why
                    rt.reader.give_up(upload, outcome, upload.receive_count)
                raise outcome
            outcomes.append(outcome)
        for outcome in outcomes:
            metrics.add_metric(name="XrayStudiesSettled", unit=MetricUnit.Count, value=1)
            logger.info("upload read", extra={"outcome": outcome.get("outcome"), "study_id": outcome.get("study_id")})
        return outcomes

    response = process_partial_response(event=event, record_handler=read, processor=processor, context=context)
    # The step after: every reading of the batch is stored and its center notified; now the heat maps.
    metrics.add_metric(name="XrayHeatmapsAdded", unit=MetricUnit.Count, value=rt.reader.explain(batch))
    return response
