"""Scheduled (EventBridge, hourly): delete recorded footage past its retention period."""

from __future__ import annotations

import time
from datetime import datetime
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.adapters.resources import Resources
from chalicelib.services.footage import FootageCatalog
from chalicelib.settings import get_settings

logger = Logger(service="footage-retention")
metrics = Metrics(namespace="GoldenTime", service="footage-retention")


@lru_cache(maxsize=1)
def footage_catalog() -> FootageCatalog:
    """Built on the first invocation and reused by the warm container."""
    resources = Resources(get_settings())
    return FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), resources.settings)


def _now_ms(event: EventBridgeEvent) -> int:
    """The schedule's own time, so a delayed or replayed run judges as of its slot."""
    try:
        return int(datetime.fromisoformat(event.time).timestamp() * 1000)
    except (KeyError, TypeError, ValueError):
        return time.time_ns() // 1_000_000


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    now_ms = _now_ms(EventBridgeEvent(event))
    expired = footage_catalog().enforce_retention(now_ms)
    metrics.add_metric(name="FootageSegmentsExpired", unit=MetricUnit.Count, value=expired)
    logger.info("retention run", extra={"expired": expired, "now_ms": now_ms})
    return {"expired": expired}
