"""Scheduled (EventBridge, every minute): alerts for silent, overdue and stationary trips, and
escalation of any SOS whose cancel window closed without its delayed message (belt and braces;
the incident's conditional state change keeps escalation exactly once)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.adapters.resources import Resources
from chalicelib.clock import now_ms
from chalicelib.services.saferet.watchdog import sweep
from chalicelib.settings import get_settings
from chalicelib.wiring.saferet import SafeReturn, build_safe_return

logger = Logger(service="trip-watchdog")
metrics = Metrics(namespace="GoldenTime", service="trip-watchdog")
tracer = Tracer(service="trip-watchdog")


@lru_cache(maxsize=1)
def safe_return() -> SafeReturn:
    """Built on the first invocation and reused by the warm container."""
    return build_safe_return(Resources(get_settings()))


def _now_ms(event: EventBridgeEvent) -> int:
    """Wall clock, but never earlier than the schedule's slot (a replayed event judges as of now)."""
    now = now_ms()
    try:
        return max(now, int(datetime.fromisoformat(event.time).timestamp() * 1000))
    except (KeyError, TypeError, ValueError):
        return now


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    services = safe_return()
    result = sweep(services.trips, services.sos, _now_ms(EventBridgeEvent(event)))
    metrics.add_metric(name="TripAlertsRaised", unit=MetricUnit.Count, value=result["alerts"])
    metrics.add_metric(name="SosEscalatedByWatchdog", unit=MetricUnit.Count, value=result["escalated"])
    logger.info("watchdog run", extra=result)
    return result
