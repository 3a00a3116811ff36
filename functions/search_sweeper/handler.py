"""Scheduled (EventBridge, every 2 minutes): end the missing-person searches that can no longer complete on
their own (the batch job finished with failed shards, or the search is past its deadline) with the shards that
finished, marked partial, and send the answer to 112. The record's conditional running → done change, the
reducer's own, keeps that exactly once against a late reducer and a repeated schedule delivery."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.adapters.resources import Resources
from chalicelib.models.search import SearchStatus
from chalicelib.schedule import slot_ms
from chalicelib.services.search.sweeper import SearchSweeper
from chalicelib.settings import get_settings
from chalicelib.wiring.search import build_search_sweeper

logger = Logger(service="search-sweeper")
metrics = Metrics(namespace="GoldenTime", service="search-sweeper")
tracer = Tracer(service="search-sweeper")


@lru_cache(maxsize=1)
def sweeper() -> SearchSweeper:
    """Built on the first invocation and reused by the warm container."""
    return build_search_sweeper(Resources(get_settings()))


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[str]]:
    now_ms = slot_ms(event)
    report = sweeper().sweep(now_ms)
    ended = report.finalised
    metrics.add_metric(name="SearchesSwept", unit=MetricUnit.Count, value=len(ended))
    metrics.add_metric(name="SearchesSweptFailed", unit=MetricUnit.Count,
                       value=sum(1 for a in ended if a.status is SearchStatus.FAILED))
    metrics.add_metric(name="SearchSweepErrors", unit=MetricUnit.Count, value=len(report.errors))
    logger.info("search sweep", extra={"now_ms": now_ms, "ended": [a.search_id for a in ended],
                                       "errors": report.errors})
    return {"finalised": [a.search_id for a in ended], "errors": report.errors}
