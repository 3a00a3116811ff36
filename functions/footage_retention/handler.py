"""Scheduled (EventBridge, hourly): delete recorded footage past its retention period, and exported
evidence copies whose legal hold has ended (incident closed + the hold period); held ones stay."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.adapters.resources import Resources
from chalicelib.schedule import slot_ms
from chalicelib.services.footage import FootageCatalog
from chalicelib.services.video_links.evidence import EvidenceLocker
from chalicelib.services.video_links.export import ExportPreserver
from chalicelib.settings import get_settings
from chalicelib.wiring.video_links import evidence_locker, export_preserver

logger = Logger(service="footage-retention")
metrics = Metrics(namespace="GoldenTime", service="footage-retention")


@lru_cache(maxsize=1)
def footage_catalog() -> FootageCatalog:
    """Built on the first invocation and reused by the warm container."""
    resources = Resources(get_settings())
    return FootageCatalog.from_settings(resources.store("footage"), resources.table("footage"), resources.settings)


@lru_cache(maxsize=1)
def evidence() -> EvidenceLocker:
    resources = Resources(get_settings())
    return evidence_locker(resources.settings, resources, receipts=False)


@lru_cache(maxsize=1)
def preserver() -> ExportPreserver:
    resources = Resources(get_settings())
    return export_preserver(resources.settings, resources)


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    now_ms = slot_ms(event)
    preserver().preserve_pending()  # no exported footage is deleted before its evidence copy exists
    expired = footage_catalog().enforce_retention(now_ms)
    released = evidence().enforce(now_ms // 1000)
    metrics.add_metric(name="FootageSegmentsExpired", unit=MetricUnit.Count, value=expired)
    metrics.add_metric(name="EvidenceObjectsReleased", unit=MetricUnit.Count, value=released)
    logger.info("retention run", extra={"expired": expired, "evidence_released": released, "now_ms": now_ms})
    return {"expired": expired, "evidence_released": released}
