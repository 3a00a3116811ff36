"""Scheduled (EventBridge, hourly): delete recorded footage past its retention period."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.adapters.resources import Resources
from chalicelib.schedule import slot_ms
from chalicelib.services.footage import FootageCatalog
from chalicelib.settings import get_settings

logger = Logger(service="footage-retention")
metrics = Metrics(namespace="GoldenTime", service="footage-retention")


@lru_cache(maxsize=1)
def footage_catalog() -> FootageCatalog:
    """Built on the first invocation and reused by the warm container."""
    resources = Resources(get_settings())
    return FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), resources.settings)



@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    now_ms = slot_ms(event)
    expired = footage_catalog().enforce_retention(now_ms)
    metrics.add_metric(name="FootageSegmentsExpired", unit=MetricUnit.Count, value=expired)
    logger.info("retention run", extra={"expired": expired, "now_ms": now_ms})
    return {"expired": expired}
