"""Scheduled (EventBridge, every minute): every dispatch an agency has not acknowledged in time raises an
urgent control-center alert and is sent again."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.adapters.resources import Resources
from chalicelib.clock import now_ms
from chalicelib.services.dispatch.service import DispatchService
from chalicelib.settings import get_settings
from chalicelib.wiring.dispatch import build_agency_dispatch

logger = Logger(service="dispatch-receipts")
metrics = Metrics(namespace="GoldenTime", service="dispatch-receipts")
tracer = Tracer(service="dispatch-receipts")


@lru_cache(maxsize=1)
def agencies() -> DispatchService:
    """Built on the first invocation and reused by the warm container."""
    return build_agency_dispatch(Resources(get_settings()))


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    resent = agencies().check_overdue(now_ms())
    metrics.add_metric(name="DispatchesUnacknowledged", unit=MetricUnit.Count, value=len(resent))
    logger.info("dispatch receipts checked", extra={"resent": [r.dispatch_id for r in resent]})
    return {"resent": len(resent)}
