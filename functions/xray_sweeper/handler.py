"""Scheduled (EventBridge): fail X-ray studies still pending past their deadline, saying why."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.adapters.resources import Resources
from chalicelib.models.xray import StudyNotice
from chalicelib.schedule import slot_ms
from chalicelib.services.xray.studies import XrayStudies
from chalicelib.settings import get_settings

logger = Logger(service="xray-sweeper")
metrics = Metrics(namespace="GoldenTime", service="xray-sweeper")


@lru_cache(maxsize=1)
def resources() -> Resources:
    return Resources(get_settings())



@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    res = resources()
    failed = XrayStudies(res.table("records"), res.store("xray")).sweep(slot_ms(event))
    for study in failed:
        notice = StudyNotice(study_id=study.study_id, center_id=study.center_id, status=study.status,
                             reason_code=study.reason.code if study.reason else None)
        res.topic("center-notify").publish(notice.model_dump_json(), subject=f"X-ray study {study.study_id} failed",
                                           attributes={"center_id": study.center_id, "status": study.status.value})
        logger.info("study failed by the sweeper", extra={"study_id": study.study_id,
                                                          "code": study.reason.code if study.reason else None})
    metrics.add_metric(name="XrayStudiesSwept", unit=MetricUnit.Count, value=len(failed))
    return {"failed": [s.study_id for s in failed]}
