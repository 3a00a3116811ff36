"""Scheduled (EventBridge, hourly): copy closed hours of the audit log to the Object-Lock bucket."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.adapters.resources import Resources
from chalicelib.schedule import slot_ms
from chalicelib.services.audit import AuditLog
from chalicelib.services.audit_archive import AuditArchive
from chalicelib.settings import get_settings

logger = Logger(service="audit-archive")
metrics = Metrics(namespace="GoldenTime", service="audit-archive")


@lru_cache(maxsize=1)
def archive() -> AuditArchive:
    resources = Resources(get_settings())
    return AuditArchive(AuditLog(resources.table("audit")), resources.store("audit"))


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[str]]:
    written = archive().archive_closed_hours(slot_ms(event))
    metrics.add_metric(name="AuditHoursArchived", unit=MetricUnit.Count, value=len(written))
    logger.info("audit archived", extra={"objects": written})
    return {"archived": written}
