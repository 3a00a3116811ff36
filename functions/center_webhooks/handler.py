"""center-notify (SNS, raw delivery) → SQS → each settled study POSTed, signed, to its center's webhook.

Partial batch failures: a center whose receiver is down fails alone, backs off (2, 4, 8 ... 60 s of visibility)
and is redelivered until it lands or, past the queue's receive count, reaches the DLQ. A message with the
``replay`` attribute (``gt-admin xray-webhooks replay --study``) is sent again even if delivered before.
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
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from chalicelib.adapters.resources import Resources
from chalicelib.adapters.sqs import SqsQueue
from chalicelib.adapters.webhook import HttpWebhookClient
from chalicelib.errors import TransientError
from chalicelib.models.xray import StudyNotice
from chalicelib.services.audit import AuditLog
from chalicelib.services.xray.center_webhooks import CenterWebhooks
from chalicelib.services.xray.studies import XrayStudies
from chalicelib.settings import get_settings

logger = Logger(service="center-webhooks")
metrics = Metrics(namespace="GoldenTime", service="center-webhooks")
tracer = Tracer(service="center-webhooks")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
MAX_BACKOFF_S = 60
WEBHOOK_KEY = "center-webhook-key"
REPLAY_ATTRIBUTE = "replay"


@dataclass(frozen=True)
class Runtime:
    webhooks: CenterWebhooks
    queue: SqsQueue


@lru_cache(maxsize=1)
def runtime() -> Runtime:
    """Built on the first invocation and reused by the warm container."""
    resources = Resources(get_settings())
    webhooks = CenterWebhooks(resources.table("records"), XrayStudies(resources.table("records"), resources.store("xray")),
                              HttpWebhookClient(allow_private=resources.settings.webhook_private_targets),
                          AuditLog(resources.table("audit")), resources.secret(WEBHOOK_KEY))
    return Runtime(webhooks=webhooks, queue=resources.queue("center-webhooks"))


def backoff_s(receive_count: int) -> int:
    return int(min(MAX_BACKOFF_S, 2 ** max(1, receive_count)))


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    try:
        notice = StudyNotice.model_validate_json(record.body)
    except ValidationError:
        logger.error("malformed study notice dropped", extra={"message_id": record.message_id})
        return  # permanent: retrying cannot fix it
    replay = REPLAY_ATTRIBUTE in record.message_attributes
    rt = runtime()
    try:
        delivered = rt.webhooks.deliver(notice, replay=replay)
    except TransientError:
        metrics.add_metric(name="WebhookDeliveryFailures", unit=MetricUnit.Count, value=1)
        rt.queue.retry_after(record.receipt_handle, backoff_s(int(record.attributes.approximate_receive_count)))
        raise
    if delivered is not None:
        metrics.add_metric(name="WebhooksDelivered", unit=MetricUnit.Count, value=1)
        logger.info("webhook delivered", extra={"study_id": delivered.study_id, "delivery_id": delivered.delivery_id})


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
